/// The checkpoint key of a module's property, written once at its declaration.
///
/// A property's key is its name in snake_case (`wordEmbeddings` → `word_embeddings`); `@Key` names the exceptions
/// where the checkpoint says otherwise, so state-dict names, load reports and saved files all come from here:
///
/// ```swift
/// final class BertSelfOutput: Module {
///     let dense: Linear                                  // "dense"
///     @Key("LayerNorm") var layerNorm: LayerNorm         // "LayerNorm"
/// }
/// ```
///
/// Set the property in the initializer like any other (`layerNorm = LayerNorm(…)`, after `super.init()`, or
/// `_layerNorm.wrappedValue = …` before it).
@propertyWrapper
public struct Key<Value> {
    /// The name in checkpoints.
    public let key: String
    private var stored: Value?

    public init(_ key: String) { self.key = key }

    public var wrappedValue: Value {
        get {
            guard let stored else { preconditionFailure("the module member '\(key)' was read before it was set") }
            return stored
        }
        set { stored = newValue }
    }
}

/// What `Module` reflection reads from a `@Key` property: its key and its value.
protocol KeyedMember {
    var key: String { get }
    var member: Any? { get }
}

extension Key: KeyedMember {
    var member: Any? { stored }
}

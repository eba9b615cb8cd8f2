import Tensors

/// A trainable tensor held by a module; optimizers replace its value in place of the old one.
///
/// ```swift
/// let weight = Parameter(Tensor.zeros([2, 2]))
/// weight.assign(Tensor([1, 2, 3, 4] as [Float], shape: [2, 2]))   // a loaded value; its gradient is kept
/// ```
public final class Parameter: @unchecked Sendable {
    /// How a parameter that no checkpoint supplies is drawn (transformers' `_init_weights`).
    public enum Initializer: Sendable, Equatable {
        /// normal(0, std), with row `zeroRow` set to zero (an embedding's padding row).
        case normal(std: Double, zeroRow: Int? = nil)
        case zeros
        case ones
    }

    private var stored: Tensor
    /// Set while the parameter is only a shape: a model is declared, then loaded, and only what the checkpoint
    /// lacks is drawn, so loading never allocates a weight it then throws away.
    package private(set) var pending: Initializer?

    /// Set once `release` dropped the float value: the value is rebuilt from the reduced copy on each read.
    private var reconstruct: (@Sendable () -> Tensor)?

    /// The current value, a leaf that requires grad.
    public var value: Tensor {
        if let reconstruct { return reconstruct().requiringGrad() }
        if pending != nil {
            var generator = RandomGenerator(seed: 0)
            materialize(using: &generator)
        }
        return stored
    }

    public init(_ tensor: Tensor) {
        stored = tensor.contiguous().detached().requiringGrad()
    }

    /// A parameter of `shape` to be drawn by `initializer` when the model is built, unless loaded first.
    public init(pending shape: [Int], _ initializer: Initializer) {
        // A broadcast view of one zero: the shape without the bytes.
        stored = Tensor.zeros([Int](repeating: 1, count: shape.count)).expanded(to: shape)
        pending = initializer
    }

    /// Drops the float value once the layers that read it hold a reduced-precision copy (`Module.quantize`).
    ///
    /// Its memory is freed (a mapped checkpoint's pages leave resident memory) and `value` is rebuilt by
    /// `reconstruct` from then on — for saving and inspection, not for training. `assign` makes it an ordinary
    /// parameter again.
    package func release(reconstruct: @escaping @Sendable () -> Tensor) {
        guard self.reconstruct == nil else { return }
        if pending == nil { stored.discardResidentPages() }
        stored = Tensor.zeros([Int](repeating: 1, count: stored.rank)).expanded(to: stored.shape)
        pending = nil
        self.reconstruct = reconstruct
    }

    /// The checkpoint's reduced-precision form, when it was loaded as stored (`assign(stored:)`).
    package internal(set) var loadedAs: StoredWeight?

    /// Whether `release` dropped the float value.
    public var isReleased: Bool { reconstruct != nil }

    /// The shape, without drawing a pending value.
    public var shape: [Int] { stored.shape }

    /// Draws a pending value (a no-op once drawn or loaded).
    package func materialize(using generator: inout RandomGenerator) {
        guard let initializer = pending else { return }
        pending = nil
        switch initializer {
        case .normal(let std, let zeroRow):
            let table = Tensor.randomNormal(stored.shape, std: std, using: &generator)
            if let zeroRow { table.slicedUntracked(0, zeroRow..<zeroRow + 1).fillZero() }
            stored = table.requiringGrad()
        case .zeros: stored = Tensor.zeros(stored.shape).requiringGrad()
        case .ones: stored = Tensor.ones(stored.shape).requiringGrad()
        }
    }

    /// The gradient accumulated by the last `backward`.
    public var grad: Tensor? { stored.grad }

    /// Replaces the value (a loaded weight, an optimizer update); the gradient is kept.
    public func assign(_ tensor: Tensor) {
        precondition(tensor.shape == stored.shape, "assigning \(tensor.shape) to a parameter of \(stored.shape)")
        let gradient = pending == nil && reconstruct == nil ? stored.grad : nil
        pending = nil
        reconstruct = nil
        loadedAs = nil
        stored = tensor.contiguous().detached().requiringGrad()
        if let gradient { stored.setGrad(gradient) }
    }

    /// Storage this parameter may write to: a borrowed (memory-mapped) value is copied first.
    func writableValue() -> Tensor {
        if !value.storage.isWritable { assign(Tensor.withoutGradient { value.detached() * 1 }) }
        return value
    }

    public func zeroGrad() { value.zeroGrad() }
}

/// A layer or a model: parameters and child modules found by reflection, named as in PyTorch's state dicts
/// (`encoder.layer.0.attention.self.query.weight`), and a training flag.
///
/// A stored property named in camelCase appears in snake_case (`wordEmbeddings` → `word_embeddings`); a `@Key`
/// property under the key it declares (BERT's `@Key("LayerNorm") var layerNorm`). Arrays of modules are numbered
/// (`layer.0`).
///
/// ```swift
/// final class Head: Module, @unchecked Sendable {
///     let dense: Linear                                  // "dense.weight", "dense.bias"
///     @Key("LayerNorm") var layerNorm: LayerNorm          // "LayerNorm.weight", "LayerNorm.bias"
///     init(width: Int) {
///         dense = Linear(width, width, std: 0.02)
///         super.init()
///         layerNorm = LayerNorm(width)
///     }
/// }
/// Head(width: 8).namedParameters().map(\.name)
/// ```
open class Module: @unchecked Sendable {
    /// Whether dropout and the like are active.
    public private(set) var training = true

    public init() {}

    /// The direct children and parameters, by checkpoint key, in declaration order.
    func members() -> [(String, Any)] {
        var result: [(String, Any)] = []
        var mirror: Mirror? = Mirror(reflecting: self)
        var levels: [[(String, Any)]] = []
        while let current = mirror {
            levels.append(current.children.compactMap { child in child.label.map { ($0, child.value) } })
            mirror = current.superclassMirror
        }
        for level in levels.reversed() {
            for (label, value) in level where label != "training" {
                // Only a property wrapper's backing storage is named `_…`: the cast is tried on those alone.
                if label.hasPrefix("_"), let keyed = value as? KeyedMember {
                    result.append((keyed.key, keyed.member as Any))
                } else {
                    result.append((snakeCase(label), value))
                }
            }
        }
        return result
    }

    /// Every parameter with its dotted name (tied ones under each of their names) and every module, pre-order, in
    /// one walk of the tree: reflection is most of what loading a model costs, so callers needing both walk once.
    package func walk() -> (parameters: [(name: String, parameter: Parameter)], modules: [Module]) {
        var parameters: [(name: String, parameter: Parameter)] = []
        var modules: [Module] = []
        func visit(_ value: Any, _ name: String) {
            switch value {
            case let parameter as Parameter:
                parameters.append((name, parameter))
            case let module as Module:
                modules.append(module)
                for (key, member) in module.members() { visit(member, name.isEmpty ? key : name + "." + key) }
            case let list as [Module]:
                for (index, module) in list.enumerated() { visit(module, name + ".\(index)") }
            case let optional as Any?:
                if let unwrapped = optional, !(unwrapped is Void) {
                    if unwrapped is Parameter || unwrapped is Module || unwrapped is [Module] { visit(unwrapped, name) }
                }
            }
        }
        visit(self, "")
        return (parameters, modules)
    }

    /// Every parameter with its dotted name.
    ///
    /// A parameter shared by two modules (a tied decoder and embedding) appears once, under its first name, unless
    /// `removingDuplicates` is false — as PyTorch's `named_parameters()`.
    public func namedParameters(removingDuplicates: Bool = true) -> [(name: String, parameter: Parameter)] {
        let all = walk().parameters
        guard removingDuplicates else { return all }
        var seen = Set<ObjectIdentifier>()
        return all.filter { seen.insert(ObjectIdentifier($0.parameter)).inserted }
    }

    /// The parameters, in `namedParameters` order.
    public func parameters() -> [Parameter] { namedParameters().map(\.parameter) }

    /// Name → value of every parameter, tied ones under each of their names (PyTorch's `state_dict()`).
    public func stateDict() -> [(name: String, tensor: Tensor)] {
        namedParameters(removingDuplicates: false).map { ($0.name, $0.parameter.value.detached()) }
    }

    /// Loads values by name; reports the parameters the dict lacks and the names it has that no parameter takes.
    ///
    /// With `strict`, either list being non-empty is an error (`ModuleError.keys`), as PyTorch's
    /// `load_state_dict(strict=True)`; a shape mismatch is always an error.
    @discardableResult
    public func loadStateDict(
        _ tensors: [String: Tensor], strict: Bool = true
    ) throws(ModuleError) -> (
        missing: [String], unexpected: [String]
    ) {
        let named = namedParameters(removingDuplicates: false)
        let names = Set(named.map(\.name))
        let missing = named.map(\.name).filter { tensors[$0] == nil }
        let unexpected = tensors.keys.filter { !names.contains($0) }.sorted()
        if strict, !missing.isEmpty || !unexpected.isEmpty {
            throw ModuleError.keys(missing: missing, unexpected: unexpected)
        }
        for (name, parameter) in named {
            guard let tensor = tensors[name] else { continue }
            guard tensor.shape == parameter.shape else {
                throw ModuleError.shape(name: name, expected: parameter.shape, found: tensor.shape)
            }
            parameter.assign(
                tensor.dtype == parameter.value.dtype ? tensor : tensor.converted(to: parameter.value.dtype))
        }
        return (missing, unexpected)
    }

    /// Converts every parameter to `dtype` (float64 for gradient checks, float32 to compute).
    public func convertParameters(to dtype: Tensor.DType) {
        for parameter in parameters() where parameter.value.dtype != dtype {
            parameter.assign(Tensor.withoutGradient { parameter.value.converted(to: dtype) })
        }
    }

    /// Sets training mode here and in every child module.
    public func train(_ on: Bool = true) { Self.setTraining(on, walk().modules) }

    /// Sets training mode in each of `modules` (a `walk()`'s).
    package static func setTraining(_ on: Bool, _ modules: [Module]) {
        for module in modules { module.training = on }
    }

    /// Every dropout layer in declaration order (their generators are part of a training checkpoint).
    public func dropouts() -> [Dropout] { walk().modules.compactMap { $0 as? Dropout } }

    /// Evaluation mode (dropout off).
    public func eval() { train(false) }

    /// Forgets every parameter's gradient.
    public func zeroGrad() { parameters().forEach { $0.zeroGrad() } }
}

/// Errors loading weights into a module, each naming the parameter.
///
/// ```swift
/// do { try model.loadStateDict(weights) } catch { print(error) }   // missing keys: …; unexpected keys: …
/// ```
public enum ModuleError: Error, CustomStringConvertible, Equatable {
    case keys(missing: [String], unexpected: [String])
    case shape(name: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case .keys(let missing, let unexpected):
            return "missing keys: \(missing.joined(separator: ", ")); unexpected keys: "
                + unexpected.joined(separator: ", ")
        case .shape(let name, let expected, let found):
            return "\(name): the checkpoint has shape \(found), the model expects \(expected)"
        }
    }
}

/// `wordEmbeddings` → `word_embeddings`.
func snakeCase(_ name: String) -> String {
    // Identifiers are ASCII almost always: bytes, not Unicode properties (this runs for every member on every walk).
    if name.utf8.allSatisfy({ $0 < 0x80 }) {
        var out: [UInt8] = []
        out.reserveCapacity(name.utf8.count + 4)
        for byte in name.utf8 {
            if byte >= 0x41 && byte <= 0x5A {  // A–Z
                if !out.isEmpty { out.append(0x5F) }
                out.append(byte + 0x20)
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
    var out = ""
    for character in name {
        if character.isUppercase {
            if !out.isEmpty { out.append("_") }
            out.append(contentsOf: character.lowercased())
        } else {
            out.append(character)
        }
    }
    return out
}

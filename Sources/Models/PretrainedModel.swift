import NN
import Synchronization
import Tensors
import Tokenizers

/// A pretrained transformer with its config, tokenizer and task head: what `AutoModel*.fromPretrained` returns.
///
/// Each architecture's classes derive from it and are named as transformers names them (`BertModel`,
/// `BertForMaskedLM`, `GPT2LMHeadModel`, `DistilBertForQuestionAnswering`, …); what a task's models share is a
/// protocol (`MaskedLM`, `CausalLM`, `SequenceClassifier`, …).
///
/// ```swift
/// let model = try PretrainedModel.load("Tests/Fixtures/models/tiny-bert")   // the class config.json names
/// print(model.className, model.loadReport)                                  // BertForMaskedLM, no missing keys
/// let output = try model(["the licence is free"])                           // through the folder's own tokenizer
/// ```
open class PretrainedModel: Module, @unchecked Sendable {
    public let config: ModelConfig
    /// The tokenizer of the folder or file the model came from (read on first use), or nil when it has none.
    public var tokenizer: Tokenizer? {
        get {
            tokenizerState.withLock { state in
                if case .loaded(let tokenizer) = state { return tokenizer }
                let loaded = source.flatMap { try? AutoTokenizer.fromPretrained($0) }
                state = .loaded(loaded)
                return loaded
            }
        }
        set { tokenizerState.withLock { $0 = .loaded(newValue) } }
    }

    private enum TokenizerState {
        case unread
        case loaded(Tokenizer?)
    }

    /// Read lazily (a tokenizer.json of a large vocabulary takes longer to parse than the weights take to map),
    /// once, whichever thread asks first.
    private let tokenizerState = Mutex(TokenizerState.unread)
    /// What loading the checkpoint found (missing and unexpected keys).
    public internal(set) var loadReport = LoadReport()
    /// sentence-transformers' modules, once read (`sentenceModules`).
    enum SentenceModulesState {
        case read(SentenceTransformerModules?)
    }

    let sentenceModulesState = Mutex<SentenceModulesState?>(nil)
    /// The folder or `.mhub` file the model was loaded from.
    public internal(set) var source: String?

    /// Declares the model's modules for `config`; their parameters are shapes until the model is loaded or drawn
    /// (`PretrainedModel.load`, `.random`), so build models through those.
    public required init(config: ModelConfig) throws {
        self.config = config
    }

    /// The task this class is built for.
    open class var task: ModelTask { .base }

    /// The transformers class name (`BertForMaskedLM`), which `savePretrained` writes into `architectures`.
    public static var className: String { String(describing: self) }

    /// This model's transformers class name.
    public var className: String { Self.className }

    /// This model's task.
    public var task: ModelTask { Self.task }

    /// Runs the model.
    open func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        throw ModelError.input("\(className) has no forward pass")
    }

    public func callAsFunction(_ inputs: ModelInputs) throws -> ModelOutput { try forward(inputs) }

    /// Tokenizes `texts` with the model's tokenizer (special tokens added, padded to the longest, cut at the
    /// model's maximum length) and runs the model on them.
    public func callAsFunction(_ texts: [String]) throws -> ModelOutput {
        try forward(ModelInputs(try encode(texts)))
    }

    /// The encodings `callAsFunction(texts)` runs the model on, cut at `maxLength` tokens (default: the model's
    /// maximum).
    public func encode(_ texts: [String], pairs: [String]? = nil, maxLength: Int? = nil) throws -> [Encoding] {
        let tokenizer = try requiredTokenizer()
        let limit = Swift.min(maxLength ?? maxInputLength, maxInputLength)
        return try tokenizer.encodeBatch(
            texts, pairs: pairs, truncation: Truncation(maxLength: limit, keepsOverflow: false),
            padding: padding(tokenizer))
    }

    /// Pads encodings of any lengths to the longest, as `encode` pads them (the tokenizer's side, the config's pad
    /// token), into one batch: how a server runs texts it tokenized one at a time.
    ///
    /// ```swift
    /// let encodings = try texts.map { try tokenizer.encode($0, truncation: Truncation(maxLength: 256)) }
    /// let output = try model(model.batch(encodings))
    /// ```
    public func batch(_ encodings: [Encoding]) throws -> ModelInputs {
        let width = encodings.map(\.count).max() ?? 0
        let padding = padding(try requiredTokenizer())
        return try ModelInputs(
            encodings.map {
                var padded = $0
                padded.pad(to: width, with: padding)
                return padded
            })
    }

    /// The tokenizer, or an error saying the model has none.
    public func requiredTokenizer() throws -> Tokenizer {
        guard let tokenizer else {
            throw ModelError.input("the model has no tokenizer (its folder or file carries no tokenizer files)")
        }
        return tokenizer
    }

    private func padding(_ tokenizer: Tokenizer) -> Padding {
        let padID = config.padTokenID.map(Int32.init) ?? tokenizer.padding?.padID ?? 0
        return Padding(
            length: .longest, left: tokenizer.padding?.left ?? false, padID: padID,
            padToken: tokenizer.token(for: padID) ?? "[PAD]")
    }

    /// The longest input the position table allows.
    open var maxInputLength: Int { config.maxPositions }
}

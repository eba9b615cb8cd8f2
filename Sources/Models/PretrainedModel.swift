import NN
import Synchronization
import Tensors
import Tokenizers

/// The inputs of a forward pass, as transformers names them; ids and masks are [batch, length] integer tensors.
public struct ModelInputs {
    public var inputIDs: Tensor
    /// 1 for tokens, 0 for padding; for GPT-2 with a cache it covers the cached positions too.
    public var attentionMask: Tensor?
    /// Segment ids (BERT); zeros when nil.
    public var tokenTypeIDs: Tensor?
    /// Positions (GPT-2 with left padding); 0… (after the cache) when nil, RoBERTa's from the padding when nil.
    public var positionIDs: Tensor?
    /// Targets for a loss: token ids (-100 ignored) for language models and token classification, one label per
    /// row for sequence classification (float for regression or multi-label).
    public var labels: Tensor?
    /// Question answering targets: the answer's first and last token.
    public var startPositions: Tensor?
    public var endPositions: Tensor?
    /// GPT-2's keys and values of the positions before these ids; extended in place by the pass.
    public var cache: KeyValueCache?

    public init(
        inputIDs: Tensor, attentionMask: Tensor? = nil, tokenTypeIDs: Tensor? = nil, positionIDs: Tensor? = nil,
        labels: Tensor? = nil, cache: KeyValueCache? = nil
    ) {
        self.inputIDs = inputIDs
        self.attentionMask = attentionMask
        self.tokenTypeIDs = tokenTypeIDs
        self.positionIDs = positionIDs
        self.labels = labels
        self.cache = cache
    }

    /// A batch of encodings of one length (`Tokenizer.encodeBatch` with padding).
    public init(_ encodings: [Encoding]) throws {
        let length = encodings.first?.count ?? 0
        guard !encodings.isEmpty, encodings.allSatisfy({ $0.count == length }) else {
            throw ModelError.input("a batch needs encodings of one length (pad them), got \(encodings.map(\.count))")
        }
        let shape = [encodings.count, length]
        self.init(
            inputIDs: Tensor(encodings.flatMap(\.ids), shape: shape),
            attentionMask: Tensor(encodings.flatMap(\.attentionMask), shape: shape),
            tokenTypeIDs: Tensor(encodings.flatMap(\.typeIDs), shape: shape))
    }
}

/// What a forward pass returns; which fields are set depends on the model (transformers' `ModelOutput`s).
public struct ModelOutput {
    /// [batch, length, hidden]: the base model's last layer.
    public var lastHiddenState: Tensor?
    /// [batch, hidden]: BERT's pooler (tanh(dense(h[:, 0]))).
    public var poolerOutput: Tensor?
    /// Head outputs: [batch, length, vocabulary] for language models, [batch, labels] or [batch, length, labels]
    /// for classifiers.
    public var logits: Tensor?
    /// Question answering: [batch, length] each.
    public var startLogits: Tensor?
    public var endLogits: Tensor?
    /// The loss, when labels were given.
    public var loss: Tensor?
    /// The cache the pass extended (GPT-2).
    public var cache: KeyValueCache?

    public init() {}

    /// The last hidden state, which every base model sets.
    func hidden() throws -> Tensor {
        guard let lastHiddenState else { throw ModelError.input("the base model returned no hidden state") }
        return lastHiddenState
    }

    /// The logits, which every head sets.
    func requiredLogits() throws -> Tensor {
        guard let logits else { throw ModelError.input("the model returned no logits") }
        return logits
    }
}

/// GPT-2's attention keys and values of the positions seen so far, per layer: [batch, heads, positions, head size].
public final class KeyValueCache: @unchecked Sendable {
    public internal(set) var keys: [Tensor?]
    public internal(set) var values: [Tensor?]

    public init(layers: Int) {
        keys = Array(repeating: nil, count: layers)
        values = Array(repeating: nil, count: layers)
    }

    /// How many positions are cached.
    public var length: Int { keys.first??.size(2) ?? 0 }
}

/// The tasks a pretrained model is built for, each with its head.
public enum ModelTask: String, Sendable, CaseIterable {
    /// The base model: hidden states (and BERT's pooler).
    case base
    case maskedLM = "masked-lm"
    case causalLM = "causal-lm"
    case sequenceClassification = "sequence-classification"
    case tokenClassification = "token-classification"
    case questionAnswering = "question-answering"

    /// The transformers class of this task for an architecture (`BertForMaskedLM`).
    ///
    /// Nil when transformers has none that ModelHub builds.
    public func className(for type: ModelConfig.ModelType) -> String? {
        let stem = ["bert": "Bert", "roberta": "Roberta", "gpt2": "GPT2"][type.rawValue] ?? ""
        switch (self, type) {
        case (.base, _): return stem + "Model"
        case (.maskedLM, .bert), (.maskedLM, .roberta): return stem + "ForMaskedLM"
        case (.causalLM, .gpt2): return "GPT2LMHeadModel"
        case (.sequenceClassification, _): return stem + "ForSequenceClassification"
        case (.tokenClassification, .bert), (.tokenClassification, .roberta): return stem + "ForTokenClassification"
        case (.questionAnswering, .bert), (.questionAnswering, .roberta): return stem + "ForQuestionAnswering"
        default: return nil
        }
    }

    /// The task of a transformers class name (`architectures[0]` of a config).
    public init?(className: String) {
        guard
            let task = ModelTask.allCases.first(where: { task in
                ModelConfig.ModelType.allCases.contains { task.className(for: $0) == className }
            })
        else { return nil }
        self = task
    }
}

/// A pretrained transformer with its config, tokenizer and task head: what `AutoModel*.fromPretrained` returns.
///
/// Subclasses: `BertModel` (BERT and RoBERTa), `GPT2Model`, and the task models (`MaskedLanguageModel`,
/// `CausalLanguageModel`, `SequenceClassificationModel`, `TokenClassificationModel`, `QuestionAnsweringModel`).
open class PretrainedModel: Module, @unchecked Sendable {
    public let config: ModelConfig
    public let task: ModelTask
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
    /// The folder or `.mhub` file the model was loaded from.
    public internal(set) var source: String?

    init(config: ModelConfig, task: ModelTask) {
        self.config = config
        self.task = task
    }

    /// The transformers class this model corresponds to (`BertForMaskedLM`), which `savePretrained` writes.
    public var className: String { task.className(for: config.modelType) ?? "PreTrainedModel" }

    /// The base model's prefix in checkpoints: `bert`, `roberta` or `transformer`.
    public var basePrefix: String { config.modelType == .gpt2 ? "transformer" : config.modelType.rawValue }

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
        guard let tokenizer else {
            throw ModelError.input("the model has no tokenizer (its folder or file carries no tokenizer files)")
        }
        let padID = config.padTokenID.map(Int32.init) ?? tokenizer.padding?.padID ?? 0
        let padding = Padding(
            length: .longest, left: tokenizer.padding?.left ?? false, padID: padID,
            padToken: tokenizer.token(for: padID) ?? "[PAD]")
        let limit = Swift.min(maxLength ?? maxInputLength, maxInputLength)
        return try tokenizer.encodeBatch(
            texts, pairs: pairs, truncation: Truncation(maxLength: limit), padding: padding)
    }

    /// The longest input the position table allows (RoBERTa's two offset rows excluded).
    public var maxInputLength: Int {
        config.modelType == .roberta ? config.maxPositions - (config.padTokenID ?? 1) - 1 : config.maxPositions
    }
}

import Formats
import Hub
import Tokenizers

/// What the `AutoModel…` entry points share: a task, and what its models are (`any CausalLM`, …), so that
/// `fromPretrained` returns something typed for the task, whatever the architecture.
///
/// ```swift
/// let gpt2 = try await AutoModelForCausalLM.fromPretrained("gpt2")
/// let (_, _, text) = try gpt2.generate("Hello", config: GenerationConfig(maxNewTokens: 20))
/// ```
public protocol AutoModelClass {
    /// What the task's models are (a task protocol, as an existential).
    associatedtype Model
    /// The task whose class `fromPretrained` builds.
    static var task: ModelTask { get }
}

extension AutoModelClass {
    /// Resolves `model` — a model name (`bert-base-uncased`, `org/name`), a model folder or an `.mhub` file; a
    /// name is read from the Hugging Face cache and pulled into it when missing — and loads it for the task, its
    /// weights in `dtype` (`PretrainedModel.load`); transformers' warning about missing and unused weights goes
    /// to stderr.
    public static func fromPretrained(
        _ model: String, revision: String = "main", dtype: WeightPrecision = .f32,
        client: HubClient = HubClient(environment: .current())
    ) async throws -> Model {
        try typed(
            try await loadPretrained(model, labels: nil, revision: revision, precision: dtype, client: client), model)
    }

    /// Loads a model folder or `.mhub` file for the task, synchronously (no names, no downloads), its weights in
    /// `dtype`.
    public static func load(_ path: String, dtype: WeightPrecision = .f32) throws -> Model {
        try typed(try PretrainedModel.load(path, task: task, precision: dtype), path)
    }

    /// A model of `config` for the task with freshly drawn weights (`PretrainedModel.random`).
    public static func random(config: ModelConfig, seed: UInt64 = 0) throws -> Model {
        try typed(try PretrainedModel.random(config: config, task: task, seed: seed), "config")
    }

    package static func loadPretrained(
        _ model: String, labels: [String]?, revision: String, precision: WeightPrecision = .f32, client: HubClient
    ) async throws -> PretrainedModel {
        let path = try client.locate(model, revision: revision).path
        let loaded = try PretrainedModel.load(path, task: task, labels: labels, precision: precision)
        if let warning = loaded.loadReport.warning(modelClass: loaded.className, path: model) {
            writeStandardError(warning + "\n")
        }
        return loaded
    }

    /// `model` as the task's type, or an error naming its class (`name` names the model in it).
    package static func typed(_ model: PretrainedModel, _ name: String) throws -> Model {
        guard let typed = model as? Model else {
            throw ModelError.unsupported(path: name, reason: "\(model.className) is not a \(task.rawValue) model")
        }
        return typed
    }
}

/// An entry point whose head takes labels: `labels` replaces the config's (a new head of that size, trained by
/// fine-tuning).
///
/// ```swift
/// let model = try await AutoModelForSequenceClassification.fromPretrained("roberta-base", labels: ["neg", "pos"])
/// model.loadReport.missing    // the new head: classifier.dense.weight, …
/// ```
public protocol AutoLabelledModelClass: AutoModelClass {}

extension AutoLabelledModelClass {
    /// `fromPretrained(_:revision:dtype:client:)` with the head's labels replaced by `labels`.
    public static func fromPretrained(
        _ model: String, labels: [String]?, revision: String = "main", dtype: WeightPrecision = .f32,
        client: HubClient = HubClient(environment: .current())
    ) async throws -> Model {
        try typed(
            try await loadPretrained(model, labels: labels, revision: revision, precision: dtype, client: client),
            model)
    }

    /// `load(_:dtype:)` with the head's labels replaced by `labels`.
    public static func load(_ path: String, labels: [String]?, dtype: WeightPrecision = .f32) throws -> Model {
        try typed(try PretrainedModel.load(path, task: task, labels: labels, precision: dtype), path)
    }
}

/// The base model of a checkpoint (`BertModel`, `RobertaModel`, `DistilBertModel`, `GPT2Model`): hidden states,
/// sentence embeddings.
///
/// ```swift
/// let model = try await AutoModel.fromPretrained("sentence-transformers/all-MiniLM-L6-v2")   // a BertModel
/// let hidden = try model(["a sentence"]).lastHiddenState                                     // [1, T, 384]
/// ```
public enum AutoModel: AutoModelClass {
    public typealias Model = any SentenceEncoder
    public static var task: ModelTask { .base }
}

/// The masked-LM head (fill-mask): `BertForMaskedLM`, `RobertaForMaskedLM`, `DistilBertForMaskedLM`.
///
/// ```swift
/// let model = try AutoModelForMaskedLM.load("bert.mhub")
/// let predictions = try model.fillMask(["The [MASK] is free."])
/// ```
public enum AutoModelForMaskedLM: AutoModelClass {
    public typealias Model = any MaskedLM
    public static var task: ModelTask { .maskedLM }
}

/// A causal language model (text generation): `GPT2LMHeadModel`.
///
/// ```swift
/// let gpt2 = try await AutoModelForCausalLM.fromPretrained("gpt2")
/// let tokens = try gpt2.generate([[464, 2068]], config: GenerationConfig(maxNewTokens: 5))   // new ids per prompt
/// ```
public enum AutoModelForCausalLM: AutoModelClass {
    public typealias Model = any CausalLM
    public static var task: ModelTask { .causalLM }
}

/// A text classifier: `BertForSequenceClassification`, `RobertaFor…`, `DistilBertFor…`, `GPT2For…`.
///
/// ```swift
/// let classifier = try await AutoModelForSequenceClassification.fromPretrained("out/best")
/// let scores = try classifier.classify(["a fine tool"])
/// ```
public enum AutoModelForSequenceClassification: AutoLabelledModelClass {
    public typealias Model = any SequenceClassifier
    public static var task: ModelTask { .sequenceClassification }
}

/// A token classifier (named entities, tags): `BertForTokenClassification`, ….
///
/// ```swift
/// let tagger = try await AutoModelForTokenClassification.fromPretrained("bert-base-cased", labels: ["O", "PER", "LOC"])
/// ```
public enum AutoModelForTokenClassification: AutoLabelledModelClass {
    public typealias Model = any TokenClassifier
    public static var task: ModelTask { .tokenClassification }
}

/// Extractive question answering (start and end logits): `BertForQuestionAnswering`, ….
///
/// ```swift
/// let reader = try await AutoModelForQuestionAnswering.fromPretrained("distilbert-base-uncased")
/// ```
public enum AutoModelForQuestionAnswering: AutoModelClass {
    public typealias Model = any QuestionAnswerer
    public static var task: ModelTask { .questionAnswering }
}

/// A model's config.json (`AutoConfig.fromPretrained` in transformers).
///
/// ```swift
/// let config = try await AutoConfig.fromPretrained("gpt2")     // config.json alone is fetched
/// config.modelType      // "gpt2"
/// config.hiddenSize     // 768
/// ```
public enum AutoConfig {
    /// `model` is a model name, a folder or an `.mhub` file; a name's config is fetched alone when missing.
    public static func fromPretrained(
        _ model: String, revision: String = "main", client: HubClient = HubClient(environment: .current())
    ) async throws -> ModelConfig {
        let path = try client.locate(model, revision: revision, selection: FileSelection(include: ["config.json"])).path
        return try ModelConfig.fromPretrained(path)
    }
}

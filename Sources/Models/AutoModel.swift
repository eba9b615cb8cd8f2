import Formats
import Hub
import Tokenizers

extension PretrainedModel {
    /// Builds the model for `task` from a model folder or `.mhub` file: config, weights (loaded by name, f32 ones
    /// mapped rather than copied), tokenizer; in evaluation mode, as `from_pretrained` returns it.
    ///
    /// `labels` gives a classification head other labels than the config's: a head of another size is initialised
    /// afresh (transformers' `ignore_mismatched_sizes`), reported in `loadReport.mismatched`.
    public static func load(_ path: String, task: ModelTask, labels: [String]? = nil) throws -> PretrainedModel {
        var config = try ModelConfig.fromPretrained(path)
        if let labels { config = config.withLabels(labels) }
        let archive: TensorArchive
        if path.hasSuffix(".mhub") {
            archive = try MHubFile(path: path)
        } else {
            archive = try ModelSource.open(path).weights
        }
        // Missing weights are initialised, as transformers does; but a config describing far more than the
        // checkpoint holds is a lie that would allocate from it (RELIABILITY C1).
        let stored = archive.parameterCount
        guard config.parameterEstimate <= 2 * stored + (1 << 24) else {
            throw ModelError.config(
                path: path,
                reason: "the config describes \(config.parameterEstimate) parameters, the checkpoint holds \(stored)")
        }
        let builder = ParameterBuilder(
            config: config, weights: CheckpointWeights(archive),
            prefix: config.modelType == .gpt2 ? "transformer" : config.modelType.rawValue,
            replacesMismatchedHeads: labels != nil)
        let model = try build(task, builder: builder, path: path)
        model.loadReport = builder.finish()
        model.source = path
        model.eval()
        return model
    }

    /// A model of `config` with freshly initialised weights (training from scratch, benchmarks).
    public static func random(config: ModelConfig, task: ModelTask, seed: UInt64 = 0) throws -> PretrainedModel {
        let builder = ParameterBuilder(
            config: config, weights: nil, prefix: config.modelType == .gpt2 ? "transformer" : config.modelType.rawValue,
            seed: seed)
        return try build(task, builder: builder, path: "config")
    }

    static func build(_ task: ModelTask, builder: ParameterBuilder, path: String) throws -> PretrainedModel {
        let config = builder.config
        guard task.className(for: config.modelType) != nil else {
            throw ModelError.unsupported(
                path: path, reason: "\(config.modelType.rawValue) has no \(task.rawValue) model in ModelHub")
        }
        let root = Scope(builder: builder, path: "")
        switch (task, config.modelType) {
        case (.base, .gpt2): return try GPT2Model(root)
        case (.base, _): return try BertModel(root, pooling: true)
        case (.maskedLM, _): return try MaskedLanguageModel(root)
        case (.causalLM, _): return try CausalLanguageModel(root)
        case (.sequenceClassification, _): return try SequenceClassificationModel(root)
        case (.tokenClassification, _): return try TokenClassificationModel(root)
        case (.questionAnswering, _): return try QuestionAnsweringModel(root)
        }
    }

    /// Resolves `model` (a folder, an `.mhub` file or a model name, pulled into the Hugging Face cache when
    /// missing) and loads it for `task`; transformers' warning about missing and unused weights goes to stderr.
    static func fromPretrained(
        _ model: String, task: ModelTask, labels: [String]?, revision: String, client: HubClient
    ) async throws -> PretrainedModel {
        let path = try Pretrained.locate(model, revision: revision, client: client)
        let loaded = try load(path, task: task, labels: labels)
        if let warning = loaded.loadReport.warning(modelClass: loaded.className, path: model) {
            writeStandardError(warning + "\n")
        }
        return loaded
    }
}

/// The base model of a checkpoint (`BertModel` for BERT and RoBERTa, `GPT2Model`): hidden states.
public enum AutoModel {
    /// `model` is a model name (`bert-base-uncased`, `org/name`), a model folder, or an `.mhub` file.
    public static func fromPretrained(
        _ model: String, revision: String = "main", client: HubClient = HubClient(environment: .current())
    ) async throws -> PretrainedModel {
        try await PretrainedModel.fromPretrained(model, task: .base, labels: nil, revision: revision, client: client)
    }
}

/// BERT or RoBERTa with the masked-LM head (fill-mask).
public enum AutoModelForMaskedLM {
    public static func fromPretrained(
        _ model: String, revision: String = "main", client: HubClient = HubClient(environment: .current())
    ) async throws -> PretrainedModel {
        try await PretrainedModel.fromPretrained(
            model, task: .maskedLM, labels: nil, revision: revision, client: client)
    }
}

/// GPT-2 with its language-model head (text generation).
public enum AutoModelForCausalLM {
    public static func fromPretrained(
        _ model: String, revision: String = "main", client: HubClient = HubClient(environment: .current())
    ) async throws -> PretrainedModel {
        try await PretrainedModel.fromPretrained(
            model, task: .causalLM, labels: nil, revision: revision, client: client)
    }
}

/// A text classifier; `labels` replaces the config's labels (a new head, trained by fine-tuning).
public enum AutoModelForSequenceClassification {
    public static func fromPretrained(
        _ model: String, labels: [String]? = nil, revision: String = "main",
        client: HubClient = HubClient(environment: .current())
    ) async throws -> PretrainedModel {
        try await PretrainedModel.fromPretrained(
            model, task: .sequenceClassification, labels: labels, revision: revision, client: client)
    }
}

/// A token classifier (named entities, tags); `labels` replaces the config's labels.
public enum AutoModelForTokenClassification {
    public static func fromPretrained(
        _ model: String, labels: [String]? = nil, revision: String = "main",
        client: HubClient = HubClient(environment: .current())
    ) async throws -> PretrainedModel {
        try await PretrainedModel.fromPretrained(
            model, task: .tokenClassification, labels: labels, revision: revision, client: client)
    }
}

/// Extractive question answering (start and end logits).
public enum AutoModelForQuestionAnswering {
    public static func fromPretrained(
        _ model: String, revision: String = "main", client: HubClient = HubClient(environment: .current())
    ) async throws -> PretrainedModel {
        try await PretrainedModel.fromPretrained(
            model, task: .questionAnswering, labels: nil, revision: revision, client: client)
    }
}

/// A model's config.json (`AutoConfig.fromPretrained` in transformers).
public enum AutoConfig {
    /// `model` is a model name, a folder or an `.mhub` file; a name's config is fetched alone when missing.
    public static func fromPretrained(
        _ model: String, revision: String = "main", client: HubClient = HubClient(environment: .current())
    ) async throws -> ModelConfig {
        let path = try Pretrained.locate(
            model, revision: revision, selection: FileSelection(include: ["config.json"]), client: client)
        return try ModelConfig.fromPretrained(path)
    }
}

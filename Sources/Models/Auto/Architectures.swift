/// One architecture ModelHub builds: its `model_type`, config reader, checkpoint quirks and classes.
///
/// One class per task. Each architecture's folder defines one (`Bert.architecture`); `Architectures.all` lists them.
struct Architecture: Sendable {
    /// `model_type` in config.json.
    let modelType: String
    /// The base model's attribute in task models, and so the prefix of its keys in their checkpoints (`bert`,
    /// `transformer`): loading adds or drops it as the checkpoint needs, as transformers does.
    let basePrefix: String
    /// `pad_token_id` when the config has none (transformers' config class default).
    let defaultPadTokenID: Int?
    /// Reads the architecture's own keys.
    let readConfig: @Sendable (ConfigReader) throws -> any ArchitectureConfig
    /// A checkpoint key as the model names it, or nil for a buffer the model does not keep (`sanitize(key:)`).
    let sanitize: @Sendable (String) -> String?
    /// The model classes, the base model first.
    let classes: [PretrainedModel.Type]

    /// The class for `task`, or an error naming the tasks there are.
    func modelClass(for task: ModelTask, path: String) throws -> PretrainedModel.Type {
        if let found = classes.first(where: { $0.task == task }) { return found }
        throw ModelError.unsupported(
            path: path,
            reason: "\(modelType) has no \(task.rawValue) model in ModelHub (it has "
                + classes.map { "\($0.task.rawValue) (\($0.className))" }.joined(separator: ", ") + ")")
    }
}

/// The table of architectures: `model_type` × task → class.
///
/// Adding an architecture is a folder and a line here.
enum Architectures {
    static let all: [Architecture] = [
        Bert.architecture, Roberta.architecture, GPT2.architecture, DistilBert.architecture,
        XLMRoberta.architecture, MPNet.architecture, ModernBert.architecture,
    ]

    static func named(_ modelType: String) -> Architecture? { all.first { $0.modelType == modelType } }

    static var modelTypes: [String] { all.map(\.modelType) }

    /// The architecture and task of a transformers class name (`BertForMaskedLM`), or nil.
    static func modelClass(named name: String) -> PretrainedModel.Type? {
        all.lazy.flatMap(\.classes).first { $0.className == name }
    }
}

extension ModelConfig {
    /// The tasks ModelHub has a class for in this config's architecture (`[.base, .maskedLM, …]`).
    ///
    /// ```swift
    /// let config = try ModelConfig.fromPretrained("Tests/Fixtures/models/tiny-gpt2")
    /// config.availableTasks.contains(.causalLM)      // true: GPT2LMHeadModel
    /// ```
    public var availableTasks: [ModelTask] { Architectures.named(modelType)?.classes.map { $0.task } ?? [] }
}

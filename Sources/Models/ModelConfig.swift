import Formats
import NN
import Support

/// A model's `config.json`, read as transformers' `AutoConfig` reads it: `model_type` picks the architecture, whose
/// own config type (`BertConfig`, `GPT2Config`, …) reads its keys; the sizes are checked before anything is
/// allocated from them, and every key (known or not) is kept for saving.
///
/// ```swift
/// let config = try ModelConfig.fromPretrained("Tests/Fixtures/parity/bert-base")
/// config.modelType     // "bert"
/// config.hiddenSize    // 32 (BERT's hidden_size, GPT-2's n_embd, DistilBERT's dim)
/// ```
public struct ModelConfig: Sendable {
    /// Every key of the file, in file order (unknown ones included, so `savePretrained` writes them back).
    public private(set) var json: JSONObject
    /// `model_type`: `bert`, `roberta`, `gpt2`, `distilbert`.
    public let modelType: String
    /// The architecture's own settings, read with its JSON key names.
    public let settings: any ArchitectureConfig
    public let padTokenID: Int?
    public let bosTokenID: Int?
    public let eosTokenID: Int?
    /// Labels of classification heads, by id (`id2label`, else `LABEL_0`… for `num_labels`).
    public private(set) var labels: [String]
    /// Whether output embeddings share the input embedding table (`tie_word_embeddings`, default true).
    public let tieWordEmbeddings: Bool
    /// `architectures[0]` (`BertForMaskedLM`).
    public private(set) var architecture: String?

    /// Largest size any one config value may have, and the most parameters a config may describe (2^33, 32 GB in
    /// f32): a lying config is refused before it allocates.
    static let maxDimension = 1 << 22
    static let maxParameters = 1 << 33

    /// Reads `config.json` of a model folder, or the config an `.mhub` carries.
    public static func fromPretrained(_ path: String) throws -> ModelConfig {
        if path.hasSuffix(".mhub") {
            let file = try MHubFile(path: path)
            guard let json = try file.config() else {
                throw ModelError.config(path: path, reason: "the file carries no config.json")
            }
            return try ModelConfig(json: json, path: path)
        }
        let file = path.hasSuffix("/") ? path + "config.json" : path + "/config.json"
        let bytes: [UInt8]
        switch readWholeFile(file, limit: 1 << 24) {
        case .success(let read): bytes = read
        case .failure(let failure): throw ModelError.config(path: file, reason: failure.reason)
        }
        return try parse(bytes, path: file)
    }

    /// Parses config.json's bytes; `path` names the file in errors.
    public static func parse(_ bytes: [UInt8], path: String) throws -> ModelConfig {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes, maxDepth: 64) } catch {
            throw ModelError.config(path: path, reason: error.description)
        }
        guard let object = value.object else { throw ModelError.config(path: path, reason: "not a JSON object") }
        return try ModelConfig(json: object, path: path)
    }

    /// Checks and reads a parsed config; `path` names it in errors.
    public init(json: JSONObject, path: String) throws {
        let reader = ConfigReader(json: json, path: path)
        let typeName = try reader.string("model_type")
        guard let architecture = typeName.flatMap(Architectures.named) else {
            let named = typeName.map { "'\($0)'" } ?? "no model_type"
            throw ModelError.unsupported(
                path: path, reason: "\(named): ModelHub builds \(Architectures.modelTypes.joined(separator: ", "))")
        }
        self.json = json
        modelType = architecture.modelType
        let settings = try architecture.readConfig(reader)
        self.settings = settings
        self.architecture = try reader.strings("architectures")?.first
        guard settings.hiddenSize % settings.headCount == 0 else {
            throw ModelError.config(
                path: path,
                reason: "the hidden size (\(settings.hiddenSize)) is not a multiple of the number of attention heads "
                    + "(\(settings.headCount))")
        }
        let vocabularySize = settings.vocabularySize
        padTokenID = try reader.tokenID("pad_token_id", below: vocabularySize) ?? architecture.defaultPadTokenID
        bosTokenID = try reader.tokenID("bos_token_id", below: vocabularySize)
        eosTokenID = try reader.tokenID("eos_token_id", below: vocabularySize)
        tieWordEmbeddings = try reader.bool("tie_word_embeddings") ?? true
        labels = try reader.labels()
        guard let estimate = settings.parameterEstimate, estimate <= ModelConfig.maxParameters else {
            throw ModelError.config(
                path: path,
                reason: "the sizes describe more than \(ModelConfig.maxParameters) parameters; refusing to allocate")
        }
    }

    public var vocabularySize: Int { settings.vocabularySize }
    /// The width of hidden states (BERT's `hidden_size`, GPT-2's `n_embd`, DistilBERT's `dim`).
    public var hiddenSize: Int { settings.hiddenSize }
    public var layerCount: Int { settings.layerCount }
    public var headCount: Int { settings.headCount }
    /// The feed-forward block's inner width.
    public var intermediateSize: Int { settings.intermediateSize }
    /// Rows of the position table.
    public var maxPositions: Int { settings.maxPositions }
    /// Standard deviation of freshly initialised weights (`initializer_range`).
    public var initializerRange: Double { settings.initializerRange }
    /// How many parameters the config describes (embeddings and layers, heads aside).
    public var parameterEstimate: Int { settings.parameterEstimate ?? Int.max }

    /// Number of labels of classification heads.
    public var labelCount: Int { labels.count }

    /// Size of one attention head.
    public var headSize: Int { hiddenSize / headCount }

    /// The architecture's typed settings (`config.typed(BertConfig.self)`), or an error naming what was found.
    func typed<Settings: ArchitectureConfig>(_ type: Settings.Type) throws -> Settings {
        guard let typed = settings as? Settings else {
            throw ModelError.unsupported(path: "config", reason: "a \(modelType) config is not a \(Settings.self)")
        }
        return typed
    }

    /// A copy with other labels (`num_labels`, `id2label`, `label2id` rewritten), for a new classification head.
    public func withLabels(_ names: [String]) -> ModelConfig {
        var copy = self
        copy.setJSON(
            "id2label", .object(JSONObject(names.enumerated().map { (String($0.offset), .string($0.element)) })))
        copy.setJSON("label2id", .object(JSONObject(names.enumerated().map { ($0.element, .int($0.offset)) })))
        copy.setJSON("num_labels", nil)
        copy.labels = names
        return copy
    }

    /// A copy with `architectures` set (what `savePretrained` writes for the class saved).
    func withArchitecture(_ name: String) -> ModelConfig {
        var copy = self
        copy.setJSON("architectures", .array([.string(name)]))
        copy.architecture = name
        return copy
    }

    /// Replaces a key's value where it stands (else appends it); nil removes the key.
    private mutating func setJSON(_ key: String, _ value: JSONValue?) {
        var entries = json.entries
        if let index = entries.firstIndex(where: { $0.key == key }) {
            if let value { entries[index].value = value } else { entries.remove(at: index) }
        } else if let value {
            entries.append((key, value))
        }
        json = JSONObject(entries)
    }
}

/// What an architecture's own config (`BertConfig`, `GPT2Config`, …) tells the rest of ModelHub: the sizes, under
/// whatever names its JSON gives them.
///
/// ```swift
/// let config = try ModelConfig.fromPretrained(folder)
/// if let bert = config.settings as? BertConfig { print(bert.typeVocabularySize) }
/// ```
public protocol ArchitectureConfig: Sendable {
    var vocabularySize: Int { get }
    var hiddenSize: Int { get }
    var layerCount: Int { get }
    var headCount: Int { get }
    var intermediateSize: Int { get }
    var maxPositions: Int { get }
    /// Rows of embedding tables besides the vocabulary (positions, token types).
    var otherEmbeddingRows: Int { get }
    /// Standard deviation of freshly initialised weights (`initializer_range`, default 0.02).
    var initializerRange: Double { get }
}

extension ArchitectureConfig {
    /// Embeddings plus per-layer weights, with overflow checks (nil on overflow).
    var parameterEstimate: Int? {
        func product(_ values: Int...) -> Int? {
            var result = 1
            for value in values {
                let (next, overflow) = result.multipliedReportingOverflow(by: value)
                if overflow { return nil }
                result = next
            }
            return result
        }
        guard let embeddings = product(vocabularySize + otherEmbeddingRows, hiddenSize),
            let attention = product(4, hiddenSize, hiddenSize),
            let feedForward = product(2, hiddenSize, intermediateSize),
            let allLayers = product(layerCount, attention + feedForward)
        else { return nil }
        let (total, overflow) = embeddings.addingReportingOverflow(allLayers)
        return overflow ? nil : total
    }
}

extension ConfigReader {
    /// An activation name (`hidden_act`, `activation_function`, `activation`) ModelHub computes.
    func activation(_ key: String, default name: String) throws -> Activation {
        let name = try string(key) ?? name
        guard let activation = Activation(name: name) else {
            throw ModelError.unsupported(
                path: path, reason: "activation '\(name)' (supported: \(Activation.names.joined(separator: ", ")))")
        }
        return activation
    }
}

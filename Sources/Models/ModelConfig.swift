import Formats

/// A model's `config.json`, read as transformers' `AutoConfig` reads it: `model_type` picks the architecture, the
/// sizes are checked before anything is allocated from them, and every key (known or not) is kept for saving.
public struct ModelConfig: Sendable {
    /// The architectures ModelHub builds.
    public enum ModelType: String, Sendable, CaseIterable {
        case bert, roberta, gpt2
    }

    /// Every key of the file, in file order (unknown ones included, so `savePretrained` writes them back).
    public private(set) var json: JSONObject
    public let modelType: ModelType
    public let vocabularySize: Int
    public let hiddenSize: Int
    public let layerCount: Int
    public let headCount: Int
    public let intermediateSize: Int
    public let maxPositions: Int
    /// Rows of the token-type table (BERT 2, RoBERTa 1, GPT-2 none).
    public let typeVocabularySize: Int
    public let layerNormEpsilon: Double
    /// `gelu`, `gelu_new`, `relu`, … (`hidden_act`, GPT-2's `activation_function`).
    public let activation: String
    public let padTokenID: Int?
    public let bosTokenID: Int?
    public let eosTokenID: Int?
    /// Standard deviation of freshly initialised weights (`initializer_range`).
    public let initializerRange: Double
    public let hiddenDropout: Double
    public let attentionDropout: Double
    /// Dropout before classification heads (`classifier_dropout`, else the hidden dropout).
    public let classifierDropout: Double
    /// Labels of classification heads, by id (`id2label`, else `LABEL_0`… for `num_labels`).
    public private(set) var labels: [String]
    /// Whether output embeddings share the input embedding table (`tie_word_embeddings`, default true).
    public let tieWordEmbeddings: Bool
    /// `architectures[0]` (`BertForMaskedLM`).
    public private(set) var architecture: String?
    /// GPT-2's attention scaling by 1/√d (`scale_attn_weights`) and by 1/(layer + 1).
    public let scaleAttentionWeights: Bool
    public let scaleAttentionByLayer: Bool

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
        guard let type = typeName.flatMap(ModelType.init(rawValue:)) else {
            let named = typeName.map { "'\($0)'" } ?? "no model_type"
            throw ModelError.unsupported(
                path: path,
                reason: "\(named): ModelHub builds \(ModelType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.json = json
        modelType = type
        architecture = try reader.strings("architectures")?.first
        let gpt2 = type == .gpt2
        vocabularySize = try reader.requiredSize("vocab_size")
        hiddenSize = try reader.requiredSize(gpt2 ? "n_embd" : "hidden_size")
        layerCount = try reader.requiredSize(gpt2 ? "n_layer" : "num_hidden_layers")
        headCount = try reader.requiredSize(gpt2 ? "n_head" : "num_attention_heads")
        maxPositions = try reader.requiredSize(gpt2 ? "n_positions" : "max_position_embeddings")
        if gpt2 {
            intermediateSize = try reader.size("n_inner", required: false) ?? 4 * hiddenSize
            typeVocabularySize = 0
        } else {
            intermediateSize = try reader.requiredSize("intermediate_size")
            typeVocabularySize = try reader.size("type_vocab_size", required: false, allowZero: true) ?? 2
        }
        guard hiddenSize % headCount == 0 else {
            throw ModelError.config(
                path: path,
                reason: "the hidden size (\(hiddenSize)) is not a multiple of the number of attention heads "
                    + "(\(headCount))")
        }
        layerNormEpsilon =
            try reader.number(gpt2 ? "layer_norm_epsilon" : "layer_norm_eps", in: 0...1) ?? (gpt2 ? 1e-5 : 1e-12)
        activation = try reader.string(gpt2 ? "activation_function" : "hidden_act") ?? (gpt2 ? "gelu_new" : "gelu")
        guard Activation(name: activation) != nil else {
            throw ModelError.unsupported(
                path: path,
                reason: "activation '\(activation)' (supported: \(Activation.names.joined(separator: ", ")))")
        }
        padTokenID = try reader.tokenID("pad_token_id", below: vocabularySize)
        bosTokenID = try reader.tokenID("bos_token_id", below: vocabularySize)
        eosTokenID = try reader.tokenID("eos_token_id", below: vocabularySize)
        initializerRange = try reader.number("initializer_range", in: 0...10) ?? 0.02
        hiddenDropout = try reader.number(gpt2 ? "resid_pdrop" : "hidden_dropout_prob", in: 0...1) ?? 0.1
        attentionDropout = try reader.number(gpt2 ? "attn_pdrop" : "attention_probs_dropout_prob", in: 0...1) ?? 0.1
        classifierDropout =
            try reader.number(gpt2 ? "summary_first_dropout" : "classifier_dropout", in: 0...1) ?? hiddenDropout
        tieWordEmbeddings = try reader.bool("tie_word_embeddings") ?? true
        scaleAttentionWeights = try reader.bool("scale_attn_weights") ?? true
        scaleAttentionByLayer = try reader.bool("scale_attn_by_inverse_layer_idx") ?? false
        labels = try reader.labels()
        let estimate = ModelConfig.parameterEstimate(
            vocabulary: vocabularySize, hidden: hiddenSize, layers: layerCount, intermediate: intermediateSize,
            positions: maxPositions + typeVocabularySize)
        guard let estimate, estimate <= ModelConfig.maxParameters else {
            throw ModelError.config(
                path: path,
                reason: "the sizes describe more than \(ModelConfig.maxParameters) parameters; refusing to allocate")
        }
    }

    /// How many parameters the config describes (embeddings and layers, heads aside).
    public var parameterEstimate: Int {
        ModelConfig.parameterEstimate(
            vocabulary: vocabularySize, hidden: hiddenSize, layers: layerCount, intermediate: intermediateSize,
            positions: maxPositions + typeVocabularySize) ?? Int.max
    }

    /// Embeddings plus per-layer weights, with overflow checks (nil on overflow).
    static func parameterEstimate(vocabulary: Int, hidden: Int, layers: Int, intermediate: Int, positions: Int) -> Int?
    {
        func product(_ values: Int...) -> Int? {
            var result = 1
            for value in values {
                let (next, overflow) = result.multipliedReportingOverflow(by: value)
                if overflow { return nil }
                result = next
            }
            return result
        }
        guard let embeddings = product(vocabulary + positions, hidden),
            let attention = product(4, hidden, hidden), let feedForward = product(2, hidden, intermediate),
            let perLayer = Optional(attention + feedForward), let allLayers = product(layers, perLayer)
        else { return nil }
        let (total, overflow) = embeddings.addingReportingOverflow(allLayers)
        return overflow ? nil : total
    }

    /// Number of labels of classification heads.
    public var labelCount: Int { labels.count }

    /// Size of one attention head.
    public var headSize: Int { hiddenSize / headCount }

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

/// Typed, bounded reads of config keys; a wrong type is an error naming the key (RELIABILITY C1–C3).
private struct ConfigReader {
    let json: JSONObject
    let path: String

    func fail(_ key: String, _ reason: String) -> ModelError {
        ModelError.config(path: path, reason: "\(key): \(reason)")
    }

    func string(_ key: String) throws -> String? {
        switch json[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        default: throw fail(key, "expected a string")
        }
    }

    func strings(_ key: String) throws -> [String]? {
        switch json[key] {
        case nil, .null?: return nil
        case .array(let items)?:
            return try items.map { item in
                guard let text = item.string else { throw fail(key, "expected an array of strings") }
                return text
            }
        default: throw fail(key, "expected an array of strings")
        }
    }

    func bool(_ key: String) throws -> Bool? {
        switch json[key] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        default: throw fail(key, "expected true or false")
        }
    }

    /// A size that must be present.
    func requiredSize(_ key: String) throws -> Int {
        guard let value = try size(key, required: true) else { throw fail(key, "missing") }
        return value
    }

    /// A positive integer (or zero where allowed) no larger than `ModelConfig.maxDimension`.
    func size(_ key: String, required: Bool, allowZero: Bool = false) throws -> Int? {
        guard let value = json[key], value != .null else {
            if required { throw fail(key, "missing (the size cannot be guessed)") }
            return nil
        }
        guard case .number = value else { throw fail(key, "expected an integer") }
        guard let number = value.integer else { throw fail(key, "expected an integer, found \(value.serialized())") }
        guard number >= (allowZero ? 0 : 1), number <= ModelConfig.maxDimension else {
            throw fail(key, "\(number) is out of range (\(allowZero ? 0 : 1)…\(ModelConfig.maxDimension))")
        }
        return number
    }

    func number(_ key: String, in range: ClosedRange<Double>) throws -> Double? {
        switch json[key] {
        case nil, .null?: return nil
        case .number?:
            guard let value = json[key]?.double, range.contains(value) else {
                throw fail(key, "out of range (\(range.lowerBound)…\(range.upperBound))")
            }
            return value
        default: throw fail(key, "expected a number")
        }
    }

    func tokenID(_ key: String, below limit: Int) throws -> Int? {
        switch json[key] {
        case nil, .null?: return nil
        case .number(let text)?:
            guard let value = Int(text) else { throw fail(key, "expected an integer, found \(text)") }
            // transformers accepts ids outside the vocabulary (some configs carry them); they are ignored here.
            return (0..<limit).contains(value) ? value : nil
        case .array(let items)?:  // newer configs list several end tokens: the first is used
            return items.first?.integer.flatMap { (0..<limit).contains($0) ? $0 : nil }
        default: throw fail(key, "expected an integer")
        }
    }

    /// `id2label` (keys "0"… in any order, each id once), else `num_labels` names `LABEL_i`, else 2 labels.
    func labels() throws -> [String] {
        if let value = json["id2label"], value != .null {
            guard let object = value.object else { throw fail("id2label", "expected an object") }
            guard object.count <= ModelConfig.maxDimension else { throw fail("id2label", "too many labels") }
            var names = [String?](repeating: nil, count: object.count)
            for (key, name) in object.entries {
                guard let id = Int(key), names.indices.contains(id), names[id] == nil, let text = name.string else {
                    throw fail("id2label", "ids must be 0…\(object.count - 1), each once, with string names")
                }
                names[id] = text
            }
            return names.compactMap { $0 }
        }
        let count = try size("num_labels", required: false) ?? 2
        return (0..<count).map { "LABEL_\($0)" }
    }
}

/// The activation functions configs name.
enum Activation {
    case gelu, geluNew, relu, tanh

    static let names = ["gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu", "tanh"]

    init?(name: String) {
        switch name {
        case "gelu": self = .gelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": self = .geluNew
        case "relu": self = .relu
        case "tanh": self = .tanh
        default: return nil
        }
    }
}

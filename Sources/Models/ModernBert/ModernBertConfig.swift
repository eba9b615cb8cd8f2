import NN
import Support

/// ModernBERT's config.json keys (transformers' `ModernBertConfig`), in both spellings users have: the Hub's
/// (`global_rope_theta`, `local_rope_theta`, `global_attn_every_n_layers`) and transformers 5's (`rope_parameters`,
/// `layer_types`).
public struct ModernBertConfig: ArchitectureConfig {
    public let vocabularySize: Int
    public let hiddenSize: Int
    public let layerCount: Int
    public let headCount: Int
    public let intermediateSize: Int
    public let maxPositions: Int
    public let normEpsilon: Double
    /// LayerNorms have a shift (`norm_bias`, false in the released models).
    public let normBias: Bool
    public let attentionBias: Bool
    public let mlpBias: Bool
    public let decoderBias: Bool
    public let classifierBias: Bool
    public let activation: Activation
    public let classifierActivation: Activation
    /// "cls" or "mean".
    public let classifierPooling: String
    public let embeddingDropout: Double
    public let attentionDropout: Double
    public let mlpDropout: Double
    public let classifierDropout: Double
    /// Per layer: true for global attention, false for the local sliding window.
    public let globalLayers: [Bool]
    /// Keys within this many positions of the query (either side) are seen by local layers: `local_attention` / 2.
    public let halfWindow: Int
    public let globalRopeTheta: Double
    public let localRopeTheta: Double
    public let initializerRange: Double

    public var otherEmbeddingRows: Int { 0 }

    init(_ reader: ConfigReader) throws {
        vocabularySize = try reader.requiredSize("vocab_size")
        hiddenSize = try reader.requiredSize("hidden_size")
        layerCount = try reader.requiredSize("num_hidden_layers")
        headCount = try reader.requiredSize("num_attention_heads")
        intermediateSize = try reader.requiredSize("intermediate_size")
        maxPositions = try reader.size("max_position_embeddings", required: false) ?? 8192
        normEpsilon = try reader.number("norm_eps", in: 0...1) ?? 1e-5
        normBias = try reader.bool("norm_bias") ?? false
        attentionBias = try reader.bool("attention_bias") ?? false
        mlpBias = try reader.bool("mlp_bias") ?? false
        decoderBias = try reader.bool("decoder_bias") ?? true
        classifierBias = try reader.bool("classifier_bias") ?? false
        activation = try reader.activation("hidden_activation", default: "gelu")
        classifierActivation = try reader.activation("classifier_activation", default: "gelu")
        classifierPooling = try reader.string("classifier_pooling") ?? "cls"
        guard ["cls", "mean"].contains(classifierPooling) else {
            throw reader.fail("classifier_pooling", "is '\(classifierPooling)', not cls or mean")
        }
        embeddingDropout = try reader.number("embedding_dropout", in: 0...1) ?? 0
        attentionDropout = try reader.number("attention_dropout", in: 0...1) ?? 0
        mlpDropout = try reader.number("mlp_dropout", in: 0...1) ?? 0
        classifierDropout = try reader.number("classifier_dropout", in: 0...1) ?? 0
        halfWindow = (try reader.size("local_attention", required: false) ?? 128) / 2
        if let types = try reader.strings("layer_types") {
            guard types.count == layerCount,
                types.allSatisfy({ $0 == "full_attention" || $0 == "sliding_attention" })
            else { throw reader.fail("layer_types", "needs \(layerCount) of full_attention / sliding_attention") }
            globalLayers = types.map { $0 == "full_attention" }
        } else {
            let every = try reader.size("global_attn_every_n_layers", required: false) ?? 3
            globalLayers = (0..<layerCount).map { $0 % every == 0 }
        }
        let rope = reader.json["rope_parameters"]?.object
        func theta(_ type: String, _ key: String, _ fallback: Double) throws -> Double {
            if let value = rope?[type]?.object?["rope_theta"]?.double { return value }
            return try reader.number(key, in: 1...1e12) ?? fallback
        }
        globalRopeTheta = try theta("full_attention", "global_rope_theta", 160_000)
        localRopeTheta = try theta("sliding_attention", "local_rope_theta", 10_000)
        initializerRange = try reader.initializerRange()
        guard hiddenSize % headCount == 0, (hiddenSize / headCount) % 2 == 0 else {
            throw reader.fail("num_attention_heads", "\(headCount) heads do not split \(hiddenSize) into even widths")
        }
    }
}

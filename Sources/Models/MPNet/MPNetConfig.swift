import NN

/// MPNet's config.json keys (transformers' `MPNetConfig`): BERT's sizes without token types, a table of relative
/// position buckets per head.
public struct MPNetConfig: ArchitectureConfig {
    public let vocabularySize: Int
    public let hiddenSize: Int
    public let layerCount: Int
    public let headCount: Int
    public let intermediateSize: Int
    public let maxPositions: Int
    /// `layer_norm_eps` (MPNet's default is 1e-5).
    public let layerNormEpsilon: Double
    public let activation: Activation
    public let hiddenDropout: Double
    public let attentionDropout: Double
    /// Rows of `relative_attention_bias` (`relative_attention_num_buckets`; the bias itself always uses 32 buckets,
    /// as transformers computes it).
    public let relativeBuckets: Int
    public let initializerRange: Double

    public var otherEmbeddingRows: Int { maxPositions }

    init(_ reader: ConfigReader) throws {
        vocabularySize = try reader.requiredSize("vocab_size")
        hiddenSize = try reader.requiredSize("hidden_size")
        layerCount = try reader.requiredSize("num_hidden_layers")
        headCount = try reader.requiredSize("num_attention_heads")
        intermediateSize = try reader.requiredSize("intermediate_size")
        maxPositions = try reader.requiredSize("max_position_embeddings")
        layerNormEpsilon = try reader.number("layer_norm_eps", in: 0...1) ?? 1e-5
        activation = try reader.activation("hidden_act", default: "gelu")
        hiddenDropout = try reader.number("hidden_dropout_prob", in: 0...1) ?? 0.1
        attentionDropout = try reader.number("attention_probs_dropout_prob", in: 0...1) ?? 0.1
        relativeBuckets = try reader.size("relative_attention_num_buckets", required: false) ?? 32
        initializerRange = try reader.initializerRange()
        guard relativeBuckets >= 32 else {
            throw ModelError.config(
                path: reader.path,
                reason: "relative_attention_num_buckets \(relativeBuckets): MPNet looks up 32 buckets")
        }
    }
}

import NN

/// GPT-2's config.json keys (transformers' `GPT2Config`).
///
/// ```swift
/// let config = try ModelConfig.fromPretrained(folder)
/// let settings = config.settings as? GPT2Config     // nil for another model_type
/// settings?.activation
/// ```
public struct GPT2Config: ArchitectureConfig {
    public let vocabularySize: Int
    /// `n_embd`.
    public let hiddenSize: Int
    /// `n_layer`.
    public let layerCount: Int
    /// `n_head`.
    public let headCount: Int
    /// `n_inner`, else 4 × `n_embd`.
    public let intermediateSize: Int
    /// `n_positions`.
    public let maxPositions: Int
    /// `layer_norm_epsilon`.
    public let layerNormEpsilon: Double
    /// `activation_function` (`gelu_new`).
    public let activation: Activation
    /// `resid_pdrop`, `embd_pdrop`, `attn_pdrop`.
    public let residualDropout: Double
    public let embeddingDropout: Double
    public let attentionDropout: Double
    /// Dropout before the classification head (`summary_first_dropout`).
    public let classifierDropout: Double
    /// Attention scaled by 1/√d (`scale_attn_weights`) and by 1/(layer + 1) (`scale_attn_by_inverse_layer_idx`).
    public let scaleAttentionWeights: Bool
    public let scaleAttentionByLayer: Bool
    public let initializerRange: Double

    public var otherEmbeddingRows: Int { maxPositions }

    init(_ reader: ConfigReader) throws {
        vocabularySize = try reader.requiredSize("vocab_size")
        hiddenSize = try reader.requiredSize("n_embd")
        layerCount = try reader.requiredSize("n_layer")
        headCount = try reader.requiredSize("n_head")
        maxPositions = try reader.requiredSize("n_positions")
        intermediateSize = try reader.size("n_inner", required: false) ?? 4 * hiddenSize
        layerNormEpsilon = try reader.number("layer_norm_epsilon", in: 0...1) ?? 1e-5
        activation = try reader.activation("activation_function", default: "gelu_new")
        residualDropout = try reader.number("resid_pdrop", in: 0...1) ?? 0.1
        embeddingDropout = try reader.number("embd_pdrop", in: 0...1) ?? 0.1
        attentionDropout = try reader.number("attn_pdrop", in: 0...1) ?? 0.1
        classifierDropout = try reader.number("summary_first_dropout", in: 0...1) ?? 0.1
        scaleAttentionWeights = try reader.bool("scale_attn_weights") ?? true
        scaleAttentionByLayer = try reader.bool("scale_attn_by_inverse_layer_idx") ?? false
        initializerRange = try reader.initializerRange()
    }
}

import NN

/// DistilBERT's config.json keys (transformers' `DistilBertConfig`): `dim`, `n_layers`, `n_heads`, `hidden_dim`.
///
/// ```swift
/// let config = try ModelConfig.fromPretrained(folder)
/// let settings = config.settings as? DistilBertConfig     // nil for another model_type
/// settings?.sinusoidalPositions
/// ```
public struct DistilBertConfig: ArchitectureConfig {
    public let vocabularySize: Int
    /// `dim`.
    public let hiddenSize: Int
    /// `n_layers`.
    public let layerCount: Int
    /// `n_heads`.
    public let headCount: Int
    /// `hidden_dim`.
    public let intermediateSize: Int
    /// `max_position_embeddings`.
    public let maxPositions: Int
    /// Whether the position table holds fixed sinusoids (`sinusoidal_pos_embds`) rather than learned rows.
    public let sinusoidalPositions: Bool
    /// `activation` (`gelu`).
    public let activation: Activation
    /// `dropout`, `attention_dropout`.
    public let dropout: Double
    public let attentionDropout: Double
    /// Dropout before the question-answering and sequence-classification heads (`qa_dropout`,
    /// `seq_classif_dropout`).
    public let questionAnsweringDropout: Double
    public let sequenceClassifierDropout: Double
    public let initializerRange: Double
    /// DistilBERT's LayerNorms use a fixed epsilon (transformers hard-codes it).
    public let layerNormEpsilon = 1e-12

    public var otherEmbeddingRows: Int { maxPositions }

    init(_ reader: ConfigReader) throws {
        vocabularySize = try reader.requiredSize("vocab_size")
        hiddenSize = try reader.requiredSize("dim")
        layerCount = try reader.requiredSize("n_layers")
        headCount = try reader.requiredSize("n_heads")
        intermediateSize = try reader.requiredSize("hidden_dim")
        maxPositions = try reader.requiredSize("max_position_embeddings")
        sinusoidalPositions = try reader.bool("sinusoidal_pos_embds") ?? false
        activation = try reader.activation("activation", default: "gelu")
        dropout = try reader.number("dropout", in: 0...1) ?? 0.1
        attentionDropout = try reader.number("attention_dropout", in: 0...1) ?? 0.1
        questionAnsweringDropout = try reader.number("qa_dropout", in: 0...1) ?? 0.1
        sequenceClassifierDropout = try reader.number("seq_classif_dropout", in: 0...1) ?? 0.2
        initializerRange = try reader.initializerRange()
    }
}

import NN

/// BERT's config.json keys (transformers' `BertConfig`); RoBERTa's are the same (`RobertaConfig`).
///
/// ```swift
/// let config = try ModelConfig.fromPretrained(folder)
/// let settings = config.settings as? BertConfig     // nil for another model_type
/// settings?.layerNormEpsilon
/// ```
public struct BertConfig: ArchitectureConfig {
    public let vocabularySize: Int
    /// `hidden_size`.
    public let hiddenSize: Int
    /// `num_hidden_layers`.
    public let layerCount: Int
    /// `num_attention_heads`.
    public let headCount: Int
    public let intermediateSize: Int
    /// `max_position_embeddings`.
    public let maxPositions: Int
    /// Rows of the token-type table (`type_vocab_size`: BERT 2, RoBERTa 1).
    public let typeVocabularySize: Int
    /// `layer_norm_eps`.
    public let layerNormEpsilon: Double
    /// `hidden_act`.
    public let activation: Activation
    /// `hidden_dropout_prob`.
    public let hiddenDropout: Double
    /// `attention_probs_dropout_prob`.
    public let attentionDropout: Double
    /// Dropout before classification heads (`classifier_dropout`, else the hidden dropout).
    public let classifierDropout: Double

    public let initializerRange: Double

    public var otherEmbeddingRows: Int { maxPositions + typeVocabularySize }

    init(_ reader: ConfigReader) throws {
        vocabularySize = try reader.requiredSize("vocab_size")
        hiddenSize = try reader.requiredSize("hidden_size")
        layerCount = try reader.requiredSize("num_hidden_layers")
        headCount = try reader.requiredSize("num_attention_heads")
        intermediateSize = try reader.requiredSize("intermediate_size")
        maxPositions = try reader.requiredSize("max_position_embeddings")
        typeVocabularySize = try reader.size("type_vocab_size", required: false, allowZero: true) ?? 2
        layerNormEpsilon = try reader.number("layer_norm_eps", in: 0...1) ?? 1e-12
        activation = try reader.activation("hidden_act", default: "gelu")
        hiddenDropout = try reader.number("hidden_dropout_prob", in: 0...1) ?? 0.1
        attentionDropout = try reader.number("attention_probs_dropout_prob", in: 0...1) ?? 0.1
        classifierDropout = try reader.number("classifier_dropout", in: 0...1) ?? hiddenDropout
        initializerRange = try reader.initializerRange()
    }
}

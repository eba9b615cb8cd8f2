import NN
import Tensors

// BERT's encoder, as transformers' models/bert/modeling_bert.py lays it out: embeddings → (self-attention →
// output → intermediate → output) × layers → pooler. Properties are the checkpoint's keys (`@Key` where Swift's
// name differs). Shapes: B batch, T tokens, C hidden size, H heads.

/// Word, position and token-type embeddings, summed, then LayerNorm and dropout.
class BertEmbeddings: Module, @unchecked Sendable {
    let wordEmbeddings: Embedding
    let positionEmbeddings: Embedding
    let tokenTypeEmbeddings: Embedding
    @Key("LayerNorm") var layerNorm: LayerNorm
    let dropout: Dropout

    /// `positionPadding`: the row of the position table padding positions use (RoBERTa's), zero when fresh.
    init(_ config: BertConfig, padTokenID: Int?, positionPadding: Int? = nil, seed: UInt64) {
        let std = config.initializerRange
        wordEmbeddings = Embedding(config.vocabularySize, config.hiddenSize, paddingIndex: padTokenID, std: std)
        positionEmbeddings = Embedding(
            config.maxPositions, config.hiddenSize, paddingIndex: positionPadding, std: std)
        tokenTypeEmbeddings = Embedding(Swift.max(config.typeVocabularySize, 1), config.hiddenSize, std: std)
        dropout = Dropout(config.hiddenDropout, seed: seed)
        super.init()
        layerNorm = LayerNorm(config.hiddenSize, epsilon: config.layerNormEpsilon)
    }

    func callAsFunction(ids: Tensor, tokenTypes: Tensor?, positions: Tensor?) throws -> Tensor {
        let (B, T) = (ids.size(0), ids.size(1))
        let positions = try positions ?? defaultPositions(ids)
        try checkRange(positions, below: positionEmbeddings.weight.shape[0], what: "position")
        var sum = wordEmbeddings(ids) + positionEmbeddings(positions)
        if let tokenTypes {
            try checkRange(tokenTypes, below: tokenTypeEmbeddings.weight.shape[0], what: "token type")
            sum = sum + tokenTypeEmbeddings(tokenTypes)
        } else {
            sum = sum + tokenTypeEmbeddings.weight.value.sliced(0, 0..<1)  // type 0 everywhere
        }
        precondition(sum.shape == [B, T, layerNorm.weight.shape[0]])
        return dropout(layerNorm(sum))
    }

    /// 0…T−1 ([T], broadcast over the batch).
    func defaultPositions(_ ids: Tensor) throws -> Tensor { Tensor.arange(0, Double(ids.size(1))) }
}

/// Queries, keys and values of all heads (`attention.self`).
final class BertSelfAttention: Module, @unchecked Sendable {
    let query: Linear
    let key: Linear
    let value: Linear
    let dropout: Dropout
    let heads: Int

    init(_ config: BertConfig, seed: UInt64) {
        let (C, std) = (config.hiddenSize, config.initializerRange)
        query = Linear(C, C, std: std)
        key = Linear(C, C, std: std)
        value = Linear(C, C, std: std)
        dropout = Dropout(config.attentionDropout, seed: seed)
        heads = config.headCount
    }

    func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        attendHeads(query: query(x), key: key(x), value: value(x), heads: heads, mask: mask, dropout: dropout)
    }
}

/// dense, dropout, LayerNorm(· + residual): both `attention.output` (transformers' `BertSelfOutput`) and a layer's
/// `output` (`BertOutput`), which differ only in their input width.
final class BertOutput: Module, @unchecked Sendable {
    let dense: Linear
    @Key("LayerNorm") var layerNorm: LayerNorm
    let dropout: Dropout

    init(_ config: BertConfig, inputs: Int, seed: UInt64) {
        dense = Linear(inputs, config.hiddenSize, std: config.initializerRange)
        dropout = Dropout(config.hiddenDropout, seed: seed)
        super.init()
        layerNorm = LayerNorm(config.hiddenSize, epsilon: config.layerNormEpsilon)
    }

    func callAsFunction(_ x: Tensor, residual: Tensor) -> Tensor { layerNorm(dropout(dense(x)) + residual) }
}

final class BertAttention: Module, @unchecked Sendable {
    @Key("self") var selfAttention: BertSelfAttention
    let output: BertOutput

    init(_ config: BertConfig, seed: UInt64) {
        output = BertOutput(config, inputs: config.hiddenSize, seed: seed + 1)
        super.init()
        selfAttention = BertSelfAttention(config, seed: seed)
    }

    func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor { output(selfAttention(x, mask: mask), residual: x) }
}

final class BertIntermediate: Module, @unchecked Sendable {
    let dense: Linear
    let activation: Activation

    init(_ config: BertConfig) {
        dense = Linear(config.hiddenSize, config.intermediateSize, std: config.initializerRange)
        activation = config.activation
    }

    func callAsFunction(_ x: Tensor) -> Tensor { activation(dense(x)) }
}

/// One encoder layer: attention, then the feed-forward block, each post-norm with a residual.
final class BertLayer: Module, @unchecked Sendable {
    let attention: BertAttention
    let intermediate: BertIntermediate
    let output: BertOutput

    init(_ config: BertConfig, seed: UInt64) {
        attention = BertAttention(config, seed: seed)
        intermediate = BertIntermediate(config)
        output = BertOutput(config, inputs: config.intermediateSize, seed: seed + 2)
    }

    func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        let attended = attention(x, mask: mask)
        return output(intermediate(attended), residual: attended)
    }
}

final class BertEncoder: Module, @unchecked Sendable {
    let layer: [BertLayer]

    init(_ config: BertConfig, seed: UInt64) {
        layer = (0..<config.layerCount).map { BertLayer(config, seed: seed + UInt64($0) * 4) }
    }

    /// [B, T, C] through every layer; `mask` [B, 1, 1, T] or nil.
    func callAsFunction(_ hidden: Tensor, mask: Tensor?) -> Tensor {
        layer.reduce(hidden) { hidden, layer in layer(hidden, mask: mask) }
    }
}

/// tanh(dense(h[:, 0])).
final class BertPooler: Module, @unchecked Sendable {
    let dense: Linear

    init(_ config: BertConfig) {
        dense = Linear(config.hiddenSize, config.hiddenSize, std: config.initializerRange)
    }

    func callAsFunction(_ hidden: Tensor) -> Tensor {
        dense(hidden.sliced(1, 0..<1).squeezed(1)).tanh()  // [B, C]
    }
}

/// The BERT encoder (`BertModel`): hidden states and, unless a head leaves it out, the pooled first token.
///
/// ```swift
/// let model = try AutoModel.load("Tests/Fixtures/parity/bert-base")
/// let hidden = try model(["a sentence"]).lastHiddenState   // [1, T, hidden]
/// ```
public final class BertModel: PretrainedModel, SentenceEncoder, @unchecked Sendable {
    let embeddings: BertEmbeddings
    let encoder: BertEncoder
    let pooler: BertPooler?

    /// The encoder for a task model (`addPoolingLayer` false where transformers builds it without one).
    init(config: ModelConfig, addPoolingLayer: Bool) throws {
        let bert = try config.typed(BertConfig.self)
        embeddings = BertEmbeddings(bert, padTokenID: config.padTokenID, seed: 1)
        encoder = BertEncoder(bert, seed: 2)
        pooler = addPoolingLayer ? BertPooler(bert) : nil
        try super.init(config: config)
    }

    public required convenience init(config: ModelConfig) throws {
        try self.init(config: config, addPoolingLayer: true)
    }

    /// Last hidden state and, with a pooler, the pooled output.
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        try checkEncoderInputs(inputs, vocabularySize: config.vocabularySize, maxLength: maxInputLength)
        let embedded = try embeddings(
            ids: inputs.inputIDs, tokenTypes: inputs.tokenTypeIDs, positions: inputs.positionIDs)
        let hidden = encoder(embedded, mask: keyPaddingMask(inputs))
        var output = ModelOutput()
        output.lastHiddenState = hidden
        output.poolerOutput = pooler?(hidden)
        return output
    }
}

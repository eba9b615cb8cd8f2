import Foundation
import NN
import Tensors

// MPNet (transformers' models/mpnet/modeling_mpnet.py): BERT's post-norm layers under its own names
// (`attention.attn.q/k/v/o`, `attention.LayerNorm`), positions counted from the padding index as RoBERTa's, no token
// types, and a relative position bias (32 buckets per head, shared by every layer) added to the attention scores.
// Shapes: B batch, T tokens, C hidden size, H heads.

/// Word and position embeddings, summed, then LayerNorm and dropout.
final class MPNetEmbeddings: Module, @unchecked Sendable {
    let wordEmbeddings: Embedding
    let positionEmbeddings: Embedding
    @Key("LayerNorm") var layerNorm: LayerNorm
    let dropout: Dropout
    /// transformers fixes it at 1, whatever the config's pad token.
    static let paddingIndex = 1

    init(_ config: MPNetConfig) {
        let (C, std) = (config.hiddenSize, config.initializerRange)
        wordEmbeddings = Embedding(config.vocabularySize, C, paddingIndex: Self.paddingIndex, std: std)
        positionEmbeddings = Embedding(config.maxPositions, C, paddingIndex: Self.paddingIndex, std: std)
        dropout = Dropout(config.hiddenDropout, seed: 1)
        super.init()
        layerNorm = LayerNorm(C, epsilon: config.layerNormEpsilon)
    }

    func callAsFunction(ids: Tensor, positions: Tensor?) throws -> Tensor {
        let positions = positions ?? Self.positions(ids)
        try checkRange(positions, below: positionEmbeddings.weight.shape[0], what: "position")
        return dropout(layerNorm(wordEmbeddings(ids) + positionEmbeddings(positions)))
    }

    /// `create_position_ids_from_input_ids`: tokens count from the padding index + 1, padding stays at it.
    static func positions(_ ids: Tensor) -> Tensor { positionsFromPadding(ids, paddingIndex: paddingIndex) }
}

/// Queries, keys, values and the output projection (`attention.attn`).
final class MPNetSelfAttention: Module, @unchecked Sendable {
    let q: Linear
    let k: Linear
    let v: Linear
    let o: Linear
    let dropout: Dropout
    let heads: Int

    init(_ config: MPNetConfig, seed: UInt64) {
        let (C, std) = (config.hiddenSize, config.initializerRange)
        q = Linear(C, C, std: std)
        k = Linear(C, C, std: std)
        v = Linear(C, C, std: std)
        o = Linear(C, C, std: std)
        dropout = Dropout(config.attentionDropout, seed: seed)
        heads = config.headCount
    }

    /// `bias` [B or 1, H, T, T]: the position bias plus the key mask, added to the scaled scores.
    func callAsFunction(_ x: Tensor, bias: Tensor) -> Tensor {
        o(attendHeads(query: q(x), key: k(x), value: v(x), heads: heads, mask: bias, dropout: dropout))
    }
}

/// LayerNorm(dropout(attention) + x) (`attention`).
final class MPNetAttention: Module, @unchecked Sendable {
    let attn: MPNetSelfAttention
    @Key("LayerNorm") var layerNorm: LayerNorm
    let dropout: Dropout

    init(_ config: MPNetConfig, seed: UInt64) {
        attn = MPNetSelfAttention(config, seed: seed)
        dropout = Dropout(config.hiddenDropout, seed: seed + 1)
        super.init()
        layerNorm = LayerNorm(config.hiddenSize, epsilon: config.layerNormEpsilon)
    }

    func callAsFunction(_ x: Tensor, bias: Tensor) -> Tensor { layerNorm(dropout(attn(x, bias: bias)) + x) }
}

final class MPNetIntermediate: Module, @unchecked Sendable {
    let dense: Linear
    let activation: Activation

    init(_ config: MPNetConfig) {
        dense = Linear(config.hiddenSize, config.intermediateSize, std: config.initializerRange)
        activation = config.activation
    }

    func callAsFunction(_ x: Tensor) -> Tensor { activation(dense(x)) }
}

final class MPNetOutput: Module, @unchecked Sendable {
    let dense: Linear
    @Key("LayerNorm") var layerNorm: LayerNorm
    let dropout: Dropout

    init(_ config: MPNetConfig, seed: UInt64) {
        dense = Linear(config.intermediateSize, config.hiddenSize, std: config.initializerRange)
        dropout = Dropout(config.hiddenDropout, seed: seed)
        super.init()
        layerNorm = LayerNorm(config.hiddenSize, epsilon: config.layerNormEpsilon)
    }

    func callAsFunction(_ x: Tensor, residual: Tensor) -> Tensor { layerNorm(dropout(dense(x)) + residual) }
}

final class MPNetLayer: Module, @unchecked Sendable {
    let attention: MPNetAttention
    let intermediate: MPNetIntermediate
    let output: MPNetOutput

    init(_ config: MPNetConfig, seed: UInt64) {
        attention = MPNetAttention(config, seed: seed)
        intermediate = MPNetIntermediate(config)
        output = MPNetOutput(config, seed: seed + 2)
    }

    func callAsFunction(_ x: Tensor, bias: Tensor) -> Tensor {
        let attended = attention(x, bias: bias)
        return output(intermediate(attended), residual: attended)
    }
}

/// The layers and the relative position bias table they share.
final class MPNetEncoder: Module, @unchecked Sendable {
    let layer: [MPNetLayer]
    let relativeAttentionBias: Embedding

    init(_ config: MPNetConfig) {
        layer = (0..<config.layerCount).map { MPNetLayer(config, seed: 2 + UInt64($0) * 4) }
        relativeAttentionBias = Embedding(config.relativeBuckets, config.headCount, std: config.initializerRange)
    }

    /// transformers' `relative_position_bucket` (32 buckets, max distance 128): half the buckets for keys before
    /// the query, exact up to 8 positions away, then logarithmic, in float32 as torch computes it.
    static func bucket(_ relative: Int) -> Int {
        let half = 16
        let maxExact = 8
        var n = -relative
        var bucket = 0
        if n < 0 { bucket += half }
        n = abs(n)
        if n < maxExact { return bucket + n }
        let scaled = logf(Float(n) / Float(maxExact)) / Float(log(128.0 / Double(maxExact))) * Float(half - maxExact)
        return bucket + Swift.min(maxExact + Int(scaled), half - 1)
    }

    /// [1, H, T, T]: each head's bias for key position j seen from query position i.
    func positionBias(length: Int) -> Tensor {
        var buckets = [Int](repeating: 0, count: length * length)
        for i in 0..<length {
            for j in 0..<length { buckets[i * length + j] = Self.bucket(j - i) }
        }
        let values = relativeAttentionBias(Tensor(buckets, shape: [length, length]))  // [T, T, H]
        return values.permuted([2, 0, 1]).unsqueezed(0)
    }

    func callAsFunction(_ hidden: Tensor, mask: Tensor?) -> Tensor {
        let length = hidden.size(1)
        var bias = positionBias(length: length)  // [1, H, T, T]
        if let mask {
            // The key mask as transformers adds it: 0 where a key may be seen, float32's lowest value where not.
            let keys = mask.converted(to: .float32).reshaped([mask.size(0), 1, 1, length])
            bias = bias + (1 - keys) * -Double(Float.greatestFiniteMagnitude)
        }
        return layer.reduce(hidden) { hidden, layer in layer(hidden, bias: bias) }
    }
}

/// tanh(dense(h[:, 0])).
final class MPNetPooler: Module, @unchecked Sendable {
    let dense: Linear

    init(_ config: MPNetConfig) {
        dense = Linear(config.hiddenSize, config.hiddenSize, std: config.initializerRange)
    }

    func callAsFunction(_ hidden: Tensor) -> Tensor { dense(hidden.sliced(1, 0..<1).squeezed(1)).tanh() }
}

/// The MPNet encoder (`MPNetModel`): hidden states and, unless a head leaves it out, the pooled first token.
///
/// ```swift
/// let mpnet = try await AutoModel.fromPretrained("sentence-transformers/all-mpnet-base-v2")   // an MPNetModel
/// let embeddings = try (mpnet as? any SentenceEncoder)?.sentenceEmbeddings(["A man is eating food."])
/// ```
public final class MPNetModel: PretrainedModel, SentenceEncoder, @unchecked Sendable {
    let embeddings: MPNetEmbeddings
    let encoder: MPNetEncoder
    let pooler: MPNetPooler?

    init(config: ModelConfig, addPoolingLayer: Bool) throws {
        let settings = try config.typed(MPNetConfig.self)
        embeddings = MPNetEmbeddings(settings)
        encoder = MPNetEncoder(settings)
        pooler = addPoolingLayer ? MPNetPooler(settings) : nil
        try super.init(config: config)
    }

    public required convenience init(config: ModelConfig) throws {
        try self.init(config: config, addPoolingLayer: true)
    }

    /// Positions start after the padding index, as RoBERTa's.
    public override var maxInputLength: Int { config.maxPositions - MPNetEmbeddings.paddingIndex - 1 }

    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        try checkEncoderInputs(inputs, vocabularySize: config.vocabularySize, maxLength: maxInputLength)
        let embedded = try embeddings(ids: inputs.inputIDs, positions: inputs.positionIDs)
        let hidden = encoder(embedded, mask: inputs.attentionMask)
        var output = ModelOutput()
        output.lastHiddenState = hidden
        output.poolerOutput = pooler?(hidden)
        return output
    }
}

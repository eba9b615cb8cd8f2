import Foundation
import NN
import Tensors

// DistilBERT (transformers' models/distilbert/modeling_distilbert.py): BERT's post-norm layers with their own names
// (`q_lin`…`out_lin`, `sa_layer_norm`, `ffn.lin1/lin2`, `output_layer_norm`), no token types, no pooler; learned or
// sinusoidal positions. Shapes: B batch, T tokens, C width (`dim`), H heads.

/// Word and position embeddings, summed, then LayerNorm and dropout (transformers' `Embeddings`).
final class DistilBertEmbeddings: Module, @unchecked Sendable {
    let wordEmbeddings: Embedding
    let positionEmbeddings: Embedding
    @Key("LayerNorm") var layerNorm: LayerNorm
    let dropout: Dropout

    init(_ config: DistilBertConfig, padTokenID: Int?) {
        let (C, std) = (config.hiddenSize, config.initializerRange)
        wordEmbeddings = Embedding(config.vocabularySize, C, paddingIndex: padTokenID, std: std)
        positionEmbeddings =
            config.sinusoidalPositions
            ? Embedding(weight: Parameter(Self.sinusoids(positions: config.maxPositions, width: C)))
            : Embedding(config.maxPositions, C, std: std)
        dropout = Dropout(config.dropout, seed: 1)
        super.init()
        layerNorm = LayerNorm(C, epsilon: config.layerNormEpsilon)
    }

    /// `_create_sinusoidal_embeddings`: row p, column j is sin (j even) or cos (j odd) of p / 10000^(2⌊j/2⌋/C).
    ///
    /// Computed in double precision as numpy does, then rounded to float32. A checkpoint's stored table wins.
    static func sinusoids(positions: Int, width: Int) -> Tensor {
        var values = [Float](repeating: 0, count: positions * width)
        for p in 0..<positions {
            for j in 0..<width {
                let angle = Double(p) / pow(10000, Double(2 * (j / 2)) / Double(width))
                values[p * width + j] = Float(j % 2 == 0 ? sin(angle) : cos(angle))
            }
        }
        return Tensor(values, shape: [positions, width])
    }

    func callAsFunction(ids: Tensor, positions: Tensor?) throws -> Tensor {
        let positions = positions ?? Tensor.arange(0, Double(ids.size(1)))  // [T], broadcast over the batch
        try checkRange(positions, below: positionEmbeddings.weight.shape[0], what: "position")
        return dropout(layerNorm(wordEmbeddings(ids) + positionEmbeddings(positions)))
    }
}

/// Queries, keys, values and the output projection of all heads (`attention`).
final class DistilBertSelfAttention: Module, @unchecked Sendable {
    let qLin: Linear
    let kLin: Linear
    let vLin: Linear
    let outLin: Linear
    let dropout: Dropout
    let heads: Int

    init(_ config: DistilBertConfig, seed: UInt64) {
        let (C, std) = (config.hiddenSize, config.initializerRange)
        qLin = Linear(C, C, std: std)
        kLin = Linear(C, C, std: std)
        vLin = Linear(C, C, std: std)
        outLin = Linear(C, C, std: std)
        dropout = Dropout(config.attentionDropout, seed: seed)
        heads = config.headCount
    }

    func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        outLin(attendHeads(query: qLin(x), key: kLin(x), value: vLin(x), heads: heads, mask: mask, dropout: dropout))
    }
}

/// lin1, activation, lin2, dropout (`ffn`).
final class DistilBertFFN: Module, @unchecked Sendable {
    let dropout: Dropout
    let lin1: Linear
    let lin2: Linear
    let activation: Activation

    init(_ config: DistilBertConfig, seed: UInt64) {
        dropout = Dropout(config.dropout, seed: seed)
        lin1 = Linear(config.hiddenSize, config.intermediateSize, std: config.initializerRange)
        lin2 = Linear(config.intermediateSize, config.hiddenSize, std: config.initializerRange)
        activation = config.activation
    }

    func callAsFunction(_ x: Tensor) -> Tensor { dropout(lin2(activation(lin1(x)))) }
}

/// sa_layer_norm(attention(x) + x), then output_layer_norm(ffn(·) + ·) (transformers' `TransformerBlock`).
final class DistilBertTransformerBlock: Module, @unchecked Sendable {
    let attention: DistilBertSelfAttention
    let saLayerNorm: LayerNorm
    let ffn: DistilBertFFN
    let outputLayerNorm: LayerNorm

    init(_ config: DistilBertConfig, seed: UInt64) {
        attention = DistilBertSelfAttention(config, seed: seed)
        saLayerNorm = LayerNorm(config.hiddenSize, epsilon: config.layerNormEpsilon)
        ffn = DistilBertFFN(config, seed: seed + 1)
        outputLayerNorm = LayerNorm(config.hiddenSize, epsilon: config.layerNormEpsilon)
    }

    func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        let attended = saLayerNorm(attention(x, mask: mask) + x)
        return outputLayerNorm(ffn(attended) + attended)
    }
}

/// The layers (`transformer`; transformers' `Transformer`).
final class DistilBertTransformer: Module, @unchecked Sendable {
    let layer: [DistilBertTransformerBlock]

    init(_ config: DistilBertConfig) {
        layer = (0..<config.layerCount).map { DistilBertTransformerBlock(config, seed: 2 + UInt64($0) * 4) }
    }

    func callAsFunction(_ hidden: Tensor, mask: Tensor?) -> Tensor {
        layer.reduce(hidden) { hidden, layer in layer(hidden, mask: mask) }
    }
}

/// The DistilBERT encoder (`DistilBertModel`): hidden states (no pooler).
///
/// ```swift
/// let model = try AutoModel.load("Tests/Fixtures/parity/distilbert-base")   // a DistilBertModel
/// let hidden = try model(ModelInputs(inputIDs: Tensor([2, 17, 45, 3], shape: [1, 4]))).lastHiddenState
/// ```
public final class DistilBertModel: PretrainedModel, SentenceEncoder, @unchecked Sendable {
    let embeddings: DistilBertEmbeddings
    let transformer: DistilBertTransformer

    public required init(config: ModelConfig) throws {
        let settings = try config.typed(DistilBertConfig.self)
        embeddings = DistilBertEmbeddings(settings, padTokenID: config.padTokenID)
        transformer = DistilBertTransformer(settings)
        try super.init(config: config)
    }

    /// The last hidden state; token types, which DistilBERT has none of, are ignored.
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        try checkEncoderInputs(inputs, vocabularySize: config.vocabularySize, maxLength: maxInputLength)
        let embedded = try embeddings(ids: inputs.inputIDs, positions: inputs.positionIDs)
        var output = ModelOutput()
        output.lastHiddenState = transformer(embedded, mask: keyPaddingMask(inputs))
        return output
    }
}

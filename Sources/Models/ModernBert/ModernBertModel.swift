import Foundation
import NN
import Tensors

// ModernBERT (transformers' models/modernbert/modeling_modernbert.py): token embeddings and a norm (no positions),
// pre-norm layers of rotary attention — global every `global_attn_every_n_layers`-th layer, a sliding window of
// `local_attention` / 2 positions either side elsewhere, each kind with its own rotary theta — and a GeGLU MLP, no
// biases by default, a final norm. Shapes: B batch, T tokens, C hidden size, H heads, D = C / H.

/// LayerNorm with a scale and, only when the config asks (`norm_bias`), a shift.
final class ModernBertNorm: Module, @unchecked Sendable {
    let weight: Parameter
    let bias: Parameter?
    let epsilon: Double

    init(_ config: ModernBertConfig) {
        weight = Parameter(pending: [config.hiddenSize], .ones)
        bias = config.normBias ? Parameter(pending: [config.hiddenSize], .zeros) : nil
        epsilon = config.normEpsilon
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        x.layerNorm(weight: weight.value, bias: bias?.value, epsilon: epsilon)
    }
}

final class ModernBertEmbeddings: Module, @unchecked Sendable {
    let tokEmbeddings: Embedding
    let norm: ModernBertNorm
    let drop: Dropout

    init(_ config: ModernBertConfig, padTokenID: Int?) {
        tokEmbeddings = Embedding(
            config.vocabularySize, config.hiddenSize, paddingIndex: padTokenID, std: config.initializerRange)
        norm = ModernBertNorm(config)
        drop = Dropout(config.embeddingDropout, seed: 1)
    }

    func callAsFunction(_ ids: Tensor) -> Tensor { drop(norm(tokEmbeddings(ids))) }
}

final class ModernBertAttention: Module, @unchecked Sendable {
    @Key("Wqkv") var wqkv: Linear
    @Key("Wo") var wo: Linear
    let dropout: Dropout
    let heads: Int

    init(_ config: ModernBertConfig, seed: UInt64) {
        let (C, std) = (config.hiddenSize, config.initializerRange)
        dropout = Dropout(config.attentionDropout, seed: seed)
        heads = config.headCount
        super.init()
        wqkv = Linear(C, 3 * C, bias: config.attentionBias, std: std)
        wo = Linear(C, C, bias: config.attentionBias, std: std)
    }

    /// `rotary` (cos, sin) [T, D]; `bias` [B, 1, T, T] additive.
    func callAsFunction(_ x: Tensor, rotary: (cos: Tensor, sin: Tensor), bias: Tensor) -> Tensor {
        let (B, T, C) = (x.size(0), x.size(1), x.size(2))
        let width = C / heads
        let qkv = wqkv(x).reshaped([B, T, 3, heads, width])
        // Query, key or value: [B, H, T, D].
        func part(_ index: Int) -> Tensor { qkv.sliced(2, index..<index + 1).squeezed(2).transposed(1, 2) }
        // transformers' rotate_half: the second half negated, then the first.
        func rotate(_ y: Tensor) -> Tensor {
            let halves = (y.sliced(3, 0..<width / 2), y.sliced(3, width / 2..<width))
            return y * rotary.cos + Tensor.concatenate([-1 * halves.1, halves.0], axis: 3) * rotary.sin
        }
        let context = Tensor.scaledDotProductAttention(
            query: rotate(part(0)), key: rotate(part(1)), value: part(2), mask: bias,
            probabilities: { self.dropout($0) })
        return wo(context.transposed(1, 2).reshaped([B, T, C]))
    }
}

/// Wi → (input, gate) halves → Wo(act(input) · gate).
final class ModernBertMLP: Module, @unchecked Sendable {
    @Key("Wi") var wi: Linear
    @Key("Wo") var wo: Linear
    let activation: Activation
    let drop: Dropout

    init(_ config: ModernBertConfig, seed: UInt64) {
        let (C, I, std) = (config.hiddenSize, config.intermediateSize, config.initializerRange)
        activation = config.activation
        drop = Dropout(config.mlpDropout, seed: seed)
        super.init()
        wi = Linear(C, 2 * I, bias: config.mlpBias, std: std)
        wo = Linear(I, C, bias: config.mlpBias, std: std)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let both = wi(x)
        let width = both.size(-1) / 2
        let input = both.sliced(2, 0..<width)
        let gate = both.sliced(2, width..<2 * width)
        return wo(drop(activation(input) * gate))
    }
}

final class ModernBertEncoderLayer: Module, @unchecked Sendable {
    /// nil for the first layer, whose input is the embeddings' norm already.
    let attnNorm: ModernBertNorm?
    let attn: ModernBertAttention
    let mlpNorm: ModernBertNorm
    let mlp: ModernBertMLP
    let global: Bool

    init(_ config: ModernBertConfig, index: Int) {
        attnNorm = index == 0 ? nil : ModernBertNorm(config)
        attn = ModernBertAttention(config, seed: 2 + UInt64(index) * 4)
        mlpNorm = ModernBertNorm(config)
        mlp = ModernBertMLP(config, seed: 3 + UInt64(index) * 4)
        global = config.globalLayers[index]
    }

    func callAsFunction(_ x: Tensor, rotary: (cos: Tensor, sin: Tensor), bias: Tensor) -> Tensor {
        let h = x + attn(attnNorm?(x) ?? x, rotary: rotary, bias: bias)
        return h + mlp(mlpNorm(h))
    }
}

/// The ModernBERT encoder (`ModernBertModel`): the last hidden state, after the final norm.
///
/// ```swift
/// let model = try await AutoModel.fromPretrained("answerdotai/ModernBERT-base")   // a ModernBertModel
/// let hidden = try model(["ModernBERT reads 8,192 tokens."]).lastHiddenState
/// ```
public final class ModernBertModel: PretrainedModel, SentenceEncoder, @unchecked Sendable {
    let embeddings: ModernBertEmbeddings
    let layers: [ModernBertEncoderLayer]
    let finalNorm: ModernBertNorm
    let settings: ModernBertConfig

    public required init(config: ModelConfig) throws {
        let settings = try config.typed(ModernBertConfig.self)
        self.settings = settings
        embeddings = ModernBertEmbeddings(settings, padTokenID: config.padTokenID)
        layers = (0..<settings.layerCount).map { ModernBertEncoderLayer(settings, index: $0) }
        finalNorm = ModernBertNorm(settings)
        try super.init(config: config)
    }

    /// cos and sin [T, D] of positions 0…T−1 for `theta`, in float32 as transformers computes them.
    static func rotary(length: Int, width: Int, theta: Double) -> (cos: Tensor, sin: Tensor) {
        let frequencies = stride(from: 0, to: width, by: 2).map {
            Float(1) / powf(Float(theta), Float($0) / Float(width))
        }
        var cos = [Float](repeating: 0, count: length * width)
        var sin = [Float](repeating: 0, count: length * width)
        for t in 0..<length {
            for (index, frequency) in frequencies.enumerated() {
                let angle = Float(t) * frequency
                for column in [index, index + width / 2] {
                    cos[t * width + column] = cosf(angle)
                    sin[t * width + column] = sinf(angle)
                }
            }
        }
        return (Tensor(cos, shape: [length, width]), Tensor(sin, shape: [length, width]))
    }

    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        try checkEncoderInputs(inputs, vocabularySize: config.vocabularySize, maxLength: maxInputLength)
        let (B, T) = (inputs.inputIDs.size(0), inputs.inputIDs.size(1))
        let width = settings.hiddenSize / settings.headCount
        let lowest = -Double(Float.greatestFiniteMagnitude)
        // Additive biases [B, 1, T, T], float32's lowest value where a key is hidden: padded keys everywhere, and in
        // local layers keys beyond the window too — one boolean mask turned into one bias, as transformers does, so
        // a row with no key to see attends evenly, as there.
        let keys = (inputs.attentionMask ?? Tensor.ones([B, T])).converted(to: .float32).reshaped([B, 1, 1, T])
        let padding = (1 - keys) * lowest
        var window = [Float](repeating: 0, count: T * T)
        for i in 0..<T {
            for j in 0..<T where abs(i - j) <= settings.halfWindow { window[i * T + j] = 1 }
        }
        let local = (1 - keys * Tensor(window, shape: [1, 1, T, T])) * lowest
        let globalRotary = Self.rotary(length: T, width: width, theta: settings.globalRopeTheta)
        let localRotary = Self.rotary(length: T, width: width, theta: settings.localRopeTheta)
        var hidden = embeddings(inputs.inputIDs)
        for layer in layers {
            hidden = layer(
                hidden, rotary: layer.global ? globalRotary : localRotary, bias: layer.global ? padding : local)
        }
        var output = ModelOutput()
        output.lastHiddenState = finalNorm(hidden)
        return output
    }
}

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

/// How one forward pass lays its tokens out for attention.
enum ModernBertLayout {
    /// [B, T] as given, with additive biases [B, 1, T, T] for global and local layers (padded keys hidden, and in
    /// local layers keys beyond the window): what training takes, and any mask whose kept tokens are not one run.
    case masked(global: Tensor, local: Tensor)
    /// Sequences of real tokens only, without padding (inference): `rows` equal-length sequences back to back, or
    /// `runs` of their own lengths packed into one row; attention stays within a sequence and local layers
    /// compute only the scores inside their window.
    case unpadded(UnpaddedBatch)
}

/// The real tokens of a batch: which columns of which rows, in the order they are packed.
struct UnpaddedBatch {
    /// (first column, length) per row of the batch, in row order.
    let runs: [(start: Int, length: Int)]
    let width: Int

    /// Every row full: the batch is already unpadded and keeps its [B, T] shape.
    var full: Bool { runs.allSatisfy { $0.start == 0 && $0.length == width } }

    /// The kept tokens of each row as one run of columns, or nil when some row has none or a gap (left or right
    /// padding both give one run).
    init?(mask: [Int], rows: Int, width: Int) {
        var runs: [(Int, Int)] = []
        for row in 0..<rows {
            let kept = (0..<width).filter { mask[row * width + $0] != 0 }
            guard let first = kept.first, let last = kept.last, kept.count == last - first + 1 else { return nil }
            runs.append((first, kept.count))
        }
        self.runs = runs
        self.width = width
    }

    /// Flat [B × T] indices of the kept tokens, in packed order.
    var packedIndices: [Int] {
        runs.enumerated().flatMap { row, run in (run.start..<run.start + run.length).map { row * width + $0 } }
    }
}

final class ModernBertAttention: Module, @unchecked Sendable {
    @Key("Wqkv") var wqkv: Linear
    @Key("Wo") var wo: Linear
    let dropout: Dropout
    let heads: Int
    let halfWindow: Int?

    init(_ config: ModernBertConfig, global: Bool, seed: UInt64) {
        let (C, std) = (config.hiddenSize, config.initializerRange)
        dropout = Dropout(config.attentionDropout, seed: seed)
        heads = config.headCount
        halfWindow = global ? nil : config.halfWindow
        super.init()
        wqkv = Linear(C, 3 * C, bias: config.attentionBias, std: std)
        wo = Linear(C, C, bias: config.attentionBias, std: std)
    }

    /// `x` [B, T, C] (or [1, N, C] packed); `rotary` (cos, sin) [T, D] for positions 0…T−1.
    func callAsFunction(_ x: Tensor, rotary: (cos: Tensor, sin: Tensor), layout: ModernBertLayout) -> Tensor {
        let (B, T, C) = (x.size(0), x.size(1), x.size(2))
        let qkv = wqkv(x)
        switch layout {
        case .masked(let global, let local):
            let context = attend(
                qkv.reshaped([B, T, 3, heads, C / heads]), rotary: rotary, mask: halfWindow == nil ? global : local)
            return wo(context)
        case .unpadded(let batch) where batch.full:
            return wo(attend(qkv.reshaped([B, T, 3, heads, C / heads]), rotary: rotary, mask: nil))
        case .unpadded(let batch):
            // One sequence at a time over the packed rows, each with its own columns' angles.
            let packed = qkv.reshaped([T, 3, heads, C / heads])
            var offset = 0
            let contexts = batch.runs.map { run in
                defer { offset += run.length }
                let sequence = packed.sliced(0, offset..<offset + run.length).unsqueezed(0)
                let columns = run.start..<run.start + run.length
                return attend(
                    sequence, rotary: (rotary.cos.sliced(0, columns), rotary.sin.sliced(0, columns)), mask: nil)
            }
            return wo(Tensor.concatenate(contexts, axis: 1))
        }
    }

    /// `qkv` [B, L, 3, H, D] → context [B, L, C]; `mask` an additive bias, or nil for sequences without padding
    /// (then local layers attend block by block within their window).
    private func attend(_ qkv: Tensor, rotary: (cos: Tensor, sin: Tensor), mask: Tensor?) -> Tensor {
        let (B, L, width) = (qkv.size(0), qkv.size(1), qkv.size(4))
        // Query, key or value: [B, H, L, D].
        func part(_ index: Int) -> Tensor { qkv.sliced(2, index..<index + 1).squeezed(2).transposed(1, 2) }
        let query = part(0).rotaryEmbedding(cos: rotary.cos, sin: rotary.sin)
        let key = part(1).rotaryEmbedding(cos: rotary.cos, sin: rotary.sin)
        let value = part(2)
        let context: Tensor
        if mask == nil, let halfWindow, L - 1 > halfWindow {
            context = Self.windowed(
                query: query, key: key, value: value, halfWindow: halfWindow, probabilities: { self.dropout($0) })
        } else {
            context = Tensor.scaledDotProductAttention(
                query: query, key: key, value: value, mask: mask, probabilities: { self.dropout($0) })
        }
        return context.transposed(1, 2).reshaped([B, L, heads * width])
    }

    /// Sliding-window attention without padding (inference), block by block.
    ///
    /// Queries in blocks of `halfWindow` rows, each against the keys its window can reach, so the scores cost
    /// L × 3·halfWindow instead of L × L. Equal to the full masked softmax: the keys left out are the ones the mask
    /// would zero.
    static func windowed(
        query: Tensor, key: Tensor, value: Tensor, halfWindow: Int, probabilities: (Tensor) -> Tensor
    ) -> Tensor {
        let length = query.size(2)
        let block = Swift.max(halfWindow, 1)
        let lowest = -Double(Float.greatestFiniteMagnitude)
        let blocks = stride(from: 0, to: length, by: block).map { start in
            let end = Swift.min(start + block, length)
            let (low, high) = (Swift.max(0, start - halfWindow), Swift.min(length, end + halfWindow))
            var bias = [Float](repeating: 0, count: (end - start) * (high - low))
            for i in start..<end {
                for j in low..<high where abs(i - j) > halfWindow {
                    bias[(i - start) * (high - low) + j - low] = Float(lowest)
                }
            }
            return Tensor.scaledDotProductAttention(
                query: query.sliced(2, start..<end), key: key.sliced(2, low..<high), value: value.sliced(2, low..<high),
                mask: Tensor(bias, shape: [end - start, high - low]).converted(to: query.dtype),
                probabilities: probabilities)
        }
        return Tensor.concatenate(blocks, axis: 2)
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
        if activation == .gelu { return wo(drop(both.gatedGELU())) }
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
        attn = ModernBertAttention(config, global: config.globalLayers[index], seed: 2 + UInt64(index) * 4)
        mlpNorm = ModernBertNorm(config)
        mlp = ModernBertMLP(config, seed: 3 + UInt64(index) * 4)
        global = config.globalLayers[index]
    }

    func callAsFunction(_ x: Tensor, rotary: (cos: Tensor, sin: Tensor), layout: ModernBertLayout) -> Tensor {
        let h = x + attn(attnNorm?(x) ?? x, rotary: rotary, layout: layout)
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
        let rotary = (
            global: Self.rotary(length: T, width: width, theta: settings.globalRopeTheta),
            local: Self.rotary(length: T, width: width, theta: settings.localRopeTheta)
        )
        let layout: ModernBertLayout
        var ids = inputs.inputIDs
        let mask = inputs.attentionMask?.integers ?? [Int](repeating: 1, count: B * T)
        // Without gradients, padding is dropped before the first layer (every layer but attention works token by
        // token) and put back as zeros after the last. Training keeps the masked [B, T] form, whose gradients the
        // trajectories are checked on.
        if !Tensor.isGradientEnabled, let batch = UnpaddedBatch(mask: mask, rows: B, width: T) {
            layout = .unpadded(batch)
            if !batch.full {
                let (all, kept) = (ids.integers, batch.packedIndices)
                ids = Tensor(kept.map { all[$0] }, shape: [1, kept.count])
            }
        } else {
            layout = Self.maskedLayout(mask: mask, rows: B, width: T, halfWindow: settings.halfWindow)
        }
        var hidden = embeddings(ids)
        for layer in layers {
            hidden = layer(hidden, rotary: layer.global ? rotary.global : rotary.local, layout: layout)
        }
        hidden = finalNorm(hidden)
        if case .unpadded(let batch) = layout, !batch.full {
            // Padded positions come back as zeros (row N of the table below).
            let hiddenSize = hidden.size(2)
            let table = Tensor.concatenate(
                [hidden.reshaped([-1, hiddenSize]), Tensor.zeros([1, hiddenSize], dtype: hidden.dtype)], axis: 0)
            var slots = [Int](repeating: table.size(0) - 1, count: B * T)
            for (packed, flat) in batch.packedIndices.enumerated() { slots[flat] = packed }
            hidden = table.embedding(Tensor(slots, shape: [B, T]))
        }
        var output = ModelOutput()
        output.lastHiddenState = hidden
        return output
    }

    /// Additive biases [B, 1, T, T], float32's lowest value where a key is hidden: padded keys everywhere, and in
    /// local layers keys beyond the window too — one boolean mask turned into one bias, as transformers does, so a
    /// row with no key to see attends evenly, as there.
    static func maskedLayout(mask: [Int], rows: Int, width: Int, halfWindow: Int) -> ModernBertLayout {
        let (B, T) = (rows, width)
        let lowest = -Double(Float.greatestFiniteMagnitude)
        let keys = Tensor(mask.map { $0 == 0 ? Float(0) : 1 }, shape: [B, 1, 1, T])
        var window = [Float](repeating: 0, count: T * T)
        for i in 0..<T {
            for j in 0..<T where abs(i - j) <= halfWindow { window[i * T + j] = 1 }
        }
        return .masked(
            global: (1 - keys) * lowest, local: (1 - keys * Tensor(window, shape: [1, 1, T, T])) * lowest)
    }
}

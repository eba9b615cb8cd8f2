import NN
import Tensors

// GPT-2 (modeling_gpt2.py): pre-norm causal blocks over Conv1D weights stored [in, out], learned positions, a final
// LayerNorm; keys and values of earlier positions come from a cache during generation.

/// `attn`: one Conv1D to queries, keys and values, causal attention over the cache and the new positions, `c_proj`.
final class GPT2Attention: Module, @unchecked Sendable {
    let cAttn: Conv1D
    let cProj: Conv1D
    let attentionDropout: Dropout
    let residualDropout: Dropout
    let heads: Int
    let scale: Double

    init(_ scope: Scope, layer: Int, seed: UInt64) throws {
        let config = scope.builder.config
        let width = config.hiddenSize
        cAttn = try scope["c_attn"].conv1D(width, 3 * width)
        cProj = try scope["c_proj"].conv1D(width, width)
        attentionDropout = Dropout(config.attentionDropout, seed: seed)
        residualDropout = Dropout(config.hiddenDropout, seed: seed + 1)
        heads = config.headCount
        var scale = config.scaleAttentionWeights ? 1 / Double(config.headSize).squareRoot() : 1
        if config.scaleAttentionByLayer { scale /= Double(layer + 1) }
        self.scale = scale
    }

    func callAsFunction(_ x: Tensor, mask: Tensor?, cache: KeyValueCache?, layer: Int) -> Tensor {
        let (b, t, c) = (x.size(0), x.size(1), x.size(2))
        let qkv = cAttn(x).split([c, c, c], axis: 2)
        func split(_ y: Tensor) -> Tensor { y.reshaped([b, t, heads, c / heads]).transposed(1, 2) }
        var (key, value) = (split(qkv[1]), split(qkv[2]))
        if let cache {
            if let past = cache.keys[layer], let pastValues = cache.values[layer] {
                key = Tensor.concatenate([past, key], axis: 2)
                value = Tensor.concatenate([pastValues, value], axis: 2)
            }
            cache.keys[layer] = key.contiguous()
            cache.values[layer] = value.contiguous()
        }
        let context = Tensor.scaledDotProductAttention(
            query: split(qkv[0]), key: key, value: value, mask: mask, causal: true, scale: scale,
            probabilities: { self.attentionDropout($0) })
        return residualDropout(cProj(context.transposed(1, 2).reshaped([b, t, c])))
    }
}

/// `mlp`: c_fc, the activation (gelu_new), c_proj, dropout.
final class GPT2MLP: Module, @unchecked Sendable {
    let cFc: Conv1D
    let cProj: Conv1D
    let dropout: Dropout
    let activation: Activation

    init(_ scope: Scope, seed: UInt64) throws {
        let config = scope.builder.config
        cFc = try scope["c_fc"].conv1D(config.hiddenSize, config.intermediateSize)
        cProj = try scope["c_proj"].conv1D(config.intermediateSize, config.hiddenSize)
        dropout = Dropout(config.hiddenDropout, seed: seed)
        activation = Activation(name: config.activation) ?? .geluNew
    }

    func callAsFunction(_ x: Tensor) -> Tensor { dropout(cProj(cFc(x).activated(activation))) }
}

/// x + attn(ln_1(x)), then + mlp(ln_2(·)).
final class GPT2Block: Module, @unchecked Sendable {
    let ln1: LayerNorm
    let attn: GPT2Attention
    let ln2: LayerNorm
    let mlp: GPT2MLP

    override var keyOverrides: [String: String] { ["ln1": "ln_1", "ln2": "ln_2"] }

    init(_ scope: Scope, layer: Int, seed: UInt64) throws {
        let hidden = scope.builder.config.hiddenSize
        ln1 = try scope["ln_1"].layerNorm(hidden)
        attn = try GPT2Attention(scope["attn"], layer: layer, seed: seed)
        ln2 = try scope["ln_2"].layerNorm(hidden)
        mlp = try GPT2MLP(scope["mlp"], seed: seed + 2)
    }

    func callAsFunction(_ x: Tensor, mask: Tensor?, cache: KeyValueCache?, layer: Int) -> Tensor {
        let h = x + attn(ln1(x), mask: mask, cache: cache, layer: layer)
        return h + mlp(ln2(h))
    }
}

/// The GPT-2 transformer (`GPT2Model`): token and position embeddings, the blocks, `ln_f`.
public final class GPT2Model: PretrainedModel, @unchecked Sendable {
    let wte: Embedding
    let wpe: Embedding
    let drop: Dropout
    let h: [GPT2Block]
    let lnF: LayerNorm

    override public var keyOverrides: [String: String] { ["lnF": "ln_f"] }

    init(_ scope: Scope, task: ModelTask = .base) throws {
        let config = scope.builder.config
        wte = try scope["wte"].embedding(config.vocabularySize, config.hiddenSize)
        wpe = try scope["wpe"].embedding(config.maxPositions, config.hiddenSize)
        drop = Dropout(config.hiddenDropout, seed: 1)
        h = try (0..<config.layerCount).map { try GPT2Block(scope["h"]["\($0)"], layer: $0, seed: 2 + UInt64($0) * 4) }
        lnF = try scope["ln_f"].layerNorm(config.hiddenSize)
        super.init(config: config, task: task)
    }

    /// The last hidden state, after `ln_f`; with `inputs.cache`, the keys and values of these positions are
    /// appended to it and earlier ones attended to.
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        let ids = inputs.inputIDs
        guard ids.rank == 2, ids.size(1) > 0 else {
            throw ModelError.input("input ids must be [batch, length] with length ≥ 1, got \(ids.shape)")
        }
        try checkRange(ids, below: config.vocabularySize, what: "token")
        let past = inputs.cache?.length ?? 0
        if let cache = inputs.cache, past > 0, cache.keys.first??.size(0) != ids.size(0) {
            throw ModelError.input("the cache holds \(cache.keys.first??.size(0) ?? 0) rows, the ids \(ids.size(0))")
        }
        let positions = inputs.positionIDs ?? Tensor.arange(Double(past), Double(past + ids.size(1)))
        try checkRange(positions, below: config.maxPositions, what: "position")
        let total = past + ids.size(1)
        if let mask = inputs.attentionMask, mask.shape != [ids.size(0), total] {
            throw ModelError.input("attention mask \(mask.shape) for \(ids.size(0)) rows of \(total) positions")
        }
        let mask = inputs.attentionMask.map { $0.reshaped([ids.size(0), 1, 1, total]) }
        var hidden = drop(wte(ids) + wpe(positions))
        if inputs.cache?.keys.count ?? h.count != h.count {
            throw ModelError.input("the cache has \(inputs.cache?.keys.count ?? 0) layers, the model \(h.count)")
        }
        for (index, block) in h.enumerated() {
            hidden = block(hidden, mask: mask, cache: inputs.cache, layer: index)
        }
        var output = ModelOutput()
        output.lastHiddenState = lnF(hidden)
        output.cache = inputs.cache
        return output
    }
}

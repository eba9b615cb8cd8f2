import NN
import Tensors

// GPT-2 (transformers' models/gpt2/modeling_gpt2.py): pre-norm causal blocks over Conv1D weights stored [in, out],
// learned positions, a final LayerNorm; keys and values of earlier positions come from a cache during generation.
// Shapes: B batch, T new tokens, C width (n_embd), H heads.

/// `attn`: one Conv1D to queries, keys and values, causal attention over the cache and the new positions, `c_proj`.
final class GPT2Attention: Module, @unchecked Sendable {
    let cAttn: Conv1D
    let cProj: Conv1D
    let attentionDropout: Dropout
    let residualDropout: Dropout
    let heads: Int
    let scale: Double

    init(_ config: GPT2Config, layer: Int, seed: UInt64) {
        let (C, std) = (config.hiddenSize, config.initializerRange)
        cAttn = Conv1D(C, 3 * C, std: std)
        cProj = Conv1D(C, C, std: std)
        attentionDropout = Dropout(config.attentionDropout, seed: seed)
        residualDropout = Dropout(config.residualDropout, seed: seed + 1)
        heads = config.headCount
        var scale = config.scaleAttentionWeights ? 1 / Double(C / config.headCount).squareRoot() : 1
        if config.scaleAttentionByLayer { scale /= Double(layer + 1) }
        self.scale = scale
    }

    func callAsFunction(_ x: Tensor, mask: Tensor?, cache: KeyValueCache?, layer: Int) -> Tensor {
        let (B, T, C) = (x.size(0), x.size(1), x.size(2))
        let qkv = cAttn(x).split([C, C, C], axis: 2)
        func split(_ y: Tensor) -> Tensor { y.reshaped([B, T, heads, C / heads]).transposed(1, 2) }  // [B, H, T, C/H]
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
        return residualDropout(cProj(context.transposed(1, 2).reshaped([B, T, C])))
    }
}

/// `mlp`: c_fc, the activation (gelu_new), c_proj, dropout.
final class GPT2MLP: Module, @unchecked Sendable {
    let cFc: Conv1D
    let cProj: Conv1D
    let dropout: Dropout
    let activation: Activation

    init(_ config: GPT2Config, seed: UInt64) {
        cFc = Conv1D(config.hiddenSize, config.intermediateSize, std: config.initializerRange)
        cProj = Conv1D(config.intermediateSize, config.hiddenSize, std: config.initializerRange)
        dropout = Dropout(config.residualDropout, seed: seed)
        activation = config.activation
    }

    func callAsFunction(_ x: Tensor) -> Tensor { dropout(cProj(activation(cFc(x)))) }
}

/// x + attn(ln_1(x)), then + mlp(ln_2(·)).
final class GPT2Block: Module, @unchecked Sendable {
    @Key("ln_1") var ln1: LayerNorm
    let attn: GPT2Attention
    @Key("ln_2") var ln2: LayerNorm
    let mlp: GPT2MLP

    init(_ config: GPT2Config, layer: Int, seed: UInt64) {
        attn = GPT2Attention(config, layer: layer, seed: seed)
        mlp = GPT2MLP(config, seed: seed + 2)
        super.init()
        ln1 = LayerNorm(config.hiddenSize, epsilon: config.layerNormEpsilon)
        ln2 = LayerNorm(config.hiddenSize, epsilon: config.layerNormEpsilon)
    }

    func callAsFunction(_ x: Tensor, mask: Tensor?, cache: KeyValueCache?, layer: Int) -> Tensor {
        let h = x + attn(ln1(x), mask: mask, cache: cache, layer: layer)
        return h + mlp(ln2(h))
    }
}

/// The GPT-2 transformer (`GPT2Model`): token and position embeddings, the blocks, `ln_f`.
///
/// ```swift
/// let model = try AutoModel.load("Tests/Fixtures/parity/gpt2-base")   // a GPT2Model
/// let hidden = try model(ModelInputs(inputIDs: Tensor([5, 17, 45], shape: [1, 3]))).lastHiddenState   // [1, 3, 32]
/// ```
public final class GPT2Model: PretrainedModel, SentenceEncoder, @unchecked Sendable {
    let wte: Embedding
    let wpe: Embedding
    let drop: Dropout
    let h: [GPT2Block]
    let lnF: LayerNorm

    public required init(config: ModelConfig) throws {
        let gpt2 = try config.typed(GPT2Config.self)
        wte = Embedding(config.vocabularySize, config.hiddenSize, std: config.initializerRange)
        wpe = Embedding(config.maxPositions, config.hiddenSize, std: config.initializerRange)
        drop = Dropout(gpt2.embeddingDropout, seed: 1)
        h = (0..<config.layerCount).map { GPT2Block(gpt2, layer: $0, seed: 2 + UInt64($0) * 4) }
        lnF = LayerNorm(config.hiddenSize, epsilon: gpt2.layerNormEpsilon)
        try super.init(config: config)
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

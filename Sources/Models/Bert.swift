import NN
import Tensors

// BERT and RoBERTa (modeling_bert.py, modeling_roberta.py): one encoder; RoBERTa differs in its position ids (counted
// from the padding index), its single token type and its heads. Property names are the checkpoint's keys.

extension Tensor {
    /// The activation a config names.
    func activated(_ activation: Activation) -> Tensor {
        switch activation {
        case .gelu: gelu()
        case .geluNew: geluTanh()
        case .relu: relu()
        case .tanh: tanh()
        }
    }
}

/// Word, position and token-type embeddings, summed, then LayerNorm and dropout.
final class BertEmbeddings: Module, @unchecked Sendable {
    let wordEmbeddings: Embedding
    let positionEmbeddings: Embedding
    let tokenTypeEmbeddings: Embedding
    let layerNorm: LayerNorm
    let dropout: Dropout
    /// RoBERTa's padding index: positions count from it, pads keep it.
    let positionPadding: Int?

    override var keyOverrides: [String: String] { ["layerNorm": "LayerNorm"] }

    init(_ scope: Scope, seed: UInt64) throws {
        let config = scope.builder.config
        let roberta = config.modelType == .roberta
        positionPadding = roberta ? (config.padTokenID ?? 1) : nil
        wordEmbeddings = try scope["word_embeddings"].embedding(
            config.vocabularySize, config.hiddenSize, paddingIndex: config.padTokenID)
        positionEmbeddings = try scope["position_embeddings"].embedding(
            config.maxPositions, config.hiddenSize, paddingIndex: positionPadding)
        tokenTypeEmbeddings = try scope["token_type_embeddings"].embedding(
            Swift.max(config.typeVocabularySize, 1), config.hiddenSize)
        layerNorm = try scope["LayerNorm"].layerNorm(config.hiddenSize)
        dropout = Dropout(config.hiddenDropout, seed: seed)
    }

    func callAsFunction(ids: Tensor, tokenTypes: Tensor?, positions: Tensor?) throws -> Tensor {
        let (batch, length) = (ids.size(0), ids.size(1))
        let positions = try positions ?? defaultPositions(ids)
        try checkRange(positions, below: positionEmbeddings.weight.value.size(0), what: "position")
        var sum = wordEmbeddings(ids) + positionEmbeddings(positions)
        if let tokenTypes {
            try checkRange(tokenTypes, below: tokenTypeEmbeddings.weight.value.size(0), what: "token type")
            sum = sum + tokenTypeEmbeddings(tokenTypes)
        } else {
            sum = sum + tokenTypeEmbeddings.weight.value.sliced(0, 0..<1)  // type 0 everywhere
        }
        precondition(sum.shape == [batch, length, layerNorm.weight.value.size(0)])
        return dropout(layerNorm(sum))
    }

    /// 0… for BERT ([length], broadcast over the batch); RoBERTa's `create_position_ids_from_input_ids`.
    private func defaultPositions(_ ids: Tensor) throws -> Tensor {
        let (batch, length) = (ids.size(0), ids.size(1))
        guard let padding = positionPadding else { return Tensor.arange(0, Double(length)) }
        let values = ids.integers
        var positions = [Int](repeating: padding, count: values.count)
        for row in 0..<batch {
            var count = 0
            for column in 0..<length where values[row * length + column] != padding {
                count += 1
                positions[row * length + column] = count + padding
            }
        }
        return Tensor(positions, shape: [batch, length])
    }
}

/// Ids must index their table; an embedding lookup out of range would read past it.
func checkRange(_ ids: Tensor, below limit: Int, what: String) throws {
    if let bad = ids.integers.first(where: { $0 < 0 || $0 >= limit }) {
        throw ModelError.input("\(what) id \(bad) is out of range for a table of \(limit) rows")
    }
}

/// Queries, keys and values of all heads (`attention.self`).
final class BertSelfAttention: Module, @unchecked Sendable {
    let query: Linear
    let key: Linear
    let value: Linear
    let dropout: Dropout
    let heads: Int

    init(_ scope: Scope, seed: UInt64) throws {
        let config = scope.builder.config
        query = try scope["query"].linear(config.hiddenSize, config.hiddenSize)
        key = try scope["key"].linear(config.hiddenSize, config.hiddenSize)
        value = try scope["value"].linear(config.hiddenSize, config.hiddenSize)
        dropout = Dropout(config.attentionDropout, seed: seed)
        heads = config.headCount
    }

    func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        let (b, t, c) = (x.size(0), x.size(1), x.size(2))
        func split(_ y: Tensor) -> Tensor { y.reshaped([b, t, heads, c / heads]).transposed(1, 2) }
        let context = Tensor.scaledDotProductAttention(
            query: split(query(x)), key: split(key(x)), value: split(value(x)), mask: mask,
            probabilities: { self.dropout($0) })
        return context.transposed(1, 2).reshaped([b, t, c])
    }
}

/// dense, dropout, LayerNorm(· + residual): `attention.output` and `output` of a layer.
final class BertResidualOutput: Module, @unchecked Sendable {
    let dense: Linear
    let layerNorm: LayerNorm
    let dropout: Dropout

    override var keyOverrides: [String: String] { ["layerNorm": "LayerNorm"] }

    init(_ scope: Scope, inputs: Int, seed: UInt64) throws {
        let config = scope.builder.config
        dense = try scope["dense"].linear(inputs, config.hiddenSize)
        layerNorm = try scope["LayerNorm"].layerNorm(config.hiddenSize)
        dropout = Dropout(config.hiddenDropout, seed: seed)
    }

    func callAsFunction(_ x: Tensor, residual: Tensor) -> Tensor { layerNorm(dropout(dense(x)) + residual) }
}

final class BertAttention: Module, @unchecked Sendable {
    let selfAttention: BertSelfAttention
    let output: BertResidualOutput

    override var keyOverrides: [String: String] { ["selfAttention": "self"] }

    init(_ scope: Scope, seed: UInt64) throws {
        selfAttention = try BertSelfAttention(scope["self"], seed: seed)
        output = try BertResidualOutput(scope["output"], inputs: scope.builder.config.hiddenSize, seed: seed + 1)
    }
}

final class BertIntermediate: Module, @unchecked Sendable {
    let dense: Linear
    let activation: Activation

    init(_ scope: Scope) throws {
        let config = scope.builder.config
        dense = try scope["dense"].linear(config.hiddenSize, config.intermediateSize)
        activation = Activation(name: config.activation) ?? .gelu
    }

    func callAsFunction(_ x: Tensor) -> Tensor { dense(x).activated(activation) }
}

/// One encoder layer: attention, then the feed-forward block, each post-norm with a residual.
final class BertLayer: Module, @unchecked Sendable {
    let attention: BertAttention
    let intermediate: BertIntermediate
    let output: BertResidualOutput

    init(_ scope: Scope, seed: UInt64) throws {
        attention = try BertAttention(scope["attention"], seed: seed)
        intermediate = try BertIntermediate(scope["intermediate"])
        output = try BertResidualOutput(
            scope["output"], inputs: scope.builder.config.intermediateSize, seed: seed + 2)
    }

    func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        let attended = attention.output(attention.selfAttention(x, mask: mask), residual: x)
        return output(intermediate(attended), residual: attended)
    }
}

final class BertEncoder: Module, @unchecked Sendable {
    let layer: [BertLayer]

    init(_ scope: Scope, seed: UInt64) throws {
        let count = scope.builder.config.layerCount
        layer = try (0..<count).map { try BertLayer(scope["layer"]["\($0)"], seed: seed + UInt64($0) * 4) }
    }
}

/// tanh(dense(h[:, 0])).
final class BertPooler: Module, @unchecked Sendable {
    let dense: Linear

    init(_ scope: Scope) throws {
        let hidden = scope.builder.config.hiddenSize
        dense = try scope["dense"].linear(hidden, hidden)
    }

    func callAsFunction(_ hidden: Tensor) -> Tensor {
        dense(hidden.sliced(1, 0..<1).squeezed(1)).tanh()
    }
}

/// The BERT (or RoBERTa) encoder: `BertModel` / `RobertaModel`, with the pooler unless a head leaves it out.
public final class BertModel: PretrainedModel, @unchecked Sendable {
    let embeddings: BertEmbeddings
    let encoder: BertEncoder
    let pooler: BertPooler?

    init(_ scope: Scope, pooling: Bool, task: ModelTask = .base) throws {
        let config = scope.builder.config
        embeddings = try BertEmbeddings(scope["embeddings"], seed: 1)
        encoder = try BertEncoder(scope["encoder"], seed: 2)
        pooler = pooling ? try BertPooler(scope["pooler"]) : nil
        super.init(config: config, task: task)
    }

    /// Last hidden state and, with a pooler, the pooled output.
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        let ids = inputs.inputIDs
        guard ids.rank == 2, ids.size(1) > 0 else {
            throw ModelError.input("input ids must be [batch, length] with length ≥ 1, got \(ids.shape)")
        }
        guard ids.size(1) <= maxInputLength else {
            throw ModelError.input("\(ids.size(1)) tokens; the model takes at most \(maxInputLength)")
        }
        try checkRange(ids, below: config.vocabularySize, what: "token")
        if let mask = inputs.attentionMask, mask.shape != ids.shape {
            throw ModelError.input("attention mask \(mask.shape) for ids \(ids.shape)")
        }
        var hidden = try embeddings(ids: ids, tokenTypes: inputs.tokenTypeIDs, positions: inputs.positionIDs)
        // [B, 1, 1, T]: each query sees the keys that are not padding.
        let mask = inputs.attentionMask.map { $0.reshaped([ids.size(0), 1, 1, ids.size(1)]) }
        for layer in encoder.layer { hidden = layer(hidden, mask: mask) }
        var output = ModelOutput()
        output.lastHiddenState = hidden
        output.poolerOutput = pooler?(hidden)
        return output
    }
}

import NN
import Tensors

// RoBERTa (transformers' models/roberta/modeling_roberta.py): BERT's encoder layers, reused as they are, under
// embeddings whose positions count from the padding index; one token type. Its config is BERT's (`RobertaConfig`
// has the same keys).

/// transformers' `RobertaConfig`: BERT's keys, with RoBERTa's defaults (`pad_token_id` 1).
public typealias RobertaConfig = BertConfig

/// BERT's embeddings with RoBERTa's positions: `create_position_ids_from_input_ids`, padding + 1… for tokens, the
/// padding index itself for pads.
final class RobertaEmbeddings: BertEmbeddings, @unchecked Sendable {
    let paddingIndex: Int

    init(_ config: RobertaConfig, padTokenID: Int, seed: UInt64) {
        paddingIndex = padTokenID
        super.init(config, padTokenID: padTokenID, positionPadding: padTokenID, seed: seed)
    }

    override func defaultPositions(_ ids: Tensor) throws -> Tensor {
        positionsFromPadding(ids, paddingIndex: paddingIndex)
    }
}

/// The RoBERTa encoder (`RobertaModel`): hidden states and, unless a head leaves it out, the pooled first token.
///
/// ```swift
/// let model = try AutoModel.load("Tests/Fixtures/parity/roberta-base")   // a RobertaModel
/// let hidden = try model(ModelInputs(inputIDs: Tensor([0, 31, 64, 2], shape: [1, 4]))).lastHiddenState
/// ```
public class RobertaModel: PretrainedModel, SentenceEncoder, @unchecked Sendable {
    let embeddings: RobertaEmbeddings
    let encoder: BertEncoder
    let pooler: BertPooler?

    init(config: ModelConfig, addPoolingLayer: Bool) throws {
        let settings = try config.typed(RobertaConfig.self)
        embeddings = RobertaEmbeddings(settings, padTokenID: config.padTokenID ?? 1, seed: 1)
        encoder = BertEncoder(settings, seed: 2)
        pooler = addPoolingLayer ? BertPooler(settings) : nil
        try super.init(config: config)
    }

    public required convenience init(config: ModelConfig) throws {
        try self.init(config: config, addPoolingLayer: true)
    }

    /// The position table's rows less the padding index's offset (514 rows: 512 tokens).
    public override var maxInputLength: Int { config.maxPositions - (config.padTokenID ?? 1) - 1 }

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

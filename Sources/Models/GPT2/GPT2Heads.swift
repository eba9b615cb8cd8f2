import NN
import Tensors

// GPT-2's task heads (modeling_gpt2.py): the language-model head tied to `wte`, and `score` on the last token.

/// GPT-2 with its language-model head, tied to the token embeddings (`GPT2LMHeadModel`).
///
/// ```swift
/// let model = try await AutoModelForCausalLM.fromPretrained("gpt2")   // a GPT2LMHeadModel for this model_type
/// ```
public final class GPT2LMHeadModel: PretrainedModel, CausalLM, @unchecked Sendable {
    let transformer: GPT2Model
    let lmHead: Linear

    public override class var task: ModelTask { .causalLM }

    public required init(config: ModelConfig) throws {
        transformer = try GPT2Model(config: config)
        let weight =
            config.tieWordEmbeddings
            ? transformer.wte.weight
            : Parameter(pending: [config.vocabularySize, config.hiddenSize], .normal(std: config.initializerRange))
        lmHead = Linear(weight: weight, bias: nil)
        try super.init(config: config)
    }

    /// Next-token logits at every position; the loss when `labels` are given (shifted by one, -100 ignored).
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try transformer.forward(inputs)
        let logits = lmHead(try output.hidden())  // [B, T, V]
        output.logits = logits
        if let labels = inputs.labels {
            let (B, T) = (logits.size(0), logits.size(1))
            guard labels.shape == [B, T] else { throw ModelError.input("labels \(labels.shape) for ids \([B, T])") }
            if T > 1 {
                let predicted = logits.sliced(1, 0..<T - 1).reshaped([-1, config.vocabularySize])
                output.loss = predicted.crossEntropy(targets: labels.sliced(1, 1..<T).contiguous().reshaped([-1]))
            }
        }
        return output
    }

    /// The model without the head.
    public var base: GPT2Model { transformer }
}

/// `score` (no bias) on each row's last token that is not padding (`GPT2ForSequenceClassification`).
///
/// ```swift
/// let model = try await AutoModelForSequenceClassification.fromPretrained("microsoft/DialogRPT-updown")   // a GPT2ForSequenceClassification for this model_type
/// ```
public final class GPT2ForSequenceClassification: PretrainedModel, SequenceClassifier, @unchecked Sendable {
    let transformer: GPT2Model
    let score: Linear

    public override class var task: ModelTask { .sequenceClassification }

    public required init(config: ModelConfig) throws {
        transformer = try GPT2Model(config: config)
        score = Linear(config.hiddenSize, config.labelCount, bias: false, std: config.initializerRange)
        try super.init(config: config)
    }

    /// [B, labels] logits; the loss when `labels` are given (see `sequenceLoss`).
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try transformer.forward(inputs)
        let rows = try lastTokens(inputs.inputIDs)
        let all = score(try output.hidden())  // [B, T, labels]
        let logits = Tensor.concatenate(
            rows.enumerated().map { all.sliced(0, $0.offset..<$0.offset + 1).sliced(1, $0.element..<$0.element + 1) },
            axis: 0
        ).reshaped([rows.count, config.labelCount])
        output.logits = logits
        if let labels = inputs.labels {
            output.loss = sequenceLoss(logits, labels: labels, labelCount: config.labelCount)
        }
        return output
    }

    /// Per row, the last token that is not padding (the last token when the config has no pad token).
    private func lastTokens(_ ids: Tensor) throws -> [Int] {
        let (B, T) = (ids.size(0), ids.size(1))
        guard let pad = config.padTokenID else {
            guard B == 1 else {
                throw ModelError.input("a batch of \(B) needs a pad_token_id in the config to find each last token")
            }
            return [T - 1]
        }
        let values = ids.integers
        return (0..<B).map { row in (0..<T).last(where: { values[row * T + $0] != pad }) ?? 0 }
    }
}

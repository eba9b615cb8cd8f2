import NN
import Tensors

// The task heads of transformers, over the base models, with their checkpoint names: BERT's `cls.predictions`,
// RoBERTa's `lm_head` and classification head, GPT-2's tied `lm_head` and `score`.

/// The masked-LM head: dense, activation, LayerNorm, then the decoder (tied to the word embeddings) plus a bias.
final class MaskedLMHead: Module, @unchecked Sendable {
    let dense: Linear
    let layerNorm: LayerNorm
    let decoder: Parameter
    let bias: Parameter
    /// The decoder's bias is the head's bias (tied), listed under both names as transformers lists it.
    let decoderBias: Parameter
    let activation: Activation
    let roberta: Bool

    override var keyOverrides: [String: String] {
        roberta
            ? ["layerNorm": "layer_norm", "decoder": "decoder.weight", "decoderBias": "decoder.bias"]
            : [
                "dense": "predictions.transform.dense", "layerNorm": "predictions.transform.LayerNorm",
                "decoder": "predictions.decoder.weight", "bias": "predictions.bias",
                "decoderBias": "predictions.decoder.bias",
            ]
    }

    init(_ scope: Scope, embeddings: Parameter) throws {
        let config = scope.builder.config
        roberta = config.modelType == .roberta
        let names =
            roberta
            ? (dense: "dense", norm: "layer_norm", decoder: "decoder", bias: "bias")
            : (
                dense: "predictions.transform.dense", norm: "predictions.transform.LayerNorm",
                decoder: "predictions.decoder", bias: "predictions.bias"
            )
        dense = try scope[names.dense].linear(config.hiddenSize, config.hiddenSize)
        layerNorm = try scope[names.norm].layerNorm(config.hiddenSize)
        decoder =
            config.tieWordEmbeddings
            ? scope.builder.tied(scope[names.decoder]["weight"].path, to: embeddings)
            : try scope[names.decoder].parameter("weight", [config.vocabularySize, config.hiddenSize], .normal)
        bias = try scope.parameter(names.bias, [config.vocabularySize], .zeros)
        decoderBias = scope.builder.tied(scope[names.decoder]["bias"].path, to: bias)
        activation = Activation(name: config.activation) ?? .gelu
    }

    func callAsFunction(_ hidden: Tensor) -> Tensor {
        layerNorm(dense(hidden).activated(activation)).linear(weight: decoder.value, bias: bias.value)
    }
}

/// BERT or RoBERTa with the masked-LM head (`BertForMaskedLM`, `RobertaForMaskedLM`).
public final class MaskedLanguageModel: PretrainedModel, @unchecked Sendable {
    let base: BertModel
    let head: MaskedLMHead

    override public var keyOverrides: [String: String] {
        ["base": basePrefix, "head": config.modelType == .roberta ? "lm_head" : "cls"]
    }

    init(_ scope: Scope) throws {
        let config = scope.builder.config
        let prefix = config.modelType.rawValue
        base = try BertModel(scope[prefix], pooling: false)
        head = try MaskedLMHead(
            scope[config.modelType == .roberta ? "lm_head" : "cls"], embeddings: base.embeddings.wordEmbeddings.weight)
        super.init(config: config, task: .maskedLM)
    }

    /// Logits over the vocabulary at every position; the loss when `labels` (ids, -100 ignored) are given.
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try base.forward(inputs)
        let logits = head(try output.hidden())
        output.logits = logits
        if let labels = inputs.labels {
            output.loss = logits.reshaped([-1, config.vocabularySize]).crossEntropy(targets: labels.reshaped([-1]))
        }
        return output
    }
}

/// GPT-2 with its language-model head, tied to the token embeddings (`GPT2LMHeadModel`).
public final class CausalLanguageModel: PretrainedModel, @unchecked Sendable {
    let transformer: GPT2Model
    let lmHead: Parameter

    override public var keyOverrides: [String: String] { ["lmHead": "lm_head.weight"] }

    init(_ scope: Scope) throws {
        let config = scope.builder.config
        transformer = try GPT2Model(scope["transformer"])
        lmHead =
            config.tieWordEmbeddings
            ? scope.builder.tied("lm_head.weight", to: transformer.wte.weight)
            : try scope["lm_head"].parameter("weight", [config.vocabularySize, config.hiddenSize], .normal)
        super.init(config: config, task: .causalLM)
    }

    /// Next-token logits at every position; the loss when `labels` are given (shifted by one, -100 ignored).
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try transformer.forward(inputs)
        let logits = try output.hidden().linear(weight: lmHead.value, bias: nil)
        output.logits = logits
        if let labels = inputs.labels {
            let length = logits.size(1)
            guard labels.shape == [logits.size(0), length] else {
                throw ModelError.input("labels \(labels.shape) for ids \([logits.size(0), length])")
            }
            if length > 1 {
                let predicted = logits.sliced(1, 0..<length - 1).reshaped([-1, config.vocabularySize])
                output.loss = predicted.crossEntropy(targets: labels.sliced(1, 1..<length).contiguous().reshaped([-1]))
            }
        }
        return output
    }

    /// The model without the head.
    public var base: GPT2Model { transformer }
}

/// RoBERTa's classification head: dropout, dense, tanh, dropout, out_proj on the first token.
final class RobertaClassificationHead: Module, @unchecked Sendable {
    let dense: Linear
    let dropout: Dropout
    let outProj: Linear

    init(_ scope: Scope) throws {
        let config = scope.builder.config
        dense = try scope["dense"].linear(config.hiddenSize, config.hiddenSize)
        dropout = Dropout(config.classifierDropout, seed: 11)
        outProj = try scope["out_proj"].linear(config.hiddenSize, config.labelCount)
    }

    func callAsFunction(_ hidden: Tensor) -> Tensor {
        outProj(dropout(dense(dropout(hidden.sliced(1, 0..<1).squeezed(1))).tanh()))
    }
}

/// One label (or score) per text: `BertForSequenceClassification` (pooler, dropout, classifier),
/// `RobertaForSequenceClassification` (its head on `<s>`), `GPT2ForSequenceClassification` (`score` on the last
/// token that is not padding).
public final class SequenceClassificationModel: PretrainedModel, @unchecked Sendable {
    let encoder: BertModel?
    let transformer: GPT2Model?
    let dropout: Dropout
    let classifier: Linear?
    let robertaHead: RobertaClassificationHead?
    let score: Linear?

    override public var keyOverrides: [String: String] {
        ["encoder": basePrefix, "robertaHead": "classifier"]
    }

    init(_ scope: Scope) throws {
        let config = scope.builder.config
        dropout = Dropout(config.classifierDropout, seed: 10)
        switch config.modelType {
        case .gpt2:
            transformer = try GPT2Model(scope["transformer"])
            score = try scope["score"].linear(config.hiddenSize, config.labelCount, bias: false)
            (encoder, classifier, robertaHead) = (nil, nil, nil)
        case .roberta:
            encoder = try BertModel(scope["roberta"], pooling: false)
            robertaHead = try RobertaClassificationHead(scope["classifier"])
            (transformer, classifier, score) = (nil, nil, nil)
        case .bert:
            encoder = try BertModel(scope["bert"], pooling: true)
            classifier = try scope["classifier"].linear(config.hiddenSize, config.labelCount)
            (transformer, robertaHead, score) = (nil, nil, nil)
        }
        super.init(config: config, task: .sequenceClassification)
    }

    /// [batch, labels] logits; the loss when `labels` are given: mean squared error for one label (regression),
    /// binary cross-entropy for float multi-labels, else cross-entropy.
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output: ModelOutput
        let logits: Tensor
        if let transformer, let score {
            output = try transformer.forward(inputs)
            let rows = try lastTokens(inputs.inputIDs)
            let all = score(try output.hidden())  // [B, T, labels]
            logits = Tensor.concatenate(
                rows.enumerated().map {
                    all.sliced(0, $0.offset..<$0.offset + 1).sliced(1, $0.element..<$0.element + 1)
                },
                axis: 0
            ).reshaped([rows.count, config.labelCount])
        } else if let encoder {
            output = try encoder.forward(inputs)
            if let robertaHead {
                logits = robertaHead(try output.hidden())
            } else {
                guard let classifier, let pooled = output.poolerOutput else { throw ModelError.input("no pooler") }
                logits = classifier(dropout(pooled))
            }
        } else {
            throw ModelError.input("no base model")
        }
        output.logits = logits
        if let labels = inputs.labels {
            if config.labelCount == 1 {
                output.loss = logits.reshaped([-1]).mseLoss(labels.converted(to: .float32).reshaped([-1]))
            } else if labels.dtype.isFloatingPoint {
                output.loss = logits.binaryCrossEntropyWithLogits(labels.converted(to: .float32))
            } else {
                output.loss = logits.crossEntropy(targets: labels.reshaped([-1]))
            }
        }
        return output
    }

    /// GPT-2: per row, the last token that is not padding (the last token when the config has no pad token).
    private func lastTokens(_ ids: Tensor) throws -> [Int] {
        let (batch, length) = (ids.size(0), ids.size(1))
        guard let pad = config.padTokenID else {
            guard batch == 1 else {
                throw ModelError.input("a batch of \(batch) needs a pad_token_id in the config to find each last token")
            }
            return [length - 1]
        }
        let values = ids.integers
        return (0..<batch).map { row in
            (0..<length).last(where: { values[row * length + $0] != pad }) ?? 0
        }
    }
}

/// One label per token (`BertForTokenClassification`, `RobertaForTokenClassification`): dropout, classifier.
public final class TokenClassificationModel: PretrainedModel, @unchecked Sendable {
    let encoder: BertModel
    let dropout: Dropout
    let classifier: Linear

    override public var keyOverrides: [String: String] { ["encoder": basePrefix] }

    init(_ scope: Scope) throws {
        let config = scope.builder.config
        encoder = try BertModel(scope[config.modelType.rawValue], pooling: false)
        dropout = Dropout(config.classifierDropout, seed: 10)
        classifier = try scope["classifier"].linear(config.hiddenSize, config.labelCount)
        super.init(config: config, task: .tokenClassification)
    }

    /// [batch, length, labels] logits; the loss when `labels` ([batch, length], -100 ignored) are given.
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try encoder.forward(inputs)
        let logits = classifier(dropout(try output.hidden()))
        output.logits = logits
        if let labels = inputs.labels {
            output.loss = logits.reshaped([-1, config.labelCount]).crossEntropy(targets: labels.reshaped([-1]))
        }
        return output
    }
}

/// Extractive question answering (`BertForQuestionAnswering`, `RobertaForQuestionAnswering`): start and end
/// logits per token from `qa_outputs`.
public final class QuestionAnsweringModel: PretrainedModel, @unchecked Sendable {
    let encoder: BertModel
    let qaOutputs: Linear

    override public var keyOverrides: [String: String] { ["encoder": basePrefix] }

    init(_ scope: Scope) throws {
        let config = scope.builder.config
        encoder = try BertModel(scope[config.modelType.rawValue], pooling: false)
        qaOutputs = try scope["qa_outputs"].linear(config.hiddenSize, 2)
        super.init(config: config, task: .questionAnswering)
    }

    /// Start and end logits; the loss (the mean of both cross-entropies, positions clamped to the length and
    /// ignored there, as transformers does) when both positions are given.
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try encoder.forward(inputs)
        let parts = qaOutputs(try output.hidden()).split([1, 1], axis: 2)
        let (start, end) = (parts[0].squeezed(2), parts[1].squeezed(2))
        output.startLogits = start
        output.endLogits = end
        if let startPositions = inputs.startPositions, let endPositions = inputs.endPositions {
            let length = start.size(1)
            func clamped(_ positions: Tensor) -> Tensor {
                Tensor(positions.integers.map { Swift.min(Swift.max($0, 0), length) }, shape: [positions.count])
            }
            let startLoss = start.crossEntropy(targets: clamped(startPositions), ignoreIndex: length)
            let endLoss = end.crossEntropy(targets: clamped(endPositions), ignoreIndex: length)
            output.loss = (startLoss + endLoss) * 0.5
        }
        return output
    }
}

import NN
import Tensors

// RoBERTa's task heads (modeling_roberta.py): `lm_head`, the classification head on `<s>`, token classification,
// `qa_outputs`.

/// dense, activation, layer_norm, then the decoder (tied to the word embeddings) plus the bias (`lm_head`).
final class RobertaLMHead: Module, @unchecked Sendable {
    /// The decoder's bias: one parameter under both names, as transformers lists it.
    let bias: Parameter
    let dense: Linear
    let activation: Activation
    let layerNorm: LayerNorm
    let decoder: Linear

    init(_ config: ModelConfig, _ roberta: RobertaConfig, wordEmbeddings: Parameter) {
        bias = Parameter(pending: [config.vocabularySize], .zeros)
        dense = Linear(config.hiddenSize, config.hiddenSize, std: config.initializerRange)
        activation = roberta.activation
        layerNorm = LayerNorm(config.hiddenSize, epsilon: roberta.layerNormEpsilon)
        let weight =
            config.tieWordEmbeddings
            ? wordEmbeddings
            : Parameter(pending: [config.vocabularySize, config.hiddenSize], .normal(std: config.initializerRange))
        decoder = Linear(weight: weight, bias: bias)
    }

    func callAsFunction(_ hidden: Tensor) -> Tensor { decoder(layerNorm(activation(dense(hidden)))) }
}

/// RoBERTa with the masked-LM head (`RobertaForMaskedLM`).
///
/// ```swift
/// let model = try await AutoModelForMaskedLM.fromPretrained("roberta-base")   // a RobertaForMaskedLM for this model_type
/// ```
public class RobertaForMaskedLM: PretrainedModel, MaskedLM, @unchecked Sendable {
    let roberta: RobertaModel
    let lmHead: RobertaLMHead

    public override class var task: ModelTask { .maskedLM }

    public required init(config: ModelConfig) throws {
        roberta = try RobertaModel(config: config, addPoolingLayer: false)
        lmHead = RobertaLMHead(
            config, try config.typed(RobertaConfig.self), wordEmbeddings: roberta.embeddings.wordEmbeddings.weight)
        try super.init(config: config)
    }

    public override var maxInputLength: Int { roberta.maxInputLength }

    /// Logits over the vocabulary at every position; the loss when `labels` (ids, -100 ignored) are given.
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try roberta.forward(inputs)
        let logits = lmHead(try output.hidden())
        output.logits = logits
        if let labels = inputs.labels {
            output.loss = tokenLoss(logits, labels: labels, classes: config.vocabularySize)
        }
        return output
    }
}

/// dropout, dense, tanh, dropout, out_proj on the first token (`<s>`).
final class RobertaClassificationHead: Module, @unchecked Sendable {
    let dense: Linear
    let dropout: Dropout
    let outProj: Linear

    init(_ config: ModelConfig, _ roberta: RobertaConfig) {
        dense = Linear(config.hiddenSize, config.hiddenSize, std: config.initializerRange)
        dropout = Dropout(roberta.classifierDropout, seed: 11)
        outProj = Linear(config.hiddenSize, config.labelCount, std: config.initializerRange)
    }

    func callAsFunction(_ hidden: Tensor) -> Tensor {
        outProj(dropout(dense(dropout(hidden.sliced(1, 0..<1).squeezed(1))).tanh()))  // [B, labels]
    }
}

/// One label (or score) per text from the classification head (`RobertaForSequenceClassification`).
///
/// ```swift
/// let model = try await AutoModelForSequenceClassification.fromPretrained("cardiffnlp/twitter-roberta-base-sentiment")   // a RobertaForSequenceClassification for this model_type
/// ```
public class RobertaForSequenceClassification: PretrainedModel, SequenceClassifier, @unchecked Sendable {
    let roberta: RobertaModel
    let classifier: RobertaClassificationHead

    public override class var task: ModelTask { .sequenceClassification }

    public required init(config: ModelConfig) throws {
        roberta = try RobertaModel(config: config, addPoolingLayer: false)
        classifier = RobertaClassificationHead(config, try config.typed(RobertaConfig.self))
        try super.init(config: config)
    }

    public override var maxInputLength: Int { roberta.maxInputLength }

    /// [B, labels] logits; the loss when `labels` are given (see `sequenceLoss`).
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try roberta.forward(inputs)
        let logits = classifier(try output.hidden())
        output.logits = logits
        if let labels = inputs.labels {
            output.loss = sequenceLoss(logits, labels: labels, labelCount: config.labelCount)
        }
        return output
    }
}

/// One label per token: dropout, a linear classifier (`RobertaForTokenClassification`).
///
/// ```swift
/// let model = try await AutoModelForTokenClassification.fromPretrained("Jean-Baptiste/roberta-large-ner-english")   // a RobertaForTokenClassification for this model_type
/// ```
public class RobertaForTokenClassification: PretrainedModel, TokenClassifier, @unchecked Sendable {
    let roberta: RobertaModel
    let dropout: Dropout
    let classifier: Linear

    public override class var task: ModelTask { .tokenClassification }

    public required init(config: ModelConfig) throws {
        let settings = try config.typed(RobertaConfig.self)
        roberta = try RobertaModel(config: config, addPoolingLayer: false)
        dropout = Dropout(settings.classifierDropout, seed: 10)
        classifier = Linear(config.hiddenSize, config.labelCount, std: config.initializerRange)
        try super.init(config: config)
    }

    public override var maxInputLength: Int { roberta.maxInputLength }

    /// [B, T, labels] logits; the loss when `labels` ([B, T], -100 ignored) are given.
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try roberta.forward(inputs)
        let logits = classifier(dropout(try output.hidden()))
        output.logits = logits
        if let labels = inputs.labels { output.loss = tokenLoss(logits, labels: labels, classes: config.labelCount) }
        return output
    }
}

/// Start and end logits per token from `qa_outputs` (`RobertaForQuestionAnswering`).
///
/// ```swift
/// let model = try await AutoModelForQuestionAnswering.fromPretrained("deepset/roberta-base-squad2")   // a RobertaForQuestionAnswering for this model_type
/// ```
public class RobertaForQuestionAnswering: PretrainedModel, QuestionAnswerer, @unchecked Sendable {
    let roberta: RobertaModel
    let qaOutputs: Linear

    public override class var task: ModelTask { .questionAnswering }

    public required init(config: ModelConfig) throws {
        roberta = try RobertaModel(config: config, addPoolingLayer: false)
        qaOutputs = Linear(config.hiddenSize, 2, std: config.initializerRange)
        try super.init(config: config)
    }

    public override var maxInputLength: Int { roberta.maxInputLength }

    /// Start and end logits; the loss (see `spanLoss`) when both positions are given.
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try roberta.forward(inputs)
        spanOutput(&output, logits: qaOutputs(try output.hidden()), inputs: inputs)
        return output
    }
}

import NN
import Tensors

// MPNet's task heads (modeling_mpnet.py): `lm_head` (GELU whatever the config says), the classification head on
// `<s>`, a classifier per token, `qa_outputs` — RoBERTa's heads under `mpnet.`.

/// dense, GELU, layer_norm, decoder (tied to the word embeddings) plus the bias (`lm_head`).
final class MPNetLMHead: Module, @unchecked Sendable {
    /// The decoder's bias: one parameter under both names, as transformers lists it.
    let bias: Parameter
    let dense: Linear
    let layerNorm: LayerNorm
    let decoder: Linear

    init(_ config: ModelConfig, _ mpnet: MPNetConfig, wordEmbeddings: Parameter) {
        bias = Parameter(pending: [config.vocabularySize], .zeros)
        dense = Linear(config.hiddenSize, config.hiddenSize, std: config.initializerRange)
        layerNorm = LayerNorm(config.hiddenSize, epsilon: mpnet.layerNormEpsilon)
        let weight =
            config.tieWordEmbeddings
            ? wordEmbeddings
            : Parameter(pending: [config.vocabularySize, config.hiddenSize], .normal(std: config.initializerRange))
        decoder = Linear(weight: weight, bias: bias)
    }

    func callAsFunction(_ hidden: Tensor) -> Tensor { decoder(layerNorm(dense(hidden).gelu())) }
}

/// MPNet with the masked-LM head (`MPNetForMaskedLM`).
public final class MPNetForMaskedLM: PretrainedModel, MaskedLM, @unchecked Sendable {
    let mpnet: MPNetModel
    let lmHead: MPNetLMHead

    public override class var task: ModelTask { .maskedLM }

    public required init(config: ModelConfig) throws {
        mpnet = try MPNetModel(config: config, addPoolingLayer: false)
        lmHead = MPNetLMHead(
            config, try config.typed(MPNetConfig.self), wordEmbeddings: mpnet.embeddings.wordEmbeddings.weight)
        try super.init(config: config)
    }

    public override var maxInputLength: Int { mpnet.maxInputLength }

    /// Logits over the vocabulary at every position; the loss when `labels` (ids, -100 ignored) are given.
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try mpnet.forward(inputs)
        let logits = lmHead(try output.hidden())
        output.logits = logits
        if let labels = inputs.labels {
            output.loss = tokenLoss(logits, labels: labels, classes: config.vocabularySize)
        }
        return output
    }
}

/// dropout, dense, tanh, dropout, out_proj on the first token (`classifier`).
final class MPNetClassificationHead: Module, @unchecked Sendable {
    let dense: Linear
    let dropout: Dropout
    let outProj: Linear

    init(_ config: ModelConfig, _ mpnet: MPNetConfig) {
        dense = Linear(config.hiddenSize, config.hiddenSize, std: config.initializerRange)
        dropout = Dropout(mpnet.hiddenDropout, seed: 11)
        outProj = Linear(config.hiddenSize, config.labelCount, std: config.initializerRange)
    }

    func callAsFunction(_ hidden: Tensor) -> Tensor {
        outProj(dropout(dense(dropout(hidden.sliced(1, 0..<1).squeezed(1))).tanh()))  // [B, labels]
    }
}

/// One label (or score) per text from the classification head (`MPNetForSequenceClassification`).
public final class MPNetForSequenceClassification: PretrainedModel, SequenceClassifier, @unchecked Sendable {
    let mpnet: MPNetModel
    let classifier: MPNetClassificationHead

    public override class var task: ModelTask { .sequenceClassification }

    public required init(config: ModelConfig) throws {
        mpnet = try MPNetModel(config: config, addPoolingLayer: false)
        classifier = MPNetClassificationHead(config, try config.typed(MPNetConfig.self))
        try super.init(config: config)
    }

    public override var maxInputLength: Int { mpnet.maxInputLength }

    /// [B, labels] logits; the loss when `labels` are given (see `sequenceLoss`).
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try mpnet.forward(inputs)
        let logits = classifier(try output.hidden())
        output.logits = logits
        if let labels = inputs.labels {
            output.loss = sequenceLoss(logits, labels: labels, labelCount: config.labelCount)
        }
        return output
    }
}

/// One label per token: dropout, a linear classifier (`MPNetForTokenClassification`).
public final class MPNetForTokenClassification: PretrainedModel, TokenClassifier, @unchecked Sendable {
    let mpnet: MPNetModel
    let dropout: Dropout
    let classifier: Linear

    public override class var task: ModelTask { .tokenClassification }

    public required init(config: ModelConfig) throws {
        let settings = try config.typed(MPNetConfig.self)
        mpnet = try MPNetModel(config: config, addPoolingLayer: false)
        dropout = Dropout(settings.hiddenDropout, seed: 10)
        classifier = Linear(config.hiddenSize, config.labelCount, std: config.initializerRange)
        try super.init(config: config)
    }

    public override var maxInputLength: Int { mpnet.maxInputLength }

    /// [B, T, labels] logits; the loss when `labels` ([B, T], -100 ignored) are given.
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try mpnet.forward(inputs)
        let logits = classifier(dropout(try output.hidden()))
        output.logits = logits
        if let labels = inputs.labels { output.loss = tokenLoss(logits, labels: labels, classes: config.labelCount) }
        return output
    }
}

/// Start and end logits per token from `qa_outputs` (`MPNetForQuestionAnswering`).
public final class MPNetForQuestionAnswering: PretrainedModel, QuestionAnswerer, @unchecked Sendable {
    let mpnet: MPNetModel
    let qaOutputs: Linear

    public override class var task: ModelTask { .questionAnswering }

    public required init(config: ModelConfig) throws {
        mpnet = try MPNetModel(config: config, addPoolingLayer: false)
        qaOutputs = Linear(config.hiddenSize, 2, std: config.initializerRange)
        try super.init(config: config)
    }

    public override var maxInputLength: Int { mpnet.maxInputLength }

    /// Start and end logits; the loss (see `spanLoss`) when both positions are given.
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try mpnet.forward(inputs)
        spanOutput(&output, logits: qaOutputs(try output.hidden()), inputs: inputs)
        return output
    }
}

import NN
import Tensors

// ModernBERT's task heads (modeling_modernbert.py): `head` (dense, activation, norm) before each output; the
// decoder tied to the token embeddings; sequence classification pooled by the first token or the mean.

/// dense, activation, norm (`head`).
final class ModernBertPredictionHead: Module, @unchecked Sendable {
    let dense: Linear
    let activation: Activation
    let norm: ModernBertNorm

    init(_ config: ModernBertConfig) {
        dense = Linear(
            config.hiddenSize, config.hiddenSize, bias: config.classifierBias, std: config.initializerRange)
        activation = config.classifierActivation
        norm = ModernBertNorm(config)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { norm(activation(dense(x))) }
}

/// ModernBERT with the masked-LM head (`ModernBertForMaskedLM`).
public final class ModernBertForMaskedLM: PretrainedModel, MaskedLM, @unchecked Sendable {
    let model: ModernBertModel
    let head: ModernBertPredictionHead
    let decoder: Linear

    public override class var task: ModelTask { .maskedLM }

    public required init(config: ModelConfig) throws {
        let settings = try config.typed(ModernBertConfig.self)
        model = try ModernBertModel(config: config)
        head = ModernBertPredictionHead(settings)
        let weight =
            config.tieWordEmbeddings
            ? model.embeddings.tokEmbeddings.weight
            : Parameter(pending: [config.vocabularySize, config.hiddenSize], .normal(std: config.initializerRange))
        decoder = Linear(
            weight: weight, bias: settings.decoderBias ? Parameter(pending: [config.vocabularySize], .zeros) : nil)
        try super.init(config: config)
    }

    /// Logits over the vocabulary at every position; the loss when `labels` (ids, -100 ignored) are given.
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try model.forward(inputs)
        let logits = decoder(head(try output.hidden()))
        output.logits = logits
        if let labels = inputs.labels {
            output.loss = tokenLoss(logits, labels: labels, classes: config.vocabularySize)
        }
        return output
    }
}

/// The first token (or the mean over the mask, `classifier_pooling: mean`) through the head, dropout and the
/// classifier (`ModernBertForSequenceClassification`).
public final class ModernBertForSequenceClassification: PretrainedModel, SequenceClassifier, @unchecked Sendable {
    let model: ModernBertModel
    let head: ModernBertPredictionHead
    let drop: Dropout
    let classifier: Linear
    let pooling: String

    public override class var task: ModelTask { .sequenceClassification }

    public required init(config: ModelConfig) throws {
        let settings = try config.typed(ModernBertConfig.self)
        model = try ModernBertModel(config: config)
        head = ModernBertPredictionHead(settings)
        drop = Dropout(settings.classifierDropout, seed: 10)
        classifier = Linear(config.hiddenSize, config.labelCount, std: config.initializerRange)
        pooling = settings.classifierPooling
        try super.init(config: config)
    }

    /// [B, labels] logits; the loss when `labels` are given (see `sequenceLoss`).
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try model.forward(inputs)
        let hidden = try output.hidden()
        let pooled: Tensor
        if pooling == "mean" {
            let mask = (inputs.attentionMask ?? Tensor.ones(inputs.inputIDs.shape)).converted(to: .float32)
            pooled = (hidden * mask.unsqueezed(2)).sum(axes: [1]) / mask.sum(axes: [1], keepingDimensions: true)
        } else {
            pooled = hidden.sliced(1, 0..<1).squeezed(1)
        }
        let logits = classifier(drop(head(pooled)))
        output.logits = logits
        if let labels = inputs.labels {
            output.loss = sequenceLoss(logits, labels: labels, labelCount: config.labelCount)
        }
        return output
    }
}

/// The head, dropout and a classifier per token (`ModernBertForTokenClassification`).
public final class ModernBertForTokenClassification: PretrainedModel, TokenClassifier, @unchecked Sendable {
    let model: ModernBertModel
    let head: ModernBertPredictionHead
    let drop: Dropout
    let classifier: Linear

    public override class var task: ModelTask { .tokenClassification }

    public required init(config: ModelConfig) throws {
        let settings = try config.typed(ModernBertConfig.self)
        model = try ModernBertModel(config: config)
        head = ModernBertPredictionHead(settings)
        drop = Dropout(settings.classifierDropout, seed: 10)
        classifier = Linear(config.hiddenSize, config.labelCount, std: config.initializerRange)
        try super.init(config: config)
    }

    /// [B, T, labels] logits; the loss when `labels` ([B, T], -100 ignored) are given.
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try model.forward(inputs)
        let logits = classifier(drop(head(try output.hidden())))
        output.logits = logits
        if let labels = inputs.labels { output.loss = tokenLoss(logits, labels: labels, classes: config.labelCount) }
        return output
    }
}

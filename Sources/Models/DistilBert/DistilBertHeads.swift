import NN
import Tensors

// DistilBERT's task heads (modeling_distilbert.py): vocab_transform → vocab_layer_norm → vocab_projector for masked
// LM; pre_classifier + ReLU + classifier on the first token; a classifier per token; qa_outputs.

/// DistilBERT with the masked-LM head (`DistilBertForMaskedLM`); `vocab_projector` is tied to the word embeddings.
///
/// ```swift
/// let model = try await AutoModelForMaskedLM.fromPretrained("distilbert-base-uncased")   // a DistilBertForMaskedLM for this model_type
/// ```
public final class DistilBertForMaskedLM: PretrainedModel, MaskedLM, @unchecked Sendable {
    let activation: Activation
    let distilbert: DistilBertModel
    let vocabTransform: Linear
    let vocabLayerNorm: LayerNorm
    let vocabProjector: Linear

    public override class var task: ModelTask { .maskedLM }

    public required init(config: ModelConfig) throws {
        let settings = try config.typed(DistilBertConfig.self)
        let (C, V, std) = (config.hiddenSize, config.vocabularySize, config.initializerRange)
        activation = settings.activation
        distilbert = try DistilBertModel(config: config)
        vocabTransform = Linear(C, C, std: std)
        vocabLayerNorm = LayerNorm(C, epsilon: settings.layerNormEpsilon)
        let weight =
            config.tieWordEmbeddings
            ? distilbert.embeddings.wordEmbeddings.weight : Parameter(pending: [V, C], .normal(std: std))
        vocabProjector = Linear(weight: weight, bias: Parameter(pending: [V], .zeros))
        try super.init(config: config)
    }

    /// Logits over the vocabulary at every position; the loss when `labels` (ids, -100 ignored) are given.
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try distilbert.forward(inputs)
        let logits = vocabProjector(vocabLayerNorm(activation(vocabTransform(try output.hidden()))))
        output.logits = logits
        if let labels = inputs.labels {
            output.loss = tokenLoss(logits, labels: labels, classes: config.vocabularySize)
        }
        return output
    }
}

/// The first token through pre_classifier, ReLU, dropout and the classifier (`DistilBertForSequenceClassification`).
///
/// ```swift
/// let model = try await AutoModelForSequenceClassification.fromPretrained("distilbert/distilbert-base-uncased-finetuned-sst-2-english")   // a DistilBertForSequenceClassification for this model_type
/// ```
public final class DistilBertForSequenceClassification: PretrainedModel, SequenceClassifier, @unchecked Sendable {
    let distilbert: DistilBertModel
    let preClassifier: Linear
    let classifier: Linear
    let dropout: Dropout

    public override class var task: ModelTask { .sequenceClassification }

    public required init(config: ModelConfig) throws {
        let settings = try config.typed(DistilBertConfig.self)
        distilbert = try DistilBertModel(config: config)
        preClassifier = Linear(config.hiddenSize, config.hiddenSize, std: config.initializerRange)
        classifier = Linear(config.hiddenSize, config.labelCount, std: config.initializerRange)
        dropout = Dropout(settings.sequenceClassifierDropout, seed: 10)
        try super.init(config: config)
    }

    /// [B, labels] logits; the loss when `labels` are given (see `sequenceLoss`).
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try distilbert.forward(inputs)
        let first = try output.hidden().sliced(1, 0..<1).squeezed(1)  // [B, C]
        let logits = classifier(dropout(preClassifier(first).relu()))
        output.logits = logits
        if let labels = inputs.labels {
            output.loss = sequenceLoss(logits, labels: labels, labelCount: config.labelCount)
        }
        return output
    }
}

/// One label per token: dropout, a linear classifier (`DistilBertForTokenClassification`).
///
/// ```swift
/// let model = try await AutoModelForTokenClassification.fromPretrained("elastic/distilbert-base-cased-finetuned-conll03-english")   // a DistilBertForTokenClassification for this model_type
/// ```
public final class DistilBertForTokenClassification: PretrainedModel, TokenClassifier, @unchecked Sendable {
    let distilbert: DistilBertModel
    let dropout: Dropout
    let classifier: Linear

    public override class var task: ModelTask { .tokenClassification }

    public required init(config: ModelConfig) throws {
        let settings = try config.typed(DistilBertConfig.self)
        distilbert = try DistilBertModel(config: config)
        dropout = Dropout(settings.dropout, seed: 10)
        classifier = Linear(config.hiddenSize, config.labelCount, std: config.initializerRange)
        try super.init(config: config)
    }

    /// [B, T, labels] logits; the loss when `labels` ([B, T], -100 ignored) are given.
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try distilbert.forward(inputs)
        let logits = classifier(dropout(try output.hidden()))
        output.logits = logits
        if let labels = inputs.labels { output.loss = tokenLoss(logits, labels: labels, classes: config.labelCount) }
        return output
    }
}

/// Start and end logits per token from dropout and `qa_outputs` (`DistilBertForQuestionAnswering`).
///
/// ```swift
/// let model = try await AutoModelForQuestionAnswering.fromPretrained("distilbert/distilbert-base-cased-distilled-squad")   // a DistilBertForQuestionAnswering for this model_type
/// ```
public final class DistilBertForQuestionAnswering: PretrainedModel, QuestionAnswerer, @unchecked Sendable {
    let distilbert: DistilBertModel
    let qaOutputs: Linear
    let dropout: Dropout

    public override class var task: ModelTask { .questionAnswering }

    public required init(config: ModelConfig) throws {
        let settings = try config.typed(DistilBertConfig.self)
        distilbert = try DistilBertModel(config: config)
        qaOutputs = Linear(config.hiddenSize, 2, std: config.initializerRange)
        dropout = Dropout(settings.questionAnsweringDropout, seed: 10)
        try super.init(config: config)
    }

    /// Start and end logits; the loss (see `spanLoss`) when both positions are given.
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try distilbert.forward(inputs)
        spanOutput(&output, logits: qaOutputs(dropout(try output.hidden())), inputs: inputs)
        return output
    }
}

import NN
import Tensors

// BERT's task heads (modeling_bert.py): `cls.predictions` for masked LM, pooler + classifier for sequences,
// classifier per token, `qa_outputs` for spans.

/// dense, activation, LayerNorm (`cls.predictions.transform`).
final class BertPredictionHeadTransform: Module, @unchecked Sendable {
    let dense: Linear
    let activation: Activation
    @Key("LayerNorm") var layerNorm: LayerNorm

    init(_ config: BertConfig) {
        dense = Linear(config.hiddenSize, config.hiddenSize, std: config.initializerRange)
        activation = config.activation
        super.init()
        layerNorm = LayerNorm(config.hiddenSize, epsilon: config.layerNormEpsilon)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(activation(dense(x))) }
}

/// The transform, then the decoder (tied to the word embeddings) plus the bias (`cls.predictions`).
final class BertLMPredictionHead: Module, @unchecked Sendable {
    /// The decoder's bias: one parameter listed under both names, as transformers lists it.
    let bias: Parameter
    let transform: BertPredictionHeadTransform
    let decoder: Linear

    init(_ config: ModelConfig, _ bert: BertConfig, wordEmbeddings: Parameter) {
        bias = Parameter(pending: [config.vocabularySize], .zeros)
        transform = BertPredictionHeadTransform(bert)
        let weight =
            config.tieWordEmbeddings
            ? wordEmbeddings
            : Parameter(pending: [config.vocabularySize, config.hiddenSize], .normal(std: config.initializerRange))
        decoder = Linear(weight: weight, bias: bias)
    }

    func callAsFunction(_ hidden: Tensor) -> Tensor { decoder(transform(hidden)) }
}

final class BertOnlyMLMHead: Module, @unchecked Sendable {
    let predictions: BertLMPredictionHead

    init(_ config: ModelConfig, _ bert: BertConfig, wordEmbeddings: Parameter) {
        predictions = BertLMPredictionHead(config, bert, wordEmbeddings: wordEmbeddings)
    }
}

/// BERT with the masked-LM head (`BertForMaskedLM`).
///
/// ```swift
/// let model = try await AutoModelForMaskedLM.fromPretrained("bert-base-uncased")   // a BertForMaskedLM for this model_type
/// ```
public final class BertForMaskedLM: PretrainedModel, MaskedLM, @unchecked Sendable {
    let bert: BertModel
    let cls: BertOnlyMLMHead

    public override class var task: ModelTask { .maskedLM }

    public required init(config: ModelConfig) throws {
        bert = try BertModel(config: config, addPoolingLayer: false)
        cls = BertOnlyMLMHead(
            config, try config.typed(BertConfig.self), wordEmbeddings: bert.embeddings.wordEmbeddings.weight)
        try super.init(config: config)
    }

    /// Logits over the vocabulary at every position; the loss when `labels` (ids, -100 ignored) are given.
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try bert.forward(inputs)
        let logits = cls.predictions(try output.hidden())
        output.logits = logits
        if let labels = inputs.labels {
            output.loss = tokenLoss(logits, labels: labels, classes: config.vocabularySize)
        }
        return output
    }
}

/// The pooled first token, dropout, a linear classifier (`BertForSequenceClassification`).
///
/// ```swift
/// let model = try await AutoModelForSequenceClassification.fromPretrained("textattack/bert-base-uncased-SST-2")   // a BertForSequenceClassification for this model_type
/// ```
public final class BertForSequenceClassification: PretrainedModel, SequenceClassifier, @unchecked Sendable {
    let bert: BertModel
    let dropout: Dropout
    let classifier: Linear

    public override class var task: ModelTask { .sequenceClassification }

    public required init(config: ModelConfig) throws {
        let settings = try config.typed(BertConfig.self)
        bert = try BertModel(config: config, addPoolingLayer: true)
        dropout = Dropout(settings.classifierDropout, seed: 10)
        classifier = Linear(config.hiddenSize, config.labelCount, std: config.initializerRange)
        try super.init(config: config)
    }

    /// [B, labels] logits; the loss when `labels` are given (see `sequenceLoss`).
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try bert.forward(inputs)
        guard let pooled = output.poolerOutput else { throw ModelError.input("the encoder returned no pooled output") }
        let logits = classifier(dropout(pooled))
        output.logits = logits
        if let labels = inputs.labels {
            output.loss = sequenceLoss(logits, labels: labels, labelCount: config.labelCount)
        }
        return output
    }
}

/// One label per token: dropout, a linear classifier (`BertForTokenClassification`).
///
/// ```swift
/// let model = try await AutoModelForTokenClassification.fromPretrained("dslim/bert-base-NER")   // a BertForTokenClassification for this model_type
/// ```
public final class BertForTokenClassification: PretrainedModel, TokenClassifier, @unchecked Sendable {
    let bert: BertModel
    let dropout: Dropout
    let classifier: Linear

    public override class var task: ModelTask { .tokenClassification }

    public required init(config: ModelConfig) throws {
        let settings = try config.typed(BertConfig.self)
        bert = try BertModel(config: config, addPoolingLayer: false)
        dropout = Dropout(settings.classifierDropout, seed: 10)
        classifier = Linear(config.hiddenSize, config.labelCount, std: config.initializerRange)
        try super.init(config: config)
    }

    /// [B, T, labels] logits; the loss when `labels` ([B, T], -100 ignored) are given.
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try bert.forward(inputs)
        let logits = classifier(dropout(try output.hidden()))
        output.logits = logits
        if let labels = inputs.labels { output.loss = tokenLoss(logits, labels: labels, classes: config.labelCount) }
        return output
    }
}

/// Start and end logits per token from `qa_outputs` (`BertForQuestionAnswering`).
///
/// ```swift
/// let model = try await AutoModelForQuestionAnswering.fromPretrained("deepset/bert-base-cased-squad2")   // a BertForQuestionAnswering for this model_type
/// ```
public final class BertForQuestionAnswering: PretrainedModel, QuestionAnswerer, @unchecked Sendable {
    let bert: BertModel
    let qaOutputs: Linear

    public override class var task: ModelTask { .questionAnswering }

    public required init(config: ModelConfig) throws {
        bert = try BertModel(config: config, addPoolingLayer: false)
        qaOutputs = Linear(config.hiddenSize, 2, std: config.initializerRange)
        try super.init(config: config)
    }

    /// Start and end logits; the loss (see `spanLoss`) when both positions are given.
    public override func forward(_ inputs: ModelInputs) throws -> ModelOutput {
        var output = try bert.forward(inputs)
        spanOutput(&output, logits: qaOutputs(try output.hidden()), inputs: inputs)
        return output
    }
}

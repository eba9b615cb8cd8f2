/// The tasks a pretrained model is built for, each with its head.
///
/// ```swift
/// let task = ModelTask(rawValue: "masked-lm")      // .maskedLM
/// let model = try PretrainedModel.load(folder, task: .sequenceClassification)
/// ```
public enum ModelTask: String, Sendable, CaseIterable {
    /// The base model: hidden states (and BERT's pooler).
    case base
    case maskedLM = "masked-lm"
    case causalLM = "causal-lm"
    case sequenceClassification = "sequence-classification"
    case tokenClassification = "token-classification"
    case questionAnswering = "question-answering"
}

// What each task's models can do, whatever the architecture: the typed entry points (`AutoModelForCausalLM`, …)
// return these, so a caller never downcasts to an architecture's class.

/// A base model whose hidden states make sentence embeddings (`BertModel`, `RobertaModel`, `DistilBertModel`,
/// `GPT2Model`): `sentenceEmbeddings(_:)`.
///
/// ```swift
/// let encoder = try await AutoModel.fromPretrained("sentence-transformers/all-MiniLM-L6-v2")
/// let embeddings = try encoder.sentenceEmbeddings(["A man is eating.", "Someone eats."])   // [2, 384], unit rows
/// ```
public protocol SentenceEncoder: PretrainedModel {}

/// A masked language model (`BertForMaskedLM`, …): logits over the vocabulary at each position; `fillMask(_:)`.
///
/// ```swift
/// let bert = try await AutoModelForMaskedLM.fromPretrained("bert-base-uncased")
/// let best = try bert.fillMask(["Paris is the [MASK] of France."], topK: 3)[0]   // [MaskPrediction]
/// ```
public protocol MaskedLM: PretrainedModel {}

/// A causal language model (`GPT2LMHeadModel`): next-token logits, a key/value cache; `generate(_:config:)`.
///
/// ```swift
/// let gpt2 = try await AutoModelForCausalLM.fromPretrained("gpt2")
/// let result = try gpt2.generate("Once upon a time", config: GenerationConfig(maxNewTokens: 20))
/// print(result.text)
/// ```
public protocol CausalLM: PretrainedModel {}

/// One label (or score) per text (`BertForSequenceClassification`, …): `classify(_:)`.
///
/// ```swift
/// let classifier = try AutoModelForSequenceClassification.load("out/best")
/// let scores = try classifier.classify(["a fine tool"])[0]     // [(label, probability)]
/// ```
public protocol SequenceClassifier: PretrainedModel {}

/// One label per token (`BertForTokenClassification`, …): logits [batch, length, labels].
///
/// ```swift
/// let tagger = try AutoModelForTokenClassification.load("tagger")
/// let logits = try tagger(["Ann lives in Paris"]).logits       // [1, T, labels]
/// ```
public protocol TokenClassifier: PretrainedModel {}

/// Extractive question answering (`BertForQuestionAnswering`, …): start and end logits per token.
///
/// ```swift
/// let reader = try AutoModelForQuestionAnswering.load("reader")
/// let output = try reader(ModelInputs(try reader.encode(["Who wrote it?"], pairs: ["Ann wrote it."])))
/// let (start, end) = (output.startLogits, output.endLogits)   // [1, T] each
/// ```
public protocol QuestionAnswerer: PretrainedModel {}

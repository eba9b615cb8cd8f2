/// The tasks a pretrained model is built for, each with its head.
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
public protocol SentenceEncoder: PretrainedModel {}

/// A masked language model (`BertForMaskedLM`, …): logits over the vocabulary at each position; `fillMask(_:)`.
public protocol MaskedLM: PretrainedModel {}

/// A causal language model (`GPT2LMHeadModel`): next-token logits, a key/value cache; `generate(_:config:)`.
public protocol CausalLM: PretrainedModel {}

/// One label (or score) per text (`BertForSequenceClassification`, …): `classify(_:)`.
public protocol SequenceClassifier: PretrainedModel {}

/// One label per token (`BertForTokenClassification`, …): logits [batch, length, labels].
public protocol TokenClassifier: PretrainedModel {}

/// Extractive question answering (`BertForQuestionAnswering`, …): start and end logits per token.
public protocol QuestionAnswerer: PretrainedModel {}

// XLM-RoBERTa (transformers' models/xlm_roberta/modeling_xlm_roberta.py): RoBERTa's layers, heads and checkpoint names
// under its own class names and `model_type`, with a SentencePiece (Unigram) tokenizer of 250,002 pieces. Each class
// is RoBERTa's, renamed: what it computes, loads, saves and exports is RoBERTa's.

/// XLM-RoBERTa in the architecture table: `model_type` "xlm-roberta", keys under `roberta.` in task checkpoints.
enum XLMRoberta {
    static let architecture = Architecture(
        modelType: "xlm-roberta", basePrefix: "roberta", defaultPadTokenID: 1, readConfig: { try RobertaConfig($0) },
        sanitize: Bert.sanitize(key:),
        classes: [
            XLMRobertaModel.self, XLMRobertaForMaskedLM.self, XLMRobertaForSequenceClassification.self,
            XLMRobertaForTokenClassification.self, XLMRobertaForQuestionAnswering.self,
        ])
}

/// The XLM-RoBERTa encoder (`XLMRobertaModel`): hidden states and the pooled first token.
///
/// ```swift
/// let model = try await AutoModel.fromPretrained("FacebookAI/xlm-roberta-base")   // an XLMRobertaModel
/// let hidden = try model(["Bonjour le monde", "東京"]).lastHiddenState
/// ```
public final class XLMRobertaModel: RobertaModel, @unchecked Sendable {}

/// XLM-RoBERTa with RoBERTa's masked-LM head (`XLMRobertaForMaskedLM`).
public final class XLMRobertaForMaskedLM: RobertaForMaskedLM, @unchecked Sendable {}

/// XLM-RoBERTa with RoBERTa's classification head on `<s>` (`XLMRobertaForSequenceClassification`).
public final class XLMRobertaForSequenceClassification: RobertaForSequenceClassification, @unchecked Sendable {}

/// XLM-RoBERTa with a classifier per token (`XLMRobertaForTokenClassification`).
public final class XLMRobertaForTokenClassification: RobertaForTokenClassification, @unchecked Sendable {}

/// XLM-RoBERTa with start and end logits per token (`XLMRobertaForQuestionAnswering`).
public final class XLMRobertaForQuestionAnswering: RobertaForQuestionAnswering, @unchecked Sendable {}

/// RoBERTa in the architecture table: `model_type` "roberta", keys under `roberta.` in task checkpoints.
enum Roberta {
    static let architecture = Architecture(
        modelType: "roberta", basePrefix: "roberta", defaultPadTokenID: 1, readConfig: { try RobertaConfig($0) },
        sanitize: Bert.sanitize(key:),  // the same quirks as BERT's checkpoints
        classes: [
            RobertaModel.self, RobertaForMaskedLM.self, RobertaForSequenceClassification.self,
            RobertaForTokenClassification.self, RobertaForQuestionAnswering.self,
        ])
}

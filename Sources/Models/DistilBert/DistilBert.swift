/// DistilBERT in the architecture table: `model_type` "distilbert", keys under `distilbert.` in task checkpoints.
enum DistilBert {
    static let architecture = Architecture(
        modelType: "distilbert", basePrefix: "distilbert", defaultPadTokenID: 0,
        readConfig: { try DistilBertConfig($0) }, sanitize: sanitize(key:),
        classes: [
            DistilBertModel.self, DistilBertForMaskedLM.self, DistilBertForSequenceClassification.self,
            DistilBertForTokenClassification.self, DistilBertForQuestionAnswering.self,
        ])

    /// DistilBERT's checkpoint quirk: `embeddings.position_ids`, a buffer older versions saved.
    static func sanitize(key: String) -> String? { key.hasSuffix("position_ids") ? nil : key }
}

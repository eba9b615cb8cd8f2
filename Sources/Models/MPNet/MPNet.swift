/// MPNet in the architecture table: `model_type` "mpnet", keys under `mpnet.` in task checkpoints.
enum MPNet {
    static let architecture = Architecture(
        modelType: "mpnet", basePrefix: "mpnet", defaultPadTokenID: 1, readConfig: { try MPNetConfig($0) },
        sanitize: sanitize(key:),
        classes: [
            MPNetModel.self, MPNetForMaskedLM.self, MPNetForSequenceClassification.self,
            MPNetForTokenClassification.self, MPNetForQuestionAnswering.self,
        ])

    /// MPNet's checkpoint quirk: `embeddings.position_ids`, a buffer older versions saved.
    static func sanitize(key: String) -> String? { key.hasSuffix("position_ids") ? nil : key }
}

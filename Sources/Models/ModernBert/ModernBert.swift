/// ModernBERT in the architecture table: `model_type` "modernbert", keys under `model.` in task checkpoints.
enum ModernBert {
    static let architecture = Architecture(
        modelType: "modernbert", basePrefix: "model", defaultPadTokenID: 50283,
        readConfig: { try ModernBertConfig($0) }, sanitize: { $0 },
        classes: [
            ModernBertModel.self, ModernBertForMaskedLM.self, ModernBertForSequenceClassification.self,
            ModernBertForTokenClassification.self,
        ])
}

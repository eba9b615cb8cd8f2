/// BERT in the architecture table: `model_type` "bert", keys under `bert.` in task checkpoints.
enum Bert {
    static let architecture = Architecture(
        modelType: "bert", basePrefix: "bert", defaultPadTokenID: nil, readConfig: { try BertConfig($0) },
        sanitize: sanitize(key:),
        classes: [
            BertModel.self, BertForMaskedLM.self, BertForSequenceClassification.self,
            BertForTokenClassification.self, BertForQuestionAnswering.self,
        ])

    /// BERT's checkpoint quirks, as transformers loads them: early ports (TF conversions) name LayerNorm's
    /// parameters `gamma`/`beta`; `position_ids` and `token_type_ids` are buffers older versions saved.
    static func sanitize(key: String) -> String? {
        if key.hasSuffix("position_ids") || key.hasSuffix("token_type_ids") { return nil }
        if key.hasSuffix("LayerNorm.gamma") { return String(key.dropLast(5)) + "weight" }
        if key.hasSuffix("LayerNorm.beta") { return String(key.dropLast(4)) + "bias" }
        return key
    }
}

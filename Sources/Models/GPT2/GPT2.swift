/// GPT-2 in the architecture table: `model_type` "gpt2", keys under `transformer.` in task checkpoints.
enum GPT2 {
    static let architecture = Architecture(
        modelType: "gpt2", basePrefix: "transformer", defaultPadTokenID: nil, readConfig: { try GPT2Config($0) },
        sanitize: sanitize(key:),
        classes: [GPT2Model.self, GPT2LMHeadModel.self, GPT2ForSequenceClassification.self])

    /// GPT-2's checkpoint quirks: `attn.bias` (the causal mask) and `attn.masked_bias`, buffers older versions saved.
    ///
    /// Its Conv1D weights are stored [in, out] and used as stored (`Conv1D` multiplies by W, not Wᵀ), so
    /// mapped weights stay zero-copy; nothing to rename.
    static func sanitize(key: String) -> String? {
        key.hasSuffix(".attn.bias") || key.hasSuffix(".attn.masked_bias") ? nil : key
    }
}

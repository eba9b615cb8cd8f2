import Formats
import Support
import Tensors

extension SentenceEncoder {
    /// Sentence embeddings [texts, dimensions] as sentence-transformers' `encode` makes them.
    ///
    /// The model's own modules (`modules.json`: pooling, dense layers, normalization) when its folder or file has
    /// them, else the classic recipe (the mean of the last hidden states over the attention mask, L2-normalised).
    /// Texts are cut at `sentence_bert_config.json`'s `max_seq_length` when the model carries one
    /// (all-MiniLM-L6-v2: 256); `promptName` puts that prompt of `config_sentence_transformers.json` before each
    /// text (e5's "query: "), or the model's default prompt when it names one.
    ///
    /// ```swift
    /// let e5 = try await AutoModel.fromPretrained("intfloat/multilingual-e5-small")
    /// let queries = try e5.sentenceEmbeddings(["how do I install it?"], promptName: "query")
    /// ```
    public func sentenceEmbeddings(_ texts: [String], promptName: String? = nil) throws -> Tensor {
        let modules = try sentenceModules
        let name = promptName ?? modules?.defaultPromptName
        var prompt = ""
        if let name {
            guard let text = modules?.prompts[name] else {
                let known = (modules?.prompts.keys.sorted() ?? []).joined(separator: ", ")
                throw ModelError.input(
                    "the model has no prompt named '\(name)' (it has: \(known.isEmpty ? "none" : known))")
            }
            prompt = text
        }
        // sentence-transformers counts the prompt's tokens with the special tokens, less the closing one.
        let promptLength = prompt.isEmpty ? 0 : Swift.max(try requiredTokenizer().encode(prompt).count - 1, 0)
        let inputs = try ModelInputs(encode(texts.map { prompt + $0 }, maxLength: sentenceLength))
        return try sentenceEmbeddings(inputs, promptLength: promptLength)
    }

    /// Sentence embeddings [rows, dimensions] of a padded batch (`batch(_:)`).
    ///
    /// Through the model's modules (or the classic mean + L2). `normalized` nil follows the modules; false leaves out the final normalization, true
    /// makes sure of it (TEI's `normalize`). `promptLength` tokens at the start of each row are a prompt, which
    /// pooling with `include_prompt: false` leaves out.
    public func sentenceEmbeddings(
        _ inputs: ModelInputs, normalized: Bool? = nil, promptLength: Int = 0
    ) throws
        -> Tensor
    {
        try Tensor.withoutGradient {
            let hidden = try forward(inputs).hidden()  // [B, T, C]
            let mask = inputs.attentionMask ?? Tensor.ones(inputs.inputIDs.shape)
            let modules = try sentenceModules ?? SentenceTransformerModules.classic
            return try modules.embed(hidden: hidden, mask: mask, promptLength: promptLength, normalized: normalized)
        }
    }

    /// The length `sentenceEmbeddings(_:)` cuts texts at, as sentence-transformers sets it: `max_seq_length` of
    /// sentence_bert_config.json, else (a sentence-transformers folder, modules.json, that does not say)
    /// tokenizer_config.json's `model_max_length`; nil when neither says (the model's own maximum applies).
    public var sentenceLength: Int? {
        func object(_ name: String) -> JSONObject? {
            guard let bytes = try? sourceFile(name) else { return nil }
            return (try? JSONParser.parse(bytes, maxDepth: 8))?.object
        }
        if let length = object("sentence_bert_config.json")?["max_seq_length"]?.nonNegativeInteger(limit: 1 << 20) {
            return length
        }
        guard (try? sourceFile("modules.json")) ?? nil != nil else { return nil }
        return object("tokenizer_config.json")?["model_max_length"]?.nonNegativeInteger(limit: 1 << 20)
    }

}

extension PretrainedModel {
    /// Cosine similarity of two embeddings (rows of `sentenceEmbeddings`, already unit length).
    public static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        let dot = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let na = a.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let nb = b.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        return dot / Swift.max(na * nb, 1e-12)
    }
}

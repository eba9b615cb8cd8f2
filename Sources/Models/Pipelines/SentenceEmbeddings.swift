import Formats
import Support
import Tensors

extension SentenceEncoder {
    /// Sentence embeddings [texts, hidden] by the sentence-transformers recipe.
    ///
    /// The mean of the last hidden states over the attention mask, L2-normalised; inputs are cut at
    /// `sentence_bert_config.json`'s `max_seq_length` when the model carries one (all-MiniLM-L6-v2: 256).
    public func sentenceEmbeddings(_ texts: [String]) throws -> Tensor {
        try sentenceEmbeddings(ModelInputs(encode(texts, maxLength: sentenceLength)))
    }

    /// Sentence embeddings [rows, hidden] of a padded batch (`batch(_:)`): the mean of the last hidden states over
    /// the attention mask, L2-normalised unless `normalized` is false (TEI's `normalize: false`).
    public func sentenceEmbeddings(_ inputs: ModelInputs, normalized: Bool = true) throws -> Tensor {
        try Tensor.withoutGradient {
            let hidden = try forward(inputs).hidden()  // [B, T, C]
            let mask = (inputs.attentionMask ?? Tensor.ones(inputs.inputIDs.shape)).converted(to: .float32)
                .unsqueezed(2)
            let summed = (hidden * mask).sum(axes: [1])
            let counts = mask.sum(axes: [1]).doubles.map { Swift.max($0, 1e-9) }
            let pooled = summed / Tensor(counts.map(Float.init), shape: [counts.count, 1])
            guard normalized else { return pooled }
            let norms = (pooled * pooled).sum(axes: [1], keepingDimensions: true).sqrt().doubles.map {
                Swift.max($0, 1e-12)
            }
            return pooled / Tensor(norms.map(Float.init), shape: [norms.count, 1])
        }
    }

    /// `max_seq_length` of a sentence-transformers model folder or `.mhub` (what `sentenceEmbeddings(_:)` cuts
    /// texts at), else nil.
    public var sentenceLength: Int? {
        guard let source else { return nil }
        let bytes: [UInt8]?
        if source.hasSuffix(".mhub") {
            bytes = (try? MHubFile(path: source)).flatMap { try? $0.fileBytes("sentence_bert_config.json")?.array }
        } else if case .success(let read) = readWholeFile(source + "/sentence_bert_config.json", limit: 1 << 16) {
            bytes = read
        } else {
            bytes = nil
        }
        guard let bytes, let object = (try? JSONParser.parse(bytes, maxDepth: 8))?.object else { return nil }
        return object["max_seq_length"]?.nonNegativeInteger(limit: 1 << 20)
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

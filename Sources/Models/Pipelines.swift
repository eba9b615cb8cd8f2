import Formats
import Tensors
import Tokenizers

// What `hub run` does with a model, as functions: sentence embeddings, fill-mask, classification.

/// One fill-mask candidate: the token, its text, its id and its probability.
public struct MaskPrediction: Sendable, Equatable {
    /// The vocabulary entry (`Ġfree` for byte-level BPE).
    public let token: String
    /// The token decoded (`free`, as the fill-mask pipeline's `token_str`).
    public let text: String
    public let id: Int
    public let score: Double
}

extension PretrainedModel {
    /// Sentence embeddings [texts, hidden] by the sentence-transformers recipe.
    ///
    /// The mean of the last hidden states over the attention mask, L2-normalised; inputs are cut at
    /// `sentence_bert_config.json`'s `max_seq_length` when the model carries one (all-MiniLM-L6-v2: 256).
    public func sentenceEmbeddings(_ texts: [String]) throws -> Tensor {
        let encodings = try encode(texts, maxLength: sentenceLength)
        let inputs = try ModelInputs(encodings)
        return try Tensor.withoutGradient {
            let hidden = try forward(inputs).hidden()  // [B, T, C]
            let mask = (inputs.attentionMask ?? Tensor.ones(inputs.inputIDs.shape)).converted(to: .float32)
                .unsqueezed(2)
            let summed = (hidden * mask).sum(axes: [1])
            let counts = mask.sum(axes: [1]).doubles.map { Swift.max($0, 1e-9) }
            let pooled = summed / Tensor(counts.map(Float.init), shape: [counts.count, 1])
            let norms = (pooled * pooled).sum(axes: [1], keepingDimensions: true).sqrt().doubles.map {
                Swift.max($0, 1e-12)
            }
            return pooled / Tensor(norms.map(Float.init), shape: [norms.count, 1])
        }
    }

    /// `max_seq_length` of a sentence-transformers model folder or `.mhub`, else nil.
    var sentenceLength: Int? {
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

    /// Cosine similarity of two embeddings (rows of `sentenceEmbeddings`, already unit length).
    public static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        let dot = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let na = a.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let nb = b.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        return dot / Swift.max(na * nb, 1e-12)
    }
}

extension MaskedLanguageModel {
    /// The `topK` most likely tokens at each mask token of each text (the tokenizer's `[MASK]` or `<mask>`).
    public func fillMask(_ texts: [String], topK: Int = 5) throws -> [[MaskPrediction]] {
        guard let tokenizer else { throw ModelError.input("the model has no tokenizer") }
        guard let maskID = ["[MASK]", "<mask>"].lazy.compactMap({ tokenizer.id(for: $0) }).first else {
            throw ModelError.input("the tokenizer has no mask token ([MASK] or <mask>)")
        }
        let encodings = try encode(texts)
        let logits = try Tensor.withoutGradient { try forward(ModelInputs(encodings)).requiredLogits() }
        let vocabulary = config.vocabularySize
        var results: [[MaskPrediction]] = []
        for (row, encoding) in encodings.enumerated() {
            guard let position = encoding.ids.firstIndex(of: maskID) else {
                throw ModelError.input("text \(row + 1) has no mask token: \(texts[row])")
            }
            let scores = logits.sliced(0, row..<row + 1).sliced(1, position..<position + 1).reshaped([vocabulary])
                .softmax().doubles
            let best = scores.indices.sorted { scores[$0] > scores[$1] }.prefix(Swift.max(topK, 1))
            results.append(
                best.map {
                    MaskPrediction(
                        token: tokenizer.token(for: Int32($0)) ?? "", text: tokenizer.decode([Int32($0)]), id: $0,
                        score: scores[$0])
                })
        }
        return results
    }
}

extension SequenceClassificationModel {
    /// Label probabilities (softmax of the logits) of each text, with the config's label names.
    public func classify(_ texts: [String]) throws -> [[(label: String, score: Double)]] {
        let logits = try Tensor.withoutGradient { try forward(ModelInputs(encode(texts))).requiredLogits() }
        let probabilities = logits.softmax(axis: -1).doubles
        let count = config.labelCount
        return texts.indices.map { row in
            (0..<count).map { (config.labels[$0], probabilities[row * count + $0]) }
        }
    }
}

import Tensors
import Tokenizers

/// One fill-mask candidate: the token, its text, its id and its probability.
///
/// ```swift
/// for prediction in try bert.fillMask(["The [MASK] is free."])[0] { print(prediction.text, prediction.score) }
/// ```
public struct MaskPrediction: Sendable, Equatable {
    /// The vocabulary entry (`Ġfree` for byte-level BPE).
    public let token: String
    /// The token decoded (`free`, as the fill-mask pipeline's `token_str`).
    public let text: String
    public let id: Int
    public let score: Double
}

extension MaskedLM {
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

import Tensors

#if canImport(Glibc)
    import Glibc
#endif

/// transformers' logits processors, on one row of next-token scores (float32, as PyTorch computes them).
///
/// ```swift
/// var scores: [Float] = [2.0, 0.5, -1.0, 3.0]
/// LogitsProcessing.temperature(&scores, 0.7)
/// LogitsProcessing.topK(&scores, 2)          // the others become −∞
/// ```
public enum LogitsProcessing {
    /// Divides scores of tokens in `history` by the penalty when positive, multiplies them when negative.
    public static func repetitionPenalty(_ scores: inout [Float], history: [Int], penalty: Float) {
        for token in Set(history) where scores.indices.contains(token) {
            scores[token] = scores[token] < 0 ? scores[token] * penalty : scores[token] / penalty
        }
    }

    public static func temperature(_ scores: inout [Float], _ temperature: Float) {
        for index in scores.indices { scores[index] /= temperature }
    }

    /// Keeps scores at least the k-th largest (ties kept), the rest −∞.
    public static func topK(_ scores: inout [Float], _ k: Int) {
        guard k > 0, k < scores.count else { return }
        let threshold = scores.sorted(by: >)[k - 1]
        for index in scores.indices where scores[index] < threshold { scores[index] = -.infinity }
    }

    /// Drops the least likely tokens while their cumulative probability stays ≤ 1 − p (at least one kept).
    public static func topP(_ scores: inout [Float], _ p: Float) {
        guard p < 1 else { return }
        // Ascending with ties in index order, as torch.sort (stable on the CPU for these sizes).
        let order = scores.indices.sorted { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        let probabilities = softmax(order.map { scores[$0] })
        var cumulative: Float = 0
        for (rank, index) in order.enumerated() where rank < order.count - 1 {
            cumulative += probabilities[rank]
            if cumulative <= 1 - p { scores[index] = -.infinity } else { break }
        }
    }

    static func softmax(_ scores: [Float]) -> [Float] {
        let largest = scores.max() ?? 0
        guard largest > -.infinity else { return scores.map { _ in 1 / Float(scores.count) } }
        let exps = scores.map { expf($0 - largest) }
        let total = exps.reduce(0, +)
        return exps.map { $0 / total }
    }
}

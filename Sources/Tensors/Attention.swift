// Scaled dot-product attention, composed of the ops above (its backward comes from theirs).

extension Tensor {
    /// softmax(Q Kᵀ · scale + mask) V for Q [..., T, D], K and V [..., S, D].
    ///
    /// - Parameters:
    ///   - mask: broadcast to [..., T, S]; a bool/integer mask keeps positions where it is non-zero, a float mask is
    ///     added to the scores (HF's extended attention mask).
    ///   - causal: position t attends to positions ≤ t + (S − T) only (GPT-2's mask, with a key/value cache).
    ///   - scale: 1/√D by default.
    ///   - probabilities: applied to the attention probabilities before they weight V (dropout while training).
    public static func scaledDotProductAttention(
        query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil, causal: Bool = false, scale: Double? = nil,
        probabilities: (Tensor) -> Tensor = { $0 }
    ) -> Tensor {
        let depth = query.shape.last ?? 1
        var scores = query.matmul(key.transposed(), scale: scale ?? 1 / Double(depth).squareRoot())
        // The most negative finite value, as transformers masks (finfo.min): exp gives 0 without NaNs.
        let masked = query.dtype == .float32 ? -Double(Float.greatestFiniteMagnitude) : -Double.greatestFiniteMagnitude
        if let mask {
            if mask.dtype.isFloatingPoint {
                scores = scores + mask
            } else {
                scores = scores.maskedFill(mask.logicalNot(), masked)
            }
        }
        if causal {
            let (t, s) = (scores.size(-2), scores.size(-1))
            var future = [UInt8](repeating: 0, count: t * s)
            for row in 0..<t {
                for column in 0..<s where column > row + (s - t) { future[row * s + column] = 1 }
            }
            scores = scores.maskedFill(Tensor(future, shape: [t, s], dtype: .uint8), masked)
        }
        return probabilities(scores.softmax(axis: -1)).matmul(value)
    }
}

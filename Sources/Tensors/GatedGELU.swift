import CKernels

extension Tensor {
    /// GeGLU's gate: the exact GELU of the first half of the last axis times its second half, as ModernBERT's MLP
    /// computes `act(input) * gate` after one projection to twice the width.
    ///
    /// One pass over each row instead of two slices, a copy, GELU and a strided product (float32; other types are
    /// composed of those ops). Returns the last axis halved.
    ///
    /// ```swift
    /// let gated = projected.gatedGELU()   // [B, T, 2I] → [B, T, I]
    /// ```
    public func gatedGELU() -> Tensor {
        let width = size(-1)
        precondition(width % 2 == 0, "gated GELU of odd width \(width)")
        let half = width / 2
        guard dtype == .float32 else { return sliced(-1, 0..<half).gelu() * sliced(-1, half..<width) }
        let input = contiguous().detached()
        let rows = width == 0 ? 0 : input.count / width
        var outShape = shape
        outShape[outShape.count - 1] = half
        let out = Tensor.empty(outShape, dtype: .float32)
        let (x, y) = (SharedBuffer(input.pointer(as: Float.self)), SharedBuffer(out.pointer(as: Float.self)))
        splitInHalves(rows, minimum: rowsWorthSplitting(width)) { start, count in
            for row in start..<start + count {
                let (xr, yr) = (x.base + row * width, y.base + row * half)
                mh_gelu(xr, yr, half)
                for j in 0..<half { yr[j] *= xr[half + j] }
            }
        }
        return Tensor.record("gated_gelu", out, inputs: [self]) { gradient in
            // d input = g · gate · GELU′(input), d gate = g · GELU(input).
            let g = gradient.contiguous().detached()
            let dx = Tensor.empty(input.shape, dtype: .float32)
            let x = SharedBuffer(input.pointer(as: Float.self))  // `input` itself is held by this closure
            let (dy, d) = (SharedBuffer(g.pointer(as: Float.self)), SharedBuffer(dx.pointer(as: Float.self)))
            splitInHalves(rows, minimum: rowsWorthSplitting(width)) { start, count in
                for row in start..<start + count {
                    let (xr, gr, dr) = (x.base + row * width, dy.base + row * half, d.base + row * width)
                    for j in 0..<half { dr[j] = gr[j] * xr[half + j] }
                    mh_gelu_backward(xr, dr, dr, half)
                    mh_gelu(xr, dr + half, half)
                    for j in 0..<half { dr[half + j] *= gr[j] }
                }
            }
            return [dx]
        }
    }
}

extension Tensor {
    /// Rotary position embedding as transformers applies it (`x·cos + rotate_half(x)·sin`, rotate_half = the second
    /// half negated, then the first): one pass instead of two slices, a negation, a concatenation and three
    /// element-wise products, with its own backward.
    ///
    /// `self` is [..., T, D] with D even; `cos` and `sin` are [T, D] (each position's angles repeated over the two
    /// halves, as transformers builds them). Returns a contiguous tensor of `self`'s shape.
    ///
    /// ```swift
    /// let rotated = query.rotaryEmbedding(cos: cos, sin: sin)   // query [B, H, T, D], cos/sin [T, D]
    /// ```
    public func rotaryEmbedding(cos: Tensor, sin: Tensor) -> Tensor {
        let (T, D) = (size(-2), size(-1))
        precondition(D % 2 == 0, "rotary embedding of odd width \(D)")
        precondition(cos.shape == [T, D] && sin.shape == [T, D], "rotary tables \(cos.shape) for [\(T), \(D)]")
        // Rows are read where they lie when each is contiguous (a query or key viewed out of a fused QKV product).
        let input = layout.strides.last == 1 || rank < 2 ? detached() : contiguous().detached()
        let (c, s) = (
            cos.converted(to: dtype).contiguous().detached(), sin.converted(to: dtype).contiguous().detached()
        )
        let out: Tensor
        switch dtype {
        case .float32: out = input.rotaryKernel(Float.self, c, s, inverse: false)
        case .float64: out = input.rotaryKernel(Double.self, c, s, inverse: false)
        default: preconditionFailure("rotary embedding of \(dtype): convert to float32 first")
        }
        return Tensor.record("rotary", out, inputs: [self]) { g in
            // The rotation's transpose: the same tables with the sine's sign flipped.
            let g = g.contiguous().detached()
            switch g.dtype {
            case .float32: return [g.rotaryKernel(Float.self, c, s, inverse: true)]
            default: return [g.rotaryKernel(Double.self, c, s, inverse: true)]
            }
        }
    }

    private func rotaryKernel<T: FloatElement>(_ type: T.Type, _ cos: Tensor, _ sin: Tensor, inverse: Bool) -> Tensor {
        let (positions, width) = (size(-2), size(-1))
        let half = width / 2
        let rows = width == 0 ? 0 : count / width
        let out = Tensor.empty(shape, dtype: dtype)
        let starts = rowStarts()
        let (x, y) = (SharedBuffer(pointer(as: T.self)), SharedBuffer(out.pointer(as: T.self)))
        let (c, s) = (SharedBuffer(cos.pointer(as: T.self)), SharedBuffer(sin.pointer(as: T.self)))
        // y₁ = x₁c₁ − x₂s₁, y₂ = x₂c₂ + x₁s₂ forward; the backward rotates the other way: x₁c₁ + x₂s₂, x₂c₂ − x₁s₁.
        splitInHalves(rows, minimum: rowsWorthSplitting(width)) { start, count in
            for row in start..<start + count {
                let (xr, yr) = (x.base + starts[row], y.base + row * width)
                let table = (row % positions) * width
                let (cr, sr) = (c.base + table, s.base + table)
                if inverse {
                    for j in 0..<half {
                        yr[j] = xr[j] * cr[j] + xr[j + half] * sr[j + half]
                        yr[j + half] = xr[j + half] * cr[j + half] - xr[j] * sr[j]
                    }
                } else {
                    for j in 0..<half {
                        yr[j] = xr[j] * cr[j] - xr[j + half] * sr[j]
                        yr[j + half] = xr[j + half] * cr[j + half] + xr[j] * sr[j + half]
                    }
                }
            }
        }
        return out
    }

    /// Where each row (the last axis, stride 1) starts, in elements from `pointer`, in row-major order.
    private func rowStarts() -> [Int] {
        var starts: [Int] = []
        starts.reserveCapacity(shape.dropLast().reduce(1, *))
        Layout(shape: Array(shape.dropLast()), strides: Array(layout.strides.dropLast()), offset: 0).forEachIndex {
            starts.append($0)
        }
        return starts
    }
}

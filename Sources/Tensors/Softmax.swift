import CKernels

// Softmax, log-softmax and layer normalization: row kernels over the last axis (another axis is moved last first).

/// The fewest rows of `width` that are worth two threads (about 256k elements).
func rowsWorthSplitting(_ width: Int) -> Int { Swift.max((1 << 18) / Swift.max(width, 1), 2) }

extension Tensor {
    /// The tensor with `axis` moved last (contiguous), and how to move a result back.
    private func rowsAlong(_ axis: Int) -> (rows: Tensor, restore: (Tensor) -> Tensor) {
        let resolved = layout.axis(axis)
        if resolved == rank - 1 { return (contiguous().detached(), { $0 }) }
        let moved = detached().transposed(resolved, -1).contiguous()
        return (moved, { $0.transposed(resolved, -1).contiguous() })
    }

    /// exp(x − max) / Σ exp(x − max) along `axis`.
    ///
    /// Backward: dx = y ⊙ (g − Σ g ⊙ y).
    public func softmax(axis: Int = -1) -> Tensor {
        let (rows, restore) = rowsAlong(axis)
        let y = rows.rowKernel(log: false)
        return Tensor.record("softmax", restore(y), inputs: [self]) { g in
            let (gRows, _) = g.rowsAlong(axis)
            return [restore(y.softmaxBackward(gRows, log: false))]
        }
    }

    /// x − max − log Σ exp(x − max) along `axis`.
    ///
    /// Backward: dx = g − exp(y) Σ g.
    public func logSoftmax(axis: Int = -1) -> Tensor {
        let (rows, restore) = rowsAlong(axis)
        let y = rows.rowKernel(log: true)
        return Tensor.record("log_softmax", restore(y), inputs: [self]) { g in
            let (gRows, _) = g.rowsAlong(axis)
            return [restore(y.softmaxBackward(gRows, log: true))]
        }
    }

    private func rowKernel(log: Bool) -> Tensor {
        switch dtype {
        case .float32: return rowKernel(Float.self, log: log)
        case .float64: return rowKernel(Double.self, log: log)
        default: preconditionFailure("softmax of \(dtype): convert to float32 first")
        }
    }

    private func rowKernel<T: FloatElement>(_ type: T.Type, log: Bool) -> Tensor {
        let n = shape.last ?? 1
        let out = Tensor.empty(shape, dtype: dtype)
        if T.self == Float.self {  // vectorized exp (CKernels), rows in two halves
            let (x, y) = (SharedBuffer(pointer(as: Float.self)), SharedBuffer(out.pointer(as: Float.self)))
            splitInHalves(n == 0 ? 0 : count / n, minimum: rowsWorthSplitting(n)) { start, rows in
                mh_softmax_rows(x.base + start * n, y.base + start * n, rows, n, log ? 1 : 0)
            }
            return out
        }
        let (x, y) = (pointer(as: T.self), out.pointer(as: T.self))
        for row in 0..<(n == 0 ? 0 : count / n) {
            let (xr, yr) = (x + row * n, y + row * n)
            var largest = -T.infinity
            for j in 0..<n where xr[j] > largest { largest = xr[j] }
            var total: T = 0
            for j in 0..<n {
                let e = T.exp(xr[j] - largest)
                yr[j] = e
                total += e
            }
            if log {
                let shift = largest + T.log(total)
                for j in 0..<n { yr[j] = xr[j] - shift }
            } else {
                let scale = 1 / total
                for j in 0..<n { yr[j] *= scale }
            }
        }
        return out
    }

    private func softmaxBackward(_ g: Tensor, log: Bool) -> Tensor {
        switch dtype {
        case .float32: return softmaxBackward(Float.self, g, log: log)
        default: return softmaxBackward(Double.self, g, log: log)
        }
    }

    private func softmaxBackward<T: FloatElement>(_ type: T.Type, _ g: Tensor, log: Bool) -> Tensor {
        let n = shape.last ?? 1
        let out = Tensor.empty(shape, dtype: dtype)
        if T.self == Float.self {  // vectorized sums (CKernels), rows in two halves
            let (y, dy) = (SharedBuffer(pointer(as: Float.self)), SharedBuffer(g.pointer(as: Float.self)))
            let dx = SharedBuffer(out.pointer(as: Float.self))
            splitInHalves(n == 0 ? 0 : count / n, minimum: rowsWorthSplitting(n)) { start, rows in
                mh_softmax_backward_rows(
                    y.base + start * n, dy.base + start * n, dx.base + start * n, rows, n, log ? 1 : 0)
            }
            return out
        }
        let (y, dy, dx) = (pointer(as: T.self), g.pointer(as: T.self), out.pointer(as: T.self))
        for row in 0..<(n == 0 ? 0 : count / n) {
            let (yr, gr, xr) = (y + row * n, dy + row * n, dx + row * n)
            var total: T = 0
            if log {
                for j in 0..<n { total += gr[j] }
                for j in 0..<n { xr[j] = gr[j] - T.exp(yr[j]) * total }
            } else {
                for j in 0..<n { total += gr[j] * yr[j] }
                for j in 0..<n { xr[j] = yr[j] * (gr[j] - total) }
            }
        }
        return out
    }

    /// Layer normalization over the last axis: (x − μ) / √(σ² + ε) · weight + bias (σ² biased, as PyTorch).
    ///
    /// Backward, with x̂ the normalized input and ĝ = g · weight: dx = (ĝ − mean ĝ − x̂ · mean(ĝ x̂)) / √(σ² + ε),
    /// dweight = Σ g x̂, dbias = Σ g over the rows.
    public func layerNorm(weight: Tensor?, bias: Tensor?, epsilon: Double = 1e-5) -> Tensor {
        let n = shape.last ?? 1
        precondition(weight.map { $0.shape == [n] } ?? true, "layer norm weight \(weight?.shape ?? []) for \(n)")
        precondition(bias.map { $0.shape == [n] } ?? true, "layer norm bias \(bias?.shape ?? []) for \(n)")
        let x = contiguous().detached()
        let (w, b) = (weight?.contiguous().detached(), bias?.contiguous().detached())
        let (y, xHat, rstd): (Tensor, Tensor, Tensor)
        switch dtype {
        case .float32: (y, xHat, rstd) = x.layerNormKernel(Float.self, w, b, epsilon)
        case .float64: (y, xHat, rstd) = x.layerNormKernel(Double.self, w, b, epsilon)
        default: preconditionFailure("layer norm of \(dtype): convert to float32 first")
        }
        let inputs = [self] + (weight.map { [$0] } ?? []) + (bias.map { [$0] } ?? [])
        return Tensor.record("layer_norm", y, inputs: inputs) { g in
            let g = g.contiguous()
            if g.dtype == .float32 {  // one fused pass per row (CKernels), rows in two halves
                let n = xHat.shape.last ?? 1
                let dx = Tensor.empty(xHat.shape, dtype: .float32)
                // Each half sums its rows' dw and db into its own row of these; the two rows are added after.
                let dw = weight == nil ? nil : Tensor.zeros([2, n])
                let db = bias == nil ? nil : Tensor.zeros([2, n])
                let (gs, hs, rs) = (
                    SharedBuffer(g.pointer(as: Float.self)), SharedBuffer(xHat.pointer(as: Float.self)),
                    SharedBuffer(rstd.pointer(as: Float.self))
                )
                let ws = w.map { SharedBuffer($0.pointer(as: Float.self)) }
                let (dxs, dws, dbs) = (
                    SharedBuffer(dx.pointer(as: Float.self)), dw.map { SharedBuffer($0.pointer(as: Float.self)) },
                    db.map { SharedBuffer($0.pointer(as: Float.self)) }
                )
                let rows = n == 0 ? 0 : xHat.count / n
                splitInHalves(rows, minimum: rowsWorthSplitting(n)) { start, count in
                    let half = start == 0 ? 0 : n
                    mh_layer_norm_backward(
                        gs.base + start * n, hs.base + start * n, rs.base + start, ws?.base, dxs.base + start * n,
                        dws.map { $0.base + half }, dbs.map { $0.base + half }, count, n)
                }
                return [dx] + (dw.map { [$0.sum(axes: [0])] } ?? []) + (db.map { [$0.sum(axes: [0])] } ?? [])
            }
            let gHat = w.map { g * $0 } ?? g
            let dx =
                (gHat - gHat.mean(axes: [-1], keepingDimensions: true)
                    - xHat * (gHat * xHat).mean(axes: [-1], keepingDimensions: true)) * rstd
            let rows = Array(0..<(g.rank - 1))
            var grads: [Tensor?] = [dx]
            if weight != nil { grads.append((g * xHat).sum(axes: rows)) }
            if bias != nil { grads.append(g.sum(axes: rows)) }
            return grads
        }
    }

    private func layerNormKernel<T: FloatElement>(
        _ type: T.Type, _ weight: Tensor?, _ bias: Tensor?, _ epsilon: Double
    ) -> (Tensor, Tensor, Tensor) {
        let n = shape.last ?? 1
        let rows = n == 0 ? 0 : count / n
        let out = Tensor.empty(shape, dtype: dtype)
        let normalized = Tensor.empty(shape, dtype: dtype)
        let rstds = Tensor.empty(Array(shape.dropLast()) + [1], dtype: dtype)
        let (x, y, h, r) = (
            pointer(as: T.self), out.pointer(as: T.self), normalized.pointer(as: T.self), rstds.pointer(as: T.self)
        )
        if T.self == Float.self {  // vectorized sums (CKernels), rows in two halves
            let (x, y) = (SharedBuffer(pointer(as: Float.self)), SharedBuffer(out.pointer(as: Float.self)))
            let (h, r) = (SharedBuffer(normalized.pointer(as: Float.self)), SharedBuffer(rstds.pointer(as: Float.self)))
            let (w, b) = (
                weight.map { SharedBuffer($0.pointer(as: Float.self)) },
                bias.map { SharedBuffer($0.pointer(as: Float.self)) }
            )
            splitInHalves(rows, minimum: rowsWorthSplitting(n)) { start, count in
                mh_layer_norm(
                    x.base + start * n, w?.base, b?.base, y.base + start * n, h.base + start * n, r.base + start, count,
                    n, Float(epsilon))
            }
            return (out, normalized, rstds)
        }
        let w = weight?.pointer(as: T.self)
        let b = bias?.pointer(as: T.self)
        for row in 0..<rows {
            let (xr, yr, hr) = (x + row * n, y + row * n, h + row * n)
            var sum: Double = 0
            for j in 0..<n { sum += Double(xr[j]) }
            let mean = sum / Double(n)
            var squares: Double = 0
            for j in 0..<n {
                let d = Double(xr[j]) - mean
                squares += d * d
            }
            let rstd = 1 / (squares / Double(n) + epsilon).squareRoot()
            r[row] = T(rstd)
            let (m, s) = (T(mean), T(rstd))
            for j in 0..<n {
                let value = (xr[j] - m) * s
                hr[j] = value
                yr[j] = value * (w?[j] ?? 1) + (b?[j] ?? 0)
            }
        }
        return (out, normalized, rstds)
    }
}

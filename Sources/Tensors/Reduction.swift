import CKernels

// Sums, means and maxima over axes. Reduced axes are moved last and made contiguous, so every output element
// reduces one contiguous run (sums accumulate in Double).

extension Tensor {
    /// The sum over `axes` (all axes when nil), keeping them as size-1 axes when asked.
    public func sum(axes: [Int]? = nil, keepingDimensions: Bool = false) -> Tensor {
        let reduced = Set((axes ?? Array(0..<rank)).map(layout.axis))
        guard !reduced.isEmpty else { return self }
        let kept = (0..<rank).filter { !reduced.contains($0) }
        let keptShape = kept.map { shape[$0] }
        let keepShape = shape.enumerated().map { reduced.contains($0.offset) ? 1 : $0.element }
        let out = Tensor.empty(keepingDimensions ? keepShape : keptShape, dtype: dtype)
        let rows = reduced.reduce(1) { $0 * shape[$1] }
        if dtype == .float32, isContiguous, reduced == Set(0..<reduced.count), rows > 0 {
            // Leading axes (a bias gradient): column sums over the rows as they lie, no transposed copy.
            mh_column_sums(pointer(as: Float.self), rows, count / rows, out.pointer(as: Float.self))
        } else {
            let (runs, runLength, moved) = movedLast(kept: kept, reduced: reduced.sorted())
            switch dtype {
            case .float32: sumKernel(Float.self, moved, out, runs, runLength)
            case .float64: sumKernel(Double.self, moved, out, runs, runLength)
            default: preconditionFailure("sum of \(dtype): convert to float32 first")
            }
        }
        let original = shape
        return Tensor.record("sum", out, inputs: [self]) { g in [g.reshaped(keepShape).expanded(to: original)] }
    }

    /// The mean over `axes` (all axes when nil).
    public func mean(axes: [Int]? = nil, keepingDimensions: Bool = false) -> Tensor {
        let reduced = Set((axes ?? Array(0..<rank)).map(layout.axis))
        let n = reduced.reduce(1) { $0 * shape[$1] }
        return sum(axes: axes, keepingDimensions: keepingDimensions) / Double(Swift.max(n, 1))
    }

    /// The elements with the `kept` axes first and the `reduced` ones last, contiguous: `runs` runs of `runLength`.
    private func movedLast(kept: [Int], reduced: [Int]) -> (Int, Int, Tensor) {
        let view = Tensor(storage: storage, layout: layout.permuted(kept + reduced), dtype: dtype)
        let runLength = reduced.reduce(1) { $0 * shape[$1] }
        let runs = kept.reduce(1) { $0 * shape[$1] }
        return (runs, runLength, view.isContiguous ? view : view.copied())
    }

    private func sumKernel<T: FloatElement>(_ type: T.Type, _ source: Tensor, _ out: Tensor, _ runs: Int, _ length: Int)
    {
        let (x, o) = (source.pointer(as: T.self), out.pointer(as: T.self))
        for run in 0..<runs {
            var total: Double = 0
            let base = x + run * length
            for j in 0..<length { total += Double(base[j]) }
            o[run] = T(total)
        }
    }

    /// The largest element along `axis` (the first of equal ones takes the gradient, as in PyTorch).
    public func max(axis: Int, keepingDimensions: Bool = false) -> Tensor {
        let (values, indices) = maxWithIndices(axis: axis, keepingDimensions: keepingDimensions)
        let (original, resolved) = (shape, layout.axis(axis))
        return Tensor.record("max", values, inputs: [self]) { g in
            [Tensor.scatterAlongAxis(g.contiguous(), indices: indices, axis: resolved, shape: original)]
        }
    }

    /// The index of the largest element along `axis` (int64).
    public func argmax(axis: Int, keepingDimensions: Bool = false) -> Tensor {
        maxWithIndices(axis: axis, keepingDimensions: keepingDimensions).1
    }

    private func maxWithIndices(axis: Int, keepingDimensions: Bool) -> (Tensor, Tensor) {
        let resolved = layout.axis(axis)
        let kept = (0..<rank).filter { $0 != resolved }
        let (runs, runLength, moved) = movedLast(kept: kept, reduced: [resolved])
        var outShape = kept.map { shape[$0] }
        if keepingDimensions { outShape.insert(1, at: resolved) }
        precondition(runLength > 0, "max over an empty axis")
        let values = Tensor.empty(outShape, dtype: dtype)
        let indices = Tensor.empty(outShape, dtype: .int64)
        let index = indices.pointer(as: Int64.self)
        for run in 0..<runs {
            var best = moved.element(atStorageIndex: moved.layout.offset + run * runLength)
            var bestIndex = 0
            for j in 1..<runLength {
                let value = moved.element(atStorageIndex: moved.layout.offset + run * runLength + j)
                if value > best || (value.isNaN && !best.isNaN) {
                    best = value
                    bestIndex = j
                }
            }
            values.setElement(run, best)
            index[run] = Int64(bestIndex)
        }
        return (values, indices)
    }

    /// A tensor of `shape` that is zero except `values[i]` at `indices[i]` along `axis` (max's backward).
    static func scatterAlongAxis(_ values: Tensor, indices: Tensor, axis: Int, shape: [Int]) -> Tensor {
        let out = Tensor.zeros(shape, dtype: values.dtype)
        let inner = shape[(axis + 1)...].reduce(1, *)
        let size = shape[axis]
        let index = indices.pointer(as: Int64.self)
        for run in 0..<values.count {
            let (outer, position) = (run / inner, run % inner)
            let target = (outer * size + Int(index[run])) * inner + position
            out.setElement(target, values.element(atStorageIndex: values.layout.offset + run))
        }
        return out
    }
}

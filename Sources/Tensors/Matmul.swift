import CBLAS

// Matrix products through OpenBLAS. A transposed operand is passed as a transpose flag with its leading dimension,
// never copied; batch axes broadcast (a [B, T, C] × [C, N] product is one sgemm over B·T rows).

extension Tensor {
    /// The matrix product over the last two axes, batch axes broadcast (PyTorch's `matmul` for rank ≥ 2).
    ///
    /// d(AB) = dC Bᵀ for A and Aᵀ dC for B, summed over broadcast batch axes.
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(rank >= 2 && other.rank >= 2, "matmul needs rank ≥ 2, got \(shape) and \(other.shape)")
        precondition(dtype == other.dtype, "matmul of \(dtype) and \(other.dtype)")
        let out = Tensor.matmulKernel(self.detached(), other.detached())
        let (a, b) = (self, other)
        return Tensor.record("matmul", out, inputs: [a, b]) { g in
            [
                a.requiresGrad ? g.matmul(b.detached().transposed()).summed(toShape: a.shape) : nil,
                b.requiresGrad ? a.detached().transposed().matmul(g).summed(toShape: b.shape) : nil,
            ]
        }
    }

    /// How an operand's last two axes reach BLAS: as stored (row stride = leading dimension) or transposed.
    private static func blasOperand(_ x: Tensor) -> (Tensor, transposed: Bool, leading: Int) {
        let (rows, columns) = (x.shape[x.rank - 2], x.shape[x.rank - 1])
        let (rowStride, columnStride) = (x.layout.strides[x.rank - 2], x.layout.strides[x.rank - 1])
        if columnStride == 1 && rowStride >= Swift.max(columns, 1) { return (x, false, rowStride) }
        if rowStride == 1 && columnStride >= Swift.max(rows, 1) { return (x, true, columnStride) }
        if columns == 1 && rowStride >= 1 { return (x, false, Swift.max(rowStride, 1)) }
        let copy = x.copied()
        return (copy, false, Swift.max(columns, 1))
    }

    private static func matmulKernel(_ a: Tensor, _ b: Tensor) -> Tensor {
        let (m, k) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (k2, n) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        precondition(k == k2, "matmul of \(a.shape) and \(b.shape): inner sizes differ")
        // [..., M, K] × [K, N] with a contiguous left side: one product over all rows.
        if b.rank == 2, a.rank > 2, a.isContiguous {
            let rows = a.count / Swift.max(k, 1)
            let flat = Tensor(
                storage: a.storage, layout: Layout(shape: [rows, k], strides: [k, 1], offset: a.layout.offset),
                dtype: a.dtype)
            let out = matmulKernel(flat, b)
            return Tensor(
                storage: out.storage, layout: Layout(contiguous: Array(a.shape.dropLast()) + [n]), dtype: a.dtype)
        }
        guard let batch = broadcastShape(Array(a.shape.dropLast(2)), Array(b.shape.dropLast(2))) else {
            preconditionFailure("matmul batch axes of \(a.shape) and \(b.shape) do not broadcast")
        }
        guard m > 0, n > 0, k > 0 else { return Tensor.zeros(batch + [m, n], dtype: a.dtype) }
        let out = Tensor.empty(batch + [m, n], dtype: a.dtype)  // β = 0: sgemm writes every element
        let aView = Tensor(storage: a.storage, layout: a.layout.expanded(to: batch + [m, k]), dtype: a.dtype)
        let bView = Tensor(storage: b.storage, layout: b.layout.expanded(to: batch + [k, n]), dtype: b.dtype)
        let (left, leftTransposed, lda) = blasOperand(aView)
        let (right, rightTransposed, ldb) = blasOperand(bView)
        let batches = batch.reduce(1, *)
        let batchRank = batch.count
        // Storage offsets of each batch's matrix (batch strides may be 0: broadcast).
        func offsets(_ x: Tensor) -> [Int] {
            var result: [Int] = []
            result.reserveCapacity(batches)
            let view = Layout(shape: batch, strides: Array(x.layout.strides.prefix(batchRank)), offset: x.layout.offset)
            if batchRank == 0 { return [x.layout.offset] }
            view.forEachIndex { result.append($0) }
            return result
        }
        let (leftOffsets, rightOffsets) = (offsets(left), offsets(right))
        let transA = leftTransposed ? CblasTrans : CblasNoTrans
        let transB = rightTransposed ? CblasTrans : CblasNoTrans
        for index in 0..<batches {
            let c = index * m * n
            switch a.dtype {
            case .float32:
                let (pa, pb) = (
                    left.storage.pointer.assumingMemoryBound(to: Float.self),
                    right.storage.pointer.assumingMemoryBound(to: Float.self)
                )
                cblas_sgemm(
                    CblasRowMajor, transA, transB, Int32(m), Int32(n), Int32(k), 1, pa + leftOffsets[index], Int32(lda),
                    pb + rightOffsets[index], Int32(ldb), 0, out.pointer(as: Float.self) + c, Int32(n))
            case .float64:
                let (pa, pb) = (
                    left.storage.pointer.assumingMemoryBound(to: Double.self),
                    right.storage.pointer.assumingMemoryBound(to: Double.self)
                )
                cblas_dgemm(
                    CblasRowMajor, transA, transB, Int32(m), Int32(n), Int32(k), 1, pa + leftOffsets[index], Int32(lda),
                    pb + rightOffsets[index], Int32(ldb), 0, out.pointer(as: Double.self) + c, Int32(n))
            default:
                preconditionFailure("matmul of \(a.dtype): convert to float32 first")
            }
        }
        return out
    }
}

import CBLAS
import CKernels
import Synchronization

// Matrix products through OpenBLAS. A transposed operand is passed as a transpose flag with its leading dimension,
// never copied; batch axes broadcast (a [B, T, C] × [C, N] product is one sgemm over B·T rows).

extension Tensor {
    /// The matrix product over the last two axes, batch axes broadcast (PyTorch's `matmul` for rank ≥ 2).
    ///
    /// d(AB) = dC Bᵀ for A and Aᵀ dC for B, summed over broadcast batch axes.
    public func matmul(_ other: Tensor) -> Tensor { matmul(other, scale: 1) }

    /// `scale` · (this matmul `other`).
    ///
    /// The scale is sgemm's α rather than a pass of its own (attention scores). Backward: scale · dC Bᵀ and
    /// scale · Aᵀ dC.
    public func matmul(_ other: Tensor, scale: Double) -> Tensor {
        precondition(rank >= 2 && other.rank >= 2, "matmul needs rank ≥ 2, got \(shape) and \(other.shape)")
        precondition(dtype == other.dtype, "matmul of \(dtype) and \(other.dtype)")
        let out = Tensor.matmulKernel(self.detached(), other.detached(), alpha: scale)
        let (a, b) = (self, other)
        return Tensor.record("matmul", out, inputs: [a, b]) { g in
            [
                a.requiresGrad ? g.matmul(b.detached().transposed(), scale: scale).summed(toShape: a.shape) : nil,
                b.requiresGrad ? a.detached().transposed().matmul(g, scale: scale).summed(toShape: b.shape) : nil,
            ]
        }
    }

    /// x Wᵀ + b for x [..., in], W [out, in] (a `Linear` layer): the bias is written into the output first and
    /// sgemm adds the product to it (β = 1), so the bias costs no pass of its own.
    ///
    /// Backward: dx = g W, dW = gᵀ x, db = Σ g over the rows.
    public func linear(weight: Tensor, bias: Tensor?) -> Tensor { affineProduct(weight, bias, outputMajor: true) }

    /// x W + b for x [..., in], W [in, out]: GPT-2's `Conv1D` layout, read as stored (no transposed copy).
    ///
    /// Backward: dx = g Wᵀ, dW = xᵀ g, db = Σ g over the rows.
    public func conv1D(weight: Tensor, bias: Tensor?) -> Tensor { affineProduct(weight, bias, outputMajor: false) }

    private func affineProduct(_ weight: Tensor, _ bias: Tensor?, outputMajor: Bool) -> Tensor {
        precondition(weight.rank == 2, "a weight of rank \(weight.rank)")
        let (outputs, inputs) = outputMajor ? (weight.size(0), weight.size(1)) : (weight.size(1), weight.size(0))
        precondition(shape.last == inputs, "product of \(shape) with a weight of \(weight.shape)")
        precondition(bias.map { $0.shape == [outputs] } ?? true, "bias \(bias?.shape ?? []) for \(outputs) outputs")
        guard dtype == .float32, weight.dtype == .float32, bias?.dtype ?? .float32 == .float32 else {
            let product = matmul(outputMajor ? weight.transposed() : weight)
            return bias.map { product + $0 } ?? product
        }
        let x = contiguous().detached()
        let w = weight.contiguous().detached()
        let rows = inputs == 0 ? 0 : x.count / inputs
        let out = Tensor.empty(Array(shape.dropLast()) + [outputs], dtype: dtype)
        let o = out.pointer(as: Float.self)
        if let bias = bias?.contiguous().detached() {  // kept alive (a copy when strided) while its bytes are read
            let b = bias.pointer(as: Float.self)
            withExtendedLifetime(bias) {
                for row in 0..<rows { (o + row * outputs).update(from: b, count: outputs) }
            }
        }
        if rows > 0, rows <= 2, outputs > 0, inputs > 0 {
            // One or two rows (a generation step): matrix-vector products read W once each, where sgemm would
            // first pack all of W into its blocked layout (most of the time at these shapes).
            for row in 0..<rows {
                BLASDriver.sgemv(
                    outputMajor ? CblasNoTrans : CblasTrans, rows: outputMajor ? outputs : inputs,
                    columns: outputMajor ? inputs : outputs, alpha: 1, w.pointer(as: Float.self),
                    lda: outputMajor ? inputs : outputs, x.pointer(as: Float.self) + row * inputs,
                    beta: bias == nil ? 0 : 1, o + row * outputs)
            }
        } else if rows <= Self.directRowsLimit, outputMajor, outputs > 0, inputs > 0 {
            // A short sequence (a request to a server): each weight row read once, straight from W, where sgemm
            // would first copy all of W into its packed layout — most of a forward pass at these shapes.
            let (px, pw, po) = (
                SharedBuffer(x.pointer(as: Float.self)), SharedBuffer(w.pointer(as: Float.self)), SharedBuffer(o)
            )
            let accumulate: Int32 = bias == nil ? 0 : 1
            withExtendedLifetime((x, w)) {
                splitInHalves(outputs * inputs >= 1 << 18 ? outputs : 1, minimum: 2) { start, count in
                    let columns = outputs * inputs >= 1 << 18 ? count : outputs
                    mh_sgemm_rows(
                        1, px.base, rows, inputs, pw.base + start * inputs, columns, accumulate, po.base + start,
                        outputs)
                }
            }
        } else if rows > 0, outputs > 0 {
            BLASDriver.sgemm(
                CblasNoTrans, outputMajor ? CblasTrans : CblasNoTrans, m: rows, n: outputs, k: inputs, alpha: 1,
                x.pointer(as: Float.self), lda: Swift.max(inputs, 1), w.pointer(as: Float.self),
                ldb: Swift.max(outputMajor ? inputs : outputs, 1), beta: bias == nil ? 0 : 1, o, ldc: outputs)
        } else if bias == nil {
            o.update(repeating: 0, count: out.count)
        }
        let inputsList = [self, weight] + (bias.map { [$0] } ?? [])
        return Tensor.record(outputMajor ? "linear" : "conv1D", out, inputs: inputsList) { g in
            let g2 = g.contiguous().reshaped([rows, outputs])
            let flat = x.reshaped([rows, inputs])
            var grads: [Tensor?] = [
                self.requiresGrad ? g2.matmul(outputMajor ? w : w.transposed()).reshaped(self.shape) : nil,
                weight.requiresGrad ? (outputMajor ? g2.transposed().matmul(flat) : flat.transposed().matmul(g2)) : nil,
            ]
            if bias != nil { grads.append(g2.sum(axes: [0])) }
            return grads
        }
    }

    /// The most rows (tokens) a `linear` reads W directly for (`mh_sgemm_rows`) instead of calling sgemm.
    static let directRowsLimit = 16

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

    /// The largest k·n of a batched product for `mh_sgemm_batch` (its packed right side fits a core's L2: 256 KB).
    ///
    /// Batched products with 8 to 1024 rows per matrix within that — attention's per-head products (128 × 64 × 128
    /// for BERT) — go to `mh_sgemm_batch`, the batch split over two threads: OpenBLAS reaches 80 GFLOP/s there, spending much of each
    /// call packing and waking its threads; this path 105–150. A generation step's one-row products stay with
    /// OpenBLAS (5% more tokens/s than this path).
    static let smallPanelLimit = 64 * 1024
    /// The most rows per matrix for `mh_sgemm_batch`.
    static let smallRowLimit = 1024

    /// Batched f32 products of [m, k] × [k, n] at any strides through `mh_sgemm_batch`; `out` is [batches, m, n].
    private static func smallProducts(
        _ a: Tensor, _ b: Tensor, _ aOffsets: [Int], _ bOffsets: [Int], alpha: Double, into out: Tensor
    ) {
        let (m, k, n) = (a.shape[a.rank - 2], a.shape[a.rank - 1], b.shape[b.rank - 1])
        let (aRow, aColumn) = (a.layout.strides[a.rank - 2], a.layout.strides[a.rank - 1])
        let (bRow, bColumn) = (b.layout.strides[b.rank - 2], b.layout.strides[b.rank - 1])
        let (pa, pb) = (
            SharedBuffer(a.storage.pointer.assumingMemoryBound(to: Float.self)),
            SharedBuffer(b.storage.pointer.assumingMemoryBound(to: Float.self))
        )
        let pc = SharedBuffer(out.pointer(as: Float.self))
        let failures = Atomic<Int>(0)
        withExtendedLifetime((a, b, out)) {
            aOffsets.withUnsafeBufferPointer { aList in
                bOffsets.withUnsafeBufferPointer { bList in
                    guard let aBase = aList.baseAddress, let bBase = bList.baseAddress else { return }
                    let (aStarts, bStarts) = (SharedBuffer(aBase), SharedBuffer(bBase))
                    splitInHalves(aOffsets.count, minimum: 2) { start, count in
                        let failed = mh_sgemm_batch(
                            count, m, n, k, Float(alpha), pa.base, aStarts.base + start, aRow, aColumn, pb.base,
                            bStarts.base + start, bRow, bColumn, pc.base + start * m * n)
                        failures.add(Int(failed), ordering: .relaxed)
                    }
                }
            }
        }
        precondition(failures.load(ordering: .relaxed) == 0, "out of memory for a \(k) × \(n) product panel")
    }

    private static func matmulKernel(_ a: Tensor, _ b: Tensor, alpha: Double) -> Tensor {
        let (m, k) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (k2, n) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        precondition(k == k2, "matmul of \(a.shape) and \(b.shape): inner sizes differ")
        // [..., M, K] × [K, N] with a contiguous left side: one product over all rows.
        if b.rank == 2, a.rank > 2, a.isContiguous {
            let rows = a.count / Swift.max(k, 1)
            let flat = Tensor(
                storage: a.storage, layout: Layout(shape: [rows, k], strides: [k, 1], offset: a.layout.offset),
                dtype: a.dtype)
            let out = matmulKernel(flat, b, alpha: alpha)
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
        if a.dtype == .float32, batches > 1, k * n <= smallPanelLimit, (8...smallRowLimit).contains(m) {
            smallProducts(aView, bView, offsets(aView), offsets(bView), alpha: alpha, into: out)
            return out
        }
        let (left, leftTransposed, lda) = blasOperand(aView)
        let (right, rightTransposed, ldb) = blasOperand(bView)
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
                BLASDriver.sgemm(
                    transA, transB, m: m, n: n, k: k, alpha: Float(alpha), pa + leftOffsets[index], lda: lda,
                    pb + rightOffsets[index], ldb: ldb, beta: 0, out.pointer(as: Float.self) + c, ldc: n)
            case .float64:
                let (pa, pb) = (
                    left.storage.pointer.assumingMemoryBound(to: Double.self),
                    right.storage.pointer.assumingMemoryBound(to: Double.self)
                )
                cblas_dgemm(
                    CblasRowMajor, transA, transB, Int32(m), Int32(n), Int32(k), alpha, pa + leftOffsets[index],
                    Int32(lda), pb + rightOffsets[index], Int32(ldb), 0, out.pointer(as: Double.self) + c, Int32(n))
            default:
                preconditionFailure("matmul of \(a.dtype): convert to float32 first")
            }
        }
        return out
    }
}

import CBLAS
import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How float32 products share the two cores with the engine's own threads.
///
/// OpenBLAS's pthread build keeps its worker threads spinning (`sched_yield`) for a while after every call, so
/// between products they compete with the engine's element-wise halves and batched attention kernels for the same
/// cores. Here OpenBLAS runs single-threaded and a large product is cut in two halves (rows, or columns when there
/// are more of them), each multiplied on one of two threads by OpenBLAS's own kernels, so nothing spins between
/// them. Matrix–vector products (generation) are the exception: see `sgemv`.
enum BLASDriver {
    /// Whether products are split by us (OpenBLAS single-threaded) — MODELHUB_BLAS=openblas keeps OpenBLAS's own
    /// threads, for comparison.
    static let splitting: Bool = {
        let own = getenv("MODELHUB_BLAS").map { String(cString: $0) } != "openblas"
        if own {
            _ = openBLASThreads
            openblas_set_num_threads(1)
        }
        return own
    }()

    /// The threads OpenBLAS started with (its default: one per core).
    static let openBLASThreads = Int32(openblas_get_num_threads())

    /// Held while a matrix–vector product has OpenBLAS's threads back, so concurrent callers cannot interleave the
    /// thread count.
    private static let vectorLock = Mutex(())

    /// Products of fewer multiply-adds run whole on the calling thread.
    static let splitMinimum = 1 << 20

    /// Whether the last product was a matrix–vector one: a chain of them (generation) gets OpenBLAS's threads,
    /// a lone one (a classifier's pooler at batch 1) does not — after it OpenBLAS's workers would spin for a while
    /// against the next forward pass's products (5.6% of BERT-base's 1 × 128 forward, on a thread of its own).
    private static let inVectorChain = Atomic<Bool>(false)

    /// cblas_sgemm, row-major: C = α op(A) op(B) + β C.
    static func sgemm(
        _ transA: CBLAS_TRANSPOSE, _ transB: CBLAS_TRANSPOSE, m: Int, n: Int, k: Int, alpha: Float,
        _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, beta: Float,
        _ c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        // A product of matrices ends a chain; a decode step's small ones (one query row against the keys) do not.
        if m > 2, n > 2 { inVectorChain.store(false, ordering: .relaxed) }
        guard splitting, EngineThreads.count > 1, m * n * k >= splitMinimum, max(m, n) >= 2 else {
            cblas_sgemm(
                CblasRowMajor, transA, transB, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta,
                c, Int32(ldc))
            return
        }
        let (sa, sb, sc) = (SharedBuffer(a), SharedBuffer(b), SharedBuffer(c))
        let byRows = m >= n
        DispatchQueue.concurrentPerform(iterations: 2) { part in
            let total = byRows ? m : n
            let start = total * part / 2, count = total * (part + 1) / 2 - start
            if byRows {
                // Rows of C and of op(A): A [m, k] steps by rows, Aᵀ stored [k, m] by columns.
                let aStart = transA == CblasNoTrans ? start * lda : start
                cblas_sgemm(
                    CblasRowMajor, transA, transB, Int32(count), Int32(n), Int32(k), alpha, sa.base + aStart,
                    Int32(lda), sb.base, Int32(ldb), beta, sc.base + start * ldc, Int32(ldc))
            } else {
                // Columns of C and of op(B): B [k, n] steps by columns, Bᵀ stored [n, k] by rows.
                let bStart = transB == CblasNoTrans ? start : start * ldb
                cblas_sgemm(
                    CblasRowMajor, transA, transB, Int32(m), Int32(count), Int32(k), alpha, sa.base, Int32(lda),
                    sb.base + bStart, Int32(ldb), beta, sc.base + start, Int32(ldc))
            }
        }
    }

    /// cblas_sgemv, row-major: y = α op(A) x + β y.
    ///
    /// A generation step is a chain of small matrix–vector products where waking a thread costs more than the
    /// spinning saves: our own two-way cut made GPT-2's greedy generation 11% slower (tokens/s medians of four
    /// alternating runs, 38.5 against 43.5), so these products get OpenBLAS's threads back for the call — from the
    /// second of a chain on (`inVectorChain`).
    static func sgemv(
        _ trans: CBLAS_TRANSPOSE, rows: Int, columns: Int, alpha: Float, _ a: UnsafePointer<Float>, lda: Int,
        _ x: UnsafePointer<Float>, beta: Float, _ y: UnsafeMutablePointer<Float>
    ) {
        func product() {
            cblas_sgemv(CblasRowMajor, trans, Int32(rows), Int32(columns), alpha, a, Int32(lda), x, 1, beta, y, 1)
        }
        let chained = inVectorChain.exchange(true, ordering: .relaxed)
        guard splitting, chained, EngineThreads.count > 1, rows * columns >= splitMinimum / 4 else { return product() }
        vectorLock.withLock { _ in
            openblas_set_num_threads(openBLASThreads)
            product()
            openblas_set_num_threads(1)
        }
    }
}

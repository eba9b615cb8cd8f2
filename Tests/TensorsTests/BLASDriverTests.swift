import CBLAS
import CKernels
import TestSupport
import Testing

@testable import Tensors

/// The product driver that cuts large products in two halves for two threads (OpenBLAS single-threaded): every
/// transpose combination, cut by rows and by columns, odd sizes, α and β, equals a float64 product; so do the
/// matrix–vector products cut by outputs, and `linear`'s direct path for short sequences (`mh_sgemm_rows`, AVX2 and
/// plain).
@Suite struct BLASDriverTests {
    /// Up to 16 rows, `linear` reads W directly (both kernels, odd rows, k not a multiple of 8, n not of 4; the
    /// last shape is split over two threads by outputs) — within float32's rounding of float64's answer.
    @Test func shortSequenceLinearMatchesFloat64() {
        var generator = RandomGenerator(seed: 23)
        for (m, k, n) in [(3, 5, 3), (4, 8, 4), (5, 33, 9), (7, 100, 13), (12, 384, 37), (16, 17, 6), (13, 1536, 385)] {
            for withBias in [false, true] {
                let x = Tensor.randomNormal([m, k], using: &generator)
                let w = Tensor.randomNormal([n, k], using: &generator)
                let bias = withBias ? Tensor.randomNormal([n], using: &generator) : nil
                let (expected, sizes) = exactLinear(x.floats, w.floats, bias?.floats, m: m, k: k, n: n)
                func worst(_ got: [Float]) -> Double {
                    got.indices.map {
                        abs(Double(got[$0]) - expected[$0]) / (sizes[$0] * Double(k + 1) * 0x1p-23 + 1e-30)
                    }
                    .max() ?? 0
                }
                #expect(worst(x.linear(weight: w, bias: bias).floats) <= 1, "linear \(m)×\(k)×\(n) bias \(withBias)")
                for fast: Int32 in [0, 1] {
                    var y =
                        bias.map { b in (0..<m).flatMap { _ in b.floats } } ?? [Float](repeating: .nan, count: m * n)
                    x.floats.withUnsafeBufferPointer { px in
                        w.floats.withUnsafeBufferPointer { pw in
                            mh_sgemm_rows(fast, px.baseAddress, m, k, pw.baseAddress, n, withBias ? 1 : 0, &y, n)
                        }
                    }
                    #expect(worst(y) <= 1, "mh_sgemm_rows fast \(fast) \(m)×\(k)×\(n) bias \(withBias)")
                }
            }
        }
    }

    /// op(X) as a function of (row, column) for X stored row-major with leading dimension `ld`.
    func element(_ x: [Float], _ transposed: Bool, _ ld: Int) -> (Int, Int) -> Double {
        { row, column in Double(transposed ? x[column * ld + row] : x[row * ld + column]) }
    }

    @Test(arguments: [(129, 97, 101), (97, 129, 103), (300, 7, 600), (5, 400, 700)])
    func productsMatchFloat64(m: Int, n: Int, k: Int) {
        var generator = RandomGenerator(seed: 21)
        for transA in [false, true] {
            for transB in [false, true] {
                let a = Tensor.randomNormal([m * k], using: &generator).floats
                let b = Tensor.randomNormal([k * n], using: &generator).floats
                let start = Tensor.randomNormal([m * n], using: &generator).floats
                var c = start
                let (lda, ldb) = (transA ? m : k, transB ? k : n)
                BLASDriver.sgemm(
                    transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m: m, n: n, k: k,
                    alpha: 0.5, a, lda: lda, b, ldb: ldb, beta: 2, &c, ldc: n)
                let (left, right) = (element(a, transA, lda), element(b, transB, ldb))
                var worst = 0.0
                for row in 0..<m {
                    for column in 0..<n {
                        var sum = 0.0
                        var size = 0.0
                        for p in 0..<k {
                            sum += left(row, p) * right(p, column)
                            size += abs(left(row, p) * right(p, column))
                        }
                        let expected = 0.5 * sum + 2 * Double(start[row * n + column])
                        let allowed = (0.5 * size + 2 * abs(Double(start[row * n + column]))) * Double(k) * 0x1p-23
                        worst = max(worst, abs(Double(c[row * n + column]) - expected) / allowed)
                    }
                }
                #expect(worst <= 1, "\(m)×\(n)×\(k) transA \(transA) transB \(transB): \(worst)")
            }
        }
    }

    @Test(arguments: [false, true]) func matrixVectorProductsMatchFloat64(transposed: Bool) {
        var generator = RandomGenerator(seed: 22)
        let (rows, columns) = (613, 517)
        let a = Tensor.randomNormal([rows * columns], using: &generator).floats
        let x = Tensor.randomNormal([transposed ? rows : columns], using: &generator).floats
        var y = [Float](repeating: 1, count: transposed ? columns : rows)
        BLASDriver.sgemv(
            transposed ? CblasTrans : CblasNoTrans, rows: rows, columns: columns, alpha: 1, a, lda: columns, x,
            beta: 1, &y)
        for output in y.indices {
            var sum = 1.0
            var size = 1.0
            for input in x.indices {
                let product =
                    Double(transposed ? a[input * columns + output] : a[output * columns + input]) * Double(x[input])
                sum += product
                size += abs(product)
            }
            #expect(abs(Double(y[output]) - sum) <= size * Double(x.count) * 0x1p-23, "output \(output)")
        }
    }
}

/// Attention's per-head products: every kernel path this CPU has (the AVX2 6 × 16 one, the vector-extension one —
/// AVX-512 where the CPU has it) against the plain reference, on rows and columns around the blocks, a transposed
/// left side and a transposed right side.
@Suite struct BatchedProductPathTests {
    @Test(arguments: [
        (1, 1, 1), (3, 15, 7), (6, 16, 64), (7, 17, 33), (13, 33, 100), (128, 64, 128), (20, 97, 16), (12, 128, 64),
    ])
    func everyPathMatchesTheReference(m: Int, n: Int, k: Int) {
        var generator = RandomGenerator(seed: UInt64(m * 7919 + n * 31 + k))
        let batches = 3
        let a = Tensor.randomNormal([batches * m * k], using: &generator).floats
        let b = Tensor.randomNormal([batches * k * n], using: &generator).floats
        let aOffsets = (0..<batches).map { $0 * m * k }
        let bOffsets = (0..<batches).map { $0 * k * n }
        for (aTransposed, bTransposed) in [(false, false), (true, false), (false, true)] {
            let (aRow, aColumn) = aTransposed ? (1, m) : (k, 1)
            let (bRow, bColumn) = bTransposed ? (1, k) : (n, 1)
            func run(_ path: Int32) -> [Float] {
                var c = [Float](repeating: .nan, count: batches * m * n)
                let status = mh_sgemm_batch_with(
                    path, batches, m, n, k, 0.5, a, aOffsets, aRow, aColumn, b, bOffsets, bRow, bColumn, &c)
                #expect(status == 0)
                return c
            }
            let reference = run(Int32(MH_BATCH_REFERENCE))
            for path in [Int32(MH_BATCH_VECTORS), Int32(MH_BATCH_AVX2)] where mh_sgemm_batch_path_supported(path) != 0 {
                let got = run(path)
                let worst = zip(got, reference).map { abs($0 - $1) / Swift.max(abs($1), 1) }.max() ?? .infinity
                #expect(
                    worst <= Float(k) * 0x1p-20,
                    "path \(path) \(m)×\(n)×\(k) Aᵀ \(aTransposed) Bᵀ \(bTransposed): \(worst)")
            }
        }
        #expect(mh_sgemm_batch_path_supported(9) == 0)
    }
}

/// The kernels data-parallel training and clipping read gradients with, against plain loops.
@Suite struct GradientBufferKernelTests {
    @Test func sumOfSquaresMatchesDouble() {
        var generator = RandomGenerator(seed: 5)
        for count in [0, 1, 15, 16, 17, 1023, 1024, 1025, 5000, 100_003] {
            let values = (0..<count).map { _ in Float(generator.nextNormal()) * 3 }
            let reference = values.reduce(0.0) { $0 + Double($1) * Double($1) }
            let sum = values.withUnsafeBufferPointer { mh_sum_squares($0.baseAddress, count) }
            #expect(abs(sum - reference) <= 1e-6 * Swift.max(reference, 1), "\(count) values: \(sum) vs \(reference)")
        }
    }

    @Test func rowsAreCopiedAndMarked() {
        let (rows, columns) = (9, 37)
        var generator = RandomGenerator(seed: 6)
        var source = (0..<rows * columns).map { _ in Float(generator.nextNormal()) }
        // Rows 1, 2 and 4 all zeros (row 4 negative zeros: still untouched); row 7 zero but one value.
        for column in 0..<columns {
            source[columns + column] = 0
            source[2 * columns + column] = 0
            source[4 * columns + column] = -0.0
            if column != 36 { source[7 * columns + column] = 0 }
        }
        // The previous step left rows 1 and 3 non-zero in the destination (the mask says so); row 2 holds a value
        // the mask does not mention, which must stay as it is (no row the mask does not name is written).
        var destination = [Float](repeating: 5, count: rows * columns)
        var mask: [Float] = [0, 2, 0, 1, 0, 0, 0, 0, 0]
        mh_copy_rows_marking(source, &destination, rows, columns, &mask)
        #expect(mask == [1, 0, 0, 1, 0, 1, 1, 1, 1])
        for row in 0..<rows {
            let written = Array(destination[row * columns..<(row + 1) * columns])
            let expected: [Float] =
                switch row {
                case 1: [Float](repeating: 0, count: columns)
                case 2, 4: [Float](repeating: 5, count: columns)
                default: Array(source[row * columns..<(row + 1) * columns])
                }
            #expect(written.map(\.bitPattern) == expected.map(\.bitPattern), "row \(row)")
        }
    }
}

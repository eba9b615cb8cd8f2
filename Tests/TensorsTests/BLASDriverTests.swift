import CBLAS
import TestSupport
import Testing

@testable import Tensors

/// The product driver that cuts large products in two halves for two threads (OpenBLAS single-threaded): every
/// transpose combination, cut by rows and by columns, odd sizes, α and β, equals a float64 product; so do the
/// matrix–vector products cut by outputs.
@Suite struct BLASDriverTests {
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

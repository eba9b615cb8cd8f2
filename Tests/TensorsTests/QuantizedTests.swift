import CKernels
import TestSupport
import Testing

@testable import Tensors

/// Int8 products: every kernel path this CPU has equals the plain reference bit for bit (integer accumulation is
/// exact), on awkward shapes and on the extreme values; the quantized linear stays close to the float32 one.
@Suite struct QuantizedTests {
    /// Random s8 rows of `kp` values (a multiple of 32) whose first `k` are drawn from `range`, the rest zero.
    func rows(
        _ count: Int, _ k: Int, _ kp: Int, _ range: ClosedRange<Int8>, _ generator: inout RandomGenerator
    )
        -> [Int8]
    {
        var out = [Int8](repeating: 0, count: count * kp)
        for row in 0..<count {
            for column in 0..<k {
                let span = Int(range.upperBound) - Int(range.lowerBound) + 1
                out[row * kp + column] = Int8(Int(range.lowerBound) + Int(generator.next() % UInt64(span)))
            }
        }
        return out
    }

    func product(_ kernel: Int8Kernel, _ a: [Int8], _ w: [Int8], _ m: Int, _ n: Int, _ kp: Int) -> [Int32] {
        var sums = [Int32](repeating: 0, count: n)
        mh_s8_row_sums(w, n, kp, &sums)
        var c = [Int32](repeating: -1, count: m * n)
        #expect(mh_s8_gemm(kernel.rawValue, a, w, sums, m, n, kp, &c, n) == 0)
        return c
    }

    @Test(arguments: [(1, 1, 1), (1, 7, 15), (2, 6, 32), (3, 13, 33), (5, 12, 100), (1, 64, 768), (17, 70, 384)])
    func everyPathEqualsTheReference(_ m: Int, _ n: Int, _ k: Int) {
        var generator = RandomGenerator(seed: UInt64(m * 1_000_003 + n * 1_009 + k))
        let kp = (k + 31) / 32 * 32
        for kernel in Int8Kernel.allCases where kernel != .reference && kernel.isSupported {
            // Random s8 values, and the extremes (every product ±127·127 or 128·128: the sums as large as they get).
            let cases: [(ClosedRange<Int8>, ClosedRange<Int8>)] = [
                (-127...127, -127...127), (127...127, -127 ... -127), (-127 ... -127, -127 ... -127),
                (-128 ... -128, -128 ... -128), (-128...127, -128...127),
            ]
            for (activations, weights) in cases {
                let a = rows(m, k, kp, activations, &generator)
                let w = rows(n, k, kp, weights, &generator)
                let reference = product(.reference, a, w, m, n, kp)
                for i in 0..<m {  // the reference itself, against sums in Int64
                    for j in 0..<n {
                        let sum = (0..<kp).reduce(Int64(0)) { $0 + Int64(a[i * kp + $1]) * Int64(w[j * kp + $1]) }
                        #expect(Int64(reference[i * n + j]) == sum)
                    }
                }
                #expect(
                    product(kernel, a, w, m, n, kp) == reference, "\(kernel.name) on \(m)×\(n)×\(k), \(activations)")
            }
        }
    }

    @Test func pathsAreReportedAndRefused() {
        #expect(Int8Kernel.reference.isSupported)
        #expect(Int8Kernel.active.isSupported)
        var c = [Int32](repeating: 0, count: 1)
        #expect(
            mh_s8_gemm(Int8Kernel.reference.rawValue, [Int8](repeating: 1, count: 16), [1], [1], 1, 1, 16, &c, 1) == 2)
        for kernel in Int8Kernel.allCases where !kernel.isSupported {
            let a = [Int8](repeating: 1, count: 32)
            #expect(mh_s8_gemm(kernel.rawValue, a, a, [32], 1, 1, 32, &c, 1) == 2)
        }
    }

    /// Quantization rounds half to even and clamps, row by row, to the limit asked; a zero row has scale 0.
    @Test func rowsQuantizeSymmetrically() {
        let x: [Float] = [1, -0.5, 0.25, 127 / 254.0, 0, 0, 0, 0]
        var q = [Int8](repeating: 9, count: 32)
        var scales = [Float](repeating: 9, count: 2)
        mh_quantize_rows_s8(x, 2, 4, 16, &q, &scales, 127)
        #expect(scales == [1 / 127, 0])
        #expect(Array(q[0..<4]) == [127, -64, 32, 64] && q[4..<32].allSatisfy { $0 == 0 })
        mh_quantize_rows_s8(x, 1, 4, 16, &q, &scales, 63)  // another limit
        #expect(scales[0] == 1 / 63 && Array(q[0..<4]) == [63, -32, 16, 32])
    }

    /// A table's looked-up rows are its dequantized rows, one scale per 32 values (per row for other widths), each
    /// value within half a step of the float one.
    @Test(arguments: [64, 40]) func tableRowsAreDequantizedRows(width: Int) {
        var generator = RandomGenerator(seed: 12)
        let float = Tensor.randomNormal([9, width], using: &generator)
        let table = QuantizedTable(float)
        #expect(table.group == (width == 64 ? 32 : 40) && table.byteCount >= 9 * width)
        let all = table.dequantized().floats
        let rows = table.rows(Tensor([8, 0, 3, 8], shape: [2, 2], dtype: .int64))
        #expect(rows.shape == [2, 2, width])
        let expected = [8, 0, 3, 8].flatMap { (row: Int) -> [Float] in Array(all[(row * width)..<(row * width + width)])
        }
        #expect(rows.floats == expected)
        let values = float.floats
        for start in stride(from: 0, to: values.count, by: table.group) {
            let group = values[start..<(start + table.group)]
            let step = (group.map(abs).max() ?? 0) / 127
            #expect(group.indices.allSatisfy { abs(values[$0] - all[$0]) <= step / 2 * 1.0001 })
        }
    }

    /// The vectorized quantization equals the plain loop on every row length around its 8-lane blocks, on values
    /// that land exactly on halves (round to even) and beyond the limit.
    @Test func vectorizedQuantizationEqualsThePlainLoop() {
        var generator = RandomGenerator(seed: 3)
        for k in [1, 7, 8, 9, 31, 33, 100, 768] {
            let kp = (k + 31) / 32 * 32
            var x = Tensor.randomNormal([5, k], using: &generator).floats
            for index in stride(from: 0, to: x.count, by: 3) { x[index] = Float(index % 9) - 4.5 }  // halves
            for limit: Int32 in [63, 127] {
                var fast = [Int8](repeating: 1, count: 5 * kp), plain = fast
                var fastScales = [Float](repeating: 0, count: 5), plainScales = fastScales
                mh_quantize_rows_s8(x, 5, k, kp, &fast, &fastScales, limit)
                mh_quantize_rows_s8_plain(x, 5, k, kp, &plain, &plainScales, limit)
                #expect(fast == plain && fastScales == plainScales, "k \(k), limit \(limit)")
            }
        }
    }

    /// The int8 linear against the float32 one on random weights and inputs (with and without a bias, one row and a
    /// batch, a Conv1D-layout weight): within 2% of the output's scale, as two 8-bit roundings allow.
    @Test(arguments: [1, 9])
    func linearIsCloseToFloat(_ rows: Int) {
        var generator = RandomGenerator(seed: 7)
        let weight = Tensor.randomNormal([48, 100], using: &generator)
        let bias = Tensor.randomNormal([48], using: &generator)
        let x = Tensor.randomNormal([rows, 100], using: &generator)
        for useBias in [false, true] {
            let exact = x.linear(weight: weight, bias: useBias ? bias : nil).floats
            for kernel in Int8Kernel.allCases where kernel.isSupported {
                let approximate = x.quantizedLinear(QuantizedWeight(weight), bias: useBias ? bias : nil, kernel: kernel)
                #expect(approximate.shape == [rows, 48])
                let scale = exact.map(abs).max() ?? 1
                let worst = zip(exact, approximate.floats).map { abs($0 - $1) }.max() ?? 0
                #expect(worst <= 0.02 * scale, "\(kernel.name): \(worst) of \(scale)")
            }
        }
        let conv = QuantizedWeight(weight.transposed().contiguous(), inputMajor: true)
        #expect(
            x.quantizedLinear(conv, bias: nil).floats == x.quantizedLinear(QuantizedWeight(weight), bias: nil).floats)
        #expect(QuantizedWeight(weight).dequantized().shape == [48, 100])
    }
}

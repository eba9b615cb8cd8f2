import CKernels
import Support
import TestSupport
import Testing

@testable import Tensors

/// Half-precision weights: the C conversions (vectorized and plain) equal Support's `HalfPrecision` — the rounding
/// `.mhub` files and PyTorch use — on every half value and on awkward floats; the half products, vectorized and
/// plain, match a float64 product of the same half weights on awkward shapes.
@Suite struct HalfWeightTests {
    static let formats: [(Int32, String)] = [(Int32(MH_HALF_BF16), "bf16"), (Int32(MH_HALF_F16), "f16")]

    func reference(_ format: Int32, _ value: Float) -> UInt16 {
        format == Int32(MH_HALF_BF16) ? HalfPrecision.bfloat16Bits(value) : HalfPrecision.float16Bits(value)
    }

    func reference(_ format: Int32, bits: UInt16) -> Float {
        format == Int32(MH_HALF_BF16) ? HalfPrecision.float(bfloat16: bits) : HalfPrecision.float(float16: bits)
    }

    @Test(arguments: formats) func everyHalfValueWidensExactly(format: Int32, name: String) {
        let all = (0...0xFFFF).map { UInt16($0) }
        var plain = [Float](repeating: 0, count: all.count)
        var fast = [Float](repeating: 0, count: all.count)
        mh_half_to_f32_plain(format, all, all.count, &plain)
        mh_half_to_f32(format, all, all.count, &fast)
        for bits in all {
            let expected = reference(format, bits: bits)
            let index = Int(bits)
            #expect(plain[index].bitPattern == expected.bitPattern, "\(name) \(bits) plain")
            // F16C's vcvtph2ps quiets a signalling NaN: any NaN of the same sign will do.
            let same =
                expected.isNaN
                ? fast[index].isNaN && fast[index].sign == expected.sign
                : fast[index].bitPattern == expected.bitPattern
            #expect(same, "\(name) \(bits) vectorized")
            if plain[index].bitPattern != expected.bitPattern || !same { return }
        }
    }

    @Test(arguments: formats) func floatsRoundAsHalfPrecisionDoes(format: Int32, name: String) {
        var generator = RandomGenerator(seed: 11)
        // Random bit patterns (every exponent), ties, the edges of f16's range, subnormals, infinities and NaNs.
        var values: [Float] = (0..<200_000).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: generator.next())) }
        values += [
            0, -0, 1, -1, 65504, 65519.99, 65520, -65520, 1e-8, 6.1e-5, 5.96e-8, 2.98e-8, 2.99e-8, .infinity,
            -.infinity, .nan, -.nan, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0x3F80_8000),
            Float(bitPattern: 0x3F81_8000), Float(bitPattern: 0x3F80_1000), Float(bitPattern: 0x3F80_3000),
            .greatestFiniteMagnitude, .leastNonzeroMagnitude,
        ]
        // An odd length: the vectorized loop's tail runs too.
        values += [1.5]
        var plain = [UInt16](repeating: 0, count: values.count)
        var fast = [UInt16](repeating: 0, count: values.count)
        mh_f32_to_half_plain(format, values, values.count, &plain)
        mh_f32_to_half(format, values, values.count, &fast)
        var mismatches = 0
        for (index, value) in values.enumerated() {
            let expected = reference(format, value)
            if plain[index] != expected || fast[index] != expected {
                mismatches += 1
                if mismatches <= 5 {
                    Issue.record("\(name) \(value.bitPattern): \(plain[index]) / \(fast[index]), wanted \(expected)")
                }
            }
        }
        #expect(mismatches == 0)
    }

    @Test(arguments: [HalfWeight.Format.bfloat16, .float16])
    func productsMatchFloat64OnAwkwardShapes(format: HalfWeight.Format) {
        var generator = RandomGenerator(seed: 3)
        // Up to 16 rows read the half rows directly (12 × 3000 de-interleaves its inputs into heap scratch); more go
        // to sgemm a block of converted rows at a time (17 × 20000 → 60: two blocks of 48 rows).
        for (m, k, n) in [
            (1, 1, 1), (1, 7, 5), (2, 8, 4), (3, 33, 9), (4, 100, 13), (5, 17, 6), (12, 3000, 7), (16, 40, 5),
            (17, 40, 5), (37, 70, 41), (17, 20000, 60),
        ] {
            for withBias in [false, true] {
                let x = Tensor.randomNormal([m, k], using: &generator)
                let weight = HalfWeight(Tensor.randomNormal([n, k], using: &generator), format: format)
                let bias = withBias ? Tensor.randomNormal([n], using: &generator) : nil
                let (expected, sizes) = exactLinear(
                    x.floats, weight.dequantized().floats, bias?.floats, m: m, k: k, n: n)
                for vectorized in [true, false] {
                    let y = x.halfLinear(weight, bias: bias, vectorized: vectorized)
                    #expect(y.shape == [m, n])
                    // float32 sums of k products: within k · 2⁻²³ of the sum of their sizes.
                    let got = y.floats
                    var worst = 0.0
                    for index in got.indices {
                        let allowed = sizes[index] * Double(k) * 0x1p-23 + 1e-30
                        worst = max(worst, abs(Double(got[index]) - expected[index]) / allowed)
                    }
                    #expect(worst <= 1, "\(format) \(m)×\(k)×\(n) bias \(withBias) vectorized \(vectorized): \(worst)")
                }
            }
        }
    }

    @Test func weightsRoundOnceAndLookUpRows() {
        var generator = RandomGenerator(seed: 4)
        let table = Tensor.randomNormal([6, 10], using: &generator)
        let half = HalfWeight(table, format: .bfloat16)
        #expect(half.byteCount == 120 && half.values.dtype == .bfloat16)
        let rounded = table.floats.map { HalfPrecision.float(bfloat16: HalfPrecision.bfloat16Bits($0)) }
        #expect(half.dequantized().floats == rounded)
        let ids = Tensor([5, 0, 5, 2], shape: [2, 2], dtype: .int64)
        let rows = half.rows(ids)
        #expect(rows.shape == [2, 2, 10])
        let picked: [Float] = [5, 0, 5, 2].flatMap { (row: Int) -> [Float] in
            Array(rounded[(row * 10)..<(row * 10 + 10)])
        }
        #expect(rows.floats == picked)
        // GPT-2's Conv1D layout, [in, out], is stored output-major.
        let transposed = HalfWeight(table, format: .float16, inputMajor: true)
        #expect(transposed.outputs == 10 && transposed.inputs == 6)
        let roundedTransposed = table.transposed().contiguous().floats.map {
            HalfPrecision.float(float16: HalfPrecision.float16Bits($0))
        }
        #expect(transposed.dequantized().floats == roundedTransposed)
    }

    @Test func emptyShapes() {
        let weight = HalfWeight(Tensor.zeros([3, 0]), format: .bfloat16)
        let y = Tensor.zeros([2, 0]).halfLinear(weight, bias: Tensor([1, 2, 3] as [Float], shape: [3]))
        #expect(y.shape == [2, 3] && y.floats == [1, 2, 3, 1, 2, 3])
        let none = Tensor.zeros([0, 4]).halfLinear(HalfWeight(Tensor.zeros([3, 4]), format: .float16), bias: nil)
        #expect(none.shape == [0, 3])
    }
}

import CBLAS
import CKernels
import Dispatch

/// A weight matrix stored in 16 bits (bfloat16 or float16) and used in float32 arithmetic: half the memory of
/// float32 and half the bytes a generation step reads, products converted inside the kernel (one row, generation)
/// or a block of rows at a time (batches), never as a whole float32 copy.
///
/// ```swift
/// let weight = HalfWeight(linear.weight.value, format: .bfloat16)   // [out, in] f32 → bf16
/// let y = x.halfLinear(weight, bias: linear.bias?.value)            // ≈ x.linear(weight:bias:)
/// ```
public struct HalfWeight: Sendable {
    /// The 16-bit format.
    public enum Format: Sendable, Equatable {
        /// bfloat16: float32's exponent, 8 significant bits.
        case bfloat16
        /// IEEE binary16: 11 significant bits, up to 65,504.
        case float16

        var code: Int32 { self == .bfloat16 ? Int32(MH_HALF_BF16) : Int32(MH_HALF_F16) }
        /// The tensor element type that holds it.
        public var dtype: Tensor.DType { self == .bfloat16 ? .bfloat16 : .float16 }
    }

    public let format: Format
    public let outputs: Int
    public let inputs: Int
    /// [outputs, inputs] in `format`, contiguous (owned, or borrowed from a mapped checkpoint).
    public let values: Tensor

    /// Rounds a float32 weight laid out [outputs, inputs] (`Linear`), or [inputs, outputs] with `inputMajor`
    /// (GPT-2's `Conv1D`), to `format` (nearest, ties to even).
    public init(_ weight: Tensor, format: Format, inputMajor: Bool = false) {
        precondition(weight.rank == 2, "a weight of rank \(weight.rank)")
        let rows = (inputMajor ? weight.transposed() : weight).detached().contiguous().converted(to: .float32)
        let values = Tensor.empty(rows.shape, dtype: format.dtype)
        withExtendedLifetime(rows) {
            let source = SharedBuffer(rows.pointer(as: Float.self))
            let target = SharedBuffer(values.pointer(as: UInt16.self))
            splitInHalves(rows.count) { start, count in
                mh_f32_to_half(format.code, source.base + start, count, target.base + start)
            }
        }
        self.init(values: values, format: format)
    }

    /// Half values already laid out [outputs, inputs] (a bf16 or f16 checkpoint tensor, used as it is stored).
    public init(values: Tensor, format: Format) {
        precondition(values.rank == 2 && values.dtype == format.dtype, "\(values.dtype) \(values.shape) as \(format)")
        self.values = values.contiguous()
        self.format = format
        (outputs, inputs) = (values.size(0), values.size(1))
    }

    /// The bytes it holds.
    public var byteCount: Int { 2 * outputs * inputs }

    /// The weight back in float32, [outputs, inputs] (exact: every half value is a float32).
    public func dequantized() -> Tensor {
        let out = Tensor.empty([outputs, inputs], dtype: .float32)
        mh_half_to_f32(format.code, values.pointer(as: UInt16.self), outputs * inputs, out.pointer(as: Float.self))
        return out
    }

    /// Rows of the table picked by integer `ids` (an embedding lookup), as float32 [ids.shape..., inputs].
    public func rows(_ ids: Tensor) -> Tensor {
        let indices = ids.contiguous().converted(to: .int64)
        let out = Tensor.empty(ids.shape + [inputs], dtype: .float32)
        let source = values.pointer(as: UInt16.self)
        let target = out.pointer(as: Float.self)
        let picked = indices.pointer(as: Int64.self)
        for position in 0..<indices.count {
            let row = Int(picked[position])
            precondition(row >= 0 && row < outputs, "id \(row) outside a table of \(outputs) rows")
            mh_half_to_f32(format.code, source + row * inputs, inputs, target + position * inputs)
        }
        return out
    }
}

extension Tensor {
    /// The most rows `halfLinear` multiplies straight from the half rows (each weight row is read once from memory
    /// and stays in L1 for the other rows); past it, converting W for sgemm costs less.
    static let halfRowsLimit = 16

    /// x Wᵀ + b for x [..., in] with a half-precision weight, products and sums in float32.
    ///
    /// Inference only (no gradient).
    /// Up to `halfRowsLimit` rows (a generation step, a short prompt) read W's half rows directly; more rows convert
    /// W a block at a time and multiply by sgemm.
    ///
    /// - Parameter vectorized: false runs the few-rows product by its plain C loop (the oracle tests compare with).
    public func halfLinear(_ weight: HalfWeight, bias: Tensor?, vectorized: Bool = true) -> Tensor {
        precondition(shape.last == weight.inputs, "product of \(shape) with a half weight of \(weight.inputs) inputs")
        let (k, n) = (weight.inputs, weight.outputs)
        guard k > 0, n > 0, count > 0 else {
            let zeros = Tensor.zeros(Array(shape.dropLast()) + [n])
            guard let bias = bias?.detached() else { return zeros }
            return Tensor.withoutGradient { zeros + bias }
        }
        let x = detached().contiguous().converted(to: .float32)
        let m = x.count / k
        let out = Tensor.empty(Array(shape.dropLast()) + [n], dtype: .float32)
        let biasValues = bias.map { $0.detached().contiguous().converted(to: .float32) }
        let format = weight.format.code
        withExtendedLifetime((x, biasValues, weight.values)) {
            let input = SharedBuffer(x.pointer(as: Float.self))
            let w = SharedBuffer(weight.values.pointer(as: UInt16.self))
            let output = SharedBuffer(out.pointer(as: Float.self))
            let b = biasValues.map { SharedBuffer($0.pointer(as: Float.self)) }
            if m <= Self.halfRowsLimit {
                // Generation: memory-bound, so the columns are split over two threads when W is large.
                let parts = n * k >= 1 << 18 && n >= 8 ? EngineThreads.count : 1
                DispatchQueue.concurrentPerform(iterations: parts) { part in
                    let start = n * part / parts, end = n * (part + 1) / parts
                    let status = mh_half_gemv(
                        vectorized ? 1 : 0, format, input.base, m, k, w.base + start * k, end - start,
                        b.map { $0.base + start }, output.base + start, n)
                    precondition(status == 0, "half product: no memory for \(m) × \(k) inputs")
                }
                return
            }
            if let b { for row in 0..<m { (output.base + row * n).update(from: b.base, count: n) } }
            // Blocks of about 4 MB of float32 rows: each sgemm call packs x again, so blocks much smaller than the
            // weight cost more than converting it (1 MB blocks ran at 0.8× float32's rate on BERT's 3072 → 768).
            let block = Swift.min(n, Swift.max(16, (1 << 20) / k / 16 * 16))
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: block * k)
            defer { scratch.deallocate() }
            let converted = SharedBuffer(scratch)
            var start = 0
            while start < n {
                let rows = Swift.min(block, n - start)
                let first = start
                splitInHalves(rows * k, minimum: 1 << 16) { offset, count in
                    mh_half_to_f32(format, w.base + first * k + offset, count, converted.base + offset)
                }
                BLASDriver.sgemm(
                    CblasNoTrans, CblasTrans, m: m, n: rows, k: k, alpha: 1, input.base, lda: k, scratch, ldb: k,
                    beta: b == nil ? 0 : 1, output.base + start, ldc: n)
                start += rows
            }
        }
        return out
    }
}

extension HalfWeight {
    /// The kernel path half products use on this CPU, as `hub bench --json` reports it: `avx2` (with FMA and F16C)
    /// or `reference`.
    public static var kernelName: String { mh_half_fast_path() != 0 ? "avx2" : "reference" }
}

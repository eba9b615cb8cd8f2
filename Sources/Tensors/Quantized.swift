import CKernels
import Dispatch

#if canImport(Glibc)
    import Glibc
#endif

/// A linear layer's weight quantized for int8 products (dynamic quantization, as `torch.quantize_dynamic` and ONNX
/// Runtime's `MatMulInteger` run it, but with per-output-channel scales): one symmetric s8 row per output channel
/// with one f32 scale, rows padded with zeros to a multiple of 32 inputs.
///
/// ```swift
/// let weight = QuantizedWeight(linear.weight.value)                 // [out, in] f32 → s8 rows + scales
/// let y = x.quantizedLinear(weight, bias: linear.bias?.value)       // ≈ x.linear(weight:bias:)
/// ```
public struct QuantizedWeight: Sendable {
    public let outputs: Int
    public let inputs: Int
    /// `inputs` rounded up to 32, the length of each stored row.
    let stride: Int
    /// [outputs, stride] s8: owned, or borrowed from an int8 `.mhub` mapping when its rows need no padding.
    let values: Tensor
    let scales: [Float]
    /// Σ of each row's values (the VNNI kernels' correction term).
    let rowSums: [Int32]
    /// One scale per input, applied to the activations before they are quantized: a weight stored with a scale
    /// per input row (an int8 `.mhub`'s GPT-2 `Conv1D`, [in, out]), so that Σk x[k]·s[k]·q[k, j] stays exact.
    let inputScales: Tensor?

    /// Quantizes a float32 weight laid out [outputs, inputs] (`Linear`), or [inputs, outputs] with `inputMajor`
    /// (GPT-2's `Conv1D`): scale = max|row| / 127, values rounded half to even.
    public init(_ weight: Tensor, inputMajor: Bool = false) {
        precondition(weight.rank == 2, "a weight of rank \(weight.rank)")
        let rows = (inputMajor ? weight.transposed() : weight).detached().contiguous().converted(to: .float32)
        let (outputs, inputs) = (rows.size(0), rows.size(1))
        let stride = (inputs + 31) / 32 * 32
        let values = Tensor.empty([outputs, stride], dtype: .int8)
        var scales = [Float](repeating: 0, count: outputs)
        withExtendedLifetime(rows) {
            scales.withUnsafeMutableBufferPointer { s in
                mh_quantize_rows_s8(
                    rows.pointer(as: Float.self), outputs, inputs, stride, values.pointer(as: Int8.self),
                    s.baseAddress, 127)
            }
        }
        self.init(values: values, inputs: inputs, scales: scales, inputScales: nil)
    }

    /// Int8 rows as stored with one float32 scale per row ([rows, columns] s8, an int8 `.mhub`'s int8-row tensor),
    /// used without requantizing: rows are output channels ([outputs, inputs], `Linear`, borrowed as they are when
    /// `columns` is a multiple of 32), or with `inputMajor` input channels (GPT-2's `Conv1D`, [inputs, outputs]:
    /// transposed once, its scales applied to the activations).
    public init(rows: Tensor, scales: [Float], inputMajor: Bool = false) {
        precondition(rows.rank == 2 && rows.dtype == .int8, "int8 rows, not \(rows.dtype) \(rows.shape)")
        precondition(scales.count == rows.size(0), "\(scales.count) scales for \(rows.size(0)) rows")
        let stored = inputMajor ? rows.transposed() : rows
        let (outputs, inputs) = (stored.size(0), stored.size(1))
        let stride = (inputs + 31) / 32 * 32
        let values: Tensor
        if stride == inputs, stored.isContiguous {
            values = stored
        } else {
            values = Tensor.zeros([outputs, stride], dtype: .int8)
            stored.copyElements(into: values.slicedUntracked(1, 0..<inputs))
        }
        self.init(
            values: values, inputs: inputs,
            scales: inputMajor ? [Float](repeating: 1, count: outputs) : scales,
            inputScales: inputMajor ? Tensor(scales, shape: [inputs]) : nil)
    }

    private init(values: Tensor, inputs: Int, scales: [Float], inputScales: Tensor?) {
        let (outputs, stride) = (values.size(0), values.size(1))
        var sums = [Int32](repeating: 0, count: outputs)
        withExtendedLifetime(values) {
            sums.withUnsafeMutableBufferPointer {
                mh_s8_row_sums(values.pointer(as: Int8.self), outputs, stride, $0.baseAddress)
            }
        }
        self.outputs = outputs
        self.inputs = inputs
        self.stride = stride
        self.values = values
        self.scales = scales
        self.inputScales = inputScales
        rowSums = sums
    }

    /// The stored weight as exporters need it: s8 values [outputs, `stride`] (columns past `inputs` are zero), one
    /// scale per output, and the per-input activation scales of a weight stored input-major, if any.
    package var parts: (values: Tensor, scales: [Float], inputScales: [Float]?) {
        (values.slicedUntracked(1, 0..<inputs), scales, inputScales?.floats)
    }

    /// The bytes it holds (values, scales and sums).
    public var byteCount: Int { values.count + 8 * outputs + 4 * (inputScales?.count ?? 0) }

    /// The weight back in float32, [outputs, inputs] (each value times its row's scale, and its input's).
    public func dequantized() -> Tensor {
        var out = [Float](repeating: 0, count: outputs * inputs)
        let q = values.pointer(as: Int8.self)
        let perInput = inputScales?.floats ?? [Float](repeating: 1, count: inputs)
        withExtendedLifetime(values) {
            for row in 0..<outputs {
                for column in 0..<inputs {
                    out[row * inputs + column] = Float(q[row * stride + column]) * scales[row] * perInput[column]
                }
            }
        }
        return Tensor(out, shape: [outputs, inputs])
    }
}

/// An embedding table in int8 for lookups: symmetric, one f32 scale per group of 32 values of a row (per row when
/// the width is not a multiple of 32) — finer than a weight's per-row scale, because a looked-up row is used as it
/// is, not summed against activations (per-row scales cost all-MiniLM-L6-v2 its 0.99 cosine bound).
///
/// ```swift
/// let table = QuantizedTable(embedding.weight.value)       // [count, width] f32 → s8 groups + scales
/// let vectors = table.rows(ids)                            // ≈ embedding.weight.value.embedding(ids)
/// ```
public struct QuantizedTable: Sendable {
    public let count: Int
    public let width: Int
    /// Values per scale.
    public let group: Int
    /// The groups as rows of a `QuantizedWeight` [count × width / group, group].
    let groups: QuantizedWeight

    /// Quantizes a float32 table [count, width].
    public init(_ table: Tensor) {
        precondition(table.rank == 2, "a table of rank \(table.rank)")
        (count, width) = (table.size(0), table.size(1))
        group = width % 32 == 0 && width > 0 ? 32 : Swift.max(width, 1)
        groups = QuantizedWeight(table.contiguous().reshaped([count * width / group, group]))
    }

    /// A table stored as int8 rows with one scale per row (an int8 `.mhub`'s int8-row tensor), used as stored.
    public init(rows: Tensor, scales: [Float]) {
        (count, width) = (rows.size(0), rows.size(1))
        group = Swift.max(width, 1)
        groups = QuantizedWeight(rows: rows, scales: scales)
    }

    /// The bytes it holds.
    public var byteCount: Int { groups.byteCount }

    /// Rows picked by integer `ids`, dequantized: float32 [ids.shape..., width].
    public func rows(_ ids: Tensor) -> Tensor {
        let indices = ids.contiguous().converted(to: .int64)
        let out = Tensor.empty(ids.shape + [width], dtype: .float32)
        let target = out.pointer(as: Float.self)
        let picked = indices.pointer(as: Int64.self)
        let (perRow, stride) = (width / group, groups.stride)
        let q = groups.values.pointer(as: Int8.self)
        withExtendedLifetime(groups.values) {
            for position in 0..<indices.count {
                let row = Int(picked[position])
                precondition(row >= 0 && row < count, "id \(row) outside a table of \(count) rows")
                for part in 0..<perRow {
                    let scale = groups.scales[row * perRow + part]
                    let source = (row * perRow + part) * stride
                    let destination = position * width + part * group
                    for column in 0..<group { target[destination + column] = Float(q[source + column]) * scale }
                }
            }
        }
        return out
    }

    /// The table back in float32, [count, width].
    public func dequantized() -> Tensor { groups.dequantized().reshaped([count, width]) }
}

/// Which int8 kernel the products use: the fastest the CPU has, unless a test names another.
public enum Int8Kernel: Int32, Sendable, CaseIterable {
    case reference = 0
    case avx2 = 1
    case avxVNNI = 2
    case avx512VNNI = 3

    /// Whether this CPU can run it.
    public var isSupported: Bool { mh_s8_path_supported(rawValue) != 0 }

    /// The kernel `quantizedLinear` uses: the fastest this CPU has, or the one MODELHUB_INT8_KERNEL names
    /// (`reference`, `avx2`, `avx-vnni`, `avx512-vnni`) when the CPU has it.
    public static let active: Int8Kernel = {
        if let name = getenv("MODELHUB_INT8_KERNEL").map({ String(cString: $0) }),
            let chosen = allCases.first(where: { $0.name == name && $0.isSupported })
        {
            return chosen
        }
        return Int8Kernel(rawValue: mh_s8_best_path()) ?? .reference
    }()

    /// Its name as `hub bench --json` reports it.
    public var name: String {
        switch self {
        case .reference: "reference"
        case .avx2: "avx2"
        case .avxVNNI: "avx-vnni"
        case .avx512VNNI: "avx512-vnni"
        }
    }
}

extension Tensor {
    /// x Wᵀ + b for x [..., in] with an int8 weight.
    ///
    /// Each row of x is quantized (symmetric, its own scale), the products
    /// accumulate exactly in int32, then are scaled back and the bias added. Inference only (no gradient).
    public func quantizedLinear(_ weight: QuantizedWeight, bias: Tensor?, kernel: Int8Kernel = .active) -> Tensor {
        precondition(shape.last == weight.inputs, "product of \(shape) with an int8 weight of \(weight.inputs) inputs")
        precondition(kernel.isSupported, "the \(kernel.name) int8 kernel on a CPU without it")
        var x = detached().contiguous().converted(to: .float32)
        if let inputScales = weight.inputScales { x = Tensor.withoutGradient { x * inputScales } }
        let (k, n, stride) = (weight.inputs, weight.outputs, weight.stride)
        let m = k == 0 ? 0 : x.count / k
        let out = Tensor.empty(Array(shape.dropLast()) + [n], dtype: .float32)
        guard m > 0, n > 0 else { return out }
        var activations = [Int8](repeating: 0, count: m * stride)
        var scales = [Float](repeating: 0, count: m)
        var products = [Int32](repeating: 0, count: m * n)
        let biasValues = bias.map { $0.detached().contiguous().converted(to: .float32) }
        withExtendedLifetime((x, biasValues, weight.values)) {
            activations.withUnsafeMutableBufferPointer { a in
                scales.withUnsafeMutableBufferPointer { s in
                    mh_quantize_rows_s8(
                        x.pointer(as: Float.self), m, k, stride, a.baseAddress, s.baseAddress, 127)
                }
            }
            let wBase = weight.values.pointer(as: Int8.self)
            activations.withUnsafeBufferPointer { a in
                weight.rowSums.withUnsafeBufferPointer { sums in
                    products.withUnsafeMutableBufferPointer { c in
                        // Not empty (m, n > 0), so every base address is there.
                        guard let aBase = a.baseAddress, let sumsBase = sums.baseAddress, let cBase = c.baseAddress
                        else { return }
                        let (aShared, wShared, sumsShared, cShared) = (
                            SharedBuffer(aBase), SharedBuffer(wBase), SharedBuffer(sumsBase), SharedBuffer(cBase)
                        )
                        // Two threads over rows (a batch) or over columns (one row: generation) when it pays.
                        let parts = m * n * k >= 1 << 20 ? EngineThreads.count : 1
                        DispatchQueue.concurrentPerform(iterations: parts) { part in
                            let byRows = m >= 2
                            let total = byRows ? m : n
                            let start = total * part / parts, end = total * (part + 1) / parts
                            let status =
                                byRows
                                ? mh_s8_gemm(
                                    kernel.rawValue, aShared.base + start * stride, wShared.base, sumsShared.base,
                                    end - start, n, stride, cShared.base + start * n, n)
                                : mh_s8_gemm(
                                    kernel.rawValue, aShared.base, wShared.base + start * stride,
                                    sumsShared.base + start, m, end - start, stride, cShared.base + start, n)
                            precondition(status == 0, "int8 product failed (\(status))")
                        }
                    }
                }
            }
            products.withUnsafeBufferPointer { c in
                scales.withUnsafeBufferPointer { s in
                    weight.scales.withUnsafeBufferPointer { ws in
                        mh_s8_dequantize(
                            c.baseAddress, s.baseAddress, ws.baseAddress, biasValues?.pointer(as: Float.self), m, n,
                            out.pointer(as: Float.self))
                    }
                }
            }
        }
        return out
    }
}

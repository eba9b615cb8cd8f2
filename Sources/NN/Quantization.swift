import Tensors

/// The precision `Module.quantize` stores weights in for inference.
public enum QuantizationType: String, Sendable, CaseIterable {
    /// Symmetric int8, one float scale per output channel; activations quantized per row at run time, products
    /// accumulated in int32 (dynamic quantization). Embedding tables of a million values or more are int8 too, one
    /// scale per 32 values of a row, dequantized when looked up; smaller ones bfloat16.
    case int8
    /// bfloat16 weights and tables, products and sums in float32.
    case bfloat16 = "bf16"
    /// IEEE float16 weights and tables, products and sums in float32.
    case float16 = "f16"

    var halfFormat: HalfWeight.Format {
        self == .float16 ? .float16 : .bfloat16
    }
}

/// A layer's weight in reduced precision for inference, set by `Module.quantize`.
public enum ReducedWeight: Sendable {
    case int8(QuantizedWeight)
    case half(HalfWeight)

    /// Reduces a float32 weight laid out [outputs, inputs], or [inputs, outputs] with `inputMajor`.
    public init(_ weight: Tensor, _ type: QuantizationType, inputMajor: Bool = false) {
        switch type {
        case .int8: self = .int8(QuantizedWeight(weight, inputMajor: inputMajor))
        case .bfloat16, .float16: self = .half(HalfWeight(weight, format: type.halfFormat, inputMajor: inputMajor))
        }
    }

    /// x Wᵀ + b through the weight's kernels.
    public func linear(_ x: Tensor, bias: Tensor?) -> Tensor {
        switch self {
        case .int8(let weight): x.quantizedLinear(weight, bias: bias)
        case .half(let weight): x.halfLinear(weight, bias: bias)
        }
    }

    /// The weight as float32, [outputs, inputs].
    public func dequantized() -> Tensor {
        switch self {
        case .int8(let weight): weight.dequantized()
        case .half(let weight): weight.dequantized()
        }
    }

    /// The bytes it holds.
    public var byteCount: Int {
        switch self {
        case .int8(let weight): weight.byteCount
        case .half(let weight): weight.byteCount
        }
    }
}

/// An embedding table in reduced precision for lookups, set by `Module.quantize`.
public enum ReducedTable: Sendable {
    case int8(QuantizedTable)
    case half(HalfWeight)

    /// Rows picked by integer `ids` as float32 [ids.shape..., width].
    public func rows(_ ids: Tensor) -> Tensor {
        switch self {
        case .int8(let table): table.rows(ids)
        case .half(let table): table.rows(ids)
        }
    }

    /// The table as float32, [count, width].
    public func dequantized() -> Tensor {
        switch self {
        case .int8(let table): table.dequantized()
        case .half(let table): table.dequantized()
        }
    }
}

/// A weight as a checkpoint stores it in reduced precision, used by `Module.quantize` without a float32 detour
/// (loading an int8 or bf16 `.mhub` or safetensors file straight into its precision).
package enum StoredWeight {
    /// [rows, columns] s8 with one float32 scale per row (an `.mhub` int8-row tensor).
    case int8Rows(Tensor, scales: [Float])
    /// [rows, columns] bfloat16 or float16.
    case half(Tensor)

    /// The stored values as float32 (what a released parameter reads).
    func dequantized() -> Tensor {
        switch self {
        case .int8Rows(let rows, let scales): QuantizedWeight(rows: rows, scales: scales).dequantized()
        case .half(let values):
            HalfWeight(values: values, format: values.dtype == .float16 ? .float16 : .bfloat16).dequantized()
        }
    }
}

extension Parameter {
    /// Takes a checkpoint's reduced-precision weight instead of a float32 value: the parameter is released (its
    /// value dequantized when read) and `Module.quantize` builds the layer's weight from `stored`.
    package func assign(stored: StoredWeight) {
        release(reconstruct: { [stored] in stored.dequantized() })
        loadedAs = stored
    }
}

extension Module {
    /// Tables of fewer values stay bfloat16 under `.int8`.
    private static let smallTable = 1 << 20

    /// Stores every `Linear`, `Conv1D`, `LSTM` and `Embedding` weight inside in reduced precision, for inference.
    ///
    /// In place: what `torch.quantize_dynamic(model, {nn.Linear, nn.LSTM}, dtype=torch.qint8)` does for `.int8`
    /// (with per-output-channel weight scales and per-row activation scales), or `model.to(torch.bfloat16)` for the
    /// weights alone with float32 arithmetic. Biases and layer norms stay float32.
    ///
    /// ```swift
    /// let model = try await AutoModel.fromPretrained("all-MiniLM-L6-v2")
    /// model.quantize(.int8)
    /// let embeddings = try model.sentenceEmbeddings(["int8 products, float32 everywhere else"])
    /// ```
    ///
    /// The float32 weights are then released (their memory freed, a mapped checkpoint's pages dropped from
    /// resident memory); a released parameter's `value` is rebuilt from the reduced copy, so saving still works.
    ///
    /// - Parameters:
    ///   - keepingTiedWeights: leaves in float32 a weight shared by several modules (a language-model head tied to
    ///     the word embeddings).
    ///   - keepingFloatWeights: keeps the float32 parameters as they are (to go back to training).
    /// - Returns: how many layers now run in reduced precision.
    @discardableResult
    public func quantize(
        _ type: QuantizationType = .int8, keepingTiedWeights: Bool = false, keepingFloatWeights: Bool = false
    ) -> Int {
        let tree = walk()
        var uses: [ObjectIdentifier: Int] = [:]
        for (_, parameter) in tree.parameters { uses[ObjectIdentifier(parameter), default: 0] += 1 }
        func tied(_ parameter: Parameter) -> Bool {
            keepingTiedWeights && uses[ObjectIdentifier(parameter), default: 0] > 1
        }
        // One reduced copy per parameter and kind, so a tied head and its embedding share it where they can, and
        // for each reduced parameter one way to rebuild its float value once released.
        var weights: [ObjectIdentifier: [Bool: ReducedWeight]] = [:]  // by parameter, then inputMajor
        var tables: [ObjectIdentifier: ReducedTable] = [:]
        var rebuild: [ObjectIdentifier: (Parameter, @Sendable () -> Tensor)] = [:]
        func reduce(_ parameter: Parameter, inputMajor: Bool = false) -> ReducedWeight? {
            let id = ObjectIdentifier(parameter)
            guard !tied(parameter) else { return nil }
            if let done = weights[id]?[inputMajor] { return done }
            let weight: ReducedWeight =
                switch (parameter.loadedAs, type) {
                case (.int8Rows(let rows, let scales)?, .int8):
                    .int8(QuantizedWeight(rows: rows, scales: scales, inputMajor: inputMajor))
                case (.half(let values)?, .bfloat16) where values.dtype == .bfloat16,
                    (.half(let values)?, .float16) where values.dtype == .float16:
                    .half(
                        HalfWeight(
                            values: inputMajor ? values.transposed().contiguous() : values, format: type.halfFormat))
                default: ReducedWeight(parameter.value, type, inputMajor: inputMajor)
                }
            weights[id, default: [:]][inputMajor] = weight
            rebuild[id] =
                rebuild[id] ?? (
                    parameter,
                    {
                        let rows = weight.dequantized()
                        return inputMajor ? rows.transposed().contiguous() : rows
                    }
                )
            return weight
        }
        func reduceTable(_ parameter: Parameter) -> ReducedTable? {
            guard !tied(parameter) else { return nil }
            if type != .int8 {
                // The same half rows a tied half head multiplies by: shared, not copied.
                guard case .half(let rows)? = reduce(parameter) else { return nil }
                return .half(rows)
            }
            let id = ObjectIdentifier(parameter)
            if let done = tables[id] { return done }
            // A small table (positions, token types, a tiny vocabulary) saves under 2 MB in int8: it stays bf16,
            // where it costs no accuracy (tiny BERT's classifier kept 97.5% of its predictions with int8 tables,
            // 100% with these).
            let table: ReducedTable =
                if case .int8Rows(let rows, let scales)? = parameter.loadedAs {
                    .int8(QuantizedTable(rows: rows, scales: scales))
                } else if parameter.shape.reduce(1, *) < Self.smallTable {
                    .half(HalfWeight(parameter.value, format: .bfloat16))
                } else {
                    .int8(QuantizedTable(parameter.value))
                }
            tables[id] = table
            rebuild[id] = rebuild[id] ?? (parameter, { table.dequantized() })
            return table
        }
        var count = 0
        for module in tree.modules {
            switch module {
            case let linear as Linear:
                guard let weight = reduce(linear.weight) else { continue }
                linear.reduced = weight
            case let conv as Conv1D:
                guard let weight = reduce(conv.weight, inputMajor: true) else { continue }
                conv.reduced = weight
            case let lstm as LSTM:
                guard let input = reduce(lstm.weightIhL0), let hidden = reduce(lstm.weightHhL0) else { continue }
                lstm.reduced = (input, hidden)
            case let embedding as Embedding:
                guard let table = reduceTable(embedding.weight) else { continue }
                embedding.reduced = table
            default:
                continue
            }
            count += 1
        }
        // A weight loaded in reduced precision that no layer here reduces (kept tied, or read by other code)
        // becomes an ordinary float32 parameter.
        for (_, parameter) in tree.parameters
        where parameter.loadedAs != nil && rebuild[ObjectIdentifier(parameter)] == nil {
            parameter.assign(parameter.value)
        }
        if !keepingFloatWeights {
            for (parameter, rebuilt) in rebuild.values { parameter.release(reconstruct: rebuilt) }
            Tensor.releaseCachedBuffers()
        }
        return count
    }
}

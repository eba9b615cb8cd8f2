#if canImport(Glibc)
    import Glibc
#endif

// `print(tensor)` as PyTorch prints it (torch/_tensor_str.py with the default print options): four digits, fixed
// or scientific by the values' range, integral floats as `1.`, columns padded to one width, lines of at most 80
// characters, the middle elided (`...`, three items at each edge) past 1,000 elements, and the dtype named when it
// is not the default (float32, int64, bool).

extension Tensor: CustomStringConvertible {
    /// The tensor as PyTorch's `repr` writes it.
    ///
    /// ```swift
    /// print(Tensor([1, 2.5, -3] as [Float], shape: [3]))     // tensor([ 1.0000,  2.5000, -3.0000])
    /// print(Tensor([1, 2, 3, 4], shape: [2, 2]))              // tensor([[1, 2],
    ///                                                         //         [3, 4]])
    /// ```
    public var description: String {
        let prefix = "tensor("
        var suffixes: [String] = []
        let body: String
        if count == 0 {
            if rank != 1 { suffixes.append("size=(" + shape.map(String.init).joined(separator: ", ") + ")") }
            if dtype != .float32 { suffixes.append("dtype=" + dtype.torchName) }
            body = "[]"
        } else {
            if ![.float32, .int64, .bool].contains(dtype) { suffixes.append("dtype=" + dtype.torchName) }
            body = TensorPrinter(self).text(indent: prefix.count)
        }
        if let node = autograd?.node {
            suffixes.append("grad_fn=<\(node.name)>")
        } else if requiresGrad {
            suffixes.append("requires_grad=True")
        }
        // `_add_suffixes`: on the last line while it fits in 80 columns, else on a line of their own.
        var text = prefix + body
        var lastLine =
            text.count - (text.lastIndex(of: "\n").map { text.distance(from: text.startIndex, to: $0) } ?? -1)
            + 1
        for suffix in suffixes {
            if lastLine + suffix.count + 2 > TensorPrinter.lineWidth {
                text += ",\n" + String(repeating: " ", count: prefix.count) + suffix
                lastLine = prefix.count + suffix.count
            } else {
                text += ", " + suffix
                lastLine += suffix.count + 2
            }
        }
        return text + ")"
    }
}

extension Tensor.DType {
    /// PyTorch's name (`torch.float16`).
    var torchName: String {
        switch self {
        case .float32: "torch.float32"
        case .float64: "torch.float64"
        case .float16: "torch.float16"
        case .bfloat16: "torch.bfloat16"
        case .int64: "torch.int64"
        case .int32: "torch.int32"
        case .int8: "torch.int8"
        case .uint8: "torch.uint8"
        case .bool: "torch.bool"
        }
    }
}

/// PyTorch's `_Formatter` and `_tensor_str_with_formatter` over a tensor's values.
private struct TensorPrinter {
    static let threshold = 1000
    static let edgeItems = 3
    static let lineWidth = 80

    let shape: [Int]
    let values: [Double]
    let floating: Bool
    let boolean: Bool
    let summarize: Bool
    var intMode = true
    var sciMode = false
    var width = 1

    init(_ tensor: Tensor) {
        shape = tensor.shape
        values = tensor.doubles
        floating = tensor.dtype.isFloatingPoint || tensor.dtype == .float16 || tensor.dtype == .bfloat16
        boolean = tensor.dtype == .bool
        summarize = values.count > Self.threshold
        // The formatter sees only what is shown.
        let shown = summarize ? Self.edges(shape, values) : values
        if !floating {
            width = shown.map { plain($0).count }.max() ?? 1
            return
        }
        let finite = shown.filter { $0.isFinite && $0 != 0 }
        guard let smallest = finite.map(abs).min(), let largest = finite.map(abs).max() else { return }
        intMode = finite.allSatisfy { $0 == $0.rounded(.up) }
        sciMode = largest / smallest > 1000 || largest > 1e8 || smallest < 1e-4
        for value in finite {
            let text: String
            if sciMode {
                text = Self.scientific(value)
            } else if intMode {
                text = printf("%.0f", value) + " "  // room for the point
            } else {
                text = printf("%.4f", value)
            }
            width = Swift.max(width, text.count)
        }
    }

    /// The values `get_summarized_data` keeps: the first and last `edgeItems` along every axis.
    static func edges(_ shape: [Int], _ values: [Double]) -> [Double] {
        guard let first = shape.first else { return values }
        let inner = values.count / Swift.max(first, 1)
        let kept = first > 2 * edgeItems ? Array(0..<edgeItems) + Array(first - edgeItems..<first) : Array(0..<first)
        let rest = Array(shape.dropFirst())
        return kept.flatMap { index in
            let slice = Array(values[index * inner..<(index + 1) * inner])
            return rest.isEmpty ? slice : edges(rest, slice)
        }
    }

    /// Python's `{:.4e}`: at least two exponent digits, as C's printf writes them.
    static func scientific(_ value: Double) -> String {
        value.isNaN ? "nan" : printf("%.4e", value)
    }

    func plain(_ value: Double) -> String {
        boolean ? (value != 0 ? "True" : "False") : String(Int64(value))
    }

    func format(_ value: Double) -> String {
        var text: String
        if !floating {
            text = plain(value)
        } else if value.isNaN {
            text = "nan"
        } else if value.isInfinite {
            text = value > 0 ? "inf" : "-inf"
        } else if sciMode {
            text = Self.scientific(value)
        } else if intMode {
            text = printf("%.0f", value) + "."
        } else {
            text = printf("%.4f", value)
        }
        if text.count < width { text = String(repeating: " ", count: width - text.count) + text }
        return text
    }

    func text(indent: Int) -> String {
        shape.isEmpty ? format(values[0]) : text(axis: 0, offset: 0, indent: indent)
    }

    /// The nested brackets from `axis` on, for the block of values starting at `offset`.
    private func text(axis: Int, offset: Int, indent: Int) -> String {
        let size = shape[axis]
        let inner = shape[(axis + 1)...].reduce(1, *)
        let elided = summarize && size > 2 * Self.edgeItems
        let indices: [Int?] =
            elided
            ? (0..<Self.edgeItems).map { $0 } + [nil] + (size - Self.edgeItems..<size).map { $0 }
            : (0..<size).map { $0 }
        if axis == shape.count - 1 {
            let items = indices.map { $0.map { format(values[offset + $0]) } ?? " ..." }
            let perLine = Swift.max(1, (Self.lineWidth - indent) / (width + 2))
            let lines = stride(from: 0, to: items.count, by: perLine).map {
                items[$0..<Swift.min($0 + perLine, items.count)].joined(separator: ", ")
            }
            return "[" + lines.joined(separator: ",\n" + String(repeating: " ", count: indent + 1)) + "]"
        }
        let parts = indices.map { index in
            index.map { text(axis: axis + 1, offset: offset + $0 * inner, indent: indent + 1) } ?? "..."
        }
        let separator =
            "," + String(repeating: "\n", count: shape.count - axis - 1) + String(repeating: " ", count: indent + 1)
        return "[" + parts.joined(separator: separator) + "]"
    }
}

/// C's printf of one double (what Python's `{:.4f}` and `{:.4e}` produce), without Foundation.
private func printf(_ format: String, _ value: Double) -> String {
    var buffer = [CChar](repeating: 0, count: 64)
    _ = withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

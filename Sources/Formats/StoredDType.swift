/// Element types a checkpoint may hold, spelled as safetensors spells them (`F32`, `BF16`, …); distinct from
/// `Tensor.DType`, the element types tensors compute with.
///
/// ```swift
/// StoredDType(rawValue: "BF16")?.itemSize     // 2
/// ```
public enum StoredDType: String, CaseIterable, Sendable, Codable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
    case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8"
    case bool = "BOOL"

    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .f8e4m3, .f8e5m2, .i8, .u8, .bool: return 1
        }
    }

    /// Whether the type is a floating-point type (conversion with `--dtype` applies only to these).
    public var isFloatingPoint: Bool {
        switch self {
        case .f64, .f32, .f16, .bf16, .f8e4m3, .f8e5m2: return true
        default: return false
        }
    }
}

/// Shape arithmetic shared by every reader: element and byte counts with overflow checks.
package enum Shape {
    /// Largest dimension or byte count a reader accepts (2^48 - 1, the safetensors schema's bound).
    package static let maxExtent = (1 << 48) - 1

    /// The number of elements of `shape`, or nil when a dimension is negative or the product overflows the bound.
    package static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dim in shape {
            guard dim >= 0, dim <= maxExtent else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow, product <= maxExtent else { return nil }
            count = product
        }
        return count
    }

    /// `elementCount × itemSize`, or nil on overflow.
    package static func byteCount(_ shape: [Int], _ dtype: StoredDType) -> Int? {
        guard let count = elementCount(shape) else { return nil }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.itemSize)
        return overflow || bytes > maxExtent ? nil : bytes
    }
}

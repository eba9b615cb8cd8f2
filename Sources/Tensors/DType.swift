#if canImport(Glibc)
    import Glibc
#endif

extension Tensor {
    /// The element type of a tensor: f32 for compute, f64 for gradient checks, f16/bf16/i8 for stored weights,
    /// i64/i32 for token ids, bool for masks.
    public enum DType: Sendable, Equatable, CaseIterable {
        case float32, float64, float16, bfloat16, int64, int32, int8, uint8, bool

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .float64, .int64: 8
            case .float32, .int32: 4
            case .float16, .bfloat16: 2
            case .int8, .uint8, .bool: 1
            }
        }

        /// Whether ops compute in it (the others are converted first).
        public var isFloatingPoint: Bool { self == .float32 || self == .float64 }
    }
}

/// The floating-point types ops compute in, with the scalar functions and BLAS calls kernels need.
protocol FloatElement: BinaryFloatingPoint, Sendable {
    static var dtype: Tensor.DType { get }
    static func exp(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
    static func erf(_ x: Self) -> Self
    static func sqrt(_ x: Self) -> Self
    static func pow(_ x: Self, _ y: Self) -> Self
    static func log1p(_ x: Self) -> Self
}

extension Float: FloatElement {
    static var dtype: Tensor.DType { .float32 }
    @inline(__always) static func exp(_ x: Float) -> Float { expf(x) }
    @inline(__always) static func log(_ x: Float) -> Float { logf(x) }
    @inline(__always) static func tanh(_ x: Float) -> Float { tanhf(x) }
    @inline(__always) static func erf(_ x: Float) -> Float { erff(x) }
    @inline(__always) static func sqrt(_ x: Float) -> Float { sqrtf(x) }
    @inline(__always) static func pow(_ x: Float, _ y: Float) -> Float { powf(x, y) }
    @inline(__always) static func log1p(_ x: Float) -> Float { log1pf(x) }
}

extension Double: FloatElement {
    static var dtype: Tensor.DType { .float64 }
    @inline(__always) static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    @inline(__always) static func log(_ x: Double) -> Double { Glibc.log(x) }
    @inline(__always) static func tanh(_ x: Double) -> Double { Glibc.tanh(x) }
    @inline(__always) static func erf(_ x: Double) -> Double { Glibc.erf(x) }
    @inline(__always) static func sqrt(_ x: Double) -> Double { Glibc.sqrt(x) }
    @inline(__always) static func pow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
    @inline(__always) static func log1p(_ x: Double) -> Double { Glibc.log1p(x) }
}

import CKernels

// Element-wise arithmetic with NumPy broadcasting, scalar arithmetic, and the pointwise functions (exp, log, tanh,
// sigmoid, ReLU, the two GELUs) — each with its backward beside it.

/// A binary function applied element by element.
protocol BinaryFunction: SendableMetatype {
    static func apply<T: FloatElement>(_ a: T, _ b: T) -> T
}

enum AddFunction: BinaryFunction {
    @inline(__always) static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { a + b }
}
enum SubtractFunction: BinaryFunction {
    @inline(__always) static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { a - b }
}
enum MultiplyFunction: BinaryFunction {
    @inline(__always) static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { a * b }
}
enum DivideFunction: BinaryFunction {
    @inline(__always) static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { a / b }
}

/// `f(a, b)` broadcast, without recording: fast paths for equal shapes, a row broadcast over the last axes (bias
/// addition) and a scalar; anything else is materialized first.
func broadcastBinary<F: BinaryFunction>(_ function: F.Type, _ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.dtype == b.dtype, "\(a.dtype) and \(b.dtype) differ: convert one first")
    guard let shape = broadcastShape(a.shape, b.shape) else {
        preconditionFailure("shapes \(a.shape) and \(b.shape) do not broadcast")
    }
    switch a.dtype {
    case .float32: return binaryKernel(F.self, Float.self, a, b, shape)
    case .float64: return binaryKernel(F.self, Double.self, a, b, shape)
    default: preconditionFailure("arithmetic on \(a.dtype): convert to float32 first")
    }
}

private func binaryKernel<F: BinaryFunction, T: FloatElement>(
    _ function: F.Type, _ type: T.Type, _ a: Tensor, _ b: Tensor, _ shape: [Int]
) -> Tensor {
    let out = Tensor.empty(shape, dtype: a.dtype)
    let o = out.pointer(as: T.self)
    let n = out.count
    guard n > 0 else { return out }
    let aFull = a.shape == shape && a.isContiguous
    let bFull = b.shape == shape && b.isContiguous
    if aFull && bFull {
        let (x, y, z) = (SharedBuffer(a.pointer(as: T.self)), SharedBuffer(b.pointer(as: T.self)), SharedBuffer(o))
        splitInHalves(n) { start, count in
            for i in start..<start + count { z.base[i] = F.apply(x.base[i], y.base[i]) }
        }
        return out
    }
    if aFull, b.count == 1 {
        let (x, y) = (a.pointer(as: T.self), b.pointer(as: T.self)[0])
        for i in 0..<n { o[i] = F.apply(x[i], y) }
        return out
    }
    if bFull, a.count == 1 {
        let (x, y) = (a.pointer(as: T.self)[0], b.pointer(as: T.self))
        for i in 0..<n { o[i] = F.apply(x, y[i]) }
        return out
    }
    // A row broadcast: b covers the last axes of a (a bias), or a those of b.
    func isSuffix(_ small: Tensor) -> Bool {
        let trimmed = Array(small.shape.drop { $0 == 1 })
        return small.isContiguous && !trimmed.isEmpty && Array(shape.suffix(trimmed.count)) == trimmed
    }
    if aFull, isSuffix(b) {
        let (x, y, m) = (a.pointer(as: T.self), b.pointer(as: T.self), b.count)
        for row in 0..<n / m {
            let base = row * m
            for j in 0..<m { o[base + j] = F.apply(x[base + j], y[j]) }
        }
        return out
    }
    if bFull, isSuffix(a) {
        let (x, y, m) = (a.pointer(as: T.self), b.pointer(as: T.self), a.count)
        for row in 0..<n / m {
            let base = row * m
            for j in 0..<m { o[base + j] = F.apply(x[j], y[base + j]) }
        }
        return out
    }
    let x = aFull ? a : Tensor(storage: a.storage, layout: a.layout.expanded(to: shape), dtype: a.dtype).copied()
    let y = bFull ? b : Tensor(storage: b.storage, layout: b.layout.expanded(to: shape), dtype: b.dtype).copied()
    return binaryKernel(F.self, T.self, x, y, shape)
}

extension Tensor {
    /// Element-wise sum, broadcast.
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let (aShape, bShape) = (a.shape, b.shape)
        return record("add", broadcastBinary(AddFunction.self, a, b), inputs: [a, b]) { g in
            [g.summed(toShape: aShape), g.summed(toShape: bShape)]
        }
    }

    /// Element-wise difference, broadcast.
    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let (aShape, bShape) = (a.shape, b.shape)
        return record("sub", broadcastBinary(SubtractFunction.self, a, b), inputs: [a, b]) { g in
            [g.summed(toShape: aShape), (-g).summed(toShape: bShape)]
        }
    }

    /// Element-wise product, broadcast.
    ///
    /// d(ab) = b da + a db.
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        record("mul", broadcastBinary(MultiplyFunction.self, a, b), inputs: [a, b]) { g in
            [
                a.requiresGrad ? (g * b.detached()).summed(toShape: a.shape) : nil,
                b.requiresGrad ? (g * a.detached()).summed(toShape: b.shape) : nil,
            ]
        }
    }

    /// Element-wise quotient, broadcast.
    ///
    /// d(a/b) = da / b − a db / b².
    public static func / (a: Tensor, b: Tensor) -> Tensor {
        record("div", broadcastBinary(DivideFunction.self, a, b), inputs: [a, b]) { g in
            let (x, y) = (a.detached(), b.detached())
            return [
                a.requiresGrad ? (g / y).summed(toShape: a.shape) : nil,
                b.requiresGrad ? (-(g * x) / (y * y)).summed(toShape: b.shape) : nil,
            ]
        }
    }

    /// `x * scale + shift`, element-wise, for a scalar scale and shift.
    public func affine(scale: Double, shift: Double = 0) -> Tensor {
        let out: Tensor
        switch dtype {
        case .float32: out = affineKernel(Float.self, Float(scale), Float(shift))
        case .float64: out = affineKernel(Double.self, scale, shift)
        default: preconditionFailure("arithmetic on \(dtype): convert to float32 first")
        }
        return Tensor.record("affine", out, inputs: [self]) { [$0.affine(scale: scale)] }
    }

    private func affineKernel<T: FloatElement>(_ type: T.Type, _ scale: T, _ shift: T) -> Tensor {
        let source = isContiguous ? self : copied()
        let out = Tensor.empty(shape, dtype: dtype)
        let (x, o) = (source.pointer(as: T.self), out.pointer(as: T.self))
        for i in 0..<count { o[i] = x[i] * scale + shift }
        return out
    }

    public static prefix func - (x: Tensor) -> Tensor { x.affine(scale: -1) }
    public static func * (x: Tensor, scalar: Double) -> Tensor { x.affine(scale: scalar) }
    public static func * (scalar: Double, x: Tensor) -> Tensor { x.affine(scale: scalar) }
    public static func / (x: Tensor, scalar: Double) -> Tensor { x.affine(scale: 1 / scalar) }
    public static func + (x: Tensor, scalar: Double) -> Tensor { x.affine(scale: 1, shift: scalar) }
    public static func - (x: Tensor, scalar: Double) -> Tensor { x.affine(scale: 1, shift: -scalar) }
    public static func - (scalar: Double, x: Tensor) -> Tensor { x.affine(scale: -1, shift: scalar) }
}

// MARK: - Pointwise functions

/// A pointwise function with its derivative, written as a function of the input `x` and the output `y`.
protocol UnaryFunction {
    static var name: String { get }
    static func value<T: FloatElement>(_ x: T) -> T
    static func derivative<T: FloatElement>(_ x: T, _ y: T) -> T
    /// A vectorized float32 kernel (CKernels) for the value and for dx = dy · f′(x), where one exists.
    static var floatKernel: (@Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)? { get }
    static var floatBackwardKernel:
        (@Sendable (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)?
    { get }
}

extension UnaryFunction {
    static var floatKernel: (@Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)? { nil }
    static var floatBackwardKernel:
        (@Sendable (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)?
    { nil }
}

/// d/dx eˣ = eˣ.
enum ExpFunction: UnaryFunction {
    static let name = "exp"
    @inline(__always) static func value<T: FloatElement>(_ x: T) -> T { T.exp(x) }
    @inline(__always) static func derivative<T: FloatElement>(_ x: T, _ y: T) -> T { y }
}

/// d/dx ln x = 1/x.
enum LogFunction: UnaryFunction {
    static let name = "log"
    @inline(__always) static func value<T: FloatElement>(_ x: T) -> T { T.log(x) }
    @inline(__always) static func derivative<T: FloatElement>(_ x: T, _ y: T) -> T { 1 / x }
}

/// d/dx tanh x = 1 − tanh² x.
enum TanhFunction: UnaryFunction {
    static let name = "tanh"
    @inline(__always) static func value<T: FloatElement>(_ x: T) -> T { T.tanh(x) }
    @inline(__always) static func derivative<T: FloatElement>(_ x: T, _ y: T) -> T { 1 - y * y }
}

/// σ(x) = 1 / (1 + e⁻ˣ), computed without overflow; σ' = σ(1 − σ).
enum SigmoidFunction: UnaryFunction {
    static let name = "sigmoid"
    @inline(__always) static func value<T: FloatElement>(_ x: T) -> T {
        if x >= 0 { return 1 / (1 + T.exp(-x)) }
        let e = T.exp(x)
        return e / (1 + e)
    }
    @inline(__always) static func derivative<T: FloatElement>(_ x: T, _ y: T) -> T { y * (1 - y) }
}

/// Swift.max(x, 0); derivative 1 for x > 0, else 0 (PyTorch's choice at 0).
enum ReLUFunction: UnaryFunction {
    static let name = "relu"
    @inline(__always) static func value<T: FloatElement>(_ x: T) -> T { x > 0 ? x : 0 }
    @inline(__always) static func derivative<T: FloatElement>(_ x: T, _ y: T) -> T { x > 0 ? 1 : 0 }
}

/// GELU, exact: x Φ(x) with Φ(x) = ½(1 + erf(x/√2)); derivative Φ(x) + x φ(x), φ(x) = e^(−x²/2)/√(2π).
enum GELUFunction: UnaryFunction {
    static let name = "gelu"
    @inline(__always) static func value<T: FloatElement>(_ x: T) -> T {
        x * 0.5 * (1 + T.erf(x * 0.707_106_781_186_547_524_4))
    }
    @inline(__always) static func derivative<T: FloatElement>(_ x: T, _ y: T) -> T {
        let cdf = 0.5 * (1 + T.erf(x * 0.707_106_781_186_547_524_4))
        return cdf + x * T.exp(-0.5 * x * x) * 0.398_942_280_401_432_677_9
    }
    // libm's erff, one element at a time, was 13% of a BERT forward pass.
    static var floatKernel: (@Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)? {
        { mh_gelu($0, $1, $2) }
    }
    static var floatBackwardKernel:
        (@Sendable (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)?
    { { mh_gelu_backward($0, $1, $2, $3) } }
}

/// GELU, tanh approximation (GPT-2's gelu_new): ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³);
/// derivative ½(1 + tanh u) + ½x(1 − tanh² u) √(2/π)(1 + 3·0.044715x²).
enum GELUTanhFunction: UnaryFunction {
    static let name = "gelu_tanh"
    @inline(__always) static func value<T: FloatElement>(_ x: T) -> T {
        0.5 * x * (1 + T.tanh(0.797_884_560_802_865_355_9 * (x + 0.044715 * x * x * x)))
    }
    @inline(__always) static func derivative<T: FloatElement>(_ x: T, _ y: T) -> T {
        let t = T.tanh(0.797_884_560_802_865_355_9 * (x + 0.044715 * x * x * x))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * 0.797_884_560_802_865_355_9 * (1 + 3 * 0.044715 * x * x)
    }
    static var floatKernel: (@Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)? {
        { mh_gelu_tanh($0, $1, $2) }
    }
    static var floatBackwardKernel:
        (@Sendable (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)?
    { { mh_gelu_tanh_backward($0, $1, $2, $3) } }
}

/// d/dx √x = 1 / (2√x).
enum SqrtFunction: UnaryFunction {
    static let name = "sqrt"
    @inline(__always) static func value<T: FloatElement>(_ x: T) -> T { T.sqrt(x) }
    @inline(__always) static func derivative<T: FloatElement>(_ x: T, _ y: T) -> T { 0.5 / y }
}

extension Tensor {
    /// `F` applied to every element, recording `g · F'(x)` as the backward.
    func pointwise<F: UnaryFunction>(_ function: F.Type) -> Tensor {
        let input = contiguous().detached()
        let out: Tensor
        switch dtype {
        case .float32: out = input.unaryKernel(F.self, Float.self)
        case .float64: out = input.unaryKernel(F.self, Double.self)
        default: preconditionFailure("\(F.name) of \(dtype): convert to float32 first")
        }
        return Tensor.record(F.name, out, inputs: [self]) { g in
            switch input.dtype {
            case .float32: return [input.unaryBackward(F.self, Float.self, out, g)]
            default: return [input.unaryBackward(F.self, Double.self, out, g)]
            }
        }
    }

    private func unaryKernel<F: UnaryFunction, T: FloatElement>(_ function: F.Type, _ type: T.Type) -> Tensor {
        let out = Tensor.empty(shape, dtype: dtype)
        if T.self == Float.self, let kernel = F.floatKernel {
            let (x, y) = (SharedBuffer(pointer(as: Float.self)), SharedBuffer(out.pointer(as: Float.self)))
            splitInHalves(count) { start, n in kernel(x.base + start, y.base + start, n) }
            return out
        }
        let (x, y) = (pointer(as: T.self), out.pointer(as: T.self))
        for i in 0..<count { y[i] = F.value(x[i]) }
        return out
    }

    private func unaryBackward<F: UnaryFunction, T: FloatElement>(
        _ function: F.Type, _ type: T.Type, _ output: Tensor, _ gradient: Tensor
    ) -> Tensor {
        let g = gradient.contiguous()
        let out = Tensor.empty(shape, dtype: dtype)
        if T.self == Float.self, let kernel = F.floatBackwardKernel {
            let (x, dy) = (SharedBuffer(pointer(as: Float.self)), SharedBuffer(g.pointer(as: Float.self)))
            let dx = SharedBuffer(out.pointer(as: Float.self))
            splitInHalves(count) { start, n in kernel(x.base + start, dy.base + start, dx.base + start, n) }
            return out
        }
        let (x, y, dy, dx) = (
            pointer(as: T.self), output.pointer(as: T.self), g.pointer(as: T.self), out.pointer(as: T.self)
        )
        for i in 0..<count { dx[i] = dy[i] * F.derivative(x[i], y[i]) }
        return out
    }

    public func exp() -> Tensor { pointwise(ExpFunction.self) }
    public func log() -> Tensor { pointwise(LogFunction.self) }
    public func tanh() -> Tensor { pointwise(TanhFunction.self) }
    public func sigmoid() -> Tensor { pointwise(SigmoidFunction.self) }
    public func relu() -> Tensor { pointwise(ReLUFunction.self) }
    /// GELU with the exact erf (BERT's and RoBERTa's `gelu`).
    public func gelu() -> Tensor { pointwise(GELUFunction.self) }
    /// GELU's tanh approximation (GPT-2's `gelu_new`, PyTorch's `gelu(approximate="tanh")`).
    public func geluTanh() -> Tensor { pointwise(GELUTanhFunction.self) }
    public func sqrt() -> Tensor { pointwise(SqrtFunction.self) }
    /// x².
    public func squared() -> Tensor { self * self }
}

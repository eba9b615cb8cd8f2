#if canImport(Glibc)
    import Glibc
#endif

/// A seedable random source for initialization, dropout and sampling (xoshiro256**, seeded by SplitMix64).
///
/// The same seed gives the same numbers on every machine; the numbers are not PyTorch's (its generator cannot be
/// reproduced outside it), so tests compare with dropout off or through statistics.
///
/// ```swift
/// var generator = RandomGenerator(seed: 42)
/// let noise = Tensor.randomNormal([2, 2], std: 0.02, using: &generator)
/// ```
public struct RandomGenerator: RandomNumberGenerator, Sendable {
    private var words: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var mix = seed
        func next() -> UInt64 {
            mix &+= 0x9E37_79B9_7F4A_7C15
            var z = mix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        words = (next(), next(), next(), next())
    }

    /// The generator's state, to save in a checkpoint and resume from exactly (`init(state:)`).
    public var state: [UInt64] { [words.0, words.1, words.2, words.3] }

    /// A generator continuing from a saved `state` (four words; else seeded from the first).
    public init(state: [UInt64]) {
        self.init(seed: state.first ?? 0)
        if state.count == 4 { words = (state[0], state[1], state[2], state[3]) }
    }

    public mutating func next() -> UInt64 {
        let result = ((words.1 &* 5) << 7 | (words.1 &* 5) >> 57) &* 9
        let t = words.1 << 17
        words.2 ^= words.0
        words.3 ^= words.1
        words.1 ^= words.2
        words.0 ^= words.3
        words.2 ^= t
        words.3 = words.3 << 45 | words.3 >> 19
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Standard normal (Box–Muller).
    public mutating func nextNormal() -> Double {
        let u = Swift.max(nextUnit(), 0x1p-53)
        let v = nextUnit()
        return (-2 * Glibc.log(u)).squareRoot() * Glibc.cos(2 * Double.pi * v)
    }
}

extension Tensor {
    /// Normal samples with `mean` and `std` (weight initialization).
    public static func randomNormal(
        _ shape: [Int], mean: Double = 0, std: Double = 1, dtype: DType = .float32,
        using generator: inout RandomGenerator
    ) -> Tensor {
        let out = Tensor.empty(shape, dtype: dtype)
        for index in 0..<out.count { out.setElement(index, mean + std * generator.nextNormal()) }
        return out
    }

    /// Uniform samples in `range`.
    public static func randomUniform(
        _ shape: [Int], in range: ClosedRange<Double> = 0...1, dtype: DType = .float32,
        using generator: inout RandomGenerator
    ) -> Tensor {
        let out = Tensor.empty(shape, dtype: dtype)
        let width = range.upperBound - range.lowerBound
        for index in 0..<out.count { out.setElement(index, range.lowerBound + width * generator.nextUnit()) }
        return out
    }

    /// Inverted dropout: each element zeroed with probability `p`, the rest scaled by 1/(1 − p).
    ///
    /// The identity when not `training` or `p` is 0. Backward: the same mask and scale.
    public func dropout(_ p: Double, training: Bool, using generator: inout RandomGenerator) -> Tensor {
        precondition(p >= 0 && p < 1, "dropout probability \(p) outside [0, 1)")
        guard training, p > 0 else { return self }
        let scale = 1 / (1 - p)
        // The mask written straight into its buffer (one draw per element, in order, as before: a resumed run
        // draws the same masks), not through a [Double] and a per-element setter.
        let keep = Tensor.empty(shape, dtype: dtype)
        switch dtype {
        case .float32:
            let (mask, kept) = (keep.pointer(as: Float.self), Float(scale))
            for index in 0..<count { mask[index] = generator.nextUnit() >= p ? kept : 0 }
        case .float64:
            let mask = keep.pointer(as: Double.self)
            for index in 0..<count { mask[index] = generator.nextUnit() >= p ? scale : 0 }
        default:
            preconditionFailure("dropout of \(dtype): convert to float32 first")
        }
        return self * keep
    }
}

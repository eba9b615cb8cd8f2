/// The one conversion between float32 and the 16-bit float formats, as PyTorch rounds them: what `.mhub` files
/// store (`hub convert --dtype f16|bf16`) and what tensors of those dtypes hold.
package enum HalfPrecision {
    /// bf16 bits of `value`, rounded to nearest even.
    ///
    /// NaN becomes 0xFFFF, as PyTorch's vectorized CPU conversion (`cvtfp32_bf16`, used by `tensor.to(torch.bfloat16)`)
    /// writes it, so converted files are byte-identical.
    @inline(__always) package static func bfloat16Bits(_ value: Float) -> UInt16 {
        if value.isNaN { return 0xFFFF }
        let bits = value.bitPattern
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    /// f16 bits of `value`, rounded to nearest even; NaN becomes a quiet NaN (0x7E00 with the sign), infinities and
    /// values past 65520 become infinity.
    ///
    /// Branch-free integer arithmetic (after F. Giesen's float_to_half_fast3_rtne) so the loop below vectorizes; equal
    /// to `Float16(value)`, as tests check on millions of bit patterns.
    @inline(__always) package static func float16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = bits & 0x8000_0000
        let magnitude = bits ^ sign
        // Subnormal or zero: adding 0.5 (as a float) aligns the 10 mantissa bits at the bottom, rounding to even.
        let denormalMagic: UInt32 = ((127 - 15) + (23 - 10) + 1) << 23
        let subnormal = UInt32(
            (Float(bitPattern: magnitude) + Float(bitPattern: denormalMagic)).bitPattern &- denormalMagic)
        // Normal: rebias the exponent and round to nearest even on bit 13.
        let normal =
            (magnitude &+ (UInt32(bitPattern: Int32(15 - 127) << 23) &+ 0xFFF) &+ ((magnitude >> 13) & 1)) >> 13
        let overflow: UInt32 = magnitude > 0x7F80_0000 ? 0x7E00 : 0x7C00
        var result = magnitude < (113 << 23) ? subnormal : normal
        result = magnitude >= ((127 + 16) << 23) ? overflow : result
        return UInt16(truncatingIfNeeded: result | (sign >> 16))
    }

    /// The float32 value of f16 bits (exact: every f16 value is a float32).
    @inline(__always) package static func float(float16 bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = Int(bits >> 10 & 0x1F)
        let mantissa = UInt32(bits & 0x3FF)
        if exponent == 0 {
            if mantissa == 0 { return Float(bitPattern: sign) }
            let value = Float(mantissa) / 1024 / 16384  // subnormal: mantissa × 2^-24
            return sign != 0 ? -value : value
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13) }
        return Float(bitPattern: sign | UInt32(exponent + 112) << 23 | mantissa << 13)
    }

    /// The float32 value of bf16 bits (its top half).
    @inline(__always) package static func float(bfloat16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }
}

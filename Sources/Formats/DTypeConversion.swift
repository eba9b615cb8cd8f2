/// Float conversions used by `--dtype`: f32 → f16 / bf16 and back, as PyTorch rounds them.
package enum DTypeConversion {
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

    /// Converts the f32 elements of `source` into `target` (f16 or bf16); `destination` holds count × 2 bytes.
    package static func convert(
        f32 source: UnsafeRawBufferPointer, to target: DType, into destination: UnsafeMutableRawBufferPointer
    ) {
        let count = source.count / 4
        precondition(destination.count == count * 2)
        guard count > 0, let input = source.baseAddress, let output = destination.baseAddress else { return }
        switch target {
        case .f16:
            for i in 0..<count {
                let value = Float(bitPattern: input.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self).littleEndian)
                output.storeBytes(of: float16Bits(value).littleEndian, toByteOffset: i * 2, as: UInt16.self)
            }
        case .bf16:
            for i in 0..<count {
                let value = Float(bitPattern: input.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self).littleEndian)
                output.storeBytes(of: bfloat16Bits(value).littleEndian, toByteOffset: i * 2, as: UInt16.self)
            }
        default:
            preconditionFailure("conversion target must be F16 or BF16")
        }
    }
}

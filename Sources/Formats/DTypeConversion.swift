/// Float conversions used by `--dtype`: f32 → f16 / bf16 and back, as PyTorch rounds them.
package enum DTypeConversion {
    /// bf16 bits of `value`, rounded to nearest even. NaN becomes 0xFFFF, as PyTorch's vectorized CPU conversion
    /// (`cvtfp32_bf16`, used by `tensor.to(torch.bfloat16)`) writes it, so converted files are byte-identical.
    @inline(__always) package static func bfloat16Bits(_ value: Float) -> UInt16 {
        if value.isNaN { return 0xFFFF }
        let bits = value.bitPattern
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    /// Converts the f32 elements of `source` into `target` (f16 or bf16); `destination` holds count × 2 bytes.
    package static func convert(f32 source: UnsafeRawBufferPointer, to target: DType, into destination: UnsafeMutableRawBufferPointer) {
        let count = source.count / 4
        precondition(destination.count == count * 2)
        guard count > 0, let input = source.baseAddress, let output = destination.baseAddress else { return }
        switch target {
        case .f16:
            for i in 0..<count {
                let value = Float(bitPattern: input.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self).littleEndian)
                output.storeBytes(of: Float16(value).bitPattern.littleEndian, toByteOffset: i * 2, as: UInt16.self)
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

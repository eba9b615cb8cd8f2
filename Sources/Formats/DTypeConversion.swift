import Support

/// The `--dtype` conversion of whole tensors: f32 → f16 / bf16 (`HalfPrecision`'s rounding).
package enum DTypeConversion {
    /// Converts the f32 elements of `source` into `target` (f16 or bf16); `destination` holds count × 2 bytes.
    package static func convert(
        f32 source: UnsafeRawBufferPointer, to target: StoredDType, into destination: UnsafeMutableRawBufferPointer
    ) {
        let count = source.count / 4
        precondition(destination.count == count * 2)
        guard count > 0, let input = source.baseAddress, let output = destination.baseAddress else { return }
        switch target {
        case .f16:
            for i in 0..<count {
                let value = Float(bitPattern: input.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self).littleEndian)
                output.storeBytes(
                    of: HalfPrecision.float16Bits(value).littleEndian, toByteOffset: i * 2, as: UInt16.self)
            }
        case .bf16:
            for i in 0..<count {
                let value = Float(bitPattern: input.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self).littleEndian)
                output.storeBytes(
                    of: HalfPrecision.bfloat16Bits(value).littleEndian, toByteOffset: i * 2, as: UInt16.self)
            }
        default:
            preconditionFailure("conversion target must be F16 or BF16")
        }
    }
}

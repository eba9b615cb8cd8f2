/// Symmetric per-row int8 quantization of F32 matrices (`int8-row` in formats/mhub.md).
///
/// For a row `w` of a `[R, C]` matrix: `s = max|w| / 127`, `q = clamp(round_half_to_even(w / s), −127, 127)`, and
/// the value read back is `q × s`, all in F32 arithmetic so any implementation reproduces the same bytes.
package enum Int8RowQuantization {
    /// The scheme's name in the metadata.
    package static let scheme = "int8-row"

    /// Quantizes `rows × columns` little-endian F32 values; nil when a value is not finite (the tensor then stays F32).
    package static func quantize(
        _ source: UnsafeRawBufferPointer, rows: Int, columns: Int
    ) -> (
        values: TensorBytes, scales: TensorBytes
    )? {
        precondition(source.count == rows * columns * 4)
        var finite = true
        let scales = TensorBytes(count: rows * 4) { scalesOut in
            for row in 0..<rows {
                var largest: Float = 0
                for column in 0..<columns {
                    let value = load(source, row * columns + column)
                    guard value.isFinite else {
                        finite = false
                        return
                    }
                    largest = max(largest, abs(value))
                }
                scalesOut.storeBytes(
                    of: (largest / 127).bitPattern.littleEndian, toByteOffset: row * 4, as: UInt32.self)
            }
        }
        guard finite else { return nil }
        let values = scales.withUnsafeBytes { scaleBytes in
            TensorBytes(count: rows * columns) { out in
                for row in 0..<rows {
                    let scale = load(scaleBytes, row)
                    for column in 0..<columns {
                        let index = row * columns + column
                        let q = scale == 0 ? 0 : (load(source, index) / scale).rounded(.toNearestOrEven)
                        out.storeBytes(of: Int8(min(max(q, -127), 127)), toByteOffset: index, as: Int8.self)
                    }
                }
            }
        }
        return (values, scales)
    }

    /// Writes `q × s` for every element into `output` (`rows × columns` F32 values).
    package static func dequantize(
        values: UnsafeRawBufferPointer, scales: UnsafeRawBufferPointer, rows: Int, columns: Int,
        into output: UnsafeMutableRawBufferPointer
    ) {
        precondition(values.count == rows * columns && scales.count == rows * 4 && output.count == rows * columns * 4)
        for row in 0..<rows {
            let scale = load(scales, row)
            for column in 0..<columns {
                let index = row * columns + column
                let value = Float(values.load(fromByteOffset: index, as: Int8.self)) * scale
                output.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: index * 4, as: UInt32.self)
            }
        }
    }

    @inline(__always) private static func load(_ bytes: UnsafeRawBufferPointer, _ index: Int) -> Float {
        Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
    }
}

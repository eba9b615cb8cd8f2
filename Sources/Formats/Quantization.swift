import Support

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
        return withFloats(source) { weights in
            var finite = true
            let scales = TensorBytes(count: rows * 4) { raw in
                let scales = raw.bindMemory(to: Float.self)
                for row in 0..<rows {
                    // On the bit patterns, so the loop vectorizes: for finite values, |x| orders as its bits do,
                    // and an all-ones exponent marks infinity or NaN.
                    var largestBits: UInt32 = 0
                    var special: UInt32 = 0
                    for value in weights[(row * columns)..<((row + 1) * columns)] {
                        let bits = value.bitPattern & 0x7FFF_FFFF
                        largestBits = Swift.max(largestBits, bits)
                        special |= (bits & 0x7F80_0000) == 0x7F80_0000 ? 1 : 0
                    }
                    finite = finite && special == 0
                    scales[row] = Float(bitPattern: largestBits) / 127
                }
            }
            guard finite else { return nil }
            let values = scales.withUnsafeBytes { raw in
                let scales = raw.bindMemory(to: Float.self)
                return TensorBytes(count: rows * columns) { out in
                    let q = out.bindMemory(to: Int8.self)
                    for row in 0..<rows {
                        let scale = scales[row]
                        let base = row * columns
                        if scale == 0 {
                            for column in 0..<columns { q[base + column] = 0 }
                            continue
                        }
                        for column in 0..<columns {
                            // Clamped to ±127, adding 1.5 × 2^23 rounds half to even (default rounding mode) and
                            // leaves the integer in the low bits: no libm `rounded` call, no trapping conversion,
                            // so the loop vectorizes on baseline x86-64.
                            var x = weights[base + column] / scale
                            x = x < -127 ? -127 : (x > 127 ? 127 : x)
                            q[base + column] = Int8(truncatingIfNeeded: (x + 12_582_912).bitPattern)
                        }
                    }
                }
            }
            return (values, scales)
        }
    }

    /// Writes `q × s` for every element into `output` (`rows × columns` F32 values).
    package static func dequantize(
        values: UnsafeRawBufferPointer, scales: UnsafeRawBufferPointer, rows: Int, columns: Int,
        into output: UnsafeMutableRawBufferPointer
    ) {
        precondition(values.count == rows * columns && scales.count == rows * 4 && output.count == rows * columns * 4)
        let q = values.bindMemory(to: Int8.self)
        let out = output.bindMemory(to: Float.self)
        withFloats(scales) { scales in
            for row in 0..<rows {
                let scale = scales[row]
                let base = row * columns
                for column in 0..<columns { out[base + column] = Float(q[base + column]) * scale }
            }
        }
    }

    /// Calls `body` with the bytes as F32 values, copying them only when they are not 4-byte aligned.
    ///
    /// safetensors does not promise alignment. Little-endian hosts only, as everywhere in Formats.
    private static func withFloats<R>(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeBufferPointer<Float>) -> R) -> R {
        if let base = bytes.baseAddress, Int(bitPattern: base) % MemoryLayout<Float>.alignment != 0 {
            let copy = [Float](unsafeUninitializedCapacity: bytes.count / 4) { buffer, count in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: bytes)
                count = bytes.count / 4
            }
            return copy.withUnsafeBufferPointer(body)
        }
        return body(bytes.bindMemory(to: Float.self))
    }
}

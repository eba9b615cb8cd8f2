import CZstd
import Support

/// Per-tensor zstd compression for `.mhub` (distribution copies), with bounded decompression.
package enum Zstd {
    /// Compresses `source` at `level` into a fresh buffer, with zstd's frame checksum on.
    package static func compress(_ source: UnsafeRawBufferPointer, level: Int32 = 3) throws -> TensorBytes {
        let bound = ZSTD_compressBound(source.count)
        guard let context = ZSTD_createCCtx() else { throw FormatError.io(path: "zstd", reason: "out of memory") }
        defer { ZSTD_freeCCtx(context) }
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1)
        var written = 0
        let scratch = try TensorBytes(count: bound) { output in
            written = ZSTD_compress2(context, output.baseAddress, bound, source.baseAddress, source.count)
            if ZSTD_isError(written) != 0 {
                throw FormatError.io(path: "zstd", reason: String(cString: ZSTD_getErrorName(written)))
            }
        }
        return scratch.withUnsafeBytes { TensorBytes(copying: UnsafeRawBufferPointer(rebasing: $0[0..<written])) }
    }

    /// Decompresses one frame that must expand to exactly `expected` bytes (checked before allocating).
    package static func decompress(
        _ source: UnsafeRawBufferPointer, expected: Int, path: String, what: String
    ) throws -> TensorBytes {
        let declared = ZSTD_getFrameContentSize(source.baseAddress, source.count)
        guard declared != ZSTD_CONTENTSIZE_ERROR, declared != ZSTD_CONTENTSIZE_UNKNOWN else {
            throw FormatError.badTensor(path: path, tensor: what, reason: "not a zstd frame that declares its size")
        }
        guard declared == UInt64(expected) else {
            throw FormatError.badTensor(
                path: path, tensor: what, reason: "zstd frame declares \(declared) bytes, the raw length is \(expected)"
            )
        }
        return try TensorBytes(count: expected) { output in
            let result = ZSTD_decompress(output.baseAddress, expected, source.baseAddress, source.count)
            guard ZSTD_isError(result) == 0, result == expected else {
                let reason = ZSTD_isError(result) != 0 ? String(cString: ZSTD_getErrorName(result)) : "short output"
                throw FormatError.badTensor(path: path, tensor: what, reason: "zstd: \(reason)")
            }
        }
    }
}

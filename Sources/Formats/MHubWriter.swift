import Support

/// Writes `.mhub` files (formats/mhub.md): blobs streamed in order, 64-byte aligned, metadata and header last,
/// through a temporary file renamed into place.
///
/// ```swift
/// let options = MHubWriter.Options(dtype: .bf16, compress: true)
/// try Converter.convert(try ModelSource.open(folder), to: "model.mhub", options: options)
/// ```
public enum MHubWriter {
    /// How tensors are stored.
    public struct Options: Sendable {
        /// Convert F32 tensors to this type (F16 or BF16); nil keeps every dtype.
        public var dtype: StoredDType?
        /// Compress each blob with zstd.
        public var compress: Bool
        public var zstdLevel: Int32
        /// Store two-dimensional F32 tensors as int8 rows with F32 scales (`int8-row`); takes precedence over `dtype`.
        public var quantizeInt8: Bool

        public init(dtype: StoredDType? = nil, compress: Bool = false, zstdLevel: Int32 = 3, quantizeInt8: Bool = false)
        {
            self.dtype = dtype
            self.compress = compress
            self.zstdLevel = zstdLevel
            self.quantizeInt8 = quantizeInt8
        }
    }

    /// Writes the file.
    ///
    /// `provenance` is asked for after the blobs are written (so hashing can run alongside); `progress` is called with
    /// (bytes of tensors done, bytes in all) after each tensor.
    public static func write(
        tensors: [PendingTensor], files: [(path: String, bytes: TensorBytes)], metadata: [(key: String, value: String)],
        provenance: () throws -> JSONObject?, options: Options, to path: String, progress: ((Int, Int) -> Void)? = nil
    ) throws {
        if let target = options.dtype, target != .f16, target != .bf16, target != .f32 {
            throw FormatError.invalidArgument("--dtype must be f32, f16 or bf16, not \(target.rawValue)")
        }
        var names = Set<String>()
        for tensor in tensors where !names.insert(tensor.record.name).inserted {
            throw FormatError.invalidArgument("\(path): tensor '\(tensor.record.name)' is given twice")
        }
        for file in files where !MHubFile.isSafeRelativePath(file.path) {
            throw FormatError.invalidArgument("\(path): carried file path '\(file.path)' is not a safe relative path")
        }
        let total = tensors.reduce(0) { $0 + $1.record.byteCount }
        try AtomicFile.write(to: path) { out in
            try out.writeZeros(MHub.headerSize)
            var tensorEntries: [JSONValue] = []
            var done = 0
            for tensor in tensors {
                var record = tensor.record
                var bytes = try tensor.bytes()
                guard bytes.count == record.byteCount else {
                    throw FormatError.badTensor(
                        path: path, tensor: record.name,
                        reason: "source gave \(bytes.count) bytes, expected \(record.byteCount)")
                }
                if options.quantizeInt8, record.dtype == .f32, record.shape.count == 2,
                    let quantized = bytes.withUnsafeBytes({
                        Int8RowQuantization.quantize($0, rows: record.shape[0], columns: record.shape[1])
                    })
                {
                    var entry = try writeBlob(quantized.values, out: out, options: options)
                    var raw = options
                    raw.compress = false
                    let scales = try writeBlob(quantized.scales, out: out, options: raw)
                    entry.prepend([
                        ("name", .string(record.name)), ("dtype", .string(record.dtype.rawValue)),
                        ("shape", .array(record.shape.map(JSONValue.int))),
                    ])
                    entry.append("quantization", .string(Int8RowQuantization.scheme))
                    entry.append("scales", .object(JSONObject(scales.entries.filter { $0.key != "encoding" })))
                    tensorEntries.append(.object(entry))
                    done += tensor.record.byteCount
                    progress?(done, total)
                    continue
                }
                if let target = options.dtype, record.dtype == .f32, target != .f32 {
                    let source = bytes
                    bytes = TensorBytes(count: record.byteCount / 2) { output in
                        source.withUnsafeBytes { DTypeConversion.convert(f32: $0, to: target, into: output) }
                    }
                    record = TensorRecord(
                        name: record.name, dtype: target, shape: record.shape, byteCount: record.byteCount / 2)
                }
                var entry = try writeBlob(bytes, out: out, options: options)
                entry.prepend([
                    ("name", .string(record.name)), ("dtype", .string(record.dtype.rawValue)),
                    ("shape", .array(record.shape.map(JSONValue.int))),
                ])
                tensorEntries.append(.object(entry))
                done += tensor.record.byteCount
                progress?(done, total)
            }
            var fileEntries: [JSONValue] = []
            for file in files {
                var entry = try writeBlob(file.bytes, out: out, options: options)
                entry.prepend([("path", .string(file.path))])
                if options.compress { entry.append("raw_length", .int(file.bytes.count)) }
                fileEntries.append(.object(entry))
            }
            try out.writeZeros(MHub.aligned(out.offset) - out.offset)
            var root = JSONObject([("tensors", .array(tensorEntries)), ("files", .array(fileEntries))])
            if !metadata.isEmpty {
                root.append("metadata", .object(JSONObject(metadata.map { ($0.key, JSONValue.string($0.value)) })))
            }
            if let provenance = try provenance() { root.append("provenance", .object(provenance)) }
            let metadataBytes = Array(JSONValue.object(root).serialized().utf8)
            let metadataOffset = out.offset
            try metadataBytes.withUnsafeBytes { try out.write($0) }
            var header = MHub.magic
            func append(_ value: UInt64, _ width: Int) {
                for i in 0..<width { header.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
            }
            append(UInt64(MHub.majorVersion), 2)
            append(UInt64(MHub.minorVersion), 2)
            append(0, 4)
            append(UInt64(metadataOffset), 8)
            append(UInt64(metadataBytes.count), 8)
            append(metadataBytes.withUnsafeBytes { XXH64.hash($0) }, 8)
            append(UInt64(metadataOffset + metadataBytes.count), 8)
            header += [UInt8](repeating: 0, count: 16)
            try header.withUnsafeBytes { try out.patch($0, at: 0) }
        }
    }

    /// Pads to the next 64-byte boundary, writes one blob and returns its placement fields.
    private static func writeBlob(_ bytes: TensorBytes, out: AtomicFile.Writer, options: Options) throws -> JSONObject {
        try out.writeZeros(MHub.aligned(out.offset) - out.offset)
        let stored =
            options.compress ? try bytes.withUnsafeBytes { try Zstd.compress($0, level: options.zstdLevel) } : bytes
        let offset = out.offset
        let checksum = try stored.withUnsafeBytes { buffer in
            try out.write(buffer)
            return XXH64.hash(buffer)
        }
        return JSONObject([
            ("offset", .int(offset)), ("length", .int(stored.count)),
            ("encoding", .string(options.compress ? MHubEncoding.zstd.rawValue : MHubEncoding.raw.rawValue)),
            ("xxh64", .string(XXH64.hex(checksum))),
        ])
    }
}

import Support

/// Constants of the `.mhub` format (specification: formats/mhub.md).
///
/// ```swift
/// MHub.alignment        // 64: every blob starts on a 64-byte boundary, so f32 tensors map zero-copy
/// ```
public enum MHub {
    /// `\x89MHUB\r\n\x1a`.
    public static let magic: [UInt8] = [0x89, 0x4D, 0x48, 0x55, 0x42, 0x0D, 0x0A, 0x1A]
    public static let majorVersion: UInt16 = 1
    public static let minorVersion: UInt16 = 0
    public static let headerSize = 64
    public static let alignment = 64
    public static let maxMetadataLength = 64 << 20
    public static let maxTensorCount = 1_000_000
    static let maxFileLength = 1 << 30

    /// The first multiple of 64 at or after `offset`.
    static func aligned(_ offset: Int) -> Int { (offset + alignment - 1) / alignment * alignment }
}

/// How a blob's bytes are stored.
///
/// ```swift
/// let mhub = try MHubFile(path: "model.mhub")
/// mhub.blob(at: 0).encoding     // .raw, or .zstd for a compressed tensor
/// ```
public enum MHubEncoding: String, Sendable {
    case raw
    case zstd
}

/// A tensor or carried file inside an `.mhub`: where its stored bytes are and how to check them.
///
/// ```swift
/// let blob = try MHubFile(path: "model.mhub").blob(at: 0)
/// print(blob.offset, blob.length, XXH64.hex(blob.xxh64))
/// ```
public struct MHubBlob: Sendable {
    public let offset: Int
    public let length: Int
    public let encoding: MHubEncoding
    public let xxh64: UInt64
    /// The decoded length (the tensor's bytes, or the file's size).
    public let rawLength: Int
}

/// A carried file (config, tokenizer) stored verbatim.
///
/// ```swift
/// for file in try MHubFile(path: "model.mhub").files { print(file.path, file.blob.length) }   // config.json, …
/// ```
public struct MHubCarriedFile: Sendable {
    public let path: String
    public let blob: MHubBlob
}

/// An `.mhub` file opened for reading: validated header, metadata and layout; tensors mapped zero-copy.
///
/// ```swift
/// let mhub = try MHubFile(path: "tiny.mhub")                  // one mapping; nothing read yet
/// let config = try mhub.config()                               // the carried config.json
/// try mhub.verify()                                            // every checksum
/// ```
public final class MHubFile: TensorArchive {
    public let path: String
    public let format = CheckpointFormat.mhub
    public let tensors: [TensorRecord]
    public let metadata: [(key: String, value: String)]
    /// Files carried verbatim, in stored order.
    public let files: [MHubCarriedFile]
    /// The `provenance` object, as stored.
    public let provenance: JSONObject?
    public let minorVersion: UInt16
    private let blobs: [MHubBlob]
    /// For each tensor, the F32 row scales of an int8-row tensor, else nil.
    private let scales: [MHubBlob?]
    private let file: MappedFile

    /// Opens `path` and checks its header, metadata checksum, schema and blob placement; reads no tensor bytes.
    public convenience init(path: String) throws {
        try self.init(file: mapFile(path))
    }

    /// Reads an already mapped file (see `init(path:)`).
    package init(file: MappedFile) throws {
        self.file = file
        let path = file.path
        self.path = path
        let bytes = file.bytes
        guard bytes.count >= MHub.headerSize else {
            throw FormatError.truncated(path: path, what: "\(bytes.count) bytes, the header needs 64")
        }
        guard UnsafeRawBufferPointer(rebasing: bytes[0..<8]).elementsEqual(MHub.magic) else {
            throw FormatError.malformed(path: path, reason: "not an .mhub file (bad magic)")
        }
        var header = ByteReader(bytes, path: path, position: 8)
        let major = try header.u16("header"), minor = try header.u16("header"), flags = try header.u32("header")
        guard major == MHub.majorVersion else {
            throw FormatError.unsupported(
                path: path,
                reason:
                    "format version \(major).\(minor) (this ModelHub reads \(MHub.majorVersion).x; a newer ModelHub wrote it)"
            )
        }
        guard flags == 0 else {
            throw FormatError.unsupported(path: path, reason: "header flags 0x\(String(flags, radix: 16))")
        }
        let metadataOffset = try header.u64("header"), metadataLength = try header.u64("header")
        let checksum = try header.u64("header"), fileLength = try header.u64("header")
        let reserved = try header.take(16, what: "header")
        guard reserved.allSatisfy({ $0 == 0 }) else {
            throw FormatError.malformed(path: path, reason: "reserved header bytes are not zero")
        }
        guard fileLength == UInt64(bytes.count) else {
            throw FormatError.truncated(path: path, what: "header says \(fileLength) bytes, file has \(bytes.count)")
        }
        guard metadataLength >= 2, metadataLength <= UInt64(MHub.maxMetadataLength) else {
            throw FormatError.malformed(path: path, reason: "metadata length \(metadataLength) is out of range")
        }
        guard metadataOffset >= UInt64(MHub.headerSize), metadataOffset % UInt64(MHub.alignment) == 0,
            metadataOffset <= UInt64(bytes.count), UInt64(bytes.count) - metadataOffset == metadataLength
        else {
            throw FormatError.malformed(
                path: path, reason: "metadata offset \(metadataOffset) and length \(metadataLength) do not end the file"
            )
        }
        let metadataStart = Int(metadataOffset)
        let metadataBytes = UnsafeRawBufferPointer(rebasing: bytes[metadataStart...])
        guard XXH64.hash(metadataBytes) == checksum else {
            throw FormatError.checksumMismatch(path: path, what: "metadata")
        }
        let root = try JSONParser.object(metadataBytes, maxDepth: 16, path: path, what: "metadata")
        guard let tensorList = root["tensors"]?.array else {
            throw FormatError.malformed(path: path, reason: "metadata has no tensors array")
        }
        guard tensorList.count <= MHub.maxTensorCount else {
            throw FormatError.malformed(path: path, reason: "more than \(MHub.maxTensorCount) tensors")
        }
        var records: [TensorRecord] = [], blobs: [MHubBlob] = [], scales: [MHubBlob?] = [], names = Set<String>()
        var expectedOffset = MHub.headerSize
        for (index, item) in tensorList.enumerated() {
            guard case .object(let entry) = item, let name = entry["name"]?.string, !name.isEmpty else {
                throw FormatError.malformed(path: path, reason: "tensor entry \(index) has no name")
            }
            guard names.insert(name).inserted else {
                throw FormatError.badTensor(path: path, tensor: name, reason: "name appears twice")
            }
            guard let dtypeName = entry["dtype"]?.string, let dtype = StoredDType(rawValue: dtypeName) else {
                throw FormatError.badTensor(
                    path: path, tensor: name, reason: "unknown dtype \(entry["dtype"]?.serialized() ?? "(missing)")")
            }
            guard let shapeValues = entry["shape"]?.array else {
                throw FormatError.badTensor(path: path, tensor: name, reason: "missing shape")
            }
            var shape: [Int] = []
            for dim in shapeValues {
                guard let extent = dim.nonNegativeInteger() else {
                    throw FormatError.badTensor(path: path, tensor: name, reason: "bad shape entry \(dim.serialized())")
                }
                shape.append(extent)
            }
            guard let byteCount = Shape.byteCount(shape, dtype) else {
                throw FormatError.badTensor(path: path, tensor: name, reason: "shape \(shape) overflows")
            }
            // An int8-row tensor stores one signed byte per element, then its F32 row scales.
            var quantizedRows: Int?
            if let scheme = entry["quantization"] {
                guard scheme.string == Int8RowQuantization.scheme else {
                    throw FormatError.unsupported(
                        path: path, reason: "tensor '\(name)': quantization \(scheme.serialized())")
                }
                guard dtype == .f32, shape.count == 2 else {
                    throw FormatError.badTensor(
                        path: path, tensor: name, reason: "int8-row quantization needs a two-dimensional F32 tensor")
                }
                quantizedRows = shape[0]
            }
            let blob = try Self.blob(
                entry, rawLength: quantizedRows == nil ? byteCount : byteCount / 4, expectedOffset: expectedOffset,
                end: metadataStart, path: path, what: name)
            expectedOffset = MHub.aligned(blob.offset + blob.length)
            var scalesBlob: MHubBlob?
            if let rows = quantizedRows {
                guard let scalesEntry = entry["scales"]?.object else {
                    throw FormatError.badTensor(
                        path: path, tensor: name, reason: "int8-row tensor has no scales object")
                }
                let scales = try Self.blob(
                    scalesEntry, rawLength: rows * 4, expectedOffset: expectedOffset, end: metadataStart, path: path,
                    what: name + " scales", encodingRequired: false)
                expectedOffset = MHub.aligned(scales.offset + scales.length)
                scalesBlob = scales
            }
            records.append(TensorRecord(name: name, dtype: dtype, shape: shape, byteCount: byteCount))
            blobs.append(blob)
            scales.append(scalesBlob)
        }
        var carried: [MHubCarriedFile] = [], paths = Set<String>()
        for (index, item) in (root["files"]?.array ?? []).enumerated() {
            guard case .object(let entry) = item, let filePath = entry["path"]?.string,
                Self.isSafeRelativePath(filePath)
            else {
                throw FormatError.malformed(path: path, reason: "file entry \(index) has a missing or unsafe path")
            }
            guard paths.insert(filePath).inserted else {
                throw FormatError.malformed(path: path, reason: "file '\(filePath)' appears twice")
            }
            let rawLength: Int
            if entry["encoding"]?.string == MHubEncoding.zstd.rawValue {
                guard let declared = entry["raw_length"]?.nonNegativeInteger(limit: MHub.maxFileLength) else {
                    throw FormatError.malformed(path: path, reason: "file '\(filePath)' has no valid raw_length")
                }
                rawLength = declared
            } else {
                rawLength = entry["length"]?.nonNegativeInteger() ?? -1
            }
            let blob = try Self.blob(
                entry, rawLength: rawLength, expectedOffset: expectedOffset, end: metadataStart, path: path,
                what: filePath)
            expectedOffset = MHub.aligned(blob.offset + blob.length)
            carried.append(MHubCarriedFile(path: filePath, blob: blob))
        }
        guard expectedOffset == metadataStart else {
            throw FormatError.malformed(
                path: path,
                reason: "metadata starts at \(metadataStart), the last blob ends (aligned) at \(expectedOffset)")
        }
        var metadata: [(key: String, value: String)] = []
        if let object = root["metadata"] {
            guard case .object(let entries) = object else {
                throw FormatError.malformed(path: path, reason: "metadata field is not an object")
            }
            for (key, value) in entries.entries {
                guard let text = value.string else {
                    throw FormatError.malformed(path: path, reason: "metadata value for '\(key)' is not a string")
                }
                metadata.append((key, text))
            }
        }
        tensors = records
        self.blobs = blobs
        self.scales = scales
        files = carried
        self.metadata = metadata
        provenance = root["provenance"]?.object
        minorVersion = minor
    }

    /// Reads and checks a blob's placement fields.
    private static func blob(
        _ entry: JSONObject, rawLength: Int, expectedOffset: Int, end: Int, path: String, what: String,
        encodingRequired: Bool = true
    ) throws -> MHubBlob {
        guard let offset = entry["offset"]?.nonNegativeInteger(), let length = entry["length"]?.nonNegativeInteger()
        else {
            throw FormatError.badTensor(
                path: path, tensor: what, reason: "offset and length must be integers in 0...2^48-1")
        }
        let encodingName = entry["encoding"]?.string ?? (encodingRequired ? nil : "raw")
        guard let encodingName, let encoding = MHubEncoding(rawValue: encodingName),
            encodingRequired || encoding == .raw
        else {
            throw FormatError.badTensor(
                path: path, tensor: what, reason: "unknown encoding \(entry["encoding"]?.serialized() ?? "(missing)")")
        }
        guard let hex = entry["xxh64"]?.string, hex.utf8.count == 16, let checksum = UInt64(hex, radix: 16) else {
            throw FormatError.badTensor(path: path, tensor: what, reason: "xxh64 must be 16 hex digits")
        }
        guard offset == expectedOffset else {
            throw FormatError.badTensor(
                path: path, tensor: what,
                reason:
                    "stored at offset \(offset), expected \(expectedOffset) (blobs are packed in order, 64-byte aligned)"
            )
        }
        guard length <= end - offset else {
            throw FormatError.badTensor(
                path: path, tensor: what, reason: "\(length) bytes at offset \(offset) run into the metadata at \(end)")
        }
        if encoding == .raw {
            guard length == rawLength else {
                throw FormatError.badTensor(
                    path: path, tensor: what, reason: "stores \(length) bytes, its dtype and shape need \(rawLength)")
            }
        }
        return MHubBlob(offset: offset, length: length, encoding: encoding, xxh64: checksum, rawLength: rawLength)
    }

    /// Whether a carried file's path is relative, `/`-separated and free of `.`, `..`, empty parts, `\` and NUL.
    public static func isSafeRelativePath(_ candidate: String) -> Bool {
        guard !candidate.isEmpty, candidate.utf8.count <= 1024, !candidate.contains("\\"), !candidate.utf8.contains(0)
        else { return false }
        return candidate.split(separator: "/", omittingEmptySubsequences: false).allSatisfy {
            !$0.isEmpty && $0 != "." && $0 != ".."
        }
    }

    private func decode(_ blob: MHubBlob, what: String, check: Bool) throws -> TensorBytes {
        let stored = file.slice(blob.offset..<(blob.offset + blob.length))
        if check {
            let actual = stored.withUnsafeBytes { XXH64.hash($0) }
            guard actual == blob.xxh64 else {
                throw FormatError.checksumMismatch(
                    path: path, what: "'\(what)' (xxh64 \(XXH64.hex(actual)), expected \(XXH64.hex(blob.xxh64)))")
            }
        }
        switch blob.encoding {
        case .raw: return stored
        case .zstd:
            return try stored.withUnsafeBytes {
                try Zstd.decompress($0, expected: blob.rawLength, path: path, what: what)
            }
        }
    }

    /// The tensor's bytes: a view of the mapping when raw, decompressed when zstd.
    ///
    /// Checksums are not checked here.
    /// An int8-row tensor is dequantized into a fresh F32 buffer.
    public func bytes(at index: Int) throws -> TensorBytes {
        try tensorBytes(at: index, check: false)
    }

    /// The tensor's bytes after checking its stored XXH64 (reads every stored byte once more).
    public func verifiedBytes(at index: Int) throws -> TensorBytes {
        try tensorBytes(at: index, check: true)
    }

    /// An int8-row tensor's stored values (R×C signed bytes) and row scales (R F32), for int8 kernels; nil when
    /// the tensor is not quantized.
    public func int8Rows(at index: Int) throws -> (values: TensorBytes, scales: TensorBytes)? {
        guard let scalesBlob = scales[index] else { return nil }
        let name = tensors[index].name
        return (
            try decode(blobs[index], what: name, check: false),
            try decode(scalesBlob, what: name + " scales", check: false)
        )
    }

    private func tensorBytes(at index: Int, check: Bool) throws -> TensorBytes {
        let record = tensors[index]
        let stored = try decode(blobs[index], what: record.name, check: check)
        guard let scalesBlob = scales[index] else { return stored }
        let scaleBytes = try decode(scalesBlob, what: record.name + " scales", check: check)
        return TensorBytes(count: record.byteCount) { output in
            stored.withUnsafeBytes { values in
                scaleBytes.withUnsafeBytes { scales in
                    Int8RowQuantization.dequantize(
                        values: values, scales: scales, rows: record.shape[0], columns: record.shape[1], into: output)
                }
            }
        }
    }

    /// How tensor `index` is stored (for an int8-row tensor, its int8 values).
    public func blob(at index: Int) -> MHubBlob { blobs[index] }

    /// The quantization scheme of tensor `index` (`"int8-row"`), or nil for a plain tensor.
    public func quantization(at index: Int) -> String? { scales[index] == nil ? nil : Int8RowQuantization.scheme }

    /// The bytes of a carried file, checked against its checksum (they are small).
    public func fileBytes(_ relativePath: String) throws -> TensorBytes? {
        guard let entry = files.first(where: { $0.path == relativePath }) else { return nil }
        return try decode(entry.blob, what: relativePath, check: true)
    }

    /// The carried `config.json`, parsed, if present.
    public func config() throws -> JSONObject? {
        guard let bytes = try fileBytes("config.json") else { return nil }
        do {
            return try bytes.withUnsafeBytes { buffer throws(JSONParser.Failure) in try JSONParser.parse(buffer).object
            }
        } catch {
            throw FormatError.malformed(path: path, reason: "carried config.json: \(error)")
        }
    }

    /// Reads every blob, checks every checksum and decompresses every zstd blob.
    public func verify() throws {
        for (index, blob) in blobs.enumerated() {
            _ = try decode(blob, what: tensors[index].name, check: true)
            if let scalesBlob = scales[index] {
                _ = try decode(scalesBlob, what: tensors[index].name + " scales", check: true)
            }
        }
        for entry in files { _ = try decode(entry.blob, what: entry.path, check: true) }
    }
}

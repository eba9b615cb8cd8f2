import Support

/// A `.safetensors` file, read through mmap with the checks of the reference implementation
/// (huggingface/safetensors `src/tensor.rs`): bounded header, strict JSON, known dtypes, byte lengths equal to
/// shape × item size (overflow-checked), offsets in bounds, contiguous, non-overlapping and covering the data.
///
/// Layout: 8-byte little-endian header length `N`, `N` bytes of JSON
/// `{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}`, then the data.
///
/// ```swift
/// let file = try SafeTensorsFile(path: "model.safetensors")
/// let first = try file.bytes(at: 0)            // borrowed from the mapping
/// ```
public final class SafeTensorsFile: TensorArchive {
    /// Largest header the reference accepts (100 MB).
    public static let maxHeaderLength = 100_000_000
    /// Most tensors one file may declare (a DoS bound; real models have a few thousand).
    public static let maxTensorCount = 1_000_000

    public let path: String
    public let format = CheckpointFormat.safetensors
    public let tensors: [TensorRecord]
    public let metadata: [(key: String, value: String)]
    private let file: MappedFile
    /// Absolute byte range of each tensor within the file.
    private let ranges: [Range<Int>]

    /// Opens and validates `path`; no tensor bytes are read.
    public convenience init(path: String) throws {
        try self.init(file: mapFile(path))
    }

    init(file: MappedFile) throws {
        self.file = file
        path = file.path
        let bytes = file.bytes
        guard bytes.count >= 8 else {
            throw FormatError.truncated(path: path, what: "header length needs 8 bytes, file has \(bytes.count)")
        }
        let declared = bytes.littleEndian(at: 0, width: 8)
        guard declared <= UInt64(Self.maxHeaderLength) else {
            throw FormatError.malformed(
                path: path, reason: "header length \(declared) exceeds the \(Self.maxHeaderLength)-byte limit")
        }
        let headerLength = Int(declared)
        guard headerLength <= bytes.count - 8 else {
            throw FormatError.truncated(
                path: path, what: "header declares \(headerLength) bytes, only \(bytes.count - 8) follow")
        }
        let header = UnsafeRawBufferPointer(rebasing: bytes[8..<8 + headerLength])
        let object = try JSONParser.object(header, maxDepth: 8, path: path, what: "header")
        guard object.count <= Self.maxTensorCount + 1 else {
            throw FormatError.malformed(path: path, reason: "header declares more than \(Self.maxTensorCount) tensors")
        }
        var metadata: [(key: String, value: String)] = []
        var declaredTensors: [(record: TensorRecord, begin: Int, end: Int)] = []
        for (name, value) in object.entries {
            if name == "__metadata__" {
                guard case .object(let entries) = value else {
                    throw FormatError.malformed(path: path, reason: "__metadata__ is not an object")
                }
                for (key, item) in entries.entries {
                    guard case .string(let text) = item else {
                        throw FormatError.malformed(
                            path: path, reason: "__metadata__ value for '\(key)' is not a string")
                    }
                    metadata.append((key, text))
                }
                continue
            }
            declaredTensors.append(try Self.parseEntry(name, value, path: path))
        }
        // Data offsets are relative to the end of the header; they must tile the data region exactly.
        let dataStart = 8 + headerLength
        let dataLength = bytes.count - dataStart
        let order = declaredTensors.indices.sorted {
            (declaredTensors[$0].begin, declaredTensors[$0].end) < (declaredTensors[$1].begin, declaredTensors[$1].end)
        }
        var expected = 0
        for index in order {
            let entry = declaredTensors[index]
            guard entry.begin == expected else {
                let reason = entry.begin < expected ? "overlaps the previous tensor" : "leaves a gap before it"
                throw FormatError.badTensor(
                    path: path, tensor: entry.record.name,
                    reason: "data_offsets [\(entry.begin), \(entry.end)] \(reason)")
            }
            expected = entry.end
        }
        guard expected == dataLength else {
            let reason =
                expected > dataLength
                ? "tensor data ends at \(expected) but only \(dataLength) bytes follow the header"
                : "\(dataLength - expected) bytes follow the last tensor"
            throw FormatError.malformed(path: path, reason: reason)
        }
        tensors = declaredTensors.map(\.record)
        ranges = declaredTensors.map { (dataStart + $0.begin)..<(dataStart + $0.end) }
        self.metadata = metadata
    }

    private static func parseEntry(
        _ name: String, _ value: JSONValue, path: String
    ) throws -> (record: TensorRecord, begin: Int, end: Int) {
        guard case .object(let fields) = value else {
            throw FormatError.badTensor(path: path, tensor: name, reason: "entry is not an object")
        }
        for key in fields.keys where !["dtype", "shape", "data_offsets"].contains(key) {
            throw FormatError.badTensor(path: path, tensor: name, reason: "unknown field '\(key)'")
        }
        guard let dtypeName = fields["dtype"]?.string else {
            throw FormatError.badTensor(path: path, tensor: name, reason: "missing dtype")
        }
        guard let dtype = StoredDType(rawValue: dtypeName) else {
            throw FormatError.badTensor(path: path, tensor: name, reason: "unknown dtype '\(dtypeName)'")
        }
        guard let shapeValues = fields["shape"]?.array else {
            throw FormatError.badTensor(path: path, tensor: name, reason: "missing shape")
        }
        var shape: [Int] = []
        for dim in shapeValues {
            guard let extent = dim.nonNegativeInteger() else {
                throw FormatError.badTensor(
                    path: path, tensor: name, reason: "shape entry \(dim.serialized()) is not an integer in 0...2^48-1")
            }
            shape.append(extent)
        }
        guard let offsets = fields["data_offsets"]?.array, offsets.count == 2,
            let begin = offsets[0].nonNegativeInteger(), let end = offsets[1].nonNegativeInteger()
        else {
            throw FormatError.badTensor(
                path: path, tensor: name, reason: "data_offsets must be two integers in 0...2^48-1")
        }
        guard begin <= end else {
            throw FormatError.badTensor(path: path, tensor: name, reason: "data_offsets begin \(begin) > end \(end)")
        }
        guard let byteCount = Shape.byteCount(shape, dtype) else {
            throw FormatError.badTensor(
                path: path, tensor: name, reason: "shape \(shape) × \(dtype.itemSize) bytes overflows")
        }
        guard end - begin == byteCount else {
            throw FormatError.badTensor(
                path: path, tensor: name,
                reason: "\(end - begin) bytes in data_offsets, but \(dtype.rawValue) \(shape) needs \(byteCount)")
        }
        return (TensorRecord(name: name, dtype: dtype, shape: shape, byteCount: byteCount), begin, end)
    }

    public func bytes(at index: Int) throws -> TensorBytes {
        file.slice(ranges[index])
    }
}

/// Writes `.safetensors` files as the reference does: tensors ordered by alignment then name, header padded
/// with spaces to 8 bytes, `__metadata__` first; written to a temporary file and renamed into place.
///
/// ```swift
/// let record = TensorRecord(name: "bias", dtype: .f32, shape: [2], byteCount: 8)
/// let bias = PendingTensor(record: record) { TensorBytes(copying: UnsafeRawBufferPointer(start: nil, count: 0)) }
/// try SafeTensorsWriter.write([bias], metadata: [("format", "pt")], to: "bias.safetensors")
/// ```
public enum SafeTensorsWriter {
    /// Position of a dtype in the reference implementation's `Dtype` enum (safetensors/src/tensor.rs).
    static func rank(_ dtype: StoredDType) -> Int {
        switch dtype {
        case .bool: 0
        case .u8: 1
        case .i8: 2
        case .f8e5m2: 3
        case .f8e4m3: 4
        case .i16: 5
        case .u16: 6
        case .f16: 7
        case .bf16: 8
        case .i32: 9
        case .u32: 10
        case .f32: 11
        case .f64: 12
        case .i64: 13
        case .u64: 14
        }
    }

    /// Writes `entries` to `path` atomically.
    public static func write(
        _ entries: [PendingTensor], metadata: [(key: String, value: String)], to path: String
    ) throws {
        var seen = Set<String>()
        for entry in entries {
            guard entry.record.name != "__metadata__" else {
                throw FormatError.invalidArgument("\(path): a tensor may not be named __metadata__")
            }
            guard seen.insert(entry.record.name).inserted else {
                throw FormatError.invalidArgument("\(path): tensor '\(entry.record.name)' is given twice")
            }
        }
        // The reference writer's order: dtypes by descending rank of its `Dtype` enum (wider first, for alignment),
        // then names by bytes. Matching it makes exported files byte-identical to Python's.
        let ordered = entries.sorted { a, b in
            let left = Self.rank(a.record.dtype), right = Self.rank(b.record.dtype)
            return left != right ? left > right : a.record.name.utf8.lexicographicallyPrecedes(b.record.name.utf8)
        }
        var header = JSONObject()
        if !metadata.isEmpty {
            header.append("__metadata__", .object(JSONObject(metadata.map { ($0.key, JSONValue.string($0.value)) })))
        }
        var offset = 0
        for entry in ordered {
            let record = entry.record
            header.append(
                record.name,
                .object(
                    JSONObject([
                        ("dtype", .string(record.dtype.rawValue)),
                        ("shape", .array(record.shape.map(JSONValue.int))),
                        ("data_offsets", .array([.int(offset), .int(offset + record.byteCount)])),
                    ])))
            offset += record.byteCount
        }
        var headerBytes = Array(JSONValue.object(header).serialized().utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        try AtomicFile.write(to: path) { out in
            var length = UInt64(headerBytes.count).littleEndian
            try withUnsafeBytes(of: &length) { try out.write($0) }
            try headerBytes.withUnsafeBytes { try out.write($0) }
            for entry in ordered {
                let bytes = try entry.bytes()
                guard bytes.count == entry.record.byteCount else {
                    throw FormatError.invalidArgument(
                        "\(path): tensor '\(entry.record.name)' has \(bytes.count) bytes, expected \(entry.record.byteCount)"
                    )
                }
                try bytes.withUnsafeBytes { try out.write($0) }
            }
        }
    }
}

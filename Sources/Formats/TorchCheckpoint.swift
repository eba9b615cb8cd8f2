import Support

/// A PyTorch checkpoint: the zip format of `torch.save` (≥ 1.6) or the legacy stream format before it.
///
/// Zip: `<prefix>/data.pkl` (the pickled state dict whose tensors refer to storages by key) and
/// `<prefix>/data/<key>` (each storage's raw little-endian bytes). Legacy (`_use_new_zipfile_serialization=False`):
/// five pickles back to back — magic number, protocol version 1001, sys_info, the state dict, the sorted storage
/// keys — then each storage as an 8-byte element count and its bytes. See `torch/serialization.py`.
///
/// Tensors are views (offset, shape, strides) of storages; several may share one (tied weights). A contiguous
/// view is returned zero-copy from the mapping; a strided one is gathered into a fresh buffer.
///
/// ```swift
/// let checkpoint = try TorchCheckpoint(path: "pytorch_model.bin")     // zip or legacy; the pickle is interpreted
/// ```
public final class TorchCheckpoint: TensorArchive {
    public let path: String
    public let format: CheckpointFormat
    public let tensors: [TensorRecord]
    public let metadata: [(key: String, value: String)] = []
    private let file: MappedFile
    private let views: [PickleTensor]
    /// Absolute byte range of each storage in the file.
    private let storages: [String: Range<Int>]
    private let archive: ZipArchive?

    /// The 10-byte legacy magic number 0x1950a86a20f9469cfc6c, little-endian as LONG1 stores it.
    static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    /// Opens a zip or legacy checkpoint at `path`, validating every tensor's view against its storage.
    public convenience init(path: String) throws {
        try self.init(file: mapFile(path))
    }

    /// Reads an already mapped file (see `init(path:)`).
    package convenience init(file: MappedFile) throws {
        if file.bytes.count >= 4, file.bytes.littleEndian(at: 0, width: 4) == 0x0403_4b50 {
            try self.init(zip: ZipArchive(file: file))
        } else {
            try self.init(legacy: file)
        }
    }

    private init(
        file: MappedFile, format: CheckpointFormat, zip: ZipArchive?, state: [(String, PickleTensor)],
        storages: [String: Range<Int>]
    ) throws {
        self.file = file
        path = file.path
        self.format = format
        self.archive = zip
        self.storages = storages
        var records: [TensorRecord] = []
        for (name, view) in state {
            records.append(try Self.validate(name, view, storages[view.storage.key], path: file.path))
        }
        tensors = records
        views = state.map(\.1)
    }

    private convenience init(zip: ZipArchive) throws {
        let path = zip.path
        let pickles = zip.names.filter { name in
            let parts = name.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 2 && parts[1] == "data.pkl" && !parts[0].isEmpty
        }
        guard pickles.count == 1, let pickleName = pickles.first else {
            throw FormatError.malformed(
                path: path,
                reason: pickles.isEmpty
                    ? "zip archive has no <name>/data.pkl: not a PyTorch checkpoint"
                    : "zip archive has several data.pkl records")
        }
        let prefix = String(pickleName.dropLast("data.pkl".count))
        if let order = zip.data(prefix + "byteorder") {
            let text = order.withUnsafeBytes { String(decoding: $0.prefix(16), as: UTF8.self) }
            guard text == "little" else {
                throw FormatError.unsupported(
                    path: path, reason: "byte order '\(text)' (only little-endian checkpoints)")
            }
        }
        guard let program = zip.data(pickleName) else {
            throw FormatError.malformed(path: path, reason: "missing \(pickleName)")
        }
        // The pickle is small and decides everything read later: check its CRC now (storages are checked by verify).
        try zip.verifyCRC(pickleName)
        var declared: [String: PickleStorage] = [:]
        let (state, end) = try program.withUnsafeBytes {
            try Unpickler.run(
                $0, path: "\(path):\(pickleName)",
                persistentLoad: { id in
                    let storage = try Self.storageReference(id, legacy: false)
                    if let previous = declared[storage.key], previous != storage {
                        throw PickleRejection(
                            "storage '\(storage.key)' is declared twice with different types or sizes")
                    }
                    declared[storage.key] = storage
                    return .storage(storage)
                }, extract: { try Self.stateDict($0) })
        }
        guard end == program.count else {
            throw FormatError.badPickle(
                path: "\(path):\(pickleName)", offset: end, reason: "\(program.count - end) bytes after STOP")
        }
        var ranges: [String: Range<Int>] = [:]
        for (key, storage) in declared {
            guard let entry = zip.entries[prefix + "data/" + key] else {
                throw FormatError.malformed(path: path, reason: "storage record '\(prefix)data/\(key)' is missing")
            }
            let expected = storage.elementCount * storage.dtype.itemSize
            guard entry.data.count == expected else {
                throw FormatError.malformed(
                    path: path,
                    reason:
                        "storage record '\(key)' has \(entry.data.count) bytes, its \(storage.elementCount) \(storage.dtype.rawValue) elements need \(expected)"
                )
            }
            ranges[key] = entry.data
        }
        try self.init(file: zip.file, format: .torchZip, zip: zip, state: state, storages: ranges)
    }

    private convenience init(legacy file: MappedFile) throws {
        let path = file.path
        let bytes = file.bytes
        if bytes.count >= 262, UnsafeRawBufferPointer(rebasing: bytes[257..<262]).elementsEqual("ustar".utf8) {
            throw FormatError.unsupported(path: path, reason: "tar-format PyTorch checkpoints (before PyTorch 0.1.10)")
        }
        guard bytes.count >= 2, bytes[0] == 0x80 else {
            throw FormatError.malformed(
                path: path, reason: "not a PyTorch checkpoint (neither a zip archive nor a pickle stream)")
        }
        let (magic, afterMagic) = try Unpickler.run(bytes, path: path) { value -> Bool in
            if case .bigInt(let raw) = value { return raw == Self.legacyMagic }
            return false
        }
        guard magic else {
            throw FormatError.malformed(path: path, reason: "pickle stream does not start with PyTorch's magic number")
        }
        let (protocolVersion, afterVersion) = try Unpickler.run(bytes, path: path, start: afterMagic) { value -> Int? in
            if case .int(let number) = value { return number }
            return nil
        }
        guard protocolVersion == 1001 else {
            throw FormatError.unsupported(
                path: path, reason: "legacy protocol version \(protocolVersion.map(String.init) ?? "?") (expected 1001)"
            )
        }
        let (littleEndian, afterInfo) = try Unpickler.run(bytes, path: path, start: afterVersion) { value -> Bool in
            guard case .dict(let info) = value else { return false }
            return info.items.contains { item in
                if case .string("little_endian") = item.key, case .bool(true) = item.value { return true }
                return false
            }
        }
        guard littleEndian else {
            throw FormatError.unsupported(path: path, reason: "sys_info does not say little_endian: True")
        }
        var declared: [String: PickleStorage] = [:]
        let (state, afterState) = try Unpickler.run(
            bytes, path: path, start: afterInfo,
            persistentLoad: { id in
                let storage = try Self.storageReference(id, legacy: true)
                if let previous = declared[storage.key], previous != storage {
                    throw PickleRejection("storage '\(storage.key)' is declared twice with different types or sizes")
                }
                declared[storage.key] = storage
                return .storage(storage)
            }, extract: { try Self.stateDict($0) })
        let (keys, afterKeys) = try Unpickler.run(bytes, path: path, start: afterState) { value -> [String]? in
            guard case .list(let list) = value else { return nil }
            var keys: [String] = []
            for item in list.items {
                guard case .string(let key) = item else { return nil }
                keys.append(key)
            }
            return keys
        }
        guard let keys, Set(keys) == Set(declared.keys), keys.count == declared.count else {
            throw FormatError.malformed(
                path: path, reason: "storage key list does not match the storages the state dict uses")
        }
        var reader = ByteReader(bytes, path: path, position: afterKeys)
        var ranges: [String: Range<Int>] = [:]
        for key in keys {
            guard let storage = declared[key] else { continue }
            let count = try reader.u64("element count of storage '\(key)'")
            guard count == UInt64(storage.elementCount) else {
                throw FormatError.malformed(
                    path: path,
                    reason: "storage '\(key)' holds \(count) elements, the state dict declares \(storage.elementCount)")
            }
            let length = storage.elementCount * storage.dtype.itemSize
            let start = reader.position
            try reader.skip(length, what: "storage '\(key)' (\(length) bytes at \(start))")
            ranges[key] = start..<(start + length)
        }
        guard reader.isAtEnd else {
            throw FormatError.malformed(path: path, reason: "\(reader.remaining) bytes after the last storage")
        }
        try self.init(file: file, format: .torchLegacy, zip: nil, state: state, storages: ranges)
    }

    /// Reads PyTorch's persistent id `('storage', StorageType, key, location, numel[, view_metadata])`.
    package static func storageReference(_ id: PickleValue, legacy: Bool) throws -> PickleStorage {
        guard case .tuple(let items, _) = id, items.count == (legacy ? 6 : 5) else {
            throw PickleRejection("persistent id is not a \(legacy ? 6 : 5)-tuple")
        }
        guard case .string("storage") = items[0] else { throw PickleRejection("persistent id is not a storage") }
        guard case .global(let type) = items[1], let dtype = type.storageDType else {
            throw PickleRejection("persistent id has an unknown storage type (\(items[1].kind))")
        }
        guard case .string(let key) = items[2], !key.isEmpty, key.utf8.count <= 64, !key.contains("/") else {
            throw PickleRejection("storage key is not a short string")
        }
        guard case .string = items[3] else { throw PickleRejection("storage location is not a string") }
        guard case .int(let count) = items[4], count >= 0, count <= Shape.maxExtent / dtype.itemSize else {
            throw PickleRejection("storage size is not an integer in range")
        }
        if legacy, case .none = items[5] {
        } else if legacy {
            throw PickleRejection("legacy storage views (view_metadata) are not supported")
        }
        return PickleStorage(key: key, dtype: dtype, elementCount: count)
    }

    /// The name → tensor pairs of a state dict, also when it sits under "state_dict", "model" or "module".
    package static func stateDict(_ value: PickleValue) throws -> [(String, PickleTensor)] {
        guard case .dict(let dict) = value else {
            throw PickleRejection("top-level object is a \(value.kind), not a dict of tensors")
        }
        let holdsOnlyTensors = dict.items.allSatisfy {
            if case .tensor = $0.value { return true } else { return false }
        }
        if !holdsOnlyTensors {
            for wrapper in ["state_dict", "model", "module"] {
                let inner = dict.items.first { item in
                    if case .string(wrapper) = item.key, case .dict = item.value { return true } else { return false }
                }
                if let inner { return try stateDict(inner.value) }
            }
        }
        var result: [(String, PickleTensor)] = []
        var seen = Set<String>()
        for (key, item) in dict.items {
            guard case .string(let name) = key else {
                throw PickleRejection("state dict key is a \(key.kind), not a string")
            }
            guard case .tensor(let tensor) = item else {
                throw PickleRejection("value of '\(name)' is a \(item.kind), not a tensor")
            }
            guard seen.insert(name).inserted else { throw PickleRejection("state dict key '\(name)' appears twice") }
            result.append((name, tensor))
        }
        return result
    }

    /// Checks that every element of the view lies inside its storage (checked arithmetic throughout).
    private static func validate(
        _ name: String, _ view: PickleTensor, _ storage: Range<Int>?, path: String
    ) throws -> TensorRecord {
        guard storage != nil else {
            throw FormatError.badTensor(path: path, tensor: name, reason: "storage '\(view.storage.key)' is missing")
        }
        let dtype = view.storage.dtype
        guard let byteCount = Shape.byteCount(view.shape, dtype), let count = Shape.elementCount(view.shape) else {
            throw FormatError.badTensor(path: path, tensor: name, reason: "shape \(view.shape) overflows")
        }
        if count > 0 {
            var last = view.offset
            for (size, stride) in zip(view.shape, view.strides) {
                let (step, o1) = (size - 1).multipliedReportingOverflow(by: stride)
                let (sum, o2) = last.addingReportingOverflow(step)
                guard !o1, !o2 else {
                    throw FormatError.badTensor(path: path, tensor: name, reason: "strides overflow")
                }
                last = sum
            }
            guard last < view.storage.elementCount else {
                throw FormatError.badTensor(
                    path: path, tensor: name,
                    reason:
                        "view (offset \(view.offset), shape \(view.shape), stride \(view.strides)) reaches element \(last) of a \(view.storage.elementCount)-element storage"
                )
            }
        } else {
            guard view.offset <= view.storage.elementCount else {
                throw FormatError.badTensor(
                    path: path, tensor: name, reason: "storage offset \(view.offset) is past the storage")
            }
        }
        return TensorRecord(name: name, dtype: dtype, shape: view.shape, byteCount: byteCount)
    }

    public func bytes(at index: Int) throws -> TensorBytes {
        let view = views[index]
        let record = tensors[index]
        guard let storage = storages[view.storage.key] else {
            throw FormatError.badTensor(path: path, tensor: record.name, reason: "storage missing")
        }
        let item = record.dtype.itemSize
        let start = storage.lowerBound + view.offset * item
        if Self.isContiguous(shape: view.shape, strides: view.strides) {
            return file.slice(start..<(start + record.byteCount))
        }
        let source = file.bytes
        return TensorBytes(count: record.byteCount) { output in
            Self.gather(
                from: source, start: start, shape: view.shape, strides: view.strides, itemSize: item, into: output)
        }
    }

    /// Whether row-major order over `shape` visits consecutive elements (dimensions of size 1 don't matter).
    static func isContiguous(shape: [Int], strides: [Int]) -> Bool {
        var expected = 1
        for (size, stride) in zip(shape, strides).reversed() where size != 1 {
            if size == 0 { return true }
            guard stride == expected else { return false }
            expected *= size
        }
        return true
    }

    /// Copies a strided view into contiguous row-major order.
    static func gather(
        from source: UnsafeRawBufferPointer, start: Int, shape: [Int], strides: [Int], itemSize: Int,
        into output: UnsafeMutableRawBufferPointer
    ) {
        let count = shape.reduce(1, *)
        guard count > 0, let src = source.baseAddress, let dst = output.baseAddress else { return }
        var index = [Int](repeating: 0, count: shape.count)
        var offset = start
        for element in 0..<count {
            (dst + element * itemSize).copyMemory(from: src + offset, byteCount: itemSize)
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                offset += strides[axis] * itemSize
                if index[axis] < shape[axis] { break }
                offset -= strides[axis] * itemSize * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }

    public func verify() throws {
        if let archive {
            for name in archive.names { try archive.verifyCRC(name) }
        }
        for index in tensors.indices { _ = try bytes(at: index) }
    }
}

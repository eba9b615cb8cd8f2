import Support

/// Opens any weights file ModelHub reads, choosing the reader by the file's first bytes; the name only decides
/// which reader explains why a file with no known signature is bad.
///
/// ```swift
/// let archive = try Checkpoint.open("model.safetensors")      // or .bin, .pt, .mhub, an index.json
/// for (index, record) in archive.tensors.enumerated() {
///     print(record.name, record.shape, try archive.bytes(at: index).count)
/// }
/// ```
public enum Checkpoint {
    /// Opens a `.safetensors`, PyTorch zip or legacy `.bin/.pt/.pth`, `.mhub`, or a sharded `*.index.json`.
    public static func open(_ path: String) throws -> TensorArchive {
        if path.hasSuffix(".index.json") { return try ShardedCheckpoint(indexPath: path) }
        // One mapping, handed to the reader that keeps it (and so keeps `bytes` valid while they are read here).
        let file = try mapFile(path)
        defer { withExtendedLifetime(file) {} }
        let bytes = file.bytes
        if bytes.count >= 8, bytes[0..<8].elementsEqual(MHub.magic) { return try MHubFile(file: file) }
        if bytes.count >= 4,
            bytes.littleEndian(at: 0, width: 4) == 0x0403_4b50 || bytes.littleEndian(at: 0, width: 4) == 0x0605_4b50
        {
            return try TorchCheckpoint(file: file)
        }
        // safetensors has no magic: an 8-byte length, then a JSON object (leading spaces allowed, as in the reference).
        // Checked before the pickle signature: a header length whose low byte is 0x80 looks like PROTO.
        let jsonStart = bytes.count > 8 ? bytes[8...].first { $0 != 0x20 } : nil
        if path.hasSuffix(".safetensors") || jsonStart == UInt8(ascii: "{") { return try SafeTensorsFile(file: file) }
        if bytes.count >= 1, bytes[0] == 0x80 { return try TorchCheckpoint(file: file) }
        if bytes.count >= 262, bytes[257..<262].elementsEqual("ustar".utf8) { return try TorchCheckpoint(file: file) }
        if path.hasSuffix(".mhub") { return try MHubFile(file: file) }
        throw FormatError.unsupported(
            path: path, reason: "unrecognized file: not safetensors, a PyTorch checkpoint (zip or pickle) or .mhub")
    }
}

/// A checkpoint split over several files by `model.safetensors.index.json` or `pytorch_model.bin.index.json`.
///
/// The index's `weight_map` names, for each tensor, the shard that holds it; shard names must be plain file names
/// in the index's folder. Every tensor listed must be in its shard, and no tensor may appear in two shards.
///
/// ```swift
/// let sharded = try ShardedCheckpoint(indexPath: "model.safetensors.index.json")
/// ```
public final class ShardedCheckpoint: TensorArchive {
    public let path: String
    public let format: CheckpointFormat
    public let tensors: [TensorRecord]
    public let metadata: [(key: String, value: String)]
    /// The shard files, in the order first named by the index.
    public let shardPaths: [String]
    private let shards: [TensorArchive]
    private let locations: [(shard: Int, index: Int)]
    static let maxIndexLength = 64 << 20

    public init(indexPath: String) throws {
        path = indexPath
        let file = try mapFile(indexPath)
        guard file.bytes.count <= Self.maxIndexLength else {
            throw FormatError.malformed(path: indexPath, reason: "index file is larger than 64 MiB")
        }
        let json: JSONValue
        do {
            json = try withExtendedLifetime(file) { () throws(JSONParser.Failure) in
                try JSONParser.parse(file.bytes, maxDepth: 8)
            }
        } catch {
            throw FormatError.malformed(path: indexPath, reason: "\(error)")
        }
        guard let weightMap = json.object?["weight_map"]?.object else {
            throw FormatError.malformed(path: indexPath, reason: "index has no weight_map object")
        }
        let folder = indexPath.lastIndex(of: "/").map { String(indexPath[...$0]) } ?? ""
        var order: [String] = [], expected: [String: Set<String>] = [:]
        for (name, value) in weightMap.entries {
            guard let shard = value.string, MHubFile.isSafeRelativePath(shard), !shard.contains("/") else {
                throw FormatError.malformed(
                    path: indexPath, reason: "weight_map entry for '\(name)' is not a plain file name")
            }
            if expected[shard] == nil { order.append(shard) }
            expected[shard, default: []].insert(name)
        }
        var shards: [TensorArchive] = [], records: [TensorRecord] = [], locations: [(Int, Int)] = []
        var seen = Set<String>()
        for (shardIndex, shard) in order.enumerated() {
            let archive = try Checkpoint.open(folder + shard)
            guard !(archive is ShardedCheckpoint), !(archive is MHubFile) else {
                throw FormatError.malformed(path: indexPath, reason: "shard '\(shard)' is not a weights file")
            }
            let present = Set(archive.tensors.map(\.name))
            if let missing = expected[shard]?.subtracting(present).sorted().first {
                throw FormatError.malformed(path: indexPath, reason: "tensor '\(missing)' is not in shard '\(shard)'")
            }
            for (index, record) in archive.tensors.enumerated() {
                guard seen.insert(record.name).inserted else {
                    throw FormatError.malformed(
                        path: indexPath, reason: "tensor '\(record.name)' appears in more than one shard")
                }
                records.append(record)
                locations.append((shardIndex, index))
            }
            shards.append(archive)
        }
        guard let first = shards.first else {
            throw FormatError.malformed(path: indexPath, reason: "weight_map is empty")
        }
        guard shards.allSatisfy({ $0.format == first.format }) else {
            throw FormatError.malformed(path: indexPath, reason: "shards are of different formats")
        }
        format = first.format
        metadata = first.metadata
        self.shards = shards
        shardPaths = order.map { folder + $0 }
        tensors = records
        self.locations = locations
    }

    public func bytes(at index: Int) throws -> TensorBytes {
        let location = locations[index]
        return try shards[location.shard].bytes(at: location.index)
    }

    public func verify() throws {
        for shard in shards { try shard.verify() }
    }
}

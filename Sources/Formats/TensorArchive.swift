import Support

/// The file formats ModelHub reads, as `hub inspect --json` spells them.
///
/// ```swift
/// try Checkpoint.open("pytorch_model.bin").format     // .torchZip
/// ```
public enum CheckpointFormat: String, Sendable {
    case safetensors
    case torchZip = "torch-zip"
    case torchLegacy = "torch-legacy"
    case mhub
}

/// One named tensor of a checkpoint: what it is, not its bytes (nothing is read until asked for).
///
/// ```swift
/// let record = TensorRecord(name: "weight", dtype: .f32, shape: [2, 3], byteCount: 24)
/// ```
public struct TensorRecord: Sendable, Equatable {
    public let name: String
    public let dtype: StoredDType
    public let shape: [Int]
    /// Size of the tensor's contiguous bytes (elements × item size).
    public let byteCount: Int

    public init(name: String, dtype: StoredDType, shape: [Int], byteCount: Int) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.byteCount = byteCount
    }

    /// Number of elements.
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A tensor to write: its record, and a way to get its bytes when the writer reaches it (so a conversion holds
/// one tensor's bytes at a time).
///
/// ```swift
/// let record = TensorRecord(name: "scale", dtype: .f32, shape: [1], byteCount: 4)
/// let pending = PendingTensor(record: record) { TensorBytes(copying: withUnsafeBytes(of: Float(2)) { $0 }) }
/// ```
public struct PendingTensor {
    public let record: TensorRecord
    public let bytes: () throws -> TensorBytes

    public init(record: TensorRecord, bytes: @escaping () throws -> TensorBytes) {
        self.record = record
        self.bytes = bytes
    }
}

/// A checkpoint opened for reading: named tensors whose bytes are produced on demand.
///
/// ```swift
/// let archive: TensorArchive = try Checkpoint.open(path)
/// archive.parameterCount
/// ```
public protocol TensorArchive: AnyObject {
    /// The file (or index file) the archive was opened from.
    var path: String { get }
    var format: CheckpointFormat { get }
    /// The tensors in file order.
    var tensors: [TensorRecord] { get }
    /// String metadata (safetensors `__metadata__`); empty for formats without it.
    var metadata: [(key: String, value: String)] { get }
    /// The contiguous little-endian bytes of tensor `index` (zero-copy where the file layout allows).
    func bytes(at index: Int) throws -> TensorBytes
    /// Reads every byte and checks what the format lets us check (sizes, checksums).
    func verify() throws
}

extension TensorArchive {
    /// The bytes of the tensor named `name`.
    public func bytes(named name: String) throws -> TensorBytes {
        guard let index = tensors.firstIndex(where: { $0.name == name }) else {
            throw FormatError.invalidArgument("\(path): no tensor named '\(name)'")
        }
        return try bytes(at: index)
    }

    /// Total parameter count (elements of every tensor).
    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.elementCount } }

    /// Total tensor bytes.
    public var tensorByteCount: Int { tensors.reduce(0) { $0 + $1.byteCount } }

    public func verify() throws {
        for index in tensors.indices { _ = try bytes(at: index) }
    }
}

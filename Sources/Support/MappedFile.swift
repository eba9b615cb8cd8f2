#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A whole file mapped read-only into memory; tensors borrowed from it keep it alive.
///
/// The mapping is private and read-only: a reader never writes through it, and writers never write to
/// a path that is mapped (they write a temporary file and rename it over the target).
///
/// ```swift
/// let file = try MappedFile(path: "model.safetensors")
/// file.bytes.count
/// ```
public final class MappedFile: @unchecked Sendable {
    /// The path the file was opened at, used in every error message.
    public let path: String
    /// The mapped bytes; empty for an empty file.
    public let bytes: UnsafeRawBufferPointer

    /// Maps `path` read-only.
    ///
    /// Refuses directories and other non-regular files.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError.io(path: path, reason: "cannot open: \(errnoText())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileError.io(path: path, reason: "cannot stat: \(errnoText())") }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw FileError.io(path: path, reason: "not a regular file")
        }
        let size = Int(info.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != MAP_FAILED else {
            throw FileError.io(path: path, reason: "cannot map: \(errnoText())")
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }

    /// The bytes `range` of the file, borrowed (no copy); the caller has checked the range.
    package func slice(_ range: Range<Int>) -> TensorBytes {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count)
        return TensorBytes(owner: self, buffer: UnsafeRawBufferPointer(rebasing: bytes[range]))
    }
}

/// Text for the current `errno`.
package func errnoText() -> String {
    String(cString: strerror(errno))
}

/// One tensor's bytes, contiguous, row-major and little-endian: borrowed from a mapping or owned.
///
/// ```swift
/// let bytes = try archive.bytes(at: 0)
/// bytes.isMapped                                   // borrowed from the file, no copy
/// bytes.withUnsafeBytes { $0.count }
/// ```
public struct TensorBytes: @unchecked Sendable {
    /// Keeps the mapping or the heap buffer alive while the bytes are in use.
    let owner: AnyObject?
    /// The bytes; valid only while `owner` is alive, so outside this module they are reached through
    /// `withUnsafeBytes`, which keeps it alive (Swift may end a value's lifetime right after its last use).
    package let buffer: UnsafeRawBufferPointer

    package init(owner: AnyObject?, buffer: UnsafeRawBufferPointer) {
        self.owner = owner
        self.buffer = buffer
    }

    /// Bytes copied into a fresh heap buffer the value owns.
    public init(copying source: UnsafeRawBufferPointer) {
        let storage = OwnedBytes(count: source.count)
        if source.count > 0, let base = source.baseAddress {
            storage.pointer.copyMemory(from: base, byteCount: source.count)
        }
        self.init(owner: storage, buffer: UnsafeRawBufferPointer(start: storage.pointer, count: source.count))
    }

    /// Takes ownership of a buffer filled by `fill`, which writes exactly `count` bytes.
    package init(count: Int, fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        let storage = OwnedBytes(count: count)
        try fill(UnsafeMutableRawBufferPointer(start: storage.pointer, count: count))
        self.init(owner: storage, buffer: UnsafeRawBufferPointer(start: storage.pointer, count: count))
    }

    /// Whether the bytes are borrowed from a file mapping rather than copied.
    public var isMapped: Bool { owner is MappedFile }

    /// Number of bytes.
    public var count: Int { buffer.count }

    /// Where the bytes start (for identity and alignment checks; read them through `withUnsafeBytes`).
    public var address: UnsafeRawPointer? { buffer.baseAddress }

    /// Calls `body` with the bytes, keeping their owner (mapping or heap buffer) alive meanwhile.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(owner) { try body(buffer) }
    }

    /// The bytes as an array (a copy), for tests and small tensors.
    public var array: [UInt8] { withUnsafeBytes { Array($0) } }
}

/// A heap buffer with a lifetime, 64-byte aligned.
final class OwnedBytes {
    let pointer: UnsafeMutableRawPointer
    let count: Int

    init(count: Int) {
        self.count = count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
    }

    deinit { pointer.deallocate() }
}

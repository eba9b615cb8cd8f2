/// The bytes a tensor's elements live in, shared by the tensor and all its views.
///
/// Owned storage is allocated here (64-byte aligned, so SIMD loads and BLAS see aligned rows); borrowed storage
/// points into memory someone else keeps alive — a memory-mapped `.mhub` or safetensors file — and holds a
/// reference to that owner so the mapping outlives every tensor that reads it. Borrowed storage is read-only:
/// writing to a mapped weight would write to the file (or fault); an update copies it first (`Tensor.makeOwned`).
public final class Storage: @unchecked Sendable {
    /// The first byte.
    public let pointer: UnsafeMutableRawPointer
    /// How many bytes.
    public let byteCount: Int
    /// Whether the elements may be written (owned storage).
    public let isWritable: Bool
    /// What keeps borrowed bytes alive; nil for owned storage, which this object frees.
    private let owner: AnyObject?

    /// Owned, zero-filled storage of `byteCount` bytes.
    public init(byteCount: Int) {
        precondition(byteCount >= 0, "negative storage size \(byteCount)")
        pointer = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(byteCount, 1), alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: Swift.max(byteCount, 1))
        self.byteCount = byteCount
        isWritable = true
        owner = nil
    }

    /// Owned storage whose bytes the caller initializes (every byte, before reading any).
    init(uninitializedByteCount byteCount: Int) {
        pointer = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(byteCount, 1), alignment: 64)
        self.byteCount = byteCount
        isWritable = true
        owner = nil
    }

    /// Borrowed, read-only bytes that `owner` keeps valid for as long as it lives (zero-copy loading).
    public init(borrowing pointer: UnsafeRawPointer, byteCount: Int, owner: AnyObject) {
        self.pointer = UnsafeMutableRawPointer(mutating: pointer)
        self.byteCount = byteCount
        isWritable = false
        self.owner = owner
    }

    deinit {
        if owner == nil { pointer.deallocate() }
    }
}

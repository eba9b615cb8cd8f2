import CKernels
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The bytes a tensor's elements live in, shared by the tensor and all its views.
///
/// Owned storage is allocated here (64-byte aligned, so SIMD loads and BLAS see aligned rows); borrowed storage
/// points into memory someone else keeps alive — a memory-mapped `.mhub` or safetensors file — and holds a
/// reference to that owner so the mapping outlives every tensor that reads it. Borrowed storage is read-only:
/// writing to a mapped weight would write to the file (or fault); an update copies it first (`Tensor.makeOwned`).
///
/// ```swift
/// Tensor.releaseCachedBuffers()                    // hand the pool's buffers back
/// Tensor.cachedBufferBytes                         // 0
/// ```
public final class Storage: @unchecked Sendable {
    /// The first byte.
    package let pointer: UnsafeMutableRawPointer
    /// How many bytes.
    public let byteCount: Int
    /// Whether the elements may be written (owned storage).
    public let isWritable: Bool
    /// What keeps borrowed bytes alive; nil for owned storage, which this object frees.
    private let owner: AnyObject?

    /// Owned, zero-filled storage of `byteCount` bytes.
    public init(byteCount: Int) {
        precondition(byteCount >= 0, "negative storage size \(byteCount)")
        pointer =
            BufferPool.shared.take(byteCount)
            ?? UnsafeMutableRawPointer.allocate(byteCount: Swift.max(byteCount, 1), alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: Swift.max(byteCount, 1))
        self.byteCount = byteCount
        isWritable = true
        owner = nil
    }

    /// Owned storage whose bytes the caller initializes (every byte, before reading any).
    init(uninitializedByteCount byteCount: Int) {
        pointer =
            BufferPool.shared.take(byteCount)
            ?? UnsafeMutableRawPointer.allocate(byteCount: Swift.max(byteCount, 1), alignment: 64)
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
        if owner == nil, !BufferPool.shared.give(pointer, byteCount: byteCount) { pointer.deallocate() }
    }
}

/// Freed buffers of 1 MB and more, kept for the next storage of the same size, up to a quarter of the machine's
/// memory (at most 4 GB) in all.
///
/// A training step frees and allocates the same activation sizes over and over; a fresh multi-megabyte buffer
/// comes from the kernel as untouched pages, and their faults and zeroing cost 4% of the step. The cap must hold one
/// step's activations (BERT-base at 8 × 128: over 1 GB): with 512 MB a training step still faulted in 1 GB of pages.
/// Sizes match exactly, so a pooled buffer is always large enough. `Tensor.releaseCachedBuffers()` empties it.
final class BufferPool: Sendable {
    static let shared = BufferPool(capacity: BufferPool.defaultCapacity)
    static let minimum = 1 << 20
    static var defaultCapacity: Int {
        let physical = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
        return Swift.min(Swift.max(physical / 4, 0), 4 << 30)
    }

    /// Free buffers by size, as addresses (a pointer is not Sendable; the pool owns these buffers alone).
    private struct State: ~Copyable {
        var free: [Int: [UInt]] = [:]
        var held = 0
    }
    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func take(_ byteCount: Int) -> UnsafeMutableRawPointer? {
        guard byteCount >= Self.minimum else { return nil }
        let address: UInt? = state.withLock { state in
            guard let address = state.free[byteCount]?.popLast() else { return nil }
            state.held -= byteCount
            return address
        }
        return address.flatMap { UnsafeMutableRawPointer(bitPattern: $0) }
    }

    /// Keeps `pointer` unless the pool is full; false when the caller must free it.
    func give(_ pointer: UnsafeMutableRawPointer, byteCount: Int) -> Bool {
        guard byteCount >= Self.minimum else { return false }
        let address = UInt(bitPattern: pointer)
        return state.withLock { state in
            guard state.held + byteCount <= capacity else { return false }
            state.free[byteCount, default: []].append(address)
            state.held += byteCount
            return true
        }
    }

    /// Bytes held for reuse.
    var held: Int { state.withLock { $0.held } }

    /// Frees every held buffer.
    func drain() {
        let addresses = state.withLock { state in
            defer {
                state.free = [:]
                state.held = 0
            }
            return state.free.values.flatMap { $0 }
        }
        for address in addresses { UnsafeMutableRawPointer(bitPattern: address)?.deallocate() }
    }
}

extension Tensor {
    /// Returns the freed tensor buffers kept for reuse to the system (as `torch.cuda.empty_cache()` does for
    /// PyTorch's caching allocator), and the heap's free pages with them: after training, before a long idle
    /// period, after `Module.quantize`.
    public static func releaseCachedBuffers() {
        BufferPool.shared.drain()
        mh_trim_heap()
    }

    /// Bytes of freed tensor buffers kept for reuse.
    public static var cachedBufferBytes: Int { BufferPool.shared.held }
}

extension Tensor {
    /// Lets the pages under a borrowed (memory-mapped) tensor leave the process's resident memory.
    ///
    /// A later read brings them back from the file. Owned storage is left alone (it is freed when its last tensor
    /// goes). For weights replaced by reduced-precision copies (`Module.quantize`).
    package func discardResidentPages() {
        guard !storage.isWritable, count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = UInt(bitPattern: storage.pointer + layout.offset * dtype.size)
        let end = start + UInt((Self.span(layout)) * dtype.size)
        // Whole pages inside the tensor only: a neighbour's bytes on a shared page stay where they are.
        let first = (start + UInt(page) - 1) / UInt(page) * UInt(page)
        let last = end / UInt(page) * UInt(page)
        guard last > first, let address = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = madvise(address, Int(last - first), MADV_DONTNEED)
    }
}

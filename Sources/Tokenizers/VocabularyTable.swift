#if canImport(Glibc)
    import Glibc
#endif

/// Token bytes → id, looked up without building a String or an Array per candidate: an open-addressing hash table
/// over one byte buffer (FNV-1a), compared byte for byte (no Unicode equivalence, as `tokenizers` compares).
struct VocabularyTable: Sendable {
    private var storage: [UInt8] = []
    private var starts: [Int32] = []
    private var lengths: [Int32] = []
    private var ids: [Int32] = []
    private var slots: [Int32]
    private let mask: Int

    /// A table of `entries`; a later entry with the same bytes replaces an earlier one.
    init(_ entries: [(String, Int32)]) {
        var capacity = 16
        while capacity < entries.count * 2 { capacity <<= 1 }
        slots = [Int32](repeating: -1, count: capacity)
        mask = capacity - 1
        for (token, id) in entries {
            let bytes = Array(token.utf8)
            let found = bytes.withUnsafeBufferPointer { find($0) }
            if case .found(let entry) = found {
                ids[entry] = id
            } else if case .empty(let slot) = found {
                slots[slot] = Int32(ids.count)
                starts.append(Int32(storage.count))
                lengths.append(Int32(bytes.count))
                ids.append(id)
                storage += bytes
            }
        }
    }

    var count: Int { ids.count }

    /// The id of these bytes, or nil.
    func id(_ key: UnsafeBufferPointer<UInt8>) -> Int32? {
        if case .found(let entry) = find(key) { return ids[entry] }
        return nil
    }

    /// The id of a token string, or nil.
    func id(_ token: String) -> Int32? {
        Array(token.utf8).withUnsafeBufferPointer { id($0) }
    }

    private enum Slot {
        case found(Int)
        case empty(Int)
    }

    private func find(_ key: UnsafeBufferPointer<UInt8>) -> Slot {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in key { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        var slot = Int(truncatingIfNeeded: hash ^ (hash >> 29)) & mask
        while true {
            let entry = Int(slots[slot])
            if entry < 0 { return .empty(slot) }
            if Int(lengths[entry]) == key.count {
                let start = Int(starts[entry])
                let same = storage.withUnsafeBufferPointer { stored in
                    guard let base = stored.baseAddress, let keyBase = key.baseAddress else { return key.count == 0 }
                    return memcmp(base + start, keyBase, key.count) == 0
                }
                if same { return .found(entry) }
            }
            slot = (slot + 1) & mask
        }
    }
}

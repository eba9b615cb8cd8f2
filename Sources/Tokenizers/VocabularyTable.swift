#if canImport(Glibc)
    import Glibc
#endif

/// Token bytes → id, looked up without building a String or an Array per candidate: an open-addressing hash table
/// over one byte buffer (FNV-1a), compared byte for byte (no Unicode equivalence, as `tokenizers` compares).
struct VocabularyTable: Sendable {
    private struct Entry {
        var start: Int32
        var length: Int32
        var id: Int32
    }
    private var storage: [UInt8] = []
    private var entries: [Entry] = []
    /// 0 for an empty slot, else the upper 32 bits of the hash (low bit forced on) over the entry index: a probe
    /// that is not a match rarely needs to look at the entry or its bytes.
    private var slots: [UInt64]
    private let mask: Int
    /// The longest token in bytes: longer candidates need no lookup.
    private(set) var maxLength = 0

    /// A table of `entries`; a later entry with the same bytes replaces an earlier one.
    init(_ tokens: [(String, Int32)]) {
        var capacity = 16
        while capacity < tokens.count * 2 { capacity <<= 1 }
        slots = [UInt64](repeating: 0, count: capacity)
        mask = capacity - 1
        for (token, id) in tokens {
            let bytes = Array(token.utf8)
            let found = bytes.withUnsafeBufferPointer { find($0) }
            switch found {
            case .found(let entry):
                entries[entry].id = id
            case .empty(let slot, let fingerprint):
                slots[slot] = UInt64(fingerprint) << 32 | UInt64(entries.count)
                entries.append(Entry(start: Int32(storage.count), length: Int32(bytes.count), id: id))
                storage += bytes
                maxLength = max(maxLength, bytes.count)
            }
        }
    }

    var count: Int { entries.count }

    /// The id of these bytes, or nil.
    func id(_ key: UnsafeBufferPointer<UInt8>) -> Int32? {
        if case .found(let entry) = find(key) { return entries[entry].id }
        return nil
    }

    /// The id of a token string, or nil.
    func id(_ token: String) -> Int32? {
        Array(token.utf8).withUnsafeBufferPointer { id($0) }
    }

    private enum Slot {
        case found(Int)
        case empty(Int, UInt32)
    }

    private func find(_ key: UnsafeBufferPointer<UInt8>) -> Slot {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in key { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        let fingerprint = UInt32(truncatingIfNeeded: hash >> 32) | 1
        var slot = Int(truncatingIfNeeded: hash ^ (hash >> 29)) & mask
        while true {
            let value = slots[slot]
            if value == 0 { return .empty(slot, fingerprint) }
            if UInt32(truncatingIfNeeded: value >> 32) == fingerprint {
                let entry = Int(truncatingIfNeeded: value & 0xFFFF_FFFF)
                let stored = entries[entry]
                if Int(stored.length) == key.count {
                    let start = Int(stored.start)
                    let same = storage.withUnsafeBufferPointer { bytes in
                        guard let base = bytes.baseAddress, let keyBase = key.baseAddress else { return key.count == 0 }
                        return memcmp(base + start, keyBase, key.count) == 0
                    }
                    if same { return .found(entry) }
                }
            }
            slot = (slot + 1) & mask
        }
    }
}

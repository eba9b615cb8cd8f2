#if canImport(Glibc)
    import Glibc
#endif

/// Token bytes → id, looked up without building a String or an Array per candidate: an open-addressing hash table
/// over one byte buffer (FNV-1a), compared byte for byte (no Unicode equivalence, as `tokenizers` compares).
///
/// Filled from (String, id) pairs or one token's bytes at a time, as a tokenizer file is read (no String per token).
struct VocabularyTable: Sendable {
    struct Entry {
        var start: Int32
        var length: Int32
        var id: Int32
    }
    private var storage: [UInt8] = []
    /// Every token inserted, in order; a token inserted twice has two entries, the table finding the later one.
    private(set) var entries: [Entry] = []
    /// 0 for an empty slot, else the upper 32 bits of the hash (low bit forced on) over the entry index: a probe
    /// that is not a match rarely needs to look at the entry or its bytes.
    private var slots: [UInt64]
    private var mask: Int
    /// How many distinct tokens the table holds.
    private(set) var count = 0
    /// The longest token in bytes: longer candidates need no lookup.
    private(set) var maxLength = 0

    /// An empty table with room for `capacity` tokens of `bytes` bytes in all before it grows.
    init(capacity: Int = 8, bytes: Int = 0) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
        entries.reserveCapacity(capacity)
        storage.reserveCapacity(bytes)
    }

    /// Gives back the room reserved beyond what the tokens need.
    mutating func compact() {
        guard storage.capacity > storage.count + 4096 else { return }
        storage = storage.withUnsafeBufferPointer { [UInt8]($0) }
    }

    /// A table of `tokens`; a later pair with the same bytes replaces an earlier one.
    init(_ tokens: [(String, Int32)]) {
        self.init(capacity: tokens.count)
        for (token, id) in tokens {
            var token = token
            token.withUTF8 { insert($0, id: id) }
        }
    }

    /// Adds a token; false when these bytes were in the table already (the new id then replaces the old).
    @discardableResult
    mutating func insert(_ key: UnsafeBufferPointer<UInt8>, id: Int32) -> Bool {
        if (count + 1) * 2 > slots.count { grow() }
        let start = Int32(storage.count)
        storage.append(contentsOf: key)
        entries.append(Entry(start: start, length: Int32(key.count), id: id))
        maxLength = max(maxLength, key.count)
        switch find(key) {
        case .found(let slot, let fingerprint):
            slots[slot] = UInt64(fingerprint) << 32 | UInt64(entries.count - 1)
            return false
        case .empty(let slot, let fingerprint):
            slots[slot] = UInt64(fingerprint) << 32 | UInt64(entries.count - 1)
            count += 1
            return true
        }
    }

    private mutating func grow() {
        let size = slots.count * 2
        var table = VocabularyTable(capacity: 0)
        table.slots = [UInt64](repeating: 0, count: size)
        table.mask = size - 1
        swap(&table.storage, &storage)
        swap(&table.entries, &entries)
        // Re-slot the entries the old table found (the latest of each token), in order.
        let live = slots.filter { $0 != 0 }.map { Int(truncatingIfNeeded: $0 & 0xFFFF_FFFF) }.sorted()
        let bytes = table.storage
        bytes.withUnsafeBufferPointer { bytes in
            for entry in live {
                let stored = table.entries[entry]
                let key = UnsafeBufferPointer(rebasing: bytes[Int(stored.start)..<Int(stored.start + stored.length)])
                if case .empty(let slot, let fingerprint) = table.find(key) {
                    table.slots[slot] = UInt64(fingerprint) << 32 | UInt64(entry)
                }
            }
        }
        table.count = count
        table.maxLength = maxLength
        self = table
    }

    /// The id of these bytes, or nil.
    func id(_ key: UnsafeBufferPointer<UInt8>) -> Int32? {
        guard case .found(let slot, _) = find(key) else { return nil }
        return entries[Int(truncatingIfNeeded: slots[slot] & 0xFFFF_FFFF)].id
    }

    /// The id of a token string, or nil.
    func id(_ token: String) -> Int32? {
        var token = token
        return token.withUTF8 { id($0) }
    }

    /// Calls `body` with each entry's bytes and id, in insertion order.
    func forEachEntry<Failure: Error>(
        _ body: (UnsafeBufferPointer<UInt8>, Int32) throws(Failure) -> Void
    )
        throws(Failure)
    {
        try storage.withUnsafeBufferPointer { bytes throws(Failure) in
            for entry in entries {
                let start = Int(entry.start)
                try body(UnsafeBufferPointer(rebasing: bytes[start..<start + Int(entry.length)]), entry.id)
            }
        }
    }

    private enum Slot {
        case found(Int, UInt32)
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
                let stored = entries[Int(truncatingIfNeeded: value & 0xFFFF_FFFF)]
                if Int(stored.length) == key.count {
                    let start = Int(stored.start)
                    let same = storage.withUnsafeBufferPointer { bytes in
                        guard let base = bytes.baseAddress, let keyBase = key.baseAddress else { return key.count == 0 }
                        return memcmp(base + start, keyBase, key.count) == 0
                    }
                    if same { return .found(slot, fingerprint) }
                }
            }
            slot = (slot + 1) & mask
        }
    }
}

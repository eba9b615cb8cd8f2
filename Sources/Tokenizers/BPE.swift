import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The byte-pair-encoding model: a word starts as its characters and the ranked merges are applied, the best-ranked
/// (then leftmost) pair first, until no ranked pair is left; the pieces' ids come from the vocabulary.
///
/// ```swift
/// if case .bpe(let model) = tokenizer.model { print(model) }
/// ```
public final class BPE: Sendable {
    let vocabulary: VocabularyTable
    /// (left id, right id) → (rank, merged id).
    let merges: MergeTable
    /// The id of each single character that is a token (byte-level vocabularies have all 256), by scalar below
    /// U+10000 (-1: not a token); `otherCharacterIDs` for the rest.
    private let characterIDs: [Int32]
    private let otherCharacterIDs: [UInt32: Int32]
    /// Used for characters that are not tokens; nil drops them, as tokenizers does.
    let unknownID: Int32?
    /// Names this model's word caches: each thread keeps its own (`ThreadScratch`), so threads share no lock.
    let identity = WordCache.newIdentity()

    /// A model from (token, id) pairs and merges given as pairs of tokens, in rank order.
    public convenience init(
        vocabulary: [(String, Int32)], merges: [(String, String)], unknownToken: String? = nil
    ) throws(TokenizerError) {
        var list = MergeList()
        for (left, right) in merges { list.append(Array(left.utf8)[...], Array(right.utf8)[...]) }
        try self.init(table: VocabularyTable(vocabulary), merges: list, unknownToken: unknownToken)
    }

    /// A model over a filled vocabulary table and merges in rank order, as a tokenizer file is read.
    init(table: VocabularyTable, merges list: MergeList, unknownToken: String?) throws(TokenizerError) {
        var merges = MergeTable(capacity: list.count)
        try list.withMerges { rank, left, right, joined throws(TokenizerError) in
            func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }
            guard let leftID = table.id(left), let rightID = table.id(right) else {
                throw TokenizerError.invalid(
                    "merge \(rank + 1) ('\(text(left)) \(text(right))') uses a token not in the vocabulary")
            }
            guard let merged = table.id(joined) else {
                throw TokenizerError.invalid(
                    "merge \(rank + 1) makes '\(text(joined))', which is not in the vocabulary")
            }
            merges.insertIfAbsent(
                UInt64(UInt32(bitPattern: leftID)) << 32 | UInt64(UInt32(bitPattern: rightID)), (Int32(rank), merged))
        }
        var characters = [Int32](repeating: -1, count: 0x10000)
        var others: [UInt32: Int32] = [:]
        table.forEachEntry { bytes, id in
            // One scalar: as many bytes as its lead byte says (the bytes are valid UTF-8).
            guard let lead = bytes.first, bytes.count == (lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4),
                table.id(bytes) == id
            else { return }
            var scalar =
                UInt32(lead) & (bytes.count == 1 ? 0x7F : bytes.count == 2 ? 0x1F : bytes.count == 3 ? 0x0F : 0x07)
            for byte in bytes.dropFirst() { scalar = scalar << 6 | UInt32(byte & 0x3F) }
            if scalar < 0x10000 {
                characters[Int(scalar)] = id
            } else {
                others[scalar] = id
            }
        }
        if let unknownToken {
            guard let id = table.id(unknownToken) else {
                throw TokenizerError.invalid("the unknown token '\(unknownToken)' is not in the vocabulary")
            }
            unknownID = id
        } else {
            unknownID = nil
        }
        self.vocabulary = table
        self.merges = merges
        characterIDs = characters
        otherCharacterIDs = others
    }

    /// The pieces of one word (its characters): ids and their ranges within the word, appended to `pieces`; words
    /// already merged come from `cache` (words repeat: most of a text's words were seen before).
    func tokenize(
        _ word: UnsafeBufferPointer<UInt32>, into pieces: inout [(id: Int32, range: Range<Int>)],
        cache: inout WordCache
    ) {
        if cache.lookup(word, into: &pieces) { return }
        var symbols: [(id: Int32, range: Range<Int>)] = []
        symbols.reserveCapacity(word.count)
        for (offset, scalar) in word.enumerated() {
            let known = scalar < 0x10000 ? characterIDs[Int(scalar)] : otherCharacterIDs[scalar] ?? -1
            if known >= 0 {
                symbols.append((known, offset..<offset + 1))
            } else if let unknownID {
                symbols.append((unknownID, offset..<offset + 1))
            }
        }
        while symbols.count > 1 {
            var best: (rank: Int32, id: Int32, at: Int)?
            for index in 0..<symbols.count - 1 {
                let key =
                    UInt64(UInt32(bitPattern: symbols[index].id)) << 32
                    | UInt64(UInt32(bitPattern: symbols[index + 1].id))
                if let merge = merges.find(key), merge.rank < best?.rank ?? .max {
                    best = (merge.rank, merge.id, index)
                }
            }
            guard let merge = best else { break }
            let left = symbols[merge.at], right = symbols[merge.at + 1]
            symbols[merge.at] = (merge.id, left.range.lowerBound..<right.range.upperBound)
            symbols.remove(at: merge.at + 1)
        }
        pieces += symbols
        cache.store(word, symbols)
    }
}

/// Merges as a tokenizer file lists them, before they are resolved against the vocabulary: each one's two tokens'
/// bytes side by side in one buffer (no String per merge), in rank order.
struct MergeList {
    private var bytes: [UInt8] = []
    /// Per merge: where its bytes start, and the lengths of its left and right tokens.
    private var spans: [(start: Int32, left: Int32, right: Int32)] = []

    var count: Int { spans.count }

    init() {}

    /// An empty list with room for `capacity` merges of `bytes` bytes in all.
    init(capacity: Int, bytes: Int) {
        spans.reserveCapacity(capacity)
        self.bytes.reserveCapacity(bytes)
    }

    mutating func append(_ left: ArraySlice<UInt8>, _ right: ArraySlice<UInt8>) {
        spans.append((Int32(bytes.count), Int32(left.count), Int32(right.count)))
        bytes += left
        bytes += right
    }

    /// Calls `body` with each merge's rank, left and right tokens, and the two joined.
    func withMerges(
        _ body: (Int, UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>)
            throws(TokenizerError) -> Void
    ) throws(TokenizerError) {
        try bytes.withUnsafeBufferPointer { all throws(TokenizerError) in
            for (rank, span) in spans.enumerated() {
                let start = Int(span.start), middle = start + Int(span.left), end = middle + Int(span.right)
                try body(
                    rank, UnsafeBufferPointer(rebasing: all[start..<middle]),
                    UnsafeBufferPointer(rebasing: all[middle..<end]), UnsafeBufferPointer(rebasing: all[start..<end]))
            }
        }
    }
}

/// The merges by (left id, right id) packed in 64 bits: open addressing with a multiplicative hash, so a probe is a
/// multiply and an array read (Swift's Dictionary hashes with SipHash).
struct MergeTable: Sendable {
    private var keys: [UInt64]
    private var values: [(rank: Int32, id: Int32)]
    private let shift: UInt64

    /// An empty table for up to `capacity` merges (at most half full).
    init(capacity: Int) {
        var bits: UInt64 = 4
        while (1 << bits) < capacity * 2 { bits += 1 }
        shift = 64 - bits
        keys = [UInt64](repeating: .max, count: 1 << bits)  // no pair of valid ids packs to .max
        values = [(rank: Int32, id: Int32)](repeating: (0, 0), count: 1 << bits)
    }

    /// Adds a merge unless the pair has one already (the better-ranked, listed first, stays).
    mutating func insertIfAbsent(_ key: UInt64, _ value: (rank: Int32, id: Int32)) {
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while keys[slot] != .max {
            if keys[slot] == key { return }
            slot = (slot + 1) & (keys.count - 1)
        }
        keys[slot] = key
        values[slot] = value
    }

    @inline(__always) func find(_ key: UInt64) -> (rank: Int32, id: Int32)? {
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while true {
            let stored = keys[slot]
            if stored == key { return values[slot] }
            if stored == .max { return nil }
            slot = (slot + 1) & (keys.count - 1)
        }
    }
}

/// One thread's merged words, by their characters.
///
/// Up to 32,768 words of up to 256 characters and 512K characters in all, then no more are added (tokenizers' cache
/// stops at 10,000 words): at most about 3 MB per thread. No lock; a struct, so its arrays are reached without the
/// run-time exclusivity checks a class's properties need.
///
/// Flat arrays probed by a 64-bit hash of the characters: a hit allocates nothing and retains nothing; it is taken
/// only when the stored characters are equal.
struct WordCache {
    private static let identities = Atomic<UInt64>(0)

    /// A number for a model's caches (`Tokenizer.Buffers.selectWordCache(for:)`), from 1: 0 is "none".
    static func newIdentity() -> UInt64 { identities.add(1, ordering: .relaxed).newValue }

    /// 0 for an empty slot, else the entry index + 1; allocated by the first `store` (an empty cache costs nothing,
    /// so one can stand in while a thread's cache is taken out of its list).
    private var slots: [Int32] = []
    private var hashes: [UInt64] = []
    /// Per entry: where its characters and its pieces start in `characters` / `pieces`, and how many.
    private var spans: [(word: Int32, wordCount: Int32, pieces: Int32, pieceCount: Int32)] = []
    private var characters: [UInt32] = []
    private var pieces: [(id: Int32, lower: Int32, upper: Int32)] = []

    static let capacity = 32_768
    static let characterCapacity = 1 << 19
    /// Longer words are not kept (tokenizers' cache skips them too), which bounds the cache's memory.
    static let longestWord = 256

    /// FNV-1a over the characters.
    private static func hash(_ word: UnsafeBufferPointer<UInt32>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for scalar in word { hash = (hash ^ UInt64(scalar)) &* 0x100_0000_01b3 }
        return hash
    }

    /// The slot holding `word`, or the empty slot where it would go.
    private func probe(_ word: UnsafeBufferPointer<UInt32>, _ hash: UInt64) -> (Int, Int?) {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash ^ hash >> 31) & mask
        while true {
            let entry = Int(slots[slot]) - 1
            if entry < 0 { return (slot, nil) }
            if hashes[entry] == hash {
                let span = spans[entry]
                if Int(span.wordCount) == word.count {
                    let same = characters.withUnsafeBufferPointer { stored in
                        guard let base = stored.baseAddress, let key = word.baseAddress else { return true }
                        return memcmp(base + Int(span.word), key, word.count * 4) == 0
                    }
                    if same { return (slot, entry) }
                }
            }
            slot = (slot + 1) & mask
        }
    }

    /// Appends the cached pieces of `word` and says whether there were any.
    func lookup(_ word: UnsafeBufferPointer<UInt32>, into out: inout [(id: Int32, range: Range<Int>)]) -> Bool {
        guard !slots.isEmpty, let entry = probe(word, Self.hash(word)).1 else { return false }
        let span = spans[entry]
        for index in Int(span.pieces)..<Int(span.pieces + span.pieceCount) {
            let piece = pieces[index]
            out.append((piece.id, Int(piece.lower)..<Int(piece.upper)))
        }
        return true
    }

    mutating func store(_ word: UnsafeBufferPointer<UInt32>, _ merged: [(id: Int32, range: Range<Int>)]) {
        guard spans.count < Self.capacity, word.count <= Self.longestWord,
            characters.count + word.count <= Self.characterCapacity
        else { return }
        if slots.isEmpty { slots = [Int32](repeating: 0, count: 2 * Self.capacity) }
        let hash = Self.hash(word)
        let (slot, existing) = probe(word, hash)
        guard existing == nil else { return }
        slots[slot] = Int32(spans.count + 1)
        hashes.append(hash)
        spans.append((Int32(characters.count), Int32(word.count), Int32(pieces.count), Int32(merged.count)))
        characters += word
        for piece in merged { pieces.append((piece.id, Int32(piece.range.lowerBound), Int32(piece.range.upperBound))) }
    }
}

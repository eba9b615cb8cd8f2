/// The pieces of a Unigram vocabulary as a byte trie, for the Viterbi search: from each start, one step per byte
/// finds every piece that starts there and stops at the first byte no piece continues with — instead of hashing
/// every candidate substring up to the longest piece.
///
/// Nodes with many children (the root, `▁`, common first letters: where most steps go) are numbered first and
/// keep a dense row of 256 children; the other edges live in one open-addressing table keyed by (node, byte), a slot
/// packing the key's 32 bits over the child's 32 (0 marks an empty slot). A step is one read of a row that stays in
/// cache, or one multiply and, mostly, one memory read.
struct PieceTrie: Sendable {
    /// `(node << 8 | byte) + 1` in the upper half, the child node in the lower half; 0 is empty.
    private var slots: [UInt64]
    private var mask: Int
    private var edges = 0
    /// The piece id of each node, −1 where no piece ends.
    private(set) var ids: [Int32] = [-1]
    /// Nodes 0..<denseCount: their children by byte, 0 where none (no edge leads to the root).
    private var dense: [UInt32] = []
    private var denseCount = 0

    /// A node with this many children or more gets a dense row.
    static let denseChildren = 16

    /// Nodes are numbered in 24 bits so that a key fits 32.
    static let maxNodes = 1 << 24 - 1

    /// A trie of `pieces` in id order, or nil past `maxNodes` nodes.
    ///
    /// A later piece with the same bytes takes the node, as the vocabulary table keeps the later of two equal tokens.
    init?(_ pieces: [String]) {
        // At most one edge per byte: sized for that at most half full, so building never grows the table.
        var size = 1024
        let bytes = pieces.reduce(0) { $0 + $1.utf8.count }
        while size < bytes * 2 + 2 { size <<= 1 }
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
        for (id, piece) in pieces.enumerated() {
            var node: UInt32 = 0
            for byte in piece.utf8 {
                guard let next = childOrNew(node, byte) else { return nil }
                node = next
            }
            if node != 0 { ids[Int(node)] = Int32(id) }
        }
        densify()
    }

    /// The child of `node` by `byte`, made (with no piece) when missing, or nil past `maxNodes`.
    ///
    /// One probe either way.
    private mutating func childOrNew(_ node: UInt32, _ byte: UInt8) -> UInt32? {
        if (edges + 1) * 2 > slots.count { grow() }
        let key = Self.key(node, byte)
        var slot = start(key)
        while slots[slot] != 0 {
            if slots[slot] >> 32 == key { return UInt32(truncatingIfNeeded: slots[slot]) }
            slot = (slot + 1) & mask
        }
        guard ids.count < Self.maxNodes else { return nil }
        let created = UInt32(ids.count)
        ids.append(-1)
        slots[slot] = key << 32 | UInt64(created)
        edges += 1
        return created
    }

    /// Renumbers the nodes with `denseChildren` children or more (and the root) first, then the others by depth
    /// (the shallow ones, where most searches stop, close together), and moves the first ones' edges into dense rows.
    private mutating func densify() {
        var children = [Int](repeating: 0, count: ids.count)
        var depth = [Int](repeating: 0, count: ids.count)
        var parent = [Int](repeating: 0, count: ids.count)
        for value in slots where value != 0 {
            let from = Int((value >> 32) - 1) >> 8
            children[from] += 1
            parent[Int(UInt32(truncatingIfNeeded: value))] = from
        }
        // A node is created after its parent: one pass in creation order gives every depth.
        for node in ids.indices.dropFirst() { depth[node] = depth[parent[node]] + 1 }
        let isDense = ids.indices.map { $0 == 0 || children[$0] >= Self.denseChildren }
        // Dense nodes, then the others by depth, each in creation order: a counting sort (a real vocabulary has
        // about a million nodes, and loading should not pay for a comparison sort of them).
        var firstOfDepth = [Int](repeating: 0, count: (depth.max() ?? 0) + 2)
        denseCount = 0
        for node in ids.indices {
            if isDense[node] { denseCount += 1 } else { firstOfDepth[depth[node] + 1] += 1 }
        }
        firstOfDepth[0] = denseCount
        for level in 1..<firstOfDepth.count { firstOfDepth[level] += firstOfDepth[level - 1] }
        var renumbered = [UInt32](repeating: 0, count: ids.count)
        var nextDense = 0
        for node in ids.indices {
            if isDense[node] {
                renumbered[node] = UInt32(nextDense)
                nextDense += 1
            } else {
                renumbered[node] = UInt32(firstOfDepth[depth[node]])
                firstOfDepth[depth[node]] += 1
            }
        }
        var newIDs = ids
        for node in ids.indices { newIDs[Int(renumbered[node])] = ids[node] }
        ids = newIDs
        let old = slots
        dense = [UInt32](repeating: 0, count: denseCount * 256)
        // Sized once for the edges that stay hashed (at most half full), so inserting them never grows it.
        let sparse = old.reduce(0) { $1 != 0 && !isDense[Int(($1 >> 32) - 1) >> 8] ? $0 + 1 : $0 }
        var size = 1024
        while size < sparse * 2 + 2 { size <<= 1 }
        slots = [UInt64](repeating: 0, count: size)
        mask = slots.count - 1
        edges = 0
        for value in old where value != 0 {
            let key = Int((value >> 32) - 1)
            let (parent, byte) = (Int(renumbered[key >> 8]), UInt8(truncatingIfNeeded: key))
            let child = renumbered[Int(UInt32(truncatingIfNeeded: value))]
            if parent < denseCount {
                dense[parent * 256 + Int(byte)] = child
            } else {
                insert(UInt32(parent), byte, child)
            }
        }
    }

    @inline(__always) fileprivate static func key(_ node: UInt32, _ byte: UInt8) -> UInt64 {
        UInt64(node << 8 | UInt32(byte)) + 1
    }

    /// Where a key's probe starts (Fibonacci hashing); `Reader.child` inlines the same.
    @inline(__always) private func start(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    /// The node reached from `node` by `byte`, or nil.
    func child(_ node: UInt32, _ byte: UInt8) -> UInt32? { withReader { $0.child(node, byte) } }

    /// The trie's tables borrowed for a search: no bounds checks or reference counting per step.
    struct Reader {
        let slots: UnsafeBufferPointer<UInt64>
        let ids: UnsafeBufferPointer<Int32>
        let dense: UnsafeBufferPointer<UInt32>
        let denseCount: Int
        let mask: Int

        /// The node reached from `node` by `byte`, or nil.
        @inline(__always) func child(_ node: UInt32, _ byte: UInt8) -> UInt32? {
            if Int(node) < denseCount {
                let child = dense[Int(node) << 8 | Int(byte)]
                return child == 0 ? nil : child
            }
            let key = PieceTrie.key(node, byte)
            var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
            while true {
                let value = slots[slot]
                if value == 0 { return nil }
                if value >> 32 == key { return UInt32(truncatingIfNeeded: value) }
                slot = (slot + 1) & mask
            }
        }
    }

    func withReader<Result>(_ body: (Reader) -> Result) -> Result {
        slots.withUnsafeBufferPointer { slots in
            ids.withUnsafeBufferPointer { ids in
                dense.withUnsafeBufferPointer { dense in
                    body(Reader(slots: slots, ids: ids, dense: dense, denseCount: denseCount, mask: mask))
                }
            }
        }
    }

    private mutating func insert(_ node: UInt32, _ byte: UInt8, _ child: UInt32) {
        if (edges + 1) * 2 > slots.count { grow() }
        let key = Self.key(node, byte)
        var slot = start(key)
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = key << 32 | UInt64(child)
        edges += 1
    }

    private mutating func grow() {
        let old = slots
        slots = [UInt64](repeating: 0, count: old.count * 2)
        mask = slots.count - 1
        for value in old where value != 0 {
            var slot = start(value >> 32)
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = value
        }
    }
}

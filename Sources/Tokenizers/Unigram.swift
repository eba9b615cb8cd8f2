import Support

/// The Unigram model (SentencePiece's, as `tokenizers` runs it): each word is cut into the vocabulary pieces whose
/// scores (log probabilities) sum highest — a Viterbi search over every vocabulary token that starts at each
/// character — with runs of unknown characters fused into one unknown token, or spelled as their UTF-8 bytes
/// (`<0xXX>` pieces) with byte fallback.
///
/// ```swift
/// let model = try Unigram(pieces: [("<unk>", 0), ("▁a", -1.5), ("b", -2)], unknownID: 0)
/// ```
public struct Unigram: Sendable {
    let vocabulary: VocabularyTable
    /// Names this model's word caches, as BPE's: a word's pieces depend on its characters alone.
    let identity = WordCache.newIdentity()
    /// The same pieces as a byte trie, for the Viterbi search.
    let trie: PieceTrie
    /// By trie node: the piece ending there and its score (id −1 where none), read together in one load.
    let nodePieces: [NodePiece]

    struct NodePiece {
        var score: Double
        var id: Int32
    }
    public let unknownID: Int32?
    public let byteFallback: Bool
    /// The unknown token's score: the lowest score less 10, as tokenizers (and SentencePiece) give it.
    let unknownScore: Double
    /// The ids of `<0x00>` … `<0xFF>`, where the vocabulary has them.
    let byteIDs: [Int32?]

    /// A model over `pieces` (token, score) in id order; `unknownID` must index them.
    public init(
        pieces: [(token: String, score: Double)], unknownID: Int?, byteFallback: Bool = false
    )
        throws(TokenizerError)
    {
        guard !pieces.isEmpty else { throw TokenizerError.invalid("a Unigram vocabulary needs at least one piece") }
        if let unknownID, unknownID >= pieces.count || unknownID < 0 {
            throw TokenizerError.invalid("unk_id \(unknownID) is outside the \(pieces.count) pieces")
        }
        var table = VocabularyTable(capacity: pieces.count)
        for (index, piece) in pieces.enumerated() {
            guard piece.score.isFinite else {
                throw TokenizerError.invalid("piece \(index) ('\(piece.token)') has no finite score")
            }
            var token = piece.token
            token.withUTF8 { table.insert($0, id: Int32(index)) }
        }
        vocabulary = table
        guard let trie = PieceTrie(pieces.map(\.token)) else {
            throw TokenizerError.invalid("a Unigram vocabulary of more than \(PieceTrie.maxNodes) distinct prefixes")
        }
        self.trie = trie
        nodePieces = trie.ids.map { id in NodePiece(score: id >= 0 ? pieces[Int(id)].score : 0, id: id) }
        unknownScore = (pieces.map(\.score).min() ?? 0) - 10
        self.unknownID = unknownID.map(Int32.init)
        self.byteFallback = byteFallback
        byteIDs = (0..<256).map { table.id(String(format: "<0x%02X>", $0)) }
    }

    struct Scratch {
        var utf8: [UInt8] = []
        /// Byte offset of each scalar, and the end.
        var starts: [Int] = []
        var score: [Double] = []
        var from: [Int] = []
        var ids: [Int32] = []
        var path: [(start: Int, end: Int, id: Int32)] = []
    }

    /// Appends the pieces of `word` (ranges in its scalars) to `pieces`.
    func tokenize(
        _ word: UnsafeBufferPointer<UInt32>, into pieces: inout [(id: Int32, range: Range<Int>)], scratch: inout Scratch
    ) {
        let count = word.count
        guard count > 0 else { return }
        scratch.utf8.removeAll(keepingCapacity: true)
        scratch.starts.removeAll(keepingCapacity: true)
        for scalar in word {
            scratch.starts.append(scratch.utf8.count)
            appendUTF8(scalar, to: &scratch.utf8)
        }
        scratch.starts.append(scratch.utf8.count)
        // Kept between words: refilled, not reallocated.
        scratch.score.removeAll(keepingCapacity: true)
        scratch.score.append(contentsOf: repeatElement(0, count: count + 1))
        scratch.from.removeAll(keepingCapacity: true)
        scratch.from.append(contentsOf: repeatElement(-1, count: count + 1))
        scratch.ids.removeAll(keepingCapacity: true)
        scratch.ids.append(contentsOf: repeatElement(-1, count: count + 1))
        let unknown = unknownID ?? -1
        let unknownScore = unknownScore
        nodePieces.withUnsafeBufferPointer { nodePieces in
            scratch.utf8.withUnsafeBufferPointer { utf8 in
                scratch.starts.withUnsafeBufferPointer { starts in
                    scratch.score.withUnsafeMutableBufferPointer { best in
                        scratch.from.withUnsafeMutableBufferPointer { from in
                            scratch.ids.withUnsafeMutableBufferPointer { ids in
                                trie.withReader { trie in
                                    // Offers `id` ending at `end`, scoring `candidate`; the first offer always holds.
                                    @inline(__always) func offer(
                                        _ end: Int, _ start: Int, _ id: Int32, _ candidate: Double
                                    ) {
                                        if from[end] < 0 || candidate > best[end] {
                                            best[end] = candidate
                                            from[end] = start
                                            ids[end] = id
                                        }
                                    }
                                    for start in 0..<count {
                                        // Positions nothing reaches are skipped by tokenizers too: their best score
                                        // stays 0 and they are never read back, since every position after a
                                        // reachable one is reachable (unknown tokens).
                                        let base = best[start]
                                        var single = false
                                        var node: UInt32 = 0
                                        var byte = starts[start]
                                        var end = start + 1
                                        walk: while end <= count {
                                            while byte < starts[end] {
                                                guard let next = trie.child(node, utf8[byte]) else { break walk }
                                                node = next
                                                byte += 1
                                            }
                                            let piece = nodePieces[Int(node)]
                                            if piece.id >= 0 {
                                                offer(end, start, piece.id, base + piece.score)
                                                if end == start + 1 { single = true }
                                            }
                                            end += 1
                                        }
                                        if !single, unknown >= 0 {
                                            offer(start + 1, start, unknown, base + unknownScore)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        // Back from the end; consecutive unknown pieces fused into one.
        scratch.path.removeAll(keepingCapacity: true)
        var end = count
        while end > 0 {
            let start = scratch.from[end]
            guard start >= 0 else { return }  // unreachable without an unknown token: tokenizers fails here
            let id = scratch.ids[end]
            if id == unknownID, let last = scratch.path.last, last.id == id, last.start == end {
                scratch.path[scratch.path.count - 1] = (start, last.end, id)
            } else {
                scratch.path.append((start, end, id))
            }
            end = start
        }
        for (start, end, id) in scratch.path.reversed() {
            guard id == unknownID else {
                pieces.append((id, start..<end))
                continue
            }
            // A fused unknown run: its text may still be a token (never, in practice), else its bytes.
            let bytes = scratch.utf8[scratch.starts[start]..<scratch.starts[end]]
            if let known = Array(bytes).withUnsafeBufferPointer({ vocabulary.id($0) }) {
                pieces.append((known, start..<end))
            } else if byteFallback, bytes.allSatisfy({ byteIDs[Int($0)] != nil }) {
                // Spelled in bytes only when every byte has its piece; else one unknown token, as tokenizers does.
                for byte in bytes { pieces.append((byteIDs[Int(byte)] ?? id, start..<end)) }
            } else {
                pieces.append((id, start..<end))
            }
        }
    }
}

import Synchronization

/// The byte-pair-encoding model: a word starts as its characters and the ranked merges are applied, the best-ranked
/// (then leftmost) pair first, until no ranked pair is left; the pieces' ids come from the vocabulary.
public final class BPE: Sendable {
    let vocabulary: VocabularyTable
    /// (left id, right id) packed → (rank, merged id).
    let merges: [UInt64: (rank: Int32, id: Int32)]
    /// The id of each single character that is a token (byte-level vocabularies have all 256).
    private let characterIDs: [UInt32: Int32]
    /// Used for characters that are not tokens; nil drops them, as tokenizers does.
    let unknownID: Int32?
    /// Words already merged (words repeat: most of a text's words were seen before), shared by all threads.
    private let cache = WordCache()

    /// A model from (token, id) pairs and merges given as pairs of tokens, in rank order.
    public init(
        vocabulary: [(String, Int32)], merges: [(String, String)], unknownToken: String? = nil
    )
        throws(TokenizerError)
    {
        let table = VocabularyTable(vocabulary)
        var ranked: [UInt64: (rank: Int32, id: Int32)] = [:]
        for (rank, merge) in merges.enumerated() {
            guard let left = table.id(merge.0), let right = table.id(merge.1) else {
                throw TokenizerError.invalid(
                    "merge \(rank + 1) ('\(merge.0) \(merge.1)') uses a token not in the vocabulary")
            }
            guard let merged = table.id(merge.0 + merge.1) else {
                throw TokenizerError.invalid(
                    "merge \(rank + 1) makes '\(merge.0 + merge.1)', which is not in the vocabulary")
            }
            let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
            if ranked[key] == nil { ranked[key] = (Int32(rank), merged) }
        }
        var characters: [UInt32: Int32] = [:]
        for (token, id) in vocabulary {
            let scalars = Array(token.unicodeScalars)
            if scalars.count == 1, table.id(token) == id { characters[scalars[0].value] = id }
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
        self.merges = ranked
        characterIDs = characters
    }

    /// The pieces of one word (its characters): ids and their ranges within the word, appended to `pieces`.
    func tokenize(_ word: ArraySlice<UInt32>, into pieces: inout [(id: Int32, range: Range<Int>)]) {
        let key = Array(word)
        if let cached = cache.lookup(key) {
            pieces += cached
            return
        }
        var symbols: [(id: Int32, range: Range<Int>)] = []
        symbols.reserveCapacity(word.count)
        for (offset, scalar) in word.enumerated() {
            if let id = characterIDs[scalar] {
                symbols.append((id, offset..<offset + 1))
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
                if let merge = merges[key], merge.rank < best?.rank ?? .max {
                    best = (merge.rank, merge.id, index)
                }
            }
            guard let merge = best else { break }
            let left = symbols[merge.at], right = symbols[merge.at + 1]
            symbols[merge.at] = (merge.id, left.range.lowerBound..<right.range.upperBound)
            symbols.remove(at: merge.at + 1)
        }
        pieces += symbols
        cache.store(key, symbols)
    }
}

/// Merged words by their characters, up to 10,000 of them (then no more are added, as tokenizers' cache does).
final class WordCache: Sendable {
    private let words = Mutex<[[UInt32]: [(id: Int32, range: Range<Int>)]]>([:])
    static let capacity = 10_000

    func lookup(_ word: [UInt32]) -> [(id: Int32, range: Range<Int>)]? {
        words.withLock { $0[word] }
    }

    func store(_ word: [UInt32], _ pieces: [(id: Int32, range: Range<Int>)]) {
        words.withLock { words in
            if words.count < Self.capacity { words[word] = pieces }
        }
    }
}

import Support

/// The WordPiece model: each word becomes the longest vocabulary entries that cover it, left to right, pieces
/// after the first carrying the `##` prefix; a word with a part no entry covers, or longer than
/// `maxInputCharsPerWord` code points, becomes the unknown token.
///
/// ```swift
/// if case .wordPiece(let model) = tokenizer.model { print(model.unknownToken, model.continuingPrefix) }
/// ```
public final class WordPiece: Sendable {
    /// Token → id, compared by UTF-8 bytes (Swift's `String ==` would equate "é" with "e\u{301}").
    let vocabulary: VocabularyTable
    /// The unknown token and its id.
    public let unknownToken: String
    public let unknownID: Int32
    /// Marks a piece that continues a word (`##`).
    public let continuingPrefix: String
    /// Longer words (in code points) become the unknown token whole.
    public let maxInputCharsPerWord: Int
    private let prefixBytes: [UInt8]

    /// A model over `vocabulary` (token, id) pairs, a later pair winning over an earlier one with the same token;
    /// the unknown token must be in it.
    public convenience init(
        vocabulary: [(String, Int32)], unknownToken: String = "[UNK]", continuingPrefix: String = "##",
        maxInputCharsPerWord: Int = 100
    ) throws(TokenizerError) {
        try self.init(
            table: VocabularyTable(vocabulary), unknownToken: unknownToken, continuingPrefix: continuingPrefix,
            maxInputCharsPerWord: maxInputCharsPerWord)
    }

    /// A model over a filled vocabulary table, as a tokenizer file is read.
    init(
        table: VocabularyTable, unknownToken: String, continuingPrefix: String, maxInputCharsPerWord: Int
    )
        throws(TokenizerError)
    {
        guard let unknownID = table.id(unknownToken) else {
            throw TokenizerError.invalid("the unknown token '\(unknownToken)' is not in the vocabulary")
        }
        self.vocabulary = table
        self.unknownToken = unknownToken
        self.unknownID = unknownID
        self.continuingPrefix = continuingPrefix
        prefixBytes = Array(continuingPrefix.utf8)
        self.maxInputCharsPerWord = maxInputCharsPerWord
    }

    /// Reads `vocab.txt` as transformers' `load_vocab` does: one token per line, the id is the line number, only
    /// the line break is removed, and a repeated token keeps its last line.
    static func readTable(_ bytes: [UInt8], path: String) throws(TokenizerError) -> VocabularyTable {
        var table = VocabularyTable(capacity: bytes.count / 8)
        var id: Int32 = 0
        var start = 0
        try bytes.withUnsafeBufferPointer { bytes throws(TokenizerError) in
            for index in 0...bytes.count where index == bytes.count || bytes[index] == 0x0A {
                if index == bytes.count, start == index { break }  // no line after the final line break
                var end = index
                if end > start, bytes[end - 1] == 0x0D { end -= 1 }  // Python's universal newlines
                let line = UnsafeBufferPointer(rebasing: bytes[start..<end])
                guard isValidUTF8(line) else {
                    throw TokenizerError.file(path: path, reason: "line \(id + 1) is not UTF-8")
                }
                table.insert(line, id: id)
                id += 1
                start = index + 1
            }
        }
        guard id > 0 else { throw TokenizerError.file(path: path, reason: "the vocabulary is empty") }
        return table
    }

    /// The pieces of one word (its scalars): ids and their ranges within the word, appended to `pieces`.
    ///
    /// Candidates are prefixes of one buffer (`##` + the rest of the word in UTF-8), so no string is built per try.
    func tokenize(
        _ word: UnsafeBufferPointer<UInt32>, into pieces: inout [(id: Int32, range: Range<Int>)], scratch: inout Scratch
    ) {
        guard word.count <= maxInputCharsPerWord else {
            pieces.append((unknownID, 0..<word.count))
            return
        }
        scratch.utf8.removeAll(keepingCapacity: true)
        for scalar in word { appendUTF8(scalar, to: &scratch.utf8) }
        let longest = vocabulary.maxLength
        // Most words are tokens whole: one lookup, before the byte offsets of each scalar are worked out.
        if scratch.utf8.count <= longest,
            let id = scratch.utf8.withUnsafeBufferPointer({ vocabulary.id($0) })
        {
            pieces.append((id, 0..<word.count))
            return
        }
        scratch.boundaries.removeAll(keepingCapacity: true)
        scratch.boundaries.append(0)  // byte offset of each scalar, and the end
        for scalar in word {
            let width = scalar < 0x80 ? 1 : scalar < 0x800 ? 2 : scalar < 0x10000 ? 3 : 4
            scratch.boundaries.append(scratch.boundaries[scratch.boundaries.count - 1] + width)
        }
        let first = pieces.count
        var start = 0
        while start < word.count {
            scratch.buffer.removeAll(keepingCapacity: true)
            if start > 0 { scratch.buffer += prefixBytes }
            let head = scratch.buffer.count
            scratch.buffer += scratch.utf8[scratch.boundaries[start]...]
            var end = word.count
            // No entry is longer than `longest` bytes: skip the candidates that cannot match (same result).
            while end > start, head + scratch.boundaries[end] - scratch.boundaries[start] > longest { end -= 1 }
            var found: Int32?
            scratch.buffer.withUnsafeBufferPointer { candidate in
                while start < end {
                    let length = head + scratch.boundaries[end] - scratch.boundaries[start]
                    if let id = vocabulary.id(UnsafeBufferPointer(rebasing: candidate[0..<length])) {
                        found = id
                        return
                    }
                    end -= 1
                }
            }
            guard let id = found else {
                pieces.removeSubrange(first...)
                pieces.append((unknownID, 0..<word.count))
                return
            }
            pieces.append((id, start..<end))
            start = end
        }
    }

    /// Buffers reused across words, so tokenizing a word allocates nothing.
    struct Scratch {
        var utf8: [UInt8] = []
        var boundaries: [Int] = []
        var buffer: [UInt8] = []
    }
}

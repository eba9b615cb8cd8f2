import Support

/// The WordLevel model: each word is one token, or the unknown token when the vocabulary lacks it.
///
/// ```swift
/// let model = try WordLevel(vocabulary: [("[UNK]", 0), ("hello", 1)], unknownToken: "[UNK]")
/// ```
public final class WordLevel: Sendable {
    let vocabulary: VocabularyTable
    public let unknownID: Int32

    /// A model over `vocabulary` (token, id) pairs; the unknown token must be in it (tokenizers fails at encoding
    /// time on an unknown word otherwise, so such a file is refused when loaded).
    public convenience init(vocabulary: [(String, Int32)], unknownToken: String) throws(TokenizerError) {
        try self.init(table: VocabularyTable(vocabulary), unknownToken: unknownToken)
    }

    /// A model over a filled vocabulary table, as a tokenizer file is read.
    init(table: VocabularyTable, unknownToken: String) throws(TokenizerError) {
        guard let unknownID = table.id(unknownToken) else {
            throw TokenizerError.invalid("the unknown token '\(unknownToken)' is not in the vocabulary")
        }
        self.vocabulary = table
        self.unknownID = unknownID
    }

    /// The token of one word (its scalars), appended to `pieces`; `bytes` is scratch space.
    func tokenize(
        _ word: UnsafeBufferPointer<UInt32>, into pieces: inout [(id: Int32, range: Range<Int>)], bytes: inout [UInt8]
    ) {
        bytes.removeAll(keepingCapacity: true)
        for scalar in word { appendUTF8(scalar, to: &bytes) }
        let id = bytes.withUnsafeBufferPointer { vocabulary.id($0) } ?? unknownID
        pieces.append((id, 0..<word.count))
    }
}

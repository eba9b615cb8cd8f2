/// One encoded text (or pair of texts): what a model takes, and where each token came from.
///
/// ```swift
/// let encoding = tokenizer.encode("ModelHub reads files")
/// for (token, range) in zip(encoding.tokens, encoding.offsets) { print(token, range) }   // UTF-8 byte offsets
/// ```
public struct Encoding: Sendable, Equatable {
    /// Token ids, special tokens included.
    public var ids: [Int32] = []
    /// The tokens as strings (`[CLS]`, `hello`, `##ing`).
    public var tokens: [String] = []
    /// 0 for the first text and its special tokens, 1 for the second (BERT's segment ids).
    public var typeIDs: [Int32] = []
    /// Each token's span in its input text, in Unicode code points (`0..<0` for added special tokens).
    public var offsets: [Range<Int>] = []
    /// 1 where the post-processor added a special token.
    public var specialTokensMask: [Int32] = []
    /// 1 for real tokens, 0 for padding.
    public var attentionMask: [Int32] = []
    /// Which text each token came from: 0, 1, or nil for added special tokens.
    public var sequenceIDs: [Int?] = []
    /// What truncation cut off, as windows of the same length (overlapping by the stride), each with the special
    /// tokens added; in tokenizers' order and nesting (a pair cut on both sides nests some windows one level down).
    public var overflowing: [Encoding] = []

    public init() {}

    /// The number of tokens.
    public var count: Int { ids.count }

    mutating func append(
        id: Int32, token: String, typeID: Int32, offsets: Range<Int>, special: Bool, sequence: Int?
    ) {
        ids.append(id)
        tokens.append(token)
        typeIDs.append(typeID)
        self.offsets.append(offsets)
        specialTokensMask.append(special ? 1 : 0)
        attentionMask.append(1)
        sequenceIDs.append(sequence)
    }

    mutating func reserveCapacity(_ count: Int) {
        ids.reserveCapacity(count)
        tokens.reserveCapacity(count)
        typeIDs.reserveCapacity(count)
        offsets.reserveCapacity(count)
        specialTokensMask.reserveCapacity(count)
        attentionMask.reserveCapacity(count)
        sequenceIDs.reserveCapacity(count)
    }

    /// The tokens in `range`, without overflowing parts.
    func slice(_ range: Range<Int>) -> Encoding {
        var part = Encoding()
        part.ids = Array(ids[range])
        part.tokens = Array(tokens[range])
        part.typeIDs = Array(typeIDs[range])
        part.offsets = Array(offsets[range])
        part.specialTokensMask = Array(specialTokensMask[range])
        part.attentionMask = Array(attentionMask[range])
        part.sequenceIDs = Array(sequenceIDs[range])
        return part
    }

    /// Appends `other`'s tokens; overflowing parts combine as tokenizers' `Encoding::merge_with` combines them
    /// (each of ours with `other` and with each of its parts, then ours whole with each of its parts).
    mutating func merge(_ other: Encoding) {
        if !overflowing.isEmpty || !other.overflowing.isEmpty {
            var combined: [Encoding] = []
            for part in overflowing {
                var joined = part
                joined.merge(other)
                combined.append(joined)
                for otherPart in other.overflowing {
                    var joined = part
                    joined.merge(otherPart)
                    combined.append(joined)
                }
            }
            for otherPart in other.overflowing {
                var joined = self
                joined.merge(otherPart)
                combined.append(joined)
            }
            overflowing = combined
        }
        ids += other.ids
        tokens += other.tokens
        typeIDs += other.typeIDs
        offsets += other.offsets
        specialTokensMask += other.specialTokensMask
        attentionMask += other.attentionMask
        sequenceIDs += other.sequenceIDs
    }

    /// Sets every token's type id and text number, in the overflowing parts too.
    mutating func assign(typeID: Int32, sequence: Int) {
        typeIDs = [Int32](repeating: typeID, count: count)
        sequenceIDs = [Int?](repeating: sequence, count: count)
        for index in overflowing.indices { overflowing[index].assign(typeID: typeID, sequence: sequence) }
    }
}

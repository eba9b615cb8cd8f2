/// One encoded text (or pair of texts): what a model takes, and where each token came from.
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
}

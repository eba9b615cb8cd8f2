/// A token added on top of the model's vocabulary (`[CLS]`, `<mask>`…), matched in the text before the model sees it.
///
/// ```swift
/// tokenizer.id(for: "[CLS]")      // an added (special) token's id
/// ```
public struct AddedToken: Sendable, Equatable {
    public var content: String
    public var id: Int32
    /// Special tokens are skipped when decoding with `skipSpecialTokens`.
    public var special: Bool
    /// Only where it is not part of a longer word.
    public var singleWord = false
    /// Takes the whitespace on its left (RoBERTa's `<mask>`) or right into the match.
    public var lstrip = false
    public var rstrip = false
    /// Matched in the normalized text rather than in the input as given.
    public var normalized = false

    public init(
        content: String, id: Int32, special: Bool, singleWord: Bool = false, lstrip: Bool = false,
        rstrip: Bool = false, normalized: Bool = false
    ) {
        self.content = content
        self.id = id
        self.special = special
        self.singleWord = singleWord
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.normalized = normalized
    }

    var scalars: [UInt32] { content.unicodeScalars.map(\.value) }
}

/// Finds added tokens in text: leftmost match first, the longest when several start at one place.
struct AddedTokenMatcher: Sendable {
    private let tokens: [(scalars: [UInt32], token: AddedToken)]
    /// The scalars a token can start with: most positions of a text are skipped with one lookup.
    private let asciiStarts: [Bool]
    private let otherStarts: Set<UInt32>

    init(_ tokens: [AddedToken]) {
        self.tokens = tokens.filter { !$0.content.isEmpty }.map { ($0.scalars, $0) }
            .sorted { $0.scalars.count > $1.scalars.count }
        let firsts = self.tokens.compactMap { $0.scalars.first }
        asciiStarts = (0..<128).map { firsts.contains(UInt32($0)) }
        otherStarts = Set(firsts.filter { $0 >= 128 })
    }

    var isEmpty: Bool { tokens.isEmpty }

    /// A piece of text: either plain (to normalize and tokenize) or an added token, with the span of its content
    /// (its offsets: the whitespace `lstrip` / `rstrip` take is consumed but not part of them).
    enum Piece {
        case text(Range<Int>)
        case token(AddedToken, Range<Int>)
    }

    /// Splits `text[range]` around the added tokens found in it, in place of what `pieces` held.
    func split(_ text: [UInt32], _ range: Range<Int>, into pieces: inout [Piece]) {
        pieces.removeAll(keepingCapacity: true)
        guard !tokens.isEmpty else {
            pieces.append(.text(range))
            return
        }
        var plainStart = range.lowerBound
        var index = range.lowerBound
        while index < range.upperBound {
            let scalar = text[index]
            let possible = scalar < 128 ? asciiStarts[Int(scalar)] : otherStarts.contains(scalar)
            guard possible, let token = match(text, at: index, in: range) else {
                index += 1
                continue
            }
            var start = index
            var end = index + token.scalars.count
            if token.token.lstrip { while start > plainStart, isSpace(text[start - 1]) { start -= 1 } }
            if token.token.rstrip { while end < range.upperBound, isSpace(text[end]) { end += 1 } }
            if plainStart < start { pieces.append(.text(plainStart..<start)) }
            pieces.append(.token(token.token, index..<index + token.scalars.count))
            plainStart = end
            index = end
        }
        if plainStart < range.upperBound { pieces.append(.text(plainStart..<range.upperBound)) }
    }

    private func match(_ text: [UInt32], at index: Int, in range: Range<Int>) -> (scalars: [UInt32], token: AddedToken)?
    {
        for candidate in tokens where index + candidate.scalars.count <= range.upperBound {
            guard text[index..<index + candidate.scalars.count].elementsEqual(candidate.scalars) else { continue }
            if candidate.token.singleWord {
                let before = index > range.lowerBound ? text[index - 1] : nil
                let after =
                    index + candidate.scalars.count < range.upperBound ? text[index + candidate.scalars.count] : nil
                if before.map(isWordCharacter) == true || after.map(isWordCharacter) == true { continue }
            }
            return candidate
        }
        return nil
    }

    private func isSpace(_ scalar: UInt32) -> Bool {
        Unicode.Scalar(scalar)?.properties.isWhitespace ?? false
    }

    private func isWordCharacter(_ scalar: UInt32) -> Bool {
        guard let value = Unicode.Scalar(scalar) else { return false }
        return value.properties.isAlphabetic || value.properties.numericType != nil || scalar == 0x5F
    }
}

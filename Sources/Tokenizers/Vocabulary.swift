/// A word vocabulary built from training text, for models trained from scratch (torchtext's
/// `build_vocab_from_iterator` over its `basic_english` tokenizer, which the LSTM seed uses).
///
/// ```swift
/// let vocabulary = Vocabulary(building: trainingTexts, minFrequency: 2)
/// let ids = vocabulary.encode("the cat sat")     // unknown words get unknownID
/// ```
public struct Vocabulary: Sendable, Equatable {
    /// Words by id: the specials first, then by descending frequency, ties in alphabetical order.
    public let words: [String]
    private let ids: [String: Int]
    /// The id of unknown words (the first special).
    public let unknownID: Int

    /// Counts the words of `texts` and keeps those seen `minFrequency` times, at most `maxSize` in all.
    public init(
        building texts: [String], minFrequency: Int = 1, maxSize: Int? = nil, specials: [String] = ["<unk>", "<pad>"]
    ) {
        var counts: [String: Int] = [:]
        for text in texts { for word in Vocabulary.basicEnglish(text) { counts[word, default: 0] += 1 } }
        let ranked = counts.filter { $0.value >= minFrequency && !specials.contains($0.key) }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            .map(\.key)
        let limit = maxSize.map { Swift.max(0, $0 - specials.count) } ?? ranked.count
        words = specials + ranked.prefix(limit)
        ids = Dictionary(words.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
        unknownID = 0
    }

    public var count: Int { words.count }

    public func id(_ word: String) -> Int { ids[word] ?? unknownID }

    /// The ids of a text's words.
    public func encode(_ text: String) -> [Int] { Vocabulary.basicEnglish(text).map(id) }

    /// torchtext's `basic_english`: lower-cased, `'` `.` `,` `(` `)` `!` `?` split off, `"` `;` `:` and `<br />`
    /// removed, split on white space.
    public static func basicEnglish(_ text: String) -> [String] {
        var out = ""
        var rest = Substring(text.lowercased())
        while let character = rest.first {
            if rest.hasPrefix("<br />") {
                out += " "
                rest = rest.dropFirst(6)
                continue
            }
            switch character {
            case "'": out += " '  "
            case "\"": break
            case ".", ",", "(", ")", "!", "?": out += " \(character) "
            case ";", ":": out += " "
            default: out.append(character)
            }
            rest = rest.dropFirst()
        }
        return out.split(whereSeparator: \.isWhitespace).map(String.init)
    }
}

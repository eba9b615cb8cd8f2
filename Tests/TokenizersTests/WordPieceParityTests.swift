import Support
import TestSupport
import Testing

@testable import Tokenizers

/// Every line of Tests/Fixtures/tokenizers/corpus.json (real text in many scripts, with emoji, odd whitespace,
/// control characters, long words), alone and in pairs, encoded and decoded exactly as Hugging Face `tokenizers`
/// 0.23 does (reference-wordpiece.json, from generate_tokenizers.py): ids, type ids, offsets in code points, special
/// tokens mask, and decoded text with and without special tokens.
@Suite struct WordPieceParityTests {
    static let folder = Fixtures.path("tokenizers")
    static let corpus: [String] = {
        let value = try? Fixtures.json(folder + "/corpus.json")
        return value?.array?.compactMap(\.string) ?? []
    }()
    static let reference: JSONObject? = (try? Fixtures.json(folder + "/reference-wordpiece.json"))?.object

    /// The tokenizer built each way a user can build it: from tokenizer.json, and from vocab.txt with the flags
    /// transformers uses for that model.
    static func tokenizer(_ name: String, fromVocabulary: Bool) throws -> Tokenizer {
        let folder = Self.folder + "/" + name
        if fromVocabulary {
            return try Tokenizer.bert(vocabulary: folder + "/vocab.txt", lowercase: name.contains("uncased"))
        }
        return try Tokenizer.load(file: folder + "/tokenizer.json")
    }

    @Test(arguments: [
        ("minilm-uncased", false), ("minilm-uncased", true), ("cased-wordpiece", false), ("cased-wordpiece", true),
    ])
    func matchesTokenizers(_ name: String, _ fromVocabulary: Bool) throws {
        #expect(Self.corpus.count > 1500)
        let tokenizer = try Self.tokenizer(name, fromVocabulary: fromVocabulary)
        let expected = try #require(Self.reference?[name]?.object)
        let singles = try #require(expected["single"]?.array)
        #expect(singles.count == Self.corpus.count)
        var mismatches: [String] = []
        func check(_ encoding: Encoding, _ want: JSONObject, _ label: String) {
            let ids = want["ids"]?.array?.compactMap(\.integer).map { Int32($0) } ?? []
            let typeIDs = want["type_ids"]?.array?.compactMap(\.integer).map { Int32($0) } ?? []
            let flat = want["offsets"]?.array?.compactMap(\.integer) ?? []
            let offsets = stride(from: 0, to: flat.count - 1, by: 2).map { flat[$0]..<flat[$0 + 1] }
            let special = want["special"]?.array?.compactMap(\.integer).map { Int32($0) } ?? []
            var problems: [String] = []
            if encoding.ids != ids { problems.append("ids \(encoding.ids) != \(ids)") }
            if encoding.typeIDs != typeIDs { problems.append("type ids") }
            if encoding.offsets != offsets { problems.append("offsets \(encoding.offsets) != \(offsets)") }
            if encoding.specialTokensMask != special { problems.append("special mask") }
            if tokenizer.decode(encoding.ids) != want["decoded"]?.string {
                problems.append(
                    "decode \(tokenizer.decode(encoding.ids).debugDescription) != \(want["decoded"]?.string?.debugDescription ?? "")"
                )
            }
            if tokenizer.decode(encoding.ids, skipSpecialTokens: false) != want["decoded_all"]?.string {
                problems.append("decode with specials")
            }
            if !problems.isEmpty, mismatches.count < 8 {
                mismatches.append("\(label): " + problems.joined(separator: "; "))
            }
            if !problems.isEmpty, mismatches.count >= 8 { mismatches.append("") }
        }
        for (index, line) in Self.corpus.enumerated() {
            guard let want = singles[index].object else { continue }
            check(tokenizer.encode(line), want, "line \(index) \(line.prefix(60).debugDescription)")
        }
        for pair in try #require(expected["pair"]?.array).compactMap(\.object) {
            let a = try #require(pair["a"]?.integer), b = try #require(pair["b"]?.integer)
            check(tokenizer.encode(Self.corpus[a], pair: Self.corpus[b]), pair, "pair \(a)+\(b)")
        }
        #expect(
            mismatches.isEmpty,
            "\(mismatches.filter { !$0.isEmpty }.joined(separator: "\n")) (\(mismatches.count) in all)")
    }
}

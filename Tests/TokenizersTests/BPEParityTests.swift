import Support
import TestSupport
import Testing

@testable import Tokenizers

/// Byte-level BPE as GPT-2 and RoBERTa set it up, and WordLevel, against Hugging Face `tokenizers`.
///
/// Every third line of the corpus and pairs (reference-bpe.json): ids, type ids, offsets (with RoBERTa's offset
/// trimming), special tokens mask, decoded text. The same for a WordLevel tokenizer (WhitespaceSplit, TemplateProcessing, no decoder)
/// on every fourth line (reference-wordlevel.json).
@Suite struct BPEParityTests {
    @Test(arguments: ["gpt2-bpe", "roberta-bpe", "wordlevel"])
    func matchesTokenizers(_ name: String) throws {
        let corpus = try Fixtures.json(Fixtures.path("tokenizers/corpus.json")).array?.compactMap(\.string) ?? []
        let expected =
            name == "wordlevel"
            ? try #require(try Fixtures.json(Fixtures.path("tokenizers/reference-wordlevel.json")).object)
            : try #require(try Fixtures.json(Fixtures.path("tokenizers/reference-bpe.json")).object?[name]?.object)
        let tokenizer = try Tokenizer.load(file: Fixtures.path("tokenizers/\(name)/tokenizer.json"))
        var mismatches: [String] = []
        func check(_ encoding: Encoding, _ want: JSONObject, _ label: String) {
            let problems = differences(encoding, from: want, decodedBy: tokenizer)
            if !problems.isEmpty { mismatches.append("\(label): " + problems.joined(separator: "; ")) }
        }
        let singles = try #require(expected["single"]?.array).compactMap(\.object)
        #expect(singles.count > 300)
        for want in singles {
            let line = try #require(want["line"]?.integer)
            check(tokenizer.encode(corpus[line]), want, "line \(line) \(corpus[line].prefix(50).debugDescription)")
        }
        for pair in try #require(expected["pair"]?.array).compactMap(\.object) {
            let a = try #require(pair["a"]?.integer), b = try #require(pair["b"]?.integer)
            check(tokenizer.encode(corpus[a], pair: corpus[b]), pair, "pair \(a)+\(b)")
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(6).joined(separator: "\n")) (\(mismatches.count) in all)")
    }
}

/// GPT-2's pattern on strings chosen to reach every alternative (all contractions, whitespace runs before words
/// and at the end, numbers, marks, emoji, scripts, separators), against tokenizers' ByteLevel pre-tokenizer.
@Suite struct ByteLevelSplitTests {
    @Test func matchesTokenizers() throws {
        let reference = try Fixtures.json(Fixtures.path("tokenizers/reference-bpe.json"))
        let cases = try #require(reference.object?["pretokenize"]?.array)
        #expect(cases.count >= 10)
        for item in cases.compactMap(\.array) {
            let text = try #require(item.first?.string)
            let want = item.last?.array?.compactMap(\.string)
            let words = ByteLevel(addPrefixSpace: false).words(
                NormalizedText(text.unicodeScalars.map(\.value)[...], start: 0))
            let got = words.map { word in String(String.UnicodeScalarView(word.scalars.compactMap(Unicode.Scalar.init)))
            }
            #expect(got == want, "\(text.debugDescription)")
        }
    }
}

/// Added tokens inside the text with byte-level tokenizers: RoBERTa's `<mask>` takes the spaces on its left (its
/// offsets do not), the other special tokens match as written; as tokenizers gives them.
@Suite struct ByteLevelAddedTokenTests {
    @Test(arguments: ["roberta-bpe", "gpt2-bpe"])
    func matchesTokenizers(_ name: String) throws {
        let reference = try Fixtures.json(Fixtures.path("tokenizers/reference-bpe.json"))
        let cases = try #require(reference.object?["added"]?.object?[name]?.array)
        let tokenizer = try Tokenizer.load(file: Fixtures.path("tokenizers/\(name)/tokenizer.json"))
        #expect(cases.count >= 3)
        for item in cases.compactMap(\.array) {
            let text = try #require(item.first?.string)
            let want = try #require(item.last?.object)
            let encoding = tokenizer.encode(text)
            #expect(encoding.ids.map(Int.init) == want["ids"]?.array?.compactMap(\.integer), "\(text)")
            let flat = encoding.offsets.flatMap { [$0.lowerBound, $0.upperBound] }
            #expect(flat == want["offsets"]?.array?.compactMap(\.integer), "\(text)")
            #expect(tokenizer.decode(encoding.ids) == want["decoded"]?.string, "\(text)")
        }
    }
}

/// GPT-2 and RoBERTa from `vocab.json` + `merges.txt` (no tokenizer.json), set up as transformers' converter sets
/// them up, encode every corpus line exactly as the tokenizer.json of the same training does; AutoTokenizer picks
/// the family from tokenizer_config.json; a malformed merges line is named.
@Suite struct VocabularyFilesTests {
    @Test(arguments: [("gpt2-bpe", "GPT2Tokenizer"), ("roberta-bpe", "RobertaTokenizer")])
    func sameAsTokenizerJSON(_ name: String, _ tokenizerClass: String) throws {
        let folder = Fixtures.path("tokenizers/" + name)
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        for file in ["vocab.json", "merges.txt"] { try copyFile(folder + "/" + file, scratch.path + "/" + file) }
        try writeText(#"{"tokenizer_class": "\#(tokenizerClass)"}"#, to: scratch.path + "/tokenizer_config.json")
        let fromFiles = try AutoTokenizer.fromFolder(scratch.path)
        let reference = try Tokenizer.load(file: folder + "/tokenizer.json")
        let corpus = try Fixtures.json(Fixtures.path("tokenizers/corpus.json")).array?.compactMap(\.string) ?? []
        var differing: [Int] = []
        for (index, line) in corpus.enumerated() where fromFiles.encode(line) != reference.encode(line) {
            differing.append(index)
        }
        #expect(differing.isEmpty, "lines \(differing.prefix(10))")
        #expect(fromFiles.encode(corpus[0], pair: corpus[1]) == reference.encode(corpus[0], pair: corpus[1]))
        #expect(
            fromFiles.decode(reference.encode(corpus[960]).ids) == reference.decode(reference.encode(corpus[960]).ids))
    }

    @Test func malformedMerges() throws {
        #expect(throws: TokenizerError.file(path: "m.txt", reason: "line 3 is not two tokens: 'a b c'")) {
            try Tokenizer.readMerges(Array("#version: 0.2\nĠ Ġ\na b c\n".utf8), path: "m.txt")
        }
        #expect(try Tokenizer.readMerges(Array("#version: 0.2\r\nĠ Ġ\r\no r\r\n".utf8), path: "m.txt").count == 2)
    }
}

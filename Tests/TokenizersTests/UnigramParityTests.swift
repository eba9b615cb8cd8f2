import Support
import TestSupport
import Testing

@testable import Tokenizers

/// The SentencePiece family against Hugging Face `tokenizers` (reference-unigram.json, from
/// Tests/Fixtures/generate_unigram.py): every corpus line (real text in many scripts, emoji, combining marks, control
/// characters; every 8th for the tiny one) alone and every 16th pair — ids, type ids, offsets, special tokens mask, decoded text — for a
/// SentencePiece model converted by transformers 5 (Precompiled nmt_nfkc charsmap, WhitespaceSplit + Metaspace),
/// the same in the older Hub layout (Metaspace with `add_prefix_space`), and a Unigram trained by tokenizers with
/// byte fallback (NFKC, Lowercase, Replace, Strip; Llama's decoder chain); and a tiny hand-made Unigram (Prepend,
/// WhitespaceSplit + Metaspace, mostly unknown and byte-fallback text).
@Suite struct UnigramParityTests {
    @Test(arguments: ["xlmr-spm", "xlmr-legacy", "unigram-trained", "unigram-tiny"])
    func matchesTokenizers(_ name: String) throws {
        let corpus = try Fixtures.json(Fixtures.path("tokenizers/corpus.json")).array?.compactMap(\.string) ?? []
        let expected = try #require(
            try Fixtures.json(Fixtures.path("tokenizers/reference-unigram.json")).object?[name]?.object)
        let tokenizer = try Tokenizer.load(file: Fixtures.path("tokenizers/\(name)/tokenizer.json"))
        var mismatches: [String] = []
        func check(_ encoding: Encoding, _ want: JSONObject, _ label: String) {
            let problems = differences(encoding, from: want, decodedBy: tokenizer)
            if !problems.isEmpty { mismatches.append("\(label): " + problems.joined(separator: "; ")) }
        }
        let singles = try #require(expected["single"]?.array).compactMap(\.object)
        #expect(singles.count >= corpus.count / 8)
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

extension UnigramParityTests {
    /// Each thread caches the pieces of the words it has seen, per model.
    ///
    /// Two Unigram tokenizers encoding the same lines in turn on one thread (the same words, cut into different
    /// pieces) each still give tokenizers' encodings, and a line encoded again (every word a cache hit) gives the
    /// same encoding.
    @Test func wordCachesKeepModelsApart() throws {
        let corpus = try Fixtures.json(Fixtures.path("tokenizers/corpus.json")).array?.compactMap(\.string) ?? []
        let reference = try #require(try Fixtures.json(Fixtures.path("tokenizers/reference-unigram.json")).object)
        let names = ["xlmr-spm", "unigram-trained"]
        let tokenizers = try names.map { try Tokenizer.load(file: Fixtures.path("tokenizers/\($0)/tokenizer.json")) }
        let expected = try names.map { name in
            try #require(reference[name]?.object?["single"]?.array).compactMap(\.object).prefix(300)
        }
        var compared = 0
        for (first, second) in zip(expected[0], expected[1]) {
            let (line, other) = (try #require(first["line"]?.integer), try #require(second["line"]?.integer))
            for (index, (want, text)) in [(first, corpus[line]), (second, corpus[other])].enumerated() {
                let once = tokenizers[index].encode(text)
                let again = tokenizers[index].encode(text)
                let problems = differences(once, from: want, decodedBy: tokenizers[index])
                #expect(problems.isEmpty, "\(names[index]) \(text.prefix(40).debugDescription): \(problems)")
                #expect(once == again)
                compared += 1
            }
        }
        #expect(compared >= 400)
    }
}

/// Malformed SentencePiece-family files: one error naming the part, never a crash.
@Suite struct UnigramFileTests {
    static let xlmr = Fixtures.path("tokenizers/xlmr-spm/tokenizer.json")
    static let trained = Fixtures.path("tokenizers/unigram-trained/tokenizer.json")

    static func load(_ path: String, _ edit: (inout String) -> Void) throws -> Tokenizer {
        var text = try String(contentsOfFile: path, encoding: .utf8)
        edit(&text)
        return try Tokenizer.load(json: Array(text.utf8), path: "tokenizer.json")
    }

    // The file as transformers writes it (indented, two spaces); each edit breaks one part.
    @Test(arguments: [
        (#""unk_id": 3"#, #""unk_id": 9999"#, "unk_id 9999 is outside the 4002 pieces"),
        ("\"<pad>\",\n        0.0", "\"<pad>\",\n        \"high\"", "model.vocab[1] is not a [token, score] pair"),
        (#""precompiled_charsmap": ""#, #""precompiled_charsmap": "!!!"#, "precompiled_charsmap is not base64"),
        (#""precompiled_charsmap": ""#, #""precompiled_charsmap": "/////"#, "precompiled_charsmap"),
        (#""replacement": "▁""#, #""replacement": "▁▁""#, "Metaspace replacement is not one character"),
        (#""prepend_scheme": "always""#, #""prepend_scheme": "sometimes""#, "is not first, always or never"),
        (#""type": "WhitespaceSplit""#, #""type": "ByteLevel""#, "ByteLevel inside a pre_tokenizer Sequence"),
    ])
    func malformedXLMRIsRefusedByName(_ original: String, _ replacement: String, _ message: String) throws {
        let text = try String(contentsOfFile: Self.xlmr, encoding: .utf8)
        let range = try #require(text.range(of: original), "the fixture lacks \(original)")
        var edited = text
        edited.replaceSubrange(range, with: replacement)
        #expect {
            _ = try Tokenizer.load(json: Array(edited.utf8), path: "tokenizer.json")
        } throws: { error in
            "\(error)".contains(message) && "\(error)".split(separator: "\n").count == 1
        }
    }

    @Test func aTrieThatPointsOutsideItselfMatchesNothing() throws {
        // A charsmap whose trie is one unit pointing far outside it: loads, normalizes nothing, does not crash.
        var bytes: [UInt8] = [4, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F]
        bytes += Array("x\0".utf8)
        let charsmap = try PrecompiledCharsmap(bytes)
        var text = NormalizedText(Array("Ünïcödé ✓".unicodeScalars.map(\.value))[...], start: 0)
        let before = text.scalars
        Normalizer.precompiled(charsmap).apply(&text)
        #expect(text.scalars == before)
        #expect(throws: TokenizerError.self) { try PrecompiledCharsmap([8, 0, 0, 0, 1, 2, 3]) }
        #expect(throws: TokenizerError.self) { try PrecompiledCharsmap([4, 0, 0, 0, 0, 0, 0, 0, 0xC3]) }
    }

    @Test func anUnsupportedRegexIsRefusedByName() throws {
        #expect {
            _ = try Self.load(Self.trained) { $0 = $0.replacingOccurrences(of: #"" {2,}""#, with: #""(?<=a)b[""#) }
        } throws: { error in "\(error)".contains("normalizer Replace pattern '(?<=a)b['") }
    }
}

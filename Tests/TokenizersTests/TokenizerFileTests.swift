import Foundation
import Support
import TestSupport
import Testing

@testable import Tokenizers

/// Malformed tokenizer files (defence table T) are refused with one clear message naming the file; the ways
/// of finding a model's tokenizer (folder, .mhub, vocab.txt with tokenizer_config.json) agree.
@Suite struct TokenizerFileTests {
    static let minilm = Fixtures.path("tokenizers/minilm-uncased")

    /// A tokenizer.json with `edit` applied to the MiniLM one.
    func loadEdited(_ edit: (inout String) -> Void) throws -> Tokenizer {
        var text = try String(contentsOfFile: Self.minilm + "/tokenizer.json", encoding: .utf8)
        edit(&text)
        return try Tokenizer.load(json: Array(text.utf8), path: "tokenizer.json")
    }

    // The file is compact JSON (no spaces), as tokenizers writes it.
    @Test(arguments: [
        (#""[UNK]":100,"#, #""[UNK]":-1,"#, "no valid id"),
        (#""[UNK]":100,"#, #""[UNK]":101,"#, "id 101 is given twice"),
        (#""[UNK]":100,"#, #""[UNK]":1.5,"#, "no valid id"),
        (#""[UNK]":100,"#, #""[UNK]":100,"[UNK]":100,"#, "duplicate key"),
        (#""unk_token":"[UNK]""#, #""unk_token":"<unk>""#, "the unknown token '<unk>' is not in the vocabulary"),
        (#""model":{"type":"WordPiece""#, #""model":{"type":"Unigram""#, "model.vocab is not a list of [token, score]"),
        (#""model":{"type":"WordPiece""#, #""model":{"type":"Bigram""#, "the Bigram model is not supported"),
        (#""type":"BertPreTokenizer""#, #""type":"Punctuation""#, "pre_tokenizer Punctuation is not supported"),
        (
            #"{"id":103,"special":true,"content":"[MASK]""#, #"{"id":7592,"special":true,"content":"[MASK]""#,
            "the vocabulary gives to 'hello'"
        ),
        (#""max_input_chars_per_word":100"#, #""max_input_chars_per_word":"many""#, "not a non-negative integer"),
        (#""strategy":"LongestFirst""#, #""strategy":"Sideways""#, "truncation.strategy Sideways is unknown"),
        (#""stride":0"#, #""stride":-2"#, "stride is not a non-negative integer"),
        (#""strategy":{"Fixed":128}"#, #""strategy":{"Fixed":"all"}"#, "padding.strategy.Fixed is not"),
        (
            #""model":{"type":"WordPiece","unk_token":"[UNK]""#, #""model":{"type":"WordLevel","unk_token":"<unk>""#,
            "the unknown token '<unk>' is not in the vocabulary"
        ),
    ])
    func malformedFilesAreRefused(_ original: String, _ replacement: String, _ message: String) throws {
        let text = try String(contentsOfFile: Self.minilm + "/tokenizer.json", encoding: .utf8)
        try #require(text.contains(original))
        #expect {
            _ = try loadEdited { text in
                guard let range = text.range(of: original) else { return }
                text.replaceSubrange(range, with: replacement)
            }
        } throws: { error in
            let description = "\(error)"
            return description.contains(message) && description.hasPrefix("tokenizer.json")
                && !description.contains("\n")
        }
    }

    @Test func vocabularyFileChecks() throws {
        #expect(throws: TokenizerError.file(path: "v.txt", reason: "line 2 is not UTF-8")) {
            try Tokenizer.bert(vocabulary: Array("[CLS]\n\u{FF}\n".utf8).map { $0 == 0xC3 ? 0xFF : $0 }, path: "v.txt")
        }
        #expect(throws: TokenizerError.file(path: "v.txt", reason: "the vocabulary lacks [CLS] or [SEP]")) {
            try Tokenizer.bert(vocabulary: Array("[UNK]\nhello\n".utf8), path: "v.txt")
        }
        // A repeated token keeps its last line, as transformers' load_vocab does; CRLF lines work.
        let tokenizer = try Tokenizer.bert(
            vocabulary: Array("[UNK]\r\n[CLS]\r\n[SEP]\r\nhi\r\nhi\r\n".utf8), path: "v.txt")
        #expect(tokenizer.encode("hi").ids == [1, 4, 2])
        #expect(throws: TokenizerError.self) { try Tokenizer.load(file: Fixtures.path("tokenizers/corpus.json")) }
        #expect(throws: TokenizerError.self) { try Tokenizer.load(file: "/nonexistent/tokenizer.json") }
    }

    /// AutoTokenizer finds the same tokenizer in a folder, in a vocab.txt-only folder and in an .mhub.
    @Test func autoTokenizerAgrees() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try FileManager.default.createDirectory(atPath: scratch.path + "/vocab-only", withIntermediateDirectories: true)
        for name in ["vocab.txt", "tokenizer_config.json"] {
            try copyFile(Self.minilm + "/" + name, scratch.path + "/vocab-only/" + name)
        }
        let text = "Ünïcode, CJK 東京 and emoji 🚀 — [MASK] isn't split"
        let reference = try AutoTokenizer.fromFolder(Self.minilm).encode(text)
        #expect(try AutoTokenizer.fromFolder(scratch.path + "/vocab-only").encode(text) == reference)
        #expect(reference.tokens.contains("[MASK]") && reference.tokens.first == "[CLS]")
        #expect(throws: TokenizerError.self) { try AutoTokenizer.fromFolder(scratch.path) }
    }
}

/// Malformed or unsupported byte-level BPE files (defence T4, T5, T9): refused at load, naming the file.
@Suite struct BPEFileTests {
    static let path = Fixtures.path("tokenizers/gpt2-bpe/tokenizer.json")

    @Test(arguments: [
        ("\"Ġ\",\n        \"Ġ\"\n", "\"Ġ\",\n        \"Ġzzz\"\n", "uses a token not in the vocabulary"),
        ("\"ignore_merges\": false", "\"ignore_merges\": true", "BPE ignore_merges is not supported"),
        ("\"byte_fallback\": false", "\"byte_fallback\": true", "BPE byte_fallback is not supported"),
        ("\"dropout\": null", "\"dropout\": 0.1", "BPE dropout is not supported"),
        (
            "\"merges\": [\n      [\n        \"Ġ\",\n        \"Ġ\"\n      ],", "\"merges\": [\"Ġ Ġ extra\",",
            "merge 1 is not two tokens"
        ),
    ])
    func refused(_ original: String, _ replacement: String, _ message: String) throws {
        var text = try String(contentsOfFile: Self.path, encoding: .utf8)
        let range = try #require(text.range(of: original))
        text.replaceSubrange(range, with: replacement)
        #expect {
            try Tokenizer.load(json: Array(text.utf8), path: "bpe/tokenizer.json")
        } throws: { error in
            "\(error)".contains(message) && "\(error)".hasPrefix("bpe/tokenizer.json")
        }
    }

    /// Merges written as "a b" strings (older files) load to the same tokenizer as [a, b] pairs.
    @Test func stringMerges() throws {
        let text = try String(contentsOfFile: Self.path, encoding: .utf8)
        let root = try JSONParser.parse(Array(text.utf8), maxDepth: 64)
        guard case .object(var object) = root, case .object(var model)? = object["model"],
            let merges = model["merges"]?.array
        else { throw TokenizerError.invalid("fixture layout") }
        let strings = merges.compactMap { $0.array?.compactMap(\.string).joined(separator: " ") }.map(JSONValue.string)
        model = JSONObject(model.entries.map { $0.key == "merges" ? ("merges", .array(strings)) : $0 })
        object = JSONObject(object.entries.map { $0.key == "model" ? ("model", .object(model)) : $0 })
        let rewritten = try Tokenizer.load(json: Array(JSONValue.object(object).serialized().utf8), path: "b.json")
        let original = try Tokenizer.load(file: Self.path)
        let sample = "Byte-level BPE: merges as strings or pairs, naïve café 東京 🚀"
        #expect(rewritten.encode(sample) == original.encode(sample))
        #expect(original.encode(sample).count > 10)
    }
}

import Foundation
import TestSupport
import Testing

@testable import Tokenizers

/// Malformed tokenizer files (RELIABILITY table T) are refused with one clear message naming the file; the ways
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
        (#""model":{"type":"WordPiece""#, #""model":{"type":"Unigram""#, "the Unigram model is not supported"),
        (#""type":"BertPreTokenizer""#, #""type":"Metaspace""#, "pre_tokenizer Metaspace is not supported"),
        (
            #"{"id":103,"special":true,"content":"[MASK]""#, #"{"id":7592,"special":true,"content":"[MASK]""#,
            "the vocabulary gives to 'hello'"
        ),
        (#""max_input_chars_per_word":100"#, #""max_input_chars_per_word":"many""#, "not a non-negative integer"),
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
        let reference = try AutoTokenizer.fromPretrained(Self.minilm).encode(text)
        #expect(try AutoTokenizer.fromPretrained(scratch.path + "/vocab-only").encode(text) == reference)
        #expect(reference.tokens.contains("[MASK]") && reference.tokens.first == "[CLS]")
        #expect(throws: TokenizerError.self) { try AutoTokenizer.fromPretrained(scratch.path) }
    }
}

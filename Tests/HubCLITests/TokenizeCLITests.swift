import Foundation
import Support
import TestSupport
import Testing

@testable import Formats

/// `hub tokenize` as a user runs it: the JSON shape README documents, ids as `tokenizer(text)` gives them in Python
/// (the reference file made by `tokenizers`), the .mhub path, --file, and the error contract.
@Suite struct TokenizeCLITests {
    let hub = Fixtures.hubExecutable
    static let minilm = Fixtures.path("tokenizers/minilm-uncased")

    @Test func jsonMatchesTheReference() throws {
        let corpus = try Fixtures.json(Fixtures.path("tokenizers/corpus.json")).array?.compactMap(\.string) ?? []
        let reference = try Fixtures.json(Fixtures.path("tokenizers/reference-wordpiece.json"))
        let singles = try #require(reference.object?["minilm-uncased"]?.object?["single"]?.array)
        let picks = [0, 700, 960, 1100, 1300]
        let result = try runProcess(hub, ["tokenize", Self.minilm, "--json"] + picks.map { corpus[$0] })
        #expect(result.status == 0, "\(result.stderr)")
        let items = try #require(try JSONParser.parse(Array(result.stdout.utf8), maxDepth: 8).array)
        #expect(items.count == picks.count)
        for (item, index) in zip(items, picks) {
            let object = try #require(item.object)
            #expect(object.keys.prefix(4) == ["text", "ids", "tokens", "offsets"])
            #expect(object["text"]?.string == corpus[index])
            #expect(object["ids"] == singles[index].object?["ids"])
            let offsets = object["offsets"]?.array?.compactMap(\.array).flatMap { $0 }
            #expect(offsets == singles[index].object?["offsets"]?.array)
        }
    }

    @Test func pairAndMhubAndFile() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        // The tokenizer files travel inside an .mhub; the CLI reads them from there.
        try FileManager.default.createDirectory(atPath: scratch.path + "/model", withIntermediateDirectories: true)
        for name in ["config.json", "model.safetensors"] {
            try copyFile(Fixtures.path("models/tiny-bert/" + name), scratch.path + "/model/" + name)
        }
        for name in ["tokenizer.json", "vocab.txt", "tokenizer_config.json"] {
            try copyFile(Self.minilm + "/" + name, scratch.path + "/model/" + name)
        }
        let converted = try runProcess(hub, ["convert", scratch.path + "/model", "-o", scratch.path + "/m.mhub"])
        #expect(converted.status == 0, "\(converted.stderr)")
        let fromFolder = try runProcess(hub, ["tokenize", Self.minilm, "Hello there!", "--pair", "General Kenobi."])
        let fromMhub = try runProcess(
            hub, ["tokenize", scratch.path + "/m.mhub", "Hello there!", "--pair", "General Kenobi."])
        #expect(fromFolder.status == 0 && fromFolder.stdout == fromMhub.stdout)
        // What tokenizers 0.23 gives for this pair with the same tokenizer.json.
        #expect(
            fromFolder.stdout.contains("[CLS] hello there ! [SEP] general ken ##ob ##i . [SEP]"), "\(fromFolder.stdout)"
        )

        try writeText("one line\nand another one\n", to: scratch.path + "/lines.txt")
        let file = try runProcess(hub, ["tokenize", Self.minilm, "--file", scratch.path + "/lines.txt", "--json"])
        let summary = try #require(try JSONParser.parse(Array(file.stdout.utf8)).object)
        #expect(summary["lines"]?.integer == 3 && summary["tokens"]?.integer == 4 + 5 + 2)
    }

    @Test func errors() throws {
        let missing = try runProcess(hub, ["tokenize", Fixtures.path("models"), "text"])
        #expect(
            missing.status == 1
                && missing.stderr.contains("no tokenizer.json, vocab.txt, or vocab.json with merges.txt"))
        #expect(missing.stderr.split(separator: "\n").count == 1)
        let usage = try runProcess(hub, ["tokenize", Self.minilm])
        #expect(usage.status == 64)
    }
}

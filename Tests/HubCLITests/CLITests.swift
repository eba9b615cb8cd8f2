import Formats
import Foundation
import Support
import TestSupport
import Testing

/// The `hub` executable end to end: output shapes of convert / inspect / export, and the error contract
/// (one line on stderr naming the file, exit 1 for bad input, 64 for bad usage, no output left behind).
@Suite struct CLITests {
    let hub = Fixtures.hubExecutable

    @Test func convertInspectExportRoundTrip() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let mhub = scratch.path + "/bert.mhub"
        let convert = try runProcess(hub, ["convert", Fixtures.path("models/tiny-bert"), "-o", mhub, "--json"])
        #expect(convert.status == 0, "\(convert.stderr)")
        let summary = try JSONParser.parse(Array(convert.stdout.utf8)).object!
        #expect(summary["tensors"]?.integer == 42)
        #expect(summary["format"]?.string == "safetensors")
        #expect(summary["files"]?.array?.compactMap(\.string).contains("config.json") == true)

        let inspect = try runProcess(hub, ["inspect", mhub, "--json", "--verify"])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        let root = try JSONParser.parse(Array(inspect.stdout.utf8)).object!
        #expect(root["format"]?.string == "mhub")
        #expect(root["verified"] == .bool(true))
        let first = try #require(root["tensors"]?.array?.first?.object)
        #expect(first.keys.prefix(4) == ["name", "dtype", "shape", "bytes"])
        #expect(root["metadata"]?.object?["format"]?.string == "pt")
        #expect(root["config"]?.object?["model_type"]?.string == "bert")
        #expect(root["tokenizer"]?.object?["model"]?.string == "WordPiece")
        #expect(root["provenance"]?.object?["converter"]?.string == Converter.converterVersion)

        let folder = scratch.path + "/hf"
        let export = try runProcess(hub, ["export", mhub, "-o", folder, "--json"])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(
            try readBytes(folder + "/model.safetensors")
                == readBytes(Fixtures.path("models/tiny-bert/model.safetensors")))
        #expect(try readBytes(folder + "/vocab.txt") == readBytes(Fixtures.path("models/tiny-bert/vocab.txt")))
    }

    @Test(arguments: [
        "checkpoints/tiny-bert.zip.bin", "checkpoints/special.legacy.pt", "checkpoints/special.safetensors",
        "models/tiny-roberta/model.safetensors.index.json", "models/tiny-gpt2",
    ])
    func inspectJSONListsEveryTensor(_ relative: String) throws {
        let result = try runProcess(hub, ["inspect", Fixtures.path(relative), "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let root = try JSONParser.parse(Array(result.stdout.utf8)).object!
        let reference = try Fixtures.json(Fixtures.path("reference.json")).object!
        let key = relative.hasSuffix(".index.json") ? "models/tiny-roberta" : relative
        let expected = try #require(reference[key]?.object)
        let listed = root["tensors"]?.array?.compactMap { $0.object }
        let tensors = try #require(listed)
        #expect(Set(tensors.compactMap { $0["name"]?.string }) == Set(expected.keys))
        for tensor in tensors {
            let want = try #require(expected[tensor["name"]!.string!]?.object)
            #expect(tensor["dtype"] == want["dtype"])
            #expect(tensor["shape"] == want["shape"])
        }
    }

    @Test func defaultOutputNameAndTextSummary() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try copyFile(Fixtures.path("checkpoints/tiny-gpt2.legacy.bin"), scratch.path + "/gpt2.bin")
        let result = try runProcess(
            hub, ["convert", scratch.path + "/gpt2.bin", "--dtype", "bf16", "--compress", "zstd"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("29 tensors"))
        #expect(result.stdout.contains("GB/s"))
        #expect(try scratch.contents() == ["gpt2.bin", "gpt2.mhub"])
        let inspect = try runProcess(hub, ["inspect", scratch.path + "/gpt2.mhub", "--json"])
        let tensors = try JSONParser.parse(Array(inspect.stdout.utf8)).object!["tensors"]!.array!.compactMap(\.object)
        #expect(tensors.allSatisfy { $0["dtype"]?.string == "BF16" && $0["encoding"]?.string == "zstd" })
    }

    @Test func int8QuantizesMatricesOnly() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let output = scratch.path + "/q.mhub"
        let convert = try runProcess(
            hub, ["convert", Fixtures.path("models/tiny-bert"), "-o", output, "--dtype", "int8"])
        #expect(convert.status == 0, "\(convert.stderr)")
        let inspect = try runProcess(hub, ["inspect", output, "--json", "--verify"])
        let tensors = try JSONParser.parse(Array(inspect.stdout.utf8)).object!["tensors"]!.array!.compactMap(\.object)
        for tensor in tensors {
            let matrix = tensor["shape"]?.array?.count == 2
            #expect(tensor["dtype"]?.string == "F32")
            #expect(tensor["quantization"]?.string == (matrix ? "int8-row" : nil), "\(tensor)")
        }
        // About a quarter of the F32 size: int8 values plus one F32 scale per row.
        let size = try readBytes(output).count
        #expect(size < 50_000, "\(size) bytes; the F32 file is about 116 kB")
    }

    @Test(arguments: try! Fixtures.json(Fixtures.path("bad/manifest.json")).object!.keys)
    func badInputGivesOneLineAndLeavesNothing(_ name: String) throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let path = Fixtures.path("bad/" + name)
        let manifest = try Fixtures.json(Fixtures.path("bad/manifest.json")).object!
        let verify = manifest[name]?.object?["stage"]?.string == "verify"
        let result = try runProcess(
            hub, verify ? ["inspect", "--verify", path] : ["convert", path, "-o", scratch.path + "/out.mhub"])
        #expect(result.status == 1, "\(name): exit \(result.status) \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(name): \(result.stderr)")
        #expect(result.stderr.contains(path), "names the file: \(result.stderr)")
        let left = try scratch.contents()
        #expect(left.isEmpty, "\(name) left \(left)")
    }

    @Test func badMHubVectorsFailCleanly() throws {
        let manifest = try Fixtures.json(Fixtures.vectors + "/manifest.json").object!
        for name in manifest.keys where manifest[name]?.object?["expect"]?.string == "error" {
            let scratch = try ScratchFolder()
            defer { scratch.remove() }
            let exported = try runProcess(hub, ["export", Fixtures.vectors + "/" + name, "-o", scratch.path + "/out"])
            #expect(exported.status == 1, "\(name): \(exported.stderr)")
            #expect(exported.stderr.split(separator: "\n").count == 1, "\(name): \(exported.stderr)")
            let left = try scratch.contents()
            #expect(left.isEmpty, "\(name) left \(left)")
        }
    }

    @Test func refusesToOverwriteItsInputOrANonEmptyFolder() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let input = scratch.path + "/w.safetensors"
        try copyFile(Fixtures.path("checkpoints/special.safetensors"), input)
        let same = try runProcess(hub, ["convert", input, "-o", scratch.path + "/./w.safetensors"])
        #expect(same.status == 1)
        #expect(same.stderr.contains("overwrite the input"))
        #expect(try readBytes(input) == readBytes(Fixtures.path("checkpoints/special.safetensors")))

        #expect(try runProcess(hub, ["convert", input, "-o", scratch.path + "/w.mhub"]).status == 0)
        let occupied = try runProcess(hub, ["export", scratch.path + "/w.mhub", "-o", scratch.path])
        #expect(occupied.status == 1)
        #expect(occupied.stderr.contains("not an empty folder"))
    }

    @Test(arguments: [
        ["convert"], ["convert", "x.bin", "--dtype", "f8"], ["inspect", "a", "--bogus"], ["export", "a.mhub"],
        ["frobnicate"],
    ])
    func badUsageExits64(_ arguments: [String]) throws {
        let result = try runProcess(hub, arguments)
        #expect(result.status == 64, "\(arguments): \(result.status) \(result.stderr)")
        #expect(!result.stderr.isEmpty)
    }

    @Test func convertsAModelByNameFromTheHuggingFaceCache() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        // A copy: converting by name records the use in the cache's index, which must not touch the fixture.
        try FileManager.default.createDirectory(atPath: scratch.path + "/out", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.path("hf-cache"), toPath: scratch.path + "/hf-cache")
        let environment = ["HF_HUB_CACHE": scratch.path + "/hf-cache", "HOME": scratch.path]
        let output = scratch.path + "/out/bert.mhub"
        let convert = try runProcess(
            hub, ["convert", "modelhub-test/tiny-bert", "-o", output], environment: environment)
        #expect(convert.status == 0, "\(convert.stderr)")
        let inspect = try runProcess(hub, ["inspect", output, "--json"])
        let provenance = try #require(try JSONParser.parse(Array(inspect.stdout.utf8)).object?["provenance"]?.object)
        #expect(provenance["source"]?.string == "modelhub-test/tiny-bert")
        #expect(provenance["repo"]?.string == "modelhub-test/tiny-bert")
        #expect(provenance["revision"]?.string == "main")
        #expect(provenance["commit"]?.string == "1f0c2b8d3e4a5b6c7d8e9f00112233445566778a")
        let weights = try #require(provenance["files"]?.array?.first?.object)
        #expect(
            weights["sha256"]?.string
                == (try readBytes(Fixtures.path("models/tiny-bert/model.safetensors"))).withUnsafeBytes(sha256Hex))

        // Offline, a model not in the cache is not pulled: the message says how to get it.
        let missing = try runProcess(
            hub, ["convert", "gpt2", "-o", scratch.path + "/out/g.mhub"],
            environment: environment.merging(["HF_HUB_OFFLINE": "1"]) { $1 })
        #expect(missing.status == 1)
        #expect(missing.stderr.split(separator: "\n").count == 1)
        #expect(missing.stderr.contains("openai-community/gpt2") && missing.stderr.contains("hub pull gpt2"))
        let typo = try runProcess(hub, ["convert", "bert-base-uncase"], environment: environment)
        #expect(typo.status == 1)
        #expect(typo.stderr.contains("did you mean bert-base-uncased"), "\(typo.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/out") == ["bert.mhub"])
        #expect(!FileManager.default.fileExists(atPath: Fixtures.path("hf-cache/.locks")))
    }

    @Test func searchListsCatalogModels() throws {
        let text = try runProcess(hub, ["search", "roberta"])
        #expect(text.status == 0)
        #expect(
            text.stdout.split(separator: "\n").map { $0.split(separator: " ").first.map(String.init) ?? "" }
                == ["roberta-base", "roberta-large", "distilroberta-base", "xlm-roberta-base"])
        let json = try runProcess(hub, ["search", "distilbert", "--json"])
        let entries = try JSONParser.parse(Array(json.stdout.utf8)).array!.compactMap(\.object)
        let distilbert = try #require(entries.first { $0["name"]?.string == "distilbert-base-uncased" })
        #expect(distilbert["supported"] == .bool(true))
        #expect(distilbert["repo"]?.string == "distilbert/distilbert-base-uncased")
    }

    @Test func missingFileIsOneLine() throws {
        let result = try runProcess(hub, ["inspect", "/nonexistent/model.safetensors"])
        #expect(result.status == 1)
        #expect(result.stderr == "Error: /nonexistent/model.safetensors: no such file or folder\n")
    }
}

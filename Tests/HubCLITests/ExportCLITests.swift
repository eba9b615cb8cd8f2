import Foundation
import Support
import TestSupport
import Testing

/// `hub export --format onnx` as a user runs it: the folder, `--json`, the README's Python snippet on the result,
/// an int8 `.mhub` exported as stored, and one stderr line (with nothing written) for what it cannot do.
@Suite struct ExportCLITests {
    let hub = Fixtures.hubExecutable
    static let python = Fixtures.repositoryRoot + "/.cache/clients-venv/bin/python"
    static let clientsInstalled: Bool = {
        guard FileManager.default.isExecutableFile(atPath: python) else { return false }
        return (try? runProcess(python, ["-c", "import onnxruntime, tokenizers, numpy"]).status) == 0
    }()

    /// The README's onnxruntime snippet, with its folder replaced by `folder`.
    static func readmeSnippet(folder: String) throws -> String {
        let readme = try String(contentsOfFile: Fixtures.repositoryRoot + "/README.md", encoding: .utf8)
        let marked = try #require(readme.range(of: "<!-- onnx-snippet -->\n```python\n"))
        let end = try #require(readme.range(of: "```", range: marked.upperBound..<readme.endIndex))
        return String(readme[marked.upperBound..<end.lowerBound]).replacingOccurrences(of: "minilm-onnx", with: folder)
    }

    @Test(.enabled(if: clientsInstalled, "onnxruntime and tokenizers are not in .cache/clients-venv (no PyPI?)"))
    func theReadmeSnippetRunsOnASentenceEmbeddingExport() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let folder = scratch.path + "/onnx"
        let export = try runProcess(
            hub,
            [
                "export", Fixtures.path("models/tiny-bert"), "--format", "onnx", "--task", "sentence-embedding",
                "-o", folder, "--json",
            ])
        #expect(export.status == 0, "\(export.stderr)")
        let report = try #require(try JSONParser.parse(Array(export.stdout.utf8)).object)
        #expect(report["class"]?.string == "BertModel")
        #expect(report["opset"]?.integer == 17)
        let files = report["files"]?.array?.compactMap(\.string) ?? []
        #expect(["model.onnx", "config.json", "tokenizer.json"].allSatisfy(files.contains), "\(files)")
        let snippet = try Self.readmeSnippet(folder: folder)
        let run = try runProcess(Self.python, ["-c", snippet])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "(1, 32)\n", "\(run.stdout)")
    }

    @Test(.enabled(if: clientsInstalled, "onnxruntime is not in .cache/clients-venv (no PyPI?)"))
    func anInt8MHubExportsItsStoredWeights() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let mhub = scratch.path + "/int8.mhub"
        let convert = try runProcess(
            hub, ["convert", Fixtures.path("models/tiny-bert"), "-o", mhub, "--dtype", "int8"])
        #expect(convert.status == 0, "\(convert.stderr)")
        let export = try runProcess(
            hub, ["export", mhub, "--format", "onnx", "--dtype", "int8", "-o", scratch.path + "/o"])
        #expect(export.status == 0, "\(export.stderr)")
        let check = """
            import onnx, onnxruntime as ort, numpy as np, sys
            m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True)
            print(sum(n.op_type == "MatMulInteger" for n in m.graph.node))
            s = ort.InferenceSession(sys.argv[1]); ids = np.array([[2, 17, 45, 3]])
            print(s.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": 0 * ids})[0].shape)
            """
        let run = try runProcess(Self.python, ["-c", check, scratch.path + "/o/model.onnx"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        #expect((Int(lines.first ?? "") ?? 0) >= 12, "\(run.stdout)")  // 2 layers × 6 products, and the head's
        #expect(lines.last?.hasPrefix("(1, 4, ") == true, "\(run.stdout)")
    }

    @Test(arguments: [
        (["--opset", "16"], "opset 16 is not supported; choose 17–21"),
        (
            ["--task", "sentence-embedding", "--format", "onnx"],
            "needs an encoder's base model (BERT, RoBERTa, DistilBERT), not GPT2Model"
        ),
        (["--format", "safetensors"], "--format safetensors exports an .mhub file"),
    ])
    func refusesWithOneLineAndWritesNothing(_ flags: [String], _ message: String) throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let model = Fixtures.path(flags.contains("sentence-embedding") ? "models/tiny-gpt2" : "models/tiny-bert")
        let formatGiven = flags.contains("--format")
        let result = try runProcess(
            hub, ["export", model, "-o", scratch.path + "/out"] + (formatGiven ? [] : ["--format", "onnx"]) + flags)
        #expect(result.status != 0)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(try scratch.contents().isEmpty)
    }

    @Test func onnxOptionsNeedTheOnnxFormat() throws {
        let result = try runProcess(hub, ["export", "a.mhub", "-o", "out", "--dtype", "int8"])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("--dtype applies to --format onnx"), "\(result.stderr)")
    }
}

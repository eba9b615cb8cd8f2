import Foundation
import Support
import TestSupport
import Testing

@testable import Models
@testable import Tensors

/// sentence-transformers' modules as it runs them (Tests/Fixtures/generate_sentence.py → sentence/reference.json):
/// every pooling mode alone and concatenated, Dense layers, Normalize or not, a prompt left out of pooling, in both
/// folder layouts; `sentenceEmbeddings` within 1e-5 of `SentenceTransformer.encode` on the same tiny BERT.
@Suite struct SentenceTransformerTests {
    static let reference: JSONObject = {
        (try? Fixtures.json(Fixtures.path("sentence/reference.json")))?.object ?? JSONObject()
    }()

    /// The tiny BERT's files with a case's module files beside them, as a sentence-transformers folder is laid out.
    static func folder(_ name: String, in scratch: ScratchFolder) throws -> String {
        let folder = scratch.path + "/" + name
        let manager = FileManager.default
        try manager.copyItem(atPath: Fixtures.path("sentence/" + name), toPath: folder)
        for file in try manager.contentsOfDirectory(atPath: Fixtures.path("models/tiny-bert"))
        where !manager.fileExists(atPath: folder + "/" + file) {
            try copyFile(Fixtures.path("models/tiny-bert/" + file), folder + "/" + file)
        }
        return folder
    }

    static func rows(_ value: JSONValue?) -> [[Double]] {
        value?.array?.map { $0.array?.compactMap(\.double) ?? [] } ?? []
    }

    @Test(arguments: reference["cases"]?.object?.keys.sorted() ?? [])
    func embeddingsEqualSentenceTransformers(_ name: String) throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let entry = try #require(Self.reference["cases"]?.object?[name]?.object)
        let sentences = Self.reference["sentences"]?.array?.compactMap(\.string) ?? []
        let model = try #require(
            try PretrainedModel.load(try Self.folder(name, in: scratch), task: .base) as? any SentenceEncoder)
        #expect(try model.sentenceModules != nil)
        func check(_ produced: Tensor, _ expected: [[Double]], _ label: String) {
            #expect(produced.shape == [expected.count, expected.first?.count ?? 0], "\(label): \(produced.shape)")
            let worst = zip(produced.doubles, expected.flatMap { $0 }).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-5, "\(name) \(label): largest difference \(worst)")
        }
        check(try model.sentenceEmbeddings(sentences), Self.rows(entry["embeddings"]), "plain")
        if let prompt = entry["prompt_name"]?.string {
            check(try model.sentenceEmbeddings(sentences, promptName: prompt), Self.rows(entry["with_prompt"]), prompt)
            #expect(throws: ModelError.self) { try model.sentenceEmbeddings(sentences, promptName: "passage") }
        }
    }

    /// The ONNX sentence-embedding graph is mean + L2: a model whose modules pool otherwise is refused, not exported
    /// with other numbers than `sentenceEmbeddings` gives.
    @Test func onnxSentenceGraphsRefuseOtherPooling() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let model = try PretrainedModel.load(try Self.folder("cls-normalize-classic", in: scratch), task: .base)
        var options = ONNXExportOptions()
        options.sentenceEmbedding = true
        #expect {
            try model.exportONNX(to: scratch.path + "/onnx", options: options)
        } throws: { "\($0)".contains("not mean pooling then Normalize") }
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/onnx"))
        options.sentenceEmbedding = false
        #expect(try model.exportONNX(to: scratch.path + "/onnx", options: options).contains("model.onnx"))
    }

    @Test func malformedModulesAreRefusedByName() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let folder = try Self.folder("mean-dense-tanh", in: scratch)
        try writeFileAtomically(
            folder + "/1_Pooling/config.json", Array(#"{"embedding_dimension": 32, "pooling_mode": ["median"]}"#.utf8))
        let model = try #require(try PretrainedModel.load(folder, task: .base) as? any SentenceEncoder)
        #expect {
            _ = try model.sentenceEmbeddings(["a"])
        } throws: { "\($0)".contains("pooling mode 'median' is unknown") }
        try writeFileAtomically(
            folder + "/modules.json", Array(#"[{"idx": 0, "path": "../../etc", "type": "x.Pooling"}]"#.utf8))
        let escaping = try #require(try PretrainedModel.load(folder, task: .base) as? any SentenceEncoder)
        #expect {
            _ = try escaping.sentenceEmbeddings(["a"])
        } throws: { "\($0)".contains("leaves the model") }
    }
}

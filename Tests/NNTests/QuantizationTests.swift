import TestSupport
import Testing

@testable import NN
@testable import Tensors

/// `Module.quantize` swaps every Linear, Conv1D, LSTM and Embedding (optionally not those sharing a weight) for
/// reduced-precision weights that stay close to the float ones, then releases the float weights (their values
/// rebuilt from the reduced copies) unless told to keep them.
@Suite struct QuantizationTests {
    final class Net: Module, @unchecked Sendable {
        let embedding: Embedding
        let first: Linear
        let conv: Conv1D
        let head: Linear  // tied to the embedding, as a language-model head

        init(generator: inout RandomGenerator) {
            embedding = Embedding(50, 40, generator: &generator)
            first = Linear(40, 40, generator: &generator)
            conv = Conv1D(
                weight: Parameter(Tensor.randomNormal([40, 40], using: &generator)), bias: Parameter(Tensor.zeros([40]))
            )
            head = Linear(weight: embedding.weight, bias: nil)
        }

        func callAsFunction(_ ids: Tensor) -> Tensor { head(conv(first(embedding(ids)))) }
    }

    static let ids = Tensor([3, 0, 49, 7, 7, 12], shape: [2, 3], dtype: .int64)

    /// The largest difference from `exact`, relative to its largest magnitude.
    func relativeError(_ exact: [Float], _ approximate: [Float]) -> Float {
        let scale = exact.map(abs).max() ?? 1
        return (zip(exact, approximate).map { abs($0 - $1) }.max() ?? 0) / scale
    }

    @Test func int8KeepsTiedWeightsWhenAskedAndStaysClose() {
        var generator = RandomGenerator(seed: 5)
        let net = Net(generator: &generator)
        let exact = net(Self.ids).floats
        #expect(net.quantize(.int8, keepingTiedWeights: true, keepingFloatWeights: true) == 2)
        #expect(net.first.reduced != nil && net.conv.reduced != nil)
        #expect(net.head.reduced == nil && net.embedding.reduced == nil)
        #expect(net(Self.ids).floats != exact)
        #expect(net.quantize(.int8) == 4 && net.head.reduced != nil && net.embedding.reduced != nil)
        // A small table stays bf16; the head multiplies by int8 rows of the same weight.
        guard case .int8(let head)? = net.head.reduced, case .half(let table)? = net.embedding.reduced else {
            Issue.record("not int8 and bf16")
            return
        }
        let row = head.dequantized().floats[280..<320]
        #expect(zip(table.rows(Tensor([7], shape: [1], dtype: .int64)).floats, row).allSatisfy { abs($0 - $1) < 0.02 })
        let error = relativeError(exact, net(Self.ids).floats)
        #expect(error > 0 && error <= 0.03, "\(error)")
    }

    /// A table of a million values or more goes int8 (a scale per 32 values), its lookups within half a step.
    @Test func largeTablesGoInt8() {
        var generator = RandomGenerator(seed: 10)
        let embedding = Embedding(32768, 32, generator: &generator)
        let ids = Tensor([0, 32767, 1234], shape: [3], dtype: .int64)
        let exact = embedding(ids).floats
        #expect(embedding.quantize(.int8) == 1)
        guard case .int8(let table)? = embedding.reduced else {
            Issue.record("not int8")
            return
        }
        #expect(table.group == 32 && table.byteCount < 32768 * 32 * 2)
        let approximate = embedding(ids).floats
        for row in 0..<3 {
            let values = exact[(row * 32)..<(row * 32 + 32)]
            let step = (values.map(abs).max() ?? 0) / 127
            #expect(values.indices.allSatisfy { abs(exact[$0] - approximate[$0]) <= step / 2 * 1.0001 })
        }
    }

    @Test(arguments: [QuantizationType.bfloat16, .float16])
    func halfSharesOneTableBetweenTiedModules(type: QuantizationType) throws {
        var generator = RandomGenerator(seed: 6)
        let net = Net(generator: &generator)
        let exact = net(Self.ids).floats
        #expect(net.quantize(type) == 4)
        guard case .half(let head)? = net.head.reduced, case .half(let table)? = net.embedding.reduced else {
            Issue.record("not half")
            return
        }
        #expect(head.values.storage === table.values.storage)  // one copy for both
        let error = relativeError(exact, net(Self.ids).floats)
        #expect(error > 0 && error <= (type == .float16 ? 0.002 : 0.02), "\(error)")
    }

    @Test func releasedWeightsAreRebuiltFromTheReducedCopy() {
        var generator = RandomGenerator(seed: 7)
        let net = Net(generator: &generator)
        let before = net.conv.weight.value.floats
        net.quantize(.bfloat16)
        #expect(net.parameters().count == 5 && net.parameters().filter(\.isReleased).count == 3)
        #expect(net.conv.weight.shape == [40, 40] && net.conv.weight.value.shape == [40, 40])
        // Conv1D's [in, out] layout comes back as stored, each value rounded once.
        let after = net.conv.weight.value.floats
        #expect(relativeError(before, after) <= 1.0 / 128 && after != before)
        // Assigning makes it an ordinary parameter again.
        net.conv.weight.assign(Tensor(before, shape: [40, 40]))
        #expect(!net.conv.weight.isReleased && net.conv.weight.value.floats == before)
    }

    @Test func keepingFloatWeightsLeavesTheParameters() {
        var generator = RandomGenerator(seed: 8)
        let net = Net(generator: &generator)
        let before = net.first.weight.value.floats
        net.quantize(.int8, keepingFloatWeights: true)
        #expect(net.parameters().allSatisfy { !$0.isReleased })
        #expect(net.first.weight.value.floats == before)
    }

    /// `quantize_dynamic` swaps nn.LSTM too: both projections run reduced, and the outputs stay close.
    @Test(arguments: QuantizationType.allCases) func lstmProjectionsQuantize(type: QuantizationType) {
        var generator = RandomGenerator(seed: 9)
        let lstm = LSTM(inputSize: 24, hiddenSize: 32, generator: &generator)
        let x = Tensor.randomNormal([3, 7, 24], using: &generator)
        let (output, hidden, cell) = lstm(x)
        #expect(lstm.quantize(type) == 1 && lstm.reduced != nil)
        let reduced = lstm(x)
        #expect(reduced.output.shape == [3, 7, 32])
        let bound: Float = type == .float16 ? 0.002 : 0.03
        for (exact, approximate) in [(output, reduced.output), (hidden, reduced.hidden), (cell, reduced.cell)] {
            let error = relativeError(exact.floats, approximate.floats)
            #expect(error > 0 && error <= bound, "\(type): \(error)")
        }
    }
}

import NN
import TestSupport
import Testing

@testable import Tensors

/// The LSTM against PyTorch's `nn.LSTM` with the same weights (lstm.json): outputs, final states and gradients
/// within 1e-5; the LSTM and a 2-layer transformer classifier learn a synthetic task; the blocks pass gradient
/// checks in float64.
@Suite struct RecurrentAndTransformerTests {
    @Test func lstmMatchesPyTorch() throws {
        let root = try #require(try Fixtures.json(Fixtures.path("tensors/lstm.json")).object)
        var generator = RandomGenerator(seed: 0)
        let lstm = LSTM(inputSize: 3, hiddenSize: 4, generator: &generator)
        let weights = Dictionary(
            uniqueKeysWithValues: (root["weights"]?.object?.entries ?? []).map { ($0.key, Fixtures.tensor($0.value)) })
        try lstm.loadStateDict(weights)
        let x = Fixtures.tensor(root["input"]).requiringGrad()
        let (output, hidden, cell) = lstm(x)
        #expect(Fixtures.worstError(output, Fixtures.tensor(root["output"])) <= 1e-5)
        #expect(Fixtures.worstError(hidden, Fixtures.tensor(root["hidden"])) <= 1e-5)
        #expect(Fixtures.worstError(cell, Fixtures.tensor(root["cell"])) <= 1e-5)
        (output * Fixtures.tensor(root["weight"])).sum().backward()
        #expect(Fixtures.worstError(try #require(x.grad), Fixtures.tensor(root["input_grad"])) <= 1e-5)
        let grads = try #require(root["grads"]?.object)
        #expect(grads.count == 4)
        for (name, parameter) in lstm.namedParameters() {
            let gradient = try #require(parameter.grad, "\(name)")
            #expect(Fixtures.worstError(gradient, Fixtures.tensor(grads[name])) <= 1e-5, "\(name)")
        }
    }

    /// Sequences of 8 ids; the label says whether token 1 comes before token 2 (order matters: a bag of words
    /// cannot solve it).
    static func orderTask(count: Int, seed: UInt64) -> (Tensor, Tensor, [Int]) {
        var generator = RandomGenerator(seed: seed)
        var ids: [Int] = []
        var labels: [Int] = []
        for _ in 0..<count {
            var row = (0..<8).map { _ in 3 + Int(generator.next() % 5) }
            let (first, second) = (Int(generator.next() % 8), Int(generator.next() % 7))
            let other = second >= first ? second + 1 : second
            row[first] = 1
            row[other] = 2
            ids += row
            labels.append(first < other ? 1 : 0)
        }
        return (Tensor(ids, shape: [count, 8]), Tensor(labels), labels)
    }

    @Test func lstmClassifierLearnsOrder() {
        var generator = RandomGenerator(seed: 11)
        let embedding = Embedding(8, 8, generator: &generator)
        let lstm = LSTM(inputSize: 8, hiddenSize: 16, generator: &generator)
        let head = Linear(16, 2, generator: &generator)
        let (ids, targets, _) = Self.orderTask(count: 64, seed: 4)
        let parameters = embedding.parameters() + lstm.parameters() + head.parameters()
        let optimizer = Adam([ParameterGroup(parameters)], learningRate: 0.02)
        var losses: [Double] = []
        for _ in 0..<80 {
            optimizer.zeroGrad()
            let loss = head(lstm(embedding(ids)).hidden).crossEntropy(targets: targets)
            loss.backward()
            optimizer.step()
            losses.append(loss.item)
        }
        // Chance is ln 2 ≈ 0.69.
        #expect(losses[0] > 0.6 && losses.last ?? 1 < 0.15, "loss \(losses[0]) → \(losses.last ?? .nan)")
    }

    @Test func transformerClassifierLearnsOrder() {
        var generator = RandomGenerator(seed: 12)
        let embedding = Embedding(8, 16, generator: &generator)
        let positions = Embedding(8, 16, generator: &generator)
        let blocks = (0..<2).map { _ in
            TransformerEncoderBlock(width: 16, heads: 2, feedForward: 32, dropout: 0, generator: &generator)
        }
        let head = Linear(16, 2, generator: &generator)
        let (ids, targets, _) = Self.orderTask(count: 64, seed: 5)
        let positionIDs = Tensor(Array(0..<8), shape: [1, 8])
        let parameters =
            embedding.parameters() + positions.parameters() + blocks.flatMap { $0.parameters() } + head.parameters()
        let optimizer = Adam.adamW([ParameterGroup(parameters, weightDecay: 0.01)], learningRate: 0.005)
        var losses: [Double] = []
        for _ in 0..<80 {
            optimizer.zeroGrad()
            var h = embedding(ids) + positions(positionIDs)  // [B, T, C]
            for block in blocks { h = block(h) }
            let loss = head(h.mean(axes: [1])).crossEntropy(targets: targets)
            loss.backward()
            optimizer.step()
            losses.append(loss.item)
        }
        #expect(losses[0] > 0.6 && losses.last ?? 1 < 0.15, "loss \(losses[0]) → \(losses.last ?? .nan)")
        #expect(
            blocks[0].namedParameters().map(\.name).prefix(3) == [
                "attention.query.weight", "attention.query.bias", "attention.key.weight",
            ])
    }

    @Test func blocksPassGradientChecks() {
        var generator = RandomGenerator(seed: 13)
        let encoder = TransformerEncoderBlock(width: 4, heads: 2, feedForward: 6, dropout: 0, generator: &generator)
        let decoder = TransformerDecoderBlock(width: 4, heads: 2, feedForward: 6, generator: &generator)
        encoder.convertParameters(to: .float64)
        decoder.convertParameters(to: .float64)
        let mask = Tensor([1, 1, 1, 0, 1, 1, 1, 1] as [UInt8], shape: [2, 1, 1, 4], dtype: .bool)
        let x = GradientCheck.input([2, 4, 4], seed: 14)
        let encoded = GradientCheck.worst([x]) { encoder($0[0], mask: mask) }
        #expect(encoded.score <= 1, "encoder: \(encoded.where)")
        let decoded = GradientCheck.worst([x]) { decoder($0[0]) }
        #expect(decoded.score <= 1, "decoder: \(decoded.where)")
    }
}

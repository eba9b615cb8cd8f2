import TestSupport
import Testing

@testable import NN
@testable import Tensors

/// `Module.quantize(.int8)` swaps every Linear and Conv1D (optionally not those sharing a weight) for int8 products
/// that stay close to the float ones, and leaves the float parameters for saving and training.
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

        func callAsFunction(_ x: Tensor) -> Tensor { head(conv(first(x))) }
    }

    @Test func quantizesLinearLayersInPlace() {
        var generator = RandomGenerator(seed: 5)
        let x = Tensor.randomNormal([3, 40], using: &generator)
        let net = Net(generator: &generator)
        let exact = net(x).floats
        #expect(net.quantize(.int8, keepingTiedWeights: true) == 2)
        #expect(net.first.quantized != nil && net.conv.quantized != nil && net.head.quantized == nil)
        #expect(net.quantize(.int8) == 3 && net.head.quantized != nil)
        let approximate = net(x).floats
        let scale = exact.map(abs).max() ?? 1
        let worst = zip(exact, approximate).map { abs($0 - $1) }.max() ?? 0
        #expect(worst > 0 && worst <= 0.03 * scale, "\(worst) of \(scale)")
        #expect(net.parameters().count == 5)  // the float weights stay (state dict, saving)
    }
}

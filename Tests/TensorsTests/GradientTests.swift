import TestSupport
import Testing

@testable import Tensors

/// Every differentiable op against central differences in float64 (GradientCheck: |analytic − numeric| within
/// 1e-7 + 1e-5·|numeric|), on broadcast and non-contiguous inputs where the op has them.
@Suite struct GradientTests {
    func check(
        _ label: String, _ inputs: [Tensor], sourceLocation: SourceLocation = #_sourceLocation,
        _ function: ([Tensor]) -> Tensor
    ) {
        let result = GradientCheck.worst(inputs, function)
        #expect(result.score <= 1, "\(label): \(result.where)", sourceLocation: sourceLocation)
    }

    func input(_ shape: [Int], _ seed: UInt64, in range: ClosedRange<Double> = -2...2) -> Tensor {
        GradientCheck.input(shape, seed: seed, in: range)
    }

    @Test func arithmeticWithBroadcasting() {
        let (a, b, c) = (input([2, 3, 4], 1), input([4], 2), input([3, 1], 3))
        check("add", [a, b]) { $0[0] + $0[1] }
        check("sub", [a, c]) { $0[0] - $0[1] }
        check("mul", [a, b, c]) { $0[0] * $0[1] * $0[2] }
        check("div", [a, input([2, 1, 4], 4, in: 0.5...2)]) { $0[0] / $0[1] }
        check("scalar", [a]) { ($0[0] * 3 + 1) / 2 - 0.5 }
        check("square", [a]) { $0[0].squared() }
    }

    @Test func pointwiseFunctions() {
        let x = input([3, 5], 5)
        check("exp", [x]) { $0[0].exp() }
        check("tanh", [x]) { $0[0].tanh() }
        check("sigmoid", [x]) { $0[0].sigmoid() }
        check("relu", [x]) { $0[0].relu() }
        check("gelu", [x]) { $0[0].gelu() }
        check("gelu tanh", [x]) { $0[0].geluTanh() }
        let positive = input([3, 5], 6, in: 0.5...3)
        check("log", [positive]) { $0[0].log() }
        check("sqrt", [positive]) { $0[0].sqrt() }
    }

    @Test func reductions() {
        let x = input([2, 3, 4], 7)
        check("sum all", [x]) { $0[0].sum() }
        check("sum axis 1", [x]) { $0[0].sum(axes: [1]) }
        check("sum axes 0,2 kept", [x]) { $0[0].sum(axes: [0, 2], keepingDimensions: true) }
        check("mean last", [x]) { $0[0].mean(axes: [-1]) }
        check("max axis 1", [x]) { $0[0].max(axis: 1) }
    }

    @Test func matrixProducts() {
        let (a, b) = (input([3, 4], 8), input([4, 5], 9))
        check("2d", [a, b]) { $0[0].matmul($0[1]) }
        check("transposed operands", [input([4, 3], 10), input([5, 4], 11)]) {
            $0[0].transposed().matmul($0[1].transposed())
        }
        check("batched", [input([2, 3, 4], 12), input([2, 4, 5], 13)]) { $0[0].matmul($0[1]) }
        check("batch broadcast", [input([2, 3, 4], 14), b]) { $0[0].matmul($0[1]) }
        check("batch broadcast left", [a, input([2, 4, 5], 15)]) { $0[0].matmul($0[1]) }
        check("attention shape", [input([2, 2, 3, 4], 16), input([2, 2, 3, 4], 17)]) {
            $0[0].matmul($0[1].transposed())
        }
    }

    @Test func views() {
        let x = input([2, 3, 4], 18)
        check("transpose + contiguous", [x]) { $0[0].transposed(0, 2).contiguous() * 2 }
        check("permute", [x]) { $0[0].permuted([2, 0, 1]).exp() }
        check("slice", [x]) { $0[0].sliced(1, 1..<3).tanh() }
        check("expand", [input([3, 1], 19)]) { $0[0].expanded(to: [2, 3, 4]).sigmoid() }
        check("reshape of a transpose", [x]) { $0[0].transposed().reshaped([6, -1]).gelu() }
        check("unsqueeze/squeeze", [x]) { $0[0].unsqueezed(1).squeezed(1) * $0[0] }
    }
}

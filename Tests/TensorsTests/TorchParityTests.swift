import Support
import TestSupport
import Testing

@testable import Tensors

/// Every op's float32 output, and the gradients of Σ output·w, against PyTorch on the same inputs
/// (Tests/Fixtures/tensors/ops.json from generate_tensors.py): |ours − torch| ≤ 1e-5 · max(|torch|, 1).
@Suite struct TorchParityTests {
    static let tolerance = 1e-5

    struct Case {
        let name: String
        let inputs: [String: Tensor]
        let extra: JSONObject
        let weight: Tensor
        let output: Tensor
        let grads: [String: Tensor]
    }

    static func cases() throws -> [Case] {
        let root = try Fixtures.json(Fixtures.path("tensors/ops.json"))
        return (root.object?["cases"]?.array ?? []).compactMap(\.object).map { item in
            func named(_ key: String) -> [String: Tensor] {
                Dictionary(
                    uniqueKeysWithValues: (item[key]?.object?.entries ?? []).map { ($0.key, Fixtures.tensor($0.value)) }
                )
            }
            return Case(
                name: item["name"]?.string ?? "?", inputs: named("inputs").mapValues { $0.requiringGrad() },
                extra: item["extra"]?.object ?? JSONObject(), weight: Fixtures.tensor(item["weight"]),
                output: Fixtures.tensor(item["output"]), grads: named("grads"))
        }
    }

    static func integers(_ value: JSONValue?) -> (values: [Int], shape: [Int]) {
        var shape: [Int] = []
        var level = value
        while let array = level?.array {
            shape.append(array.count)
            level = array.first
        }
        func flatten(_ value: JSONValue?) -> [Int] {
            if let array = value?.array { return array.flatMap(flatten) }
            if case .bool(let flag) = value { return [flag ? 1 : 0] }
            return value?.integer.map { [$0] } ?? []
        }
        return (flatten(value), shape)
    }

    /// The op a case names, on its inputs.
    static func run(_ item: Case) -> Tensor? {
        let x = item.inputs
        func input(_ name: String) -> Tensor { x[name] ?? Tensor.zeros([0]) }
        func ints(_ key: String) -> Tensor {
            let (values, shape) = integers(item.extra[key])
            return Tensor(values, shape: shape)
        }
        func mask(_ key: String) -> Tensor {
            let (values, shape) = integers(item.extra[key])
            return Tensor(values, shape: shape, dtype: .bool)
        }
        switch item.name {
        case "add_broadcast": return input("a") + input("b")
        case "mul_broadcast": return input("a") * input("b")
        case "div": return input("a") / input("b")
        case "matmul", "matmul_batched_broadcast": return input("a").matmul(input("b"))
        case "matmul_transposed": return input("a").matmul(input("b").transposed())
        case "sum_axis": return input("x").sum(axes: [1])
        case "mean_keep": return input("x").mean(axes: [-1], keepingDimensions: true)
        case "max_axis": return input("x").max(axis: 2)
        case "exp": return input("x").exp()
        case "log": return input("x").log()
        case "tanh": return input("x").tanh()
        case "sigmoid": return input("x").sigmoid()
        case "relu": return input("x").relu()
        case "gelu", "gelu_long": return input("x").gelu()
        case "gelu_tanh": return input("x").geluTanh()
        case "softmax", "softmax_long": return input("x").softmax(axis: -1)
        case "softmax_axis0": return input("x").softmax(axis: 0)
        case "log_softmax": return input("x").logSoftmax(axis: -1)
        case "layer_norm":
            return input("x").layerNorm(weight: input("w"), bias: input("b"), epsilon: item.extra["eps"]?.double ?? 0)
        case "embedding": return input("table").embedding(ints("ids"))
        case "gather": return input("x").gather(axis: 1, index: ints("index"))
        case "masked_fill": return input("x").maskedFill(mask("mask"), -3.5)
        case "cat": return Tensor.concatenate([input("a"), input("b")], axis: 1)
        case "stack": return Tensor.stack([input("a"), input("b")], axis: 1)
        case "cross_entropy": return input("logits").crossEntropy(targets: ints("targets"))
        case "cross_entropy_smoothing":
            return input("logits").crossEntropy(
                targets: ints("targets"), labelSmoothing: item.extra["smoothing"]?.double ?? 0)
        case "mse": return input("a").mseLoss(input("b"))
        case "bce_with_logits": return input("x").binaryCrossEntropyWithLogits(input("y"))
        case "attention_padding":
            return Tensor.scaledDotProductAttention(
                query: input("q"), key: input("k"), value: input("v"), mask: mask("mask"))
        case "attention_causal":
            return Tensor.scaledDotProductAttention(query: input("q"), key: input("k"), value: input("v"), causal: true)
        default: return nil
        }
    }

    static func close(_ ours: Tensor, _ reference: Tensor) -> (Bool, Double) {
        let worst = Fixtures.worstError(ours, reference)
        return (worst <= tolerance, worst)
    }

    @Test func outputsAndGradientsMatchPyTorch() throws {
        let cases = try Self.cases()
        #expect(cases.count == 33)
        for item in cases {
            guard let output = Self.run(item) else {
                Issue.record("no op for case \(item.name)")
                continue
            }
            let (outputClose, outputError) = Self.close(output, item.output)
            #expect(outputClose, "\(item.name): output \(output.shape) vs \(item.output.shape), worst \(outputError)")
            (output * item.weight).sum().backward()
            #expect(Set(item.grads.keys) == Set(item.inputs.keys), "\(item.name)")
            for (name, reference) in item.grads {
                guard let gradient = item.inputs[name]?.grad else {
                    Issue.record("\(item.name): no gradient for \(name)")
                    continue
                }
                let (gradientClose, gradientError) = Self.close(gradient, reference)
                #expect(gradientClose, "\(item.name): gradient of \(name), worst \(gradientError)")
            }
        }
    }
}

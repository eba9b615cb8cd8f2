import Support
import Tensors

/// Finite-difference gradient checks in float64: the analytic gradient of ⟨f(inputs), w⟩ for a random `w`
/// against central differences, element by element.
public enum GradientCheck {
    /// The largest disagreement, as |analytic − numeric| / (atol + rtol·|numeric|); ≤ 1 passes.
    ///
    /// - Parameters:
    ///   - inputs: float64 leaves that require grad; their storage is perturbed in place and restored.
    ///   - step: the finite-difference step.
    public static func worst(
        _ inputs: [Tensor], step: Double = 1e-6, rtol: Double = 1e-5, atol: Double = 1e-7, seed: UInt64 = 7,
        _ function: ([Tensor]) -> Tensor
    ) -> (score: Double, where: String) {
        for input in inputs {
            precondition(input.dtype == .float64 && input.requiresGrad && input.isContiguous)
            input.zeroGrad()
        }
        let probe = function(inputs)
        var generator = SeededGenerator(seed: seed)
        let weights = Tensor(
            (0..<probe.count).map { _ in Double.random(in: -1...1, using: &generator) }, shape: probe.shape)
        (probe * weights).sum().backward()
        var worst = (score: 0.0, where: "")
        for (inputIndex, input) in inputs.enumerated() {
            let analytic = input.grad?.doubles ?? [Double](repeating: 0, count: input.count)
            let pointer = input.storage.pointer.assumingMemoryBound(to: Double.self) + input.layout.offset
            for element in 0..<input.count {
                let saved = pointer[element]
                func loss() -> Double {
                    Tensor.withoutGradient { (function(inputs).detached() * weights).sum().item }
                }
                pointer[element] = saved + step
                let up = loss()
                pointer[element] = saved - step
                let down = loss()
                pointer[element] = saved
                let numeric = (up - down) / (2 * step)
                let score = abs(analytic[element] - numeric) / (atol + rtol * abs(numeric))
                if score > worst.score {
                    worst = (
                        score,
                        "input \(inputIndex) element \(element): analytic \(analytic[element]) numeric \(numeric)"
                    )
                }
            }
        }
        return worst
    }

    /// A float64 leaf of `shape` with values uniform in `range`, from a fixed seed.
    public static func input(_ shape: [Int], seed: UInt64, in range: ClosedRange<Double> = -2...2) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        let count = shape.reduce(1, *)
        return Tensor((0..<count).map { _ in Double.random(in: range, using: &generator) }, shape: shape)
            .requiringGrad()
    }
}

extension Fixtures {
    /// A float32 tensor from a fixture's `{"shape": [...], "values": [...]}` (the generators' `pack`).
    public static func tensor(_ value: JSONValue?) -> Tensor {
        let object = value?.object
        let shape = object?["shape"]?.array?.compactMap(\.integer) ?? []
        let values = object?["values"]?.array?.compactMap(\.double) ?? []
        return Tensor(values.map(Float.init), shape: shape)
    }

    /// The largest |ours − reference| / max(|reference|, 1); infinity when the shapes differ.
    public static func worstError(_ ours: Tensor, _ reference: Tensor) -> Double {
        guard ours.shape == reference.shape else { return .infinity }
        return zip(ours.doubles, reference.doubles).map { abs($0 - $1) / Swift.max(abs($1), 1) }.max() ?? 0
    }

    /// The largest absolute |ours − reference|; infinity when the shapes differ (or ours is nil).
    public static func largestDifference(_ ours: Tensor?, _ reference: Tensor) -> Double {
        guard let ours, ours.shape == reference.shape else { return .infinity }
        return zip(ours.doubles, reference.doubles).map { abs($0 - $1) }.max() ?? 0
    }

    /// Rows of integers from a JSON array of arrays (input ids, masks, labels of the reference files).
    public static func integers(_ value: JSONValue?) -> [[Int]] {
        value?.array?.map { $0.array?.compactMap(\.integer) ?? [] } ?? []
    }

    /// An int64 [rows, columns] tensor of `rows`.
    public static func tensor(rows: [[Int]]) -> Tensor {
        Tensor(rows.flatMap { $0 }, shape: [rows.count, rows.first?.count ?? 0])
    }
}

import NN
import TestSupport
import Testing

@testable import Tensors

/// Five steps of SGD (momentum, Nesterov), Adam and AdamW (two groups, gradient clipping) against torch.optim on
/// the same problem (Tests/Fixtures/tensors/optim.json): parameters within 1e-5; schedules' factors within 1e-12.
@Suite struct OptimizerTests {
    @Test(arguments: ["sgd_momentum", "sgd_nesterov", "adam", "adamw_groups_clipped"])
    func fiveStepsMatchTorch(_ name: String) throws {
        let root = try #require(try Fixtures.json(Fixtures.path("tensors/optim.json")).object)
        let start = try #require(root["start"]?.object)
        let want = try #require(root["results"]?.object?[name]?.object)
        let (p, b) = (Parameter(Fixtures.tensor(start["p"])), Parameter(Fixtures.tensor(start["b"])))
        let (x, y) = (Fixtures.tensor(start["x"]), Fixtures.tensor(start["y"]))
        let optimizer: Optimizer
        switch name {
        case "sgd_momentum":
            optimizer = SGD([ParameterGroup([p, b], weightDecay: 0.01)], learningRate: 0.1, momentum: 0.9)
        case "sgd_nesterov":
            optimizer = SGD([ParameterGroup([p, b])], learningRate: 0.05, momentum: 0.8, nesterov: true)
        case "adam":
            optimizer = Adam([ParameterGroup([p, b], weightDecay: 0.01)], learningRate: 0.01)
        default:
            optimizer = Adam.adamW(
                [ParameterGroup([p], weightDecay: 0.1), ParameterGroup([b], weightDecay: 0)], learningRate: 0.02)
        }
        var norms: [Double] = []
        for _ in 0..<5 {
            optimizer.zeroGrad()
            let loss = (x.matmul(p.value) + b.value - y).squared().mean()
            loss.backward()
            if name.hasSuffix("clipped") { norms.append(clipGradientNorm([p, b], maxNorm: 0.05)) }
            optimizer.step()
        }
        for (parameter, key) in [(p, "p"), (b, "b")] {
            let reference = Fixtures.tensor(want[key]).doubles
            let ours = parameter.value.doubles
            let worst = zip(ours, reference).map { abs($0 - $1) }.max() ?? .infinity
            #expect(ours.count == reference.count && worst <= 1e-5, "\(name) \(key): worst \(worst)")
        }
        let torchNorms = want["norms"]?.array?.compactMap(\.double) ?? []
        #expect(zip(norms, torchNorms).allSatisfy { abs($0 - $1) <= 1e-5 } && norms.count == torchNorms.count)
    }

    @Test func schedulesMatchTransformersAndTorch() throws {
        let root = try #require(try Fixtures.json(Fixtures.path("tensors/optim.json")).object)
        let schedules = try #require(root["schedules"]?.object)
        for (name, schedule) in [
            ("linear", LearningRateSchedule.linear(warmup: 3, total: 10)),
            ("cosine", LearningRateSchedule.cosine(warmup: 3, total: 10)),
        ] {
            let want = schedules[name]?.array?.compactMap(\.double) ?? []
            #expect(want.count == 12)
            for (step, factor) in want.enumerated() {
                #expect(abs(schedule.factor(step) - factor) <= 1e-12, "\(name) step \(step)")
            }
        }
        let plateau = try #require(root["plateau"]?.object)
        let metrics = plateau["metrics"]?.array?.compactMap(\.double) ?? []
        let rates = plateau["rates"]?.array?.compactMap(\.double) ?? []
        let optimizer = SGD([ParameterGroup([Parameter(Tensor.zeros([1]))])], learningRate: 1)
        let scheduler = ReduceLearningRateOnPlateau(factor: 0.5, patience: 2, cooldown: 1)
        var ours: [Double] = []
        for metric in metrics {
            scheduler.step(metric, optimizer: optimizer)
            ours.append(optimizer.learningRate)
        }
        #expect(ours == rates && rates.count == 15)
    }
}

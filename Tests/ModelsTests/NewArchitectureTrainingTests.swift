import NN
import Support
import TestSupport
import Testing

@testable import Models
@testable import Tensors

/// The architectures added beside BERT's train as transformers trains them: twenty AdamW steps (lr 3e-3, dropout
/// off) on the parity batch and its labels give transformers' loss at every step within 1e-3
/// (parity/trajectories.json, from generate_trajectories.py) — gradients flowing through what is new in each:
/// XLM-R's renamed classes, MPNet's relative position bias, ModernBERT's rotary and sliding-window attention and GeGLU.
@Suite struct NewArchitectureTrainingTests {
    @Test(arguments: [
        "parity/xlm-roberta-sequence-classification", "parity/mpnet-sequence-classification",
        "parity/mpnet-token-classification", "parity/modernbert-sequence-classification",
        "parity/modernbert-masked-lm",
    ])
    func lossFallsWhileTraining(_ key: String) throws {
        let entry = try #require(ParityFixtures.reference[key]?.object)
        let (folder, task) = ParityFixtures.locate(key)
        let model = try PretrainedModel.load(folder, task: task)
        model.train()
        for dropout in model.dropouts() { dropout.eval() }  // the same loss function at every step
        var inputs = ParityFixtures.inputs(try #require(entry["inputs"]?.object))
        let labels = try #require(entry["labels"]?.object?["labels"])
        inputs.labels =
            labels.array?.first?.array != nil
            ? Fixtures.tensor(rows: Fixtures.integers(labels))
            : Tensor(labels.array?.compactMap(\.integer) ?? [], shape: [labels.array?.count ?? 0])
        let optimizer = Adam.adamW([ParameterGroup(model.parameters(), weightDecay: 0)], learningRate: 3e-3)
        var losses: [Double] = []
        for _ in 0..<20 {
            optimizer.zeroGrad()
            let loss = try #require(try model(inputs).loss)
            losses.append(loss.item)
            loss.backward()
            optimizer.step()
        }
        let theirs = try #require(try Fixtures.json(Fixtures.path("parity/trajectories.json")).object?[key]?.array)
            .compactMap(\.double)
        #expect(theirs.count == losses.count)
        let worst = zip(losses, theirs).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-3, "\(key): losses \(losses) against transformers' \(theirs)")
        #expect(losses[losses.count - 1] < losses[0] / 1.5)
        // Every parameter the loss depends on got a gradient, the new ones included.
        let named = model.namedParameters()
        let withoutGradient = named.filter { $0.parameter.grad == nil }.map(\.name)
        #expect(withoutGradient.isEmpty, "\(key): no gradient for \(withoutGradient)")
    }
}

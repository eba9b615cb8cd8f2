import Formats
import Foundation
import TestSupport
import Testing

@testable import Models
@testable import NN
@testable import Tensors

/// Fine-tuning on real text: Debian package descriptions labelled by their archive section
/// (Tests/Fixtures/make_debian_csv.py → training/debian.csv, 400 rows, 5 balanced sections).
@Suite struct TrainingTests {
    static let csv = Fixtures.path("training/debian.csv")

    @Test func csvLoadsWithSortedLabels() throws {
        let dataset = try TextDataset.load(Self.csv)
        #expect(dataset.examples.count == 400)
        #expect(dataset.labels == ["admin", "fonts", "games", "python", "science"])
        #expect(abs(dataset.majorityShare - 0.2) < 1e-9)
        let (train, validation) = dataset.split(validationFraction: 0.2, seed: 1)
        #expect(train.examples.count == 320 && validation.examples.count == 80)
        #expect(dataset.split(validationFraction: 0.2, seed: 1).validation.examples == validation.examples)
        #expect(dataset.split(validationFraction: 0.2, seed: 2).validation.examples != validation.examples)
    }

    @Test func sequenceClassificationLearnsSections() throws {
        let dataset = try TextDataset.load(Self.csv)
        let (trainSet, validationSet) = dataset.split(validationFraction: 0.2, seed: 1)
        let model = try PretrainedModel.load(
            Fixtures.path("models/tiny-bert"), task: .sequenceClassification, labels: dataset.labels)
        let tokenizer = try #require(model.tokenizer)
        func data(_ set: TextDataset) throws -> TaskData {
            try TaskData(set, task: .sequenceClassification, tokenizer: tokenizer, maxLength: 32, padID: 0, vocabularySize: 160)
        }
        var arguments = TrainingArguments()
        arguments.epochs = 8
        arguments.learningRate = 3e-3
        arguments.warmupRatio = 0.1
        arguments.progress = false
        let trainer = Trainer(model: model, arguments: arguments, train: try data(trainSet), validation: try data(validationSet))
        let before = try trainer.evaluate(trainer.validation!)
        let summary = try trainer.fit()
        let after = try #require(summary.evaluations.last?.metrics)
        print("classification: loss \(before.loss) → \(after.loss), accuracy \(before.accuracy ?? 0) → \(after.accuracy ?? 0), macro-F1 \(after.macroF1 ?? 0), train loss \(summary.firstLoss) → \(summary.lastLoss)")
        #expect(summary.lastLoss < summary.firstLoss * 0.7)
        #expect((after.accuracy ?? 0) > dataset.majorityShare + 0.15)
    }

    /// One AdamW step (transformers' grouping: no decay on biases and LayerNorm weights) of tiny BERT and tiny
    /// GPT-2 on a fixed batch, dropout off, gives PyTorch's parameters within 1e-5 (parity/training-step.json; the
    /// decay is 0.5 so that a wrong grouping shows, eps 1e-6 so that the first step is well-conditioned: see the
    /// generator).
    @Test(arguments: ["bert", "gpt2"])
    func oneAdamWStepEqualsPyTorch(_ name: String) throws {
        let reference = try #require(try Fixtures.json(Fixtures.path("parity/training-step.json")).object?[name]?.object)
        let folder = try #require(reference["folder"]?.string)
        let model = try PretrainedModel.load(
            Fixtures.path(folder), task: name == "bert" ? .sequenceClassification : .causalLM)
        model.eval()
        var decay: [Parameter] = [], noDecay: [Parameter] = []
        for (parameterName, parameter) in model.namedParameters() {
            if Trainer.skipsWeightDecay(parameterName) { noDecay.append(parameter) } else { decay.append(parameter) }
        }
        let optimizer = Adam.adamW(
            [ParameterGroup(decay, weightDecay: 0.5), ParameterGroup(noDecay, weightDecay: 0)], learningRate: 1e-3,
            epsilon: 1e-6)
        let batch = try #require(reference["batch"]?.object)
        var inputs = ModelInputs(
            inputIDs: ParityFixtures.tensor(ParityFixtures.integers(batch["input_ids"])),
            attentionMask: ParityFixtures.tensor(ParityFixtures.integers(batch["attention_mask"])))
        if batch["token_type_ids"] != nil {
            inputs.tokenTypeIDs = ParityFixtures.tensor(ParityFixtures.integers(batch["token_type_ids"]))
        }
        let labels = try #require(batch["labels"]?.array)
        inputs.labels =
            labels.first?.array != nil
            ? ParityFixtures.tensor(ParityFixtures.integers(batch["labels"]))
            : Tensor(labels.compactMap(\.integer), shape: [labels.count])
        let loss = try #require(try model(inputs).loss)
        #expect(abs(loss.item - (reference["loss"]?.double ?? 0)) <= 1e-5)
        loss.backward()
        optimizer.step()
        let values = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.parameter) })
        let parameters = try #require(reference["parameters"]?.object)
        #expect(parameters.count >= 4)
        for (parameterName, expected) in parameters.entries {
            let ours = try #require(values[parameterName], "\(parameterName)")
            let error = ParityFixtures.absoluteError(ours.value, Fixtures.tensor(expected))
            #expect(error <= 1e-5, "\(name) \(parameterName): \(error)")
        }
    }
}

import Formats
import Foundation
import TestSupport
import Testing

@testable import Models
@testable import NN
@testable import Tensors

/// The reference outputs of transformers (Tests/Fixtures/generate_models.py → parity/reference.json).
enum ParityFixtures {
    static let reference: JSONObject = {
        (try? Fixtures.json(Fixtures.path("parity/reference.json")))?.object ?? JSONObject()
    }()

    /// Every case: its reference key, the folder, the task.
    static var cases: [String] {
        reference.keys.filter { $0.hasPrefix("parity/") || $0.hasPrefix("models/") }
    }

    static func integers(_ value: JSONValue?) -> [[Int]] {
        value?.array?.map { $0.array?.compactMap(\.integer) ?? [] } ?? []
    }

    static func tensor(_ rows: [[Int]]) -> Tensor {
        Tensor(rows.flatMap { $0 }, shape: [rows.count, rows.first?.count ?? 0])
    }

    /// The folder and task of a case: `parity/bert-token-classification`, `parity/gpt2-base as causal-lm`,
    /// `models/tiny-bert` (the tiny language models).
    static func locate(_ key: String) -> (folder: String, task: ModelTask) {
        let parts = key.components(separatedBy: " as ")
        let folder = Fixtures.path(parts[0])
        if parts.count == 2 { return (folder, ModelTask(rawValue: parts[1])!) }
        let name = parts[0].split(separator: "/").last.map(String.init) ?? ""
        if name.hasPrefix("tiny-") { return (folder, name.contains("gpt2") ? .causalLM : .maskedLM) }
        for task in ModelTask.allCases where task != .base && name.hasSuffix(task.rawValue) { return (folder, task) }
        return (folder, .base)
    }

    /// The largest absolute difference; infinity when the shapes differ.
    static func absoluteError(_ ours: Tensor?, _ reference: Tensor) -> Double {
        guard let ours, ours.shape == reference.shape else { return .infinity }
        return zip(ours.doubles, reference.doubles).map { abs($0 - $1) }.max() ?? 0
    }
}

/// Every architecture and head against transformers on the same weights and inputs: hidden states, pooler, logits
/// and losses within 1e-4 absolute.
@Suite struct ParityTests {
    @Test(arguments: ParityFixtures.cases)
    func outputsEqualTransformers(_ key: String) throws {
        let entry = try #require(ParityFixtures.reference[key]?.object)
        let (folder, task) = ParityFixtures.locate(key)
        let model = try PretrainedModel.load(folder, task: task)
        #expect(model.loadReport.missing.isEmpty, "\(model.loadReport)")
        #expect(model.loadReport.unexpected.isEmpty, "\(model.loadReport)")
        let given = try #require(entry["inputs"]?.object)
        var inputs = ModelInputs(
            inputIDs: ParityFixtures.tensor(ParityFixtures.integers(given["input_ids"])),
            attentionMask: ParityFixtures.tensor(ParityFixtures.integers(given["attention_mask"])))
        if given["token_type_ids"] != nil {
            inputs.tokenTypeIDs = ParityFixtures.tensor(ParityFixtures.integers(given["token_type_ids"]))
        }
        let outputs = try #require(entry["outputs"]?.object)
        let plain = try Tensor.withoutGradient { try model(inputs) }
        let produced: [String: Tensor?] = [
            "last_hidden_state": plain.lastHiddenState, "pooler_output": plain.poolerOutput, "logits": plain.logits,
            "start_logits": plain.startLogits, "end_logits": plain.endLogits,
        ]
        var compared = 0
        for (name, value) in outputs.entries where name != "loss" {
            let error = ParityFixtures.absoluteError(produced[name] ?? nil, Fixtures.tensor(value))
            #expect(error <= 1e-4, "\(key) \(name): largest difference \(error)")
            compared += 1
        }
        #expect(compared > 0)
        guard let expectedLoss = outputs["loss"]?.double, let labels = entry["labels"]?.object else { return }
        for (name, value) in labels.entries {
            let rows = value.array?.first?.array != nil
            let tensor =
                rows
                ? ParityFixtures.tensor(ParityFixtures.integers(value))
                : Tensor(value.array?.compactMap(\.integer) ?? [], shape: [value.array?.count ?? 0])
            switch name {
            case "labels": inputs.labels = tensor
            case "start_positions": inputs.startPositions = tensor
            case "end_positions": inputs.endPositions = tensor
            default: Issue.record("unknown label field \(name)")
            }
        }
        let loss = try #require(try Tensor.withoutGradient { try model(inputs) }.loss)
        #expect(abs(loss.item - expectedLoss) <= 1e-4, "\(key) loss \(loss.item) vs \(expectedLoss)")
    }

    /// The modules' reflected names are the checkpoint names the builder loaded by: `stateDict()` lists exactly
    /// them (tied weights under each name), so saving writes what transformers reads.
    @Test(arguments: ParityFixtures.cases)
    func stateDictNamesAreCheckpointNames(_ key: String) throws {
        let (folder, task) = ParityFixtures.locate(key)
        let config = try ModelConfig.fromPretrained(folder)
        let builder = ParameterBuilder(config: config, weights: nil, prefix: "")
        let model = try PretrainedModel.build(task, builder: builder, path: folder)
        #expect(Set(model.stateDict().map(\.name)) == Set(builder.names))
        #expect(model.stateDict().count == builder.names.count)
    }
}

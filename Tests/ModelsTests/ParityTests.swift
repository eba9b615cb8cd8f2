import Formats
import Foundation
import Support
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

    /// The model inputs a reference entry gives (`input_ids`, `attention_mask`, and `token_type_ids` when there).
    static func inputs(_ given: JSONObject) -> ModelInputs {
        var inputs = ModelInputs(
            inputIDs: Fixtures.tensor(rows: Fixtures.integers(given["input_ids"])),
            attentionMask: Fixtures.tensor(rows: Fixtures.integers(given["attention_mask"])))
        if given["token_type_ids"] != nil {
            inputs.tokenTypeIDs = Fixtures.tensor(rows: Fixtures.integers(given["token_type_ids"]))
        }
        return inputs
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
        var inputs = ParityFixtures.inputs(try #require(entry["inputs"]?.object))
        let outputs = try #require(entry["outputs"]?.object)
        let plain = try Tensor.withoutGradient { try model(inputs) }
        let produced: [String: Tensor?] = [
            "last_hidden_state": plain.lastHiddenState, "pooler_output": plain.poolerOutput, "logits": plain.logits,
            "start_logits": plain.startLogits, "end_logits": plain.endLogits,
        ]
        var compared = 0
        // ModernBERT's local layers leave a padded position whose window holds only padding no key to attend to;
        // what comes out there is undefined (transformers' eager and SDPA paths differ), so its per-token outputs are
        // compared where the attention mask keeps the token. Every other architecture: every position.
        let keep = key.contains("modernbert") ? Fixtures.integers(entry["inputs"]?.object?["attention_mask"]) : nil
        for (name, value) in outputs.entries where name != "loss" {
            let expected = Fixtures.tensor(value)
            var error = Fixtures.largestDifference(produced[name] ?? nil, expected)
            if let keep, let ours = produced[name] ?? nil, ours.shape == expected.shape, ours.rank == 3 {
                let (a, b, width) = (ours.doubles, expected.doubles, ours.size(2))
                error = 0
                for (row, mask) in keep.enumerated() {
                    for (t, kept) in mask.enumerated() where kept == 1 {
                        let start = (row * mask.count + t) * width
                        for c in start..<start + width { error = Swift.max(error, abs(a[c] - b[c])) }
                    }
                }
            }
            #expect(error <= 1e-4, "\(key) \(name): largest difference \(error)")
            compared += 1
        }
        #expect(compared > 0)
        guard let expectedLoss = outputs["loss"]?.double, let labels = entry["labels"]?.object else { return }
        for (name, value) in labels.entries {
            let rows = value.array?.first?.array != nil
            let tensor =
                rows
                ? Fixtures.tensor(rows: Fixtures.integers(value))
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
}

/// Every class declares the names transformers' `state_dict()` has (tied weights under each name): built from the
/// parity folders' configs alone, as Tests/Fixtures/parity/state-dict.json lists them.
@Suite struct StateDictNameTests {
    static let reference: JSONObject = {
        (try? Fixtures.json(Fixtures.path("parity/state-dict.json")))?.object ?? JSONObject()
    }()

    @Test(arguments: reference.keys)
    func namesEqualTransformers(_ key: String) throws {
        let (folder, task) = ParityFixtures.locate(key)
        let expected = try #require(Self.reference[key]?.array).compactMap(\.string)
        let model = try PretrainedModel.random(config: try ModelConfig.fromPretrained(folder), task: task)
        #expect(model.stateDict().map(\.name).sorted() == expected.sorted(), "\(key) (\(model.className))")
    }

    @Test func everyClassIsListed() {
        #expect(Self.reference.count == Architectures.all.flatMap(\.classes).count)
    }
}

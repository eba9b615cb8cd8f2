import Formats
import Foundation
import Hub
import Support
import TestSupport
import Testing

@testable import Models
@testable import NN
@testable import Tensors

/// The architecture table: one class per model_type × task, named as transformers names them; DistilBERT's own
/// quirks; and the catalog agreeing with what ModelHub builds.
@Suite struct ArchitectureTests {
    /// Each class's name is its transformers class name, and `architectures` in a config picks it.
    @Test func classesAreNamedAndPickedAsTransformers() throws {
        let names = Architectures.all.flatMap(\.classes).map(\.className)
        #expect(names.contains("BertForMaskedLM") && names.contains("GPT2LMHeadModel"))
        #expect(names.contains("DistilBertForQuestionAnswering") && names.contains("RobertaForTokenClassification"))
        #expect(Set(names).count == names.count)
        for folder in ["parity/distilbert-masked-lm", "parity/roberta-question-answering", "parity/gpt2-base"] {
            let config = try ModelConfig.fromPretrained(Fixtures.path(folder))
            let model = try PretrainedModel.load(Fixtures.path(folder))
            #expect(model.className == config.architecture, "\(folder)")
        }
    }

    /// The catalog marks supported exactly the architectures of the table.
    @Test func catalogAgreesWithTheTable() throws {
        for entry in try Registry.builtIn().entries {
            #expect(entry.supported == (Architectures.named(entry.architecture) != nil), "\(entry.name)")
        }
    }

    /// A fresh sinusoidal position table equals the one transformers drew (`sinusoidal_pos_embds`).
    @Test func sinusoidalPositionsEqualTransformers() throws {
        let folder = Fixtures.path("parity/distilbert-sinusoidal")
        let config = try ModelConfig.fromPretrained(folder)
        let stored = try PretrainedModel.load(folder, task: .base).stateDict()
        let fresh = try PretrainedModel.random(config: config, task: .base, seed: 5).stateDict()
        let name = "embeddings.position_embeddings.weight"
        let expected = try #require(stored.first { $0.name == name }?.tensor)
        let drawn = try #require(fresh.first { $0.name == name }?.tensor)
        #expect(Fixtures.largestDifference(drawn, expected) <= 1e-6)
        // Learned tables are drawn, not sinusoids.
        let learned = try ModelConfig.fromPretrained(Fixtures.path("parity/distilbert-base"))
        let table = try #require(
            try PretrainedModel.random(config: learned, task: .base).stateDict().first { $0.name == name }?.tensor)
        #expect(Fixtures.largestDifference(table, expected) > 0.1)
    }

    /// DistilBERT loads from .mhub with every weight borrowed from the mapping and the same outputs; its QA head
    /// has two outputs whatever `num_labels` says (transformers refuses other counts).
    @Test func distilBertLoadsFromMHubZeroCopy() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let folder = Fixtures.path("parity/distilbert-masked-lm")
        let inputs = ModelInputs(inputIDs: Tensor([2, 17, 45, 99, 3], shape: [1, 5]))
        let original = try AutoModelForMaskedLM.load(folder)
        let reference = try Tensor.withoutGradient { try original(inputs).requiredLogits() }
        let path = scratch.path + "/distilbert.mhub"
        try Converter.convert(try ModelSource.open(folder), to: path)
        let mapped = try AutoModelForMaskedLM.load(path)
        #expect(mapped.parameters().allSatisfy { !$0.value.storage.isWritable }, "weights copied out of the mapping")
        #expect(mapped.loadReport == LoadReport())
        let logits = try Tensor.withoutGradient { try mapped(inputs).requiredLogits() }
        #expect(logits.doubles == reference.doubles)
    }
}

/// MPNet's relative position buckets equal transformers' `relative_position_bucket` from −700 to 700 (the parity
/// inputs reach only 8 positions apart; the logarithmic buckets and their float32 boundaries are checked here).
@Suite struct MPNetBucketTests {
    @Test func bucketsEqualTransformers() throws {
        let entry = try #require(ParityFixtures.reference["mpnet buckets"]?.object)
        let relative = entry["relative"]?.array?.compactMap(\.integer) ?? []
        let expected = entry["bucket"]?.array?.compactMap(\.integer) ?? []
        #expect(relative.count == 1401 && expected.count == 1401)
        let mismatches = zip(relative, expected).filter { MPNetEncoder.bucket($0.0) != $0.1 }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5)) …")
    }
}

/// ModernBERT's config as the Hub's repositories spell it (`global_rope_theta`, `local_rope_theta`,
/// `global_attn_every_n_layers`) gives the model transformers 5's spelling (`rope_parameters`, `layer_types`) gives.
@Suite struct ModernBertConfigTests {
    @Test func bothSpellingsGiveTheSameModel() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let folder = Fixtures.path("parity/modernbert-base")
        let current = try #require(try Fixtures.json(folder + "/config.json").object)
        let legacy = JSONObject(
            current.entries.filter {
                !["layer_types", "rope_parameters", "global_attn_every_n_layers"].contains($0.key)
            }
                + [
                    ("global_rope_theta", .number("160000.0")), ("local_rope_theta", .number("10000.0")),
                    ("global_attn_every_n_layers", .int(3)),
                ])
        try writeFileAtomically(scratch.path + "/config.json", Array(JSONValue.object(legacy).serialized().utf8))
        try copyFile(folder + "/model.safetensors", scratch.path + "/model.safetensors")
        let a = try ModelConfig.fromPretrained(folder).typed(ModernBertConfig.self)
        let b = try ModelConfig.fromPretrained(scratch.path).typed(ModernBertConfig.self)
        #expect(a.globalLayers == [true, false, false, true] && a.globalLayers == b.globalLayers)
        #expect(a.globalRopeTheta == b.globalRopeTheta && a.localRopeTheta == b.localRopeTheta && a.halfWindow == 2)
        let inputs = ModelInputs(inputIDs: Fixtures.tensor(rows: [[0, 17, 45, 299, 2, 2, 150, 8, 2]]))
        let first = try Tensor.withoutGradient { try PretrainedModel.load(folder, task: .base)(inputs) }
        let second = try Tensor.withoutGradient { try PretrainedModel.load(scratch.path, task: .base)(inputs) }
        #expect(try first.hidden().doubles == second.hidden().doubles)
    }
}

/// ModernBERT's unpadded inference path equals its masked training path.
///
/// Without gradients it drops padding before the first layer and attends block by block within the local window;
/// with gradients it keeps the masked [B, T] form transformers computes. Both must agree where the mask keeps a
/// token, for a full row, a right-padded and a left-padded one (whose rotary angles start past the padding), and
/// padded positions come back as zeros. ParityTests checks the unpadded path against transformers itself.
@Suite struct ModernBertUnpaddingTests {
    @Test func unpaddedEqualsMasked() throws {
        let model = try PretrainedModel.load(Fixtures.path("parity/modernbert-base"), task: .base)
        let ids = [
            [0, 17, 45, 299, 2, 2, 150, 8, 31, 64, 2], [0, 23, 99, 5, 71, 8, 2, 1, 1, 1, 1],
            [1, 1, 1, 1, 1, 1, 0, 12, 13, 14, 2],
        ]
        let mask = [
            [Int](repeating: 1, count: 11), [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
        ]
        let inputs = ModelInputs(inputIDs: Fixtures.tensor(rows: ids), attentionMask: Fixtures.tensor(rows: mask))
        let masked = try model(inputs).hidden().doubles
        let unpadded = try Tensor.withoutGradient { try model(inputs).hidden() }
        #expect(unpadded.shape == [3, 11, 32])
        let values = unpadded.doubles
        var (largest, paddingLargest) = (0.0, 0.0)
        for (row, keep) in mask.enumerated() {
            for (t, kept) in keep.enumerated() {
                for c in 0..<32 {
                    let index = (row * 11 + t) * 32 + c
                    if kept == 1 {
                        largest = Swift.max(largest, abs(values[index] - masked[index]))
                    } else {
                        paddingLargest = Swift.max(paddingLargest, abs(values[index]))
                    }
                }
            }
        }
        #expect(largest <= 1e-5, "largest difference \(largest)")
        #expect(paddingLargest == 0)
        // No padding at all: the batched windowed path, every position.
        let full = ModelInputs(inputIDs: Fixtures.tensor(rows: [ids[0], ids[0].reversed()]))
        let a = try model(full).hidden().doubles
        let b = try Tensor.withoutGradient { try model(full).hidden() }.doubles
        #expect(zip(a, b).map { abs($0 - $1) }.max() ?? 1 <= 1e-5)
    }
}

import Formats
import Foundation
import Support
import TestSupport
import Testing

@testable import Models
@testable import Tensors
@testable import Tokenizers

/// Loading: every format and layout gives the same model, .mhub weights stay in the mapping, missing and
/// unexpected keys are reported as transformers reports them, and bad configs and inputs fail by name.
@Suite struct LoadingTests {
    static var inputs: ModelInputs {
        ModelInputs(
            inputIDs: Tensor([2, 17, 45, 99, 3, 150, 8, 3], shape: [1, 8]),
            attentionMask: Tensor([1, 1, 1, 1, 1, 1, 1, 1], shape: [1, 8]))
    }

    static func logits(_ model: PretrainedModel, _ inputs: ModelInputs = inputs) throws -> [Double] {
        try Tensor.withoutGradient { try model(inputs).requiredLogits().doubles }
    }

    /// A folder converted to .mhub loads with every f32 weight borrowed from the mapping and equal outputs.
    ///
    /// f16 and int8-row files load dequantized, close to the f32 outputs. BERT, and XLM-RoBERTa, MPNet and
    /// ModernBERT from safetensors and from their .bin.
    @Test(arguments: [
        "parity/bert-masked-lm", "parity/xlm-roberta-masked-lm", "parity/xlm-roberta-bin", "parity/mpnet-masked-lm",
        "parity/mpnet-bin", "parity/modernbert-masked-lm", "parity/modernbert-bin",
    ])
    func mhubLoadsZeroCopyAndEqual(_ fixture: String) throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let folder = Fixtures.path(fixture)
        let reference = try Self.logits(try PretrainedModel.load(folder, task: .maskedLM))
        let plain = scratch.path + "/model.mhub"
        try Converter.convert(try ModelSource.open(folder), to: plain)
        let mapped = try PretrainedModel.load(plain, task: .maskedLM)
        #expect(mapped.parameters().allSatisfy { !$0.value.storage.isWritable }, "weights copied out of the mapping")
        #expect(try Self.logits(mapped) == reference)
        #expect(mapped.loadReport == LoadReport())
        for (name, options, tolerance) in [
            ("f16", MHubWriter.Options(dtype: .f16), 0.05), ("int8", MHubWriter.Options(quantizeInt8: true), 0.5),
        ] {
            let path = scratch.path + "/\(name).mhub"
            try Converter.convert(try ModelSource.open(folder), to: path, options: options)
            let converted = try Self.logits(try PretrainedModel.load(path, task: .maskedLM))
            let worst = zip(converted, reference).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst < tolerance, "\(name): \(worst)")
            #expect(worst > 0, "\(name) should differ from f32 a little")
        }
    }

    /// A base checkpoint under a task head: the head's keys are missing (freshly initialised, a warning as
    /// transformers words it); an MLM checkpoint under the base model: the head's keys are unexpected.
    @Test func missingAndUnexpectedKeysAreReported() throws {
        let classifier = try PretrainedModel.load(Fixtures.path("parity/bert-base"), task: .sequenceClassification)
        #expect(classifier.loadReport.missing == ["classifier.weight", "classifier.bias"])
        #expect(classifier.loadReport.unexpected.isEmpty)
        let warning = classifier.loadReport.warning(modelClass: classifier.className, path: "bert-base")
        #expect(warning?.contains("newly initialized: classifier.weight, classifier.bias") == true)
        #expect(warning?.contains("BertForSequenceClassification") == true)
        let base = try PretrainedModel.load(Fixtures.path("parity/bert-masked-lm"), task: .base)
        #expect(base.loadReport.missing == ["pooler.dense.weight", "pooler.dense.bias"])
        #expect(Set(base.loadReport.unexpected).isSuperset(of: ["cls.predictions.bias"]))
        #expect(base.loadReport.unexpected.allSatisfy { $0.hasPrefix("cls.") })
        // New labels give a new head of that size.
        let relabelled = try PretrainedModel.load(
            Fixtures.path("parity/bert-sequence-classification"), task: .sequenceClassification,
            labels: ["a", "b", "c", "d"])
        #expect(relabelled.config.labels == ["a", "b", "c", "d"])
        #expect(relabelled.loadReport.mismatched == ["classifier.weight", "classifier.bias"])
        #expect(relabelled.loadReport.missing.isEmpty && relabelled.loadReport.unexpected.isEmpty)
        #expect(try Self.logits(relabelled).count == 4)
    }

    @Test func unsupportedArchitecturesAndTasksAreRefusedByName() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try writeText(#"{"model_type": "xlnet", "vocab_size": 10, "d_model": 8}"#, to: scratch.path + "/config.json")
        let error = #expect(throws: ModelError.self) { try PretrainedModel.load(scratch.path, task: .base) }
        #expect(error?.description.contains("'xlnet'") == true, "\(String(describing: error))")
        #expect(error?.description.contains("bert, roberta, gpt2, distilbert") == true, "names what is supported")
        let task = #expect(throws: ModelError.self) {
            try PretrainedModel.load(Fixtures.path("parity/gpt2-base"), task: .maskedLM)
        }
        #expect(task?.description.contains("gpt2 has no masked-lm model") == true, "\(String(describing: task))")
    }

    /// defence C1–C3: every absurd config fails with an error naming the key, before allocating.
    @Test(arguments: [
        ("hidden_size", "-32", "hidden_size"), ("hidden_size", "0", "hidden_size"),
        ("hidden_size", "\"32\"", "hidden_size"), ("hidden_size", "32.0", "hidden_size"),
        ("hidden_size", "null", "hidden_size"), ("hidden_size", "true", "hidden_size"),
        ("num_attention_heads", "5", "not a multiple"), ("vocab_size", "99999999999", "vocab_size"),
        ("num_hidden_layers", "4000000", "parameters"), ("intermediate_size", "1e9", "intermediate_size"),
        ("max_position_embeddings", "-1", "max_position_embeddings"), ("layer_norm_eps", "\"x\"", "layer_norm_eps"),
        ("hidden_act", "\"swish\"", "swish"), ("model_type", "7", "model_type"),
        ("id2label", "{\"0\": \"a\", \"2\": \"b\"}", "id2label"),
    ])
    func badConfigsAreRefused(_ key: String, _ value: String, _ mentioned: String) throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        var config = try #require(try Fixtures.json(Fixtures.path("parity/bert-base/config.json")).object)
        config = JSONObject(config.entries.filter { $0.key != key })
        let parsed = try JSONParser.parse(Array(value.utf8))
        config.append(key, parsed)
        try writeText(JSONValue.object(config).serialized(), to: scratch.path + "/config.json")
        try copyFile(Fixtures.path("parity/bert-base/model.safetensors"), scratch.path + "/model.safetensors")
        let error = #expect(throws: ModelError.self) { try PretrainedModel.load(scratch.path, task: .base) }
        #expect(error?.description.contains(mentioned) == true, "\(String(describing: error))")
        #expect(error?.description.contains(scratch.path) == true, "names the file")
    }

    /// A config that disagrees with its weights names the tensor and both shapes.
    @Test func shapeMismatchNamesTheTensor() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        var config = try #require(try Fixtures.json(Fixtures.path("parity/bert-base/config.json")).object)
        config = JSONObject(config.entries.filter { $0.key != "intermediate_size" })
        config.append("intermediate_size", .int(48))
        try writeText(JSONValue.object(config).serialized(), to: scratch.path + "/config.json")
        try copyFile(Fixtures.path("parity/bert-base/model.safetensors"), scratch.path + "/model.safetensors")
        let error = #expect(throws: ModelError.self) { try PretrainedModel.load(scratch.path, task: .base) }
        #expect(
            error?.description.contains("encoder.layer.0.intermediate.dense.weight has shape [64, 32]") == true,
            "\(String(describing: error))")
    }

    @Test func badInputsAreRefused() throws {
        let model = try PretrainedModel.load(Fixtures.path("parity/bert-base"), task: .base)
        for ids in [Tensor([2, 160], shape: [1, 2]), Tensor([-1], shape: [1, 1]), Tensor([Int](), shape: [1, 0])] {
            #expect(throws: ModelError.self) { try model(ModelInputs(inputIDs: ids)) }
        }
        let long = Tensor([Int](repeating: 5, count: 65), shape: [1, 65])
        #expect(throws: ModelError.self) { try model(ModelInputs(inputIDs: long)) }
        let mask = Tensor([1, 1, 1], shape: [1, 3])
        #expect(throws: ModelError.self) {
            try model(ModelInputs(inputIDs: Tensor([2, 3], shape: [1, 2]), attentionMask: mask))
        }
        #expect(throws: ModelError.self) { try model(["no tokenizer in this folder"]) }
    }

    /// Texts through the folder's own tokenizer give the same outputs as the ids the tokenizer produces.
    @Test func textsRunThroughTheTokenizer() throws {
        let model = try PretrainedModel.load(Fixtures.path("models/tiny-bert"), task: .maskedLM)
        let tokenizer = try #require(model.tokenizer)
        let texts = ["the licence is free", "software"]
        let batch = try tokenizer.encodeBatch(texts, padding: Padding(padID: 0))
        let byText = try Tensor.withoutGradient { try model(texts).requiredLogits().doubles }
        #expect(try Self.logits(model, try ModelInputs(batch)) == byText)
    }

    /// A model built from a config alone is initialised as transformers' `_init_weights` does: normal weights of
    /// std `initializer_range`, zero biases, unit LayerNorm scales, zero padding rows.
    @Test func randomModelsAreInitialisedAsTransformers() throws {
        let config = try ModelConfig.fromPretrained(Fixtures.path("parity/roberta-base"))
        let model = try PretrainedModel.random(config: config, task: .base, seed: 3)
        let named = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.parameter.value) })
        let words = try #require(named["embeddings.word_embeddings.weight"])
        let pad = try #require(config.padTokenID)
        #expect(words.sliced(0, pad..<pad + 1).doubles.allSatisfy { $0 == 0 })
        let values = words.doubles
        let std = (values.map { $0 * $0 }.reduce(0, +) / Double(values.count)).squareRoot()
        #expect(abs(std - config.initializerRange) < 0.1 * config.initializerRange, "\(std)")
        #expect(named["embeddings.LayerNorm.weight"]?.doubles.allSatisfy { $0 == 1 } == true)
        #expect(named["encoder.layer.0.attention.self.query.bias"]?.doubles.allSatisfy { $0 == 0 } == true)
        #expect(model.loadReport == LoadReport())
    }
}

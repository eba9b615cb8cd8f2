import Formats
import Foundation
import TestSupport
import Testing

@testable import Models
@testable import Tensors

/// `savePretrained` writes what transformers wrote: the same model.safetensors bytes as `save_pretrained` of the
/// same weights (so `from_pretrained` reads equal tensors), the config's keys, the tokenizer files.
@Suite struct SaveTests {
    @Test(arguments: [
        ("parity/bert-base", ModelTask.base), ("parity/bert-masked-lm", .maskedLM),
        ("parity/bert-sequence-classification", .sequenceClassification),
        ("parity/roberta-token-classification", .tokenClassification),
        ("parity/roberta-question-answering", .questionAnswering), ("parity/roberta-masked-lm", .maskedLM),
        ("parity/gpt2-sequence-classification", .sequenceClassification),
        ("parity/distilbert-masked-lm", .maskedLM), ("parity/distilbert-question-answering", .questionAnswering),
        ("parity/distilbert-sequence-classification", .sequenceClassification),
        ("parity/xlm-roberta-masked-lm", .maskedLM), ("parity/xlm-roberta-token-classification", .tokenClassification),
        ("parity/mpnet-masked-lm", .maskedLM), ("parity/mpnet-question-answering", .questionAnswering),
        ("parity/modernbert-masked-lm", .maskedLM),
        ("parity/modernbert-sequence-classification", .sequenceClassification),
    ])
    func weightsAreByteIdenticalToTransformers(_ folder: String, _ task: ModelTask) throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let model = try PretrainedModel.load(Fixtures.path(folder), task: task)
        let written = try model.savePretrained(scratch.path + "/saved")
        #expect(written.prefix(2) == ["config.json", "model.safetensors"])
        let ours = try readBytes(scratch.path + "/saved/model.safetensors")
        let theirs = try readBytes(Fixtures.path(folder + "/model.safetensors"))
        #expect(ours == theirs, "\(folder): \(ours.count) bytes vs \(theirs.count)")
        let original = try #require(try Fixtures.json(Fixtures.path(folder + "/config.json")).object)
        let saved = try #require(try Fixtures.json(scratch.path + "/saved/config.json").object)
        #expect(original.keys == saved.keys)
        for key in original.keys where key != "architectures" { #expect(original[key] == saved[key], "\(key)") }
        #expect(saved["architectures"] == .array([.string(model.className)]))
        // And it loads back as the same model.
        let reloaded = try PretrainedModel.load(scratch.path + "/saved", task: task)
        #expect(reloaded.loadReport == LoadReport())
    }

    /// A GPT-2 language model saved from a .bin with the `transformer.` prefix: weights under the prefix, the tied
    /// head once (as transformers saves GPT2LMHeadModel), tokenizer files copied; equal logits after reloading.
    @Test func languageModelRoundTrip() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let model = try PretrainedModel.load(Fixtures.path("models/tiny-gpt2"), task: .causalLM)
        let written = try model.savePretrained(scratch.path + "/out")
        #expect(Set(written).isSuperset(of: ["tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json"]))
        let archive = try Checkpoint.open(scratch.path + "/out/model.safetensors")
        let names = archive.tensors.map(\.name)
        #expect(names.contains("transformer.wte.weight") && !names.contains("lm_head.weight"))
        let reloaded = try PretrainedModel.load(scratch.path + "/out", task: .causalLM)
        let ids = ModelInputs(inputIDs: Tensor([5, 17, 45, 120], shape: [1, 4]))
        let a = try Tensor.withoutGradient { try model(ids).requiredLogits().doubles }
        let b = try Tensor.withoutGradient { try reloaded(ids).requiredLogits().doubles }
        #expect(a == b)
        #expect(reloaded.tokenizer != nil)
    }
}

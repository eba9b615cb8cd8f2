import ArgumentParser
import Foundation
import ModelHub

extension ONNXExportDType: ExpressibleByArgument {}

/// `hub export MODEL -o DIR [--format safetensors|onnx]`: an `.mhub` back to a Hugging Face folder, or any model as
/// an ONNX export that ONNX Runtime (and optimum) load.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a model out: an .mhub as a Hugging Face folder, or any model as ONNX (--format onnx).",
        discussion: """
            DIR must not exist or be empty; it appears only once complete.
            --format safetensors (default): MODEL is an .mhub; DIR gets model.safetensors, config.json and the \
            tokenizer files, which transformers.AutoModel.from_pretrained(DIR) loads. Every checksum is checked on \
            the way; an int8 .mhub is written dequantized.
            --format onnx: MODEL is a folder, an .mhub or a name (pulled when missing). DIR gets model.onnx (opset \
            17 by default, IR version 8: ONNX Runtime 1.12 and later), config.json and the tokenizer files, as \
            optimum lays them out; weights go to model.onnx_data beside it when they pass 2 GiB or with \
            --external-data. Inputs input_ids, attention_mask (token_type_ids for BERT) as int64 [batch_size, \
            sequence_length]; outputs as optimum names them: last_hidden_state, logits, start_logits/end_logits; a \
            causal LM takes position_ids and past_key_values.N.key/value and returns present.N.key/value (its first \
            step passes pasts of length 0). --task sentence-embedding adds sentence_embedding: the mean over the \
            mask, L2-normalised. --dtype f16 stores matrices as float16 (cast to float32 in the graph); int8 writes \
            each linear layer as DynamicQuantizeLinear + MatMulInteger over ModelHub's int8 weights (an int8 .mhub's \
            as stored).
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case safetensors, onnx
    }

    /// `--task`: ModelHub's names and optimum's.
    enum Task: String, ExpressibleByArgument, CaseIterable {
        case base, featureExtraction = "feature-extraction", sentenceEmbedding = "sentence-embedding"
        case maskedLM = "masked-lm", fillMask = "fill-mask", causalLM = "causal-lm"
        case textGeneration = "text-generation", textGenerationWithPast = "text-generation-with-past"
        case sequenceClassification = "sequence-classification", textClassification = "text-classification"
        case tokenClassification = "token-classification", questionAnswering = "question-answering"

        var modelTask: ModelTask {
            switch self {
            case .base, .featureExtraction, .sentenceEmbedding: .base
            case .maskedLM, .fillMask: .maskedLM
            case .causalLM, .textGeneration, .textGenerationWithPast: .causalLM
            case .sequenceClassification, .textClassification: .sequenceClassification
            case .tokenClassification: .tokenClassification
            case .questionAnswering: .questionAnswering
            }
        }
    }

    @Argument(help: "An .mhub file; with --format onnx also a model folder or name.")
    var model: String

    @Option(name: .shortAndLong, help: "Folder to create.")
    var output: String

    @Option(help: "safetensors or onnx.")
    var format: Format = .safetensors

    @Option(
        help: """
            ONNX: the head to export (default: the class config.json names): base (feature-extraction), \
            sentence-embedding, masked-lm (fill-mask), causal-lm (text-generation-with-past), \
            sequence-classification (text-classification), token-classification, question-answering.
            """)
    var task: Task?

    @Option(help: "ONNX: the operator set, 17 to 21.")
    var opset = 17

    @Option(help: "ONNX: f32, f16 (float16 matrices) or int8 (quantized linear layers).")
    var dtype: ONNXExportDType = .float32

    @Flag(help: "ONNX: weights in model.onnx_data beside model.onnx (automatic past 2 GiB).")
    var externalData = false

    @Flag(help: "Print {\"output\", \"files\", …} as JSON.")
    var json = false

    @OptionGroup var access: HubAccess

    func validate() throws {
        if format == .safetensors {
            let onnxOnly = [
                task.map { _ in "--task" }, opset != 17 ? "--opset" : nil, dtype != .float32 ? "--dtype" : nil,
                externalData ? "--external-data" : nil,
            ].compactMap { $0 }
            if let first = onnxOnly.first { throw ValidationError("\(first) applies to --format onnx") }
        }
    }

    func run() throws {
        switch format {
        case .safetensors:
            guard model.hasSuffix(".mhub") else {
                throw ModelError.input(
                    "--format safetensors exports an .mhub file; \(model) is not one (--format onnx takes any model)")
            }
            let written = try Exporter.export(try MHubFile(path: model), to: output)
            report(written, extra: [])
        case .onnx:
            var options = ONNXExportOptions()
            options.dtype = dtype
            options.opset = opset
            options.externalData = externalData ? true : nil
            options.sentenceEmbedding = task == .sentenceEmbedding
            let path = try ModelLoading.locate(model, access: access, quiet: json)
            let started = Date()
            // Refused before the weights are read (and before a load warning about weights a head would use).
            try PretrainedModel.checkONNXExport(
                config: try ModelConfig.fromPretrained(path), task: task?.modelTask, options: options)
            let loaded = try ModelLoading.load(
                model, at: path, task: task?.modelTask, precision: dtype == .int8 ? .int8 : .f32)
            let written = try loaded.exportONNX(to: output, options: options)
            let seconds = Date().timeIntervalSince(started)
            report(
                written,
                extra: [
                    ("format", .string("onnx")), ("class", .string(loaded.className)),
                    ("opset", .int(opset)), ("dtype", .string(dtype.rawValue)),
                    ("seconds", .number(String(format: "%.3f", seconds))),
                ])
        }
    }

    private func report(_ written: [String], extra: [(String, JSONValue)]) {
        if json {
            Output.printJSON(
                .object(
                    JSONObject(
                        [("output", .string(output)), ("files", .array(written.map(JSONValue.string)))] + extra)))
        } else {
            print("\(output): " + written.joined(separator: ", "))
        }
    }
}

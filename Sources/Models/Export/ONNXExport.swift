import Formats
import NN
import Support
import Tensors

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How an ONNX export stores its weights.
public enum ONNXExportDType: String, Sendable, CaseIterable {
    /// float32 weights and arithmetic.
    case float32 = "f32"
    /// float16 matrices cast to float32 in the graph: half the file, float32 arithmetic (ModelHub's f16 inference).
    case float16 = "f16"
    /// Linear layers as dynamically quantized integer products over ModelHub's int8 weights; the rest float32.
    case int8
}

/// What `exportONNX` writes.
///
/// ```swift
/// var options = ONNXExportOptions()
/// options.dtype = .int8
/// options.sentenceEmbedding = true      // mean pooling + L2 normalisation in the graph
/// ```
public struct ONNXExportOptions: Sendable {
    /// Weights' storage (default float32).
    public var dtype: ONNXExportDType = .float32
    /// The standard operator set (17, the first with LayerNormalization, through 21).
    public var opset = 17
    /// Weights in `model.onnx_data` beside the graph: true or false, or nil (the default) for "when they pass
    /// protobuf's 2 GiB limit".
    public var externalData: Bool?
    /// For an encoder's base model: add `sentence_embedding` [batch, hidden], the mean of the last hidden states
    /// over the attention mask, L2-normalised (what `sentenceEmbeddings` computes, sentence-transformers' recipe).
    public var sentenceEmbedding = false

    /// Opsets the graphs are written for.
    public static let opsets = 17...21

    public init() {}
}

/// A model class that can be written as an ONNX graph.
///
/// Each architecture's folder conforms its classes.
protocol ONNXExportable: PretrainedModel {
    /// Declares the graph's inputs and adds the nodes and outputs of this class's forward pass.
    func emitONNX(_ builder: inout ONNXBuilder, options: ONNXExportOptions) throws
    /// The task name optimum gives this export (`feature-extraction`, `fill-mask`, `text-generation-with-past`…).
    var onnxTask: String { get }
    /// Whether the graph can end in a sentence embedding (an encoder's base model).
    static var embedsSentences: Bool { get }
}

extension ONNXExportable {
    static var embedsSentences: Bool { false }
}

extension PretrainedModel {
    /// This model as an ONNX model.
    ///
    /// Opset `options.opset`, IR version 8; inputs `input_ids`, `attention_mask`
    /// (and `token_type_ids`, `position_ids`, `past_key_values.N.key/value` where the architecture takes them) as
    /// int64 with dynamic `batch_size` and `sequence_length`, outputs named as optimum names them. With
    /// `options.dtype == .int8` the model's layers are quantized first (`quantize(.int8)`) unless they are already.
    public func onnxModel(options: ONNXExportOptions = ONNXExportOptions()) throws -> ONNXModel {
        try Self.checkONNXExport(type(of: self), options: options)
        guard let exportable = self as? any ONNXExportable else {
            throw ModelError.input("\(className) cannot be exported to ONNX yet")
        }
        if options.sentenceEmbedding, let modules = try sentenceModules, !modules.isMeanThenNormalize {
            throw ModelError.input(
                "the model's modules.json is not mean pooling then Normalize, which is all a sentence-embedding graph "
                    + "computes; export with --task base and pool as the modules say")
        }
        if options.dtype == .int8, !isQuantizedInt8 { quantize(.int8) }
        var builder = ONNXBuilder(model: self, dtype: options.dtype)
        try exportable.emitONNX(&builder, options: options)
        var model = ONNXModel(graph: builder.graph, opsets: [("", options.opset)])
        model.metadata = [
            ("modelhub.class", className),
            ("modelhub.task", options.sentenceEmbedding ? "sentence-embedding" : exportable.onnxTask),
            ("modelhub.dtype", options.dtype.rawValue),
        ]
        return model
    }

    /// Checks, before any weight is read, that a model of `config` can be exported with `options` for `task` (nil:
    /// the class config.json names): one error naming what cannot be written.
    ///
    /// ```swift
    /// try PretrainedModel.checkONNXExport(config: try ModelConfig.fromPretrained(path), task: nil, options: options)
    /// ```
    public static func checkONNXExport(config: ModelConfig, task: ModelTask?, options: ONNXExportOptions) throws {
        try checkONNXExport(try modelClass(config, task: task, path: "config.json"), options: options)
    }

    static func checkONNXExport(_ modelClass: PretrainedModel.Type, options: ONNXExportOptions) throws {
        guard let exportable = modelClass as? any ONNXExportable.Type else {
            throw ModelError.input("\(modelClass.className) cannot be exported to ONNX yet")
        }
        guard ONNXExportOptions.opsets.contains(options.opset) else {
            throw ModelError.input(
                "opset \(options.opset) is not supported; choose \(ONNXExportOptions.opsets.lowerBound)"
                    + "–\(ONNXExportOptions.opsets.upperBound)")
        }
        if options.sentenceEmbedding, !exportable.embedsSentences {
            throw ModelError.input(
                "a sentence-embedding graph needs an encoder's base model (BERT, RoBERTa, DistilBERT), not "
                    + "\(modelClass.className)")
        }
    }

    /// Whether some linear layer already runs on int8 weights.
    private var isQuantizedInt8: Bool {
        walk().modules.contains { module in
            if let linear = module as? Linear, case .int8? = linear.reduced { return true }
            if let conv = module as? Conv1D, case .int8? = conv.reduced { return true }
            return false
        }
    }

    /// Writes `folder` as optimum lays out an ONNX export.
    ///
    /// `ORTModelFor…from_pretrained(folder)` and plain
    /// `onnxruntime.InferenceSession(folder + "/model.onnx")` load it: `model.onnx` (and `model.onnx_data` with
    /// external weights), `config.json`, and the tokenizer files of the model's source. `folder` must not exist or
    /// be empty; it is assembled under a temporary name and renamed when complete, so a failure leaves nothing.
    /// Returns the files written.
    ///
    /// ```swift
    /// let model = try PretrainedModel.load("Tests/Fixtures/parity/bert-masked-lm")
    /// try model.exportONNX(to: "bert-onnx")      // model.onnx, config.json, tokenizer files
    /// ```
    @discardableResult
    public func exportONNX(to folder: String, options: ONNXExportOptions = ONNXExportOptions()) throws -> [String] {
        let target = folder.count > 1 && folder.hasSuffix("/") ? String(folder.dropLast()) : folder
        var isFolder = false
        let existed = fileExists(target, isDirectory: &isFolder)
        if existed, !(isFolder && isEmptyDirectory(target)) {
            throw ModelError.input("\(target) already exists and is not an empty folder")
        }
        let model = try onnxModel(options: options)
        let weightBytes = model.graph.initializers.reduce(0) { $0 + $1.byteCount }
        let external = options.externalData ?? (weightBytes >= ONNXWriter.inlineLimit)
        let staging = AtomicFile.temporaryPath(for: target)
        try makeDirectories(staging)
        do {
            var written = ["model.onnx"]
            try ONNXWriter.write(
                model, to: staging + "/model.onnx", externalData: external ? "model.onnx_data" : nil)
            if external { written.append("model.onnx_data") }
            let config = self.config.withArchitecture(className)
            try writeFileAtomically(
                staging + "/config.json", Array((JSONValue.object(config.json).serialized(indent: 2) + "\n").utf8))
            written.append("config.json")
            let extra = options.sentenceEmbedding ? ["sentence_bert_config.json"] : []
            for name in Self.tokenizerFileNames + extra {
                guard let bytes = try sourceFile(name) else { continue }
                try writeFileAtomically(staging + "/" + name, bytes)
                written.append(name)
            }
            if existed { rmdir(target) }
            guard rename(staging, target) == 0 else {
                throw ModelError.input("\(target): cannot rename the export into place: \(errnoText())")
            }
            return written
        } catch {
            removeTree(staging)
            throw error
        }
    }
}

import Formats
import NN
import Tensors

/// The precision a model's weights are held in for inference (`--dtype` in the CLI).
///
/// float32; bfloat16 or float16 (weights in 16 bits, arithmetic in float32); or int8 (dynamic quantization).
///
/// ```swift
/// let model = try await AutoModel.fromPretrained("all-MiniLM-L6-v2", dtype: .int8)
/// ```
public enum WeightPrecision: String, Sendable, CaseIterable {
    case f32, bf16, f16, int8

    /// The `Module.quantize` type, nil for float32.
    public var quantization: QuantizationType? { QuantizationType(rawValue: rawValue) }
}

extension PretrainedModel {
    /// Builds the model for `task` from a model folder or `.mhub` file: config, weights (loaded by name, f32 ones
    /// mapped rather than copied), tokenizer; in evaluation mode, as `from_pretrained` returns it.
    ///
    /// `task` nil picks the class config.json's `architectures` names (the base model when it names none of
    /// ours). `labels` gives a classification head other labels than the config's: a head of another size is
    /// initialised afresh (transformers' `ignore_mismatched_sizes`), reported in `loadReport.mismatched`.
    ///
    /// `precision` other than f32 stores the weights that way (`Module.quantize`); an int8 `.mhub`'s int8-row
    /// weights and a bf16/f16 checkpoint's half weights are used as stored (mapped, not converted) — no float32
    /// copy is made of them.
    public static func load(
        _ path: String, task: ModelTask? = nil, labels: [String]? = nil, precision: WeightPrecision = .f32
    ) throws -> PretrainedModel {
        var config = try ModelConfig.fromPretrained(path)
        if let labels { config = config.withLabels(labels) }
        let archive: TensorArchive =
            path.hasSuffix(".mhub") ? try MHubFile(path: path) : try ModelSource.open(path).weights
        // Missing weights are initialised, as transformers does; but a config describing far more than the
        // checkpoint holds is a lie that would allocate from it (defence C1).
        let stored = archive.parameterCount
        guard config.parameterEstimate <= 2 * stored + (1 << 24) else {
            throw ModelError.config(
                path: path,
                reason: "the config describes \(config.parameterEstimate) parameters, the checkpoint holds \(stored)")
        }
        let architecture = try config.architectureEntry()
        let model = try modelClass(config, task: task, path: path).init(config: config)
        let weights = CheckpointWeights(archive, sanitize: architecture.sanitize)
        let walked = model.walk()
        model.loadReport = try model.assignWeights(
            walked.parameters, from: weights, prefix: architecture.basePrefix,
            replacingMismatchedHeads: labels != nil, precision: precision)
        model.source = path
        Module.setTraining(false, walked.modules)  // eval(), without walking the tree again
        if let type = precision.quantization { model.quantize(type) }
        return model
    }

    /// A model of `config` with freshly initialised weights (training from scratch, benchmarks), drawn as
    /// transformers' `_init_weights` draws them (normal(0, initializer_range) weights, zero biases, unit LayerNorm
    /// scales, zero padding rows).
    public static func random(config: ModelConfig, task: ModelTask, seed: UInt64 = 0) throws -> PretrainedModel {
        let model = try modelClass(config, task: task, path: "config").init(config: config)
        var generator = RandomGenerator(seed: seed)
        for parameter in model.parameters() { parameter.materialize(using: &generator) }
        return model
    }

    /// The class for `task` (else for the config's `architectures`, else the base model) of the config's
    /// architecture.
    static func modelClass(_ config: ModelConfig, task: ModelTask?, path: String) throws -> PretrainedModel.Type {
        let architecture = try config.architectureEntry()
        if let task { return try architecture.modelClass(for: task, path: path) }
        if let named = config.architecture, let found = architecture.classes.first(where: { $0.className == named }) {
            return found
        }
        return try architecture.modelClass(for: .base, path: path)
    }

    /// Gives every parameter of `named` (a `walk()`'s, tied ones under each name) its checkpoint tensor, shape
    /// checked first, and draws the ones the checkpoint lacks, reporting them as transformers does.
    ///
    /// A parameter shared by several names (a tied decoder) is loaded from the first name the checkpoint has, and
    /// each of its names there counts as used.
    func assignWeights(
        _ named: [(name: String, parameter: Parameter)], from weights: CheckpointWeights, prefix: String,
        replacingMismatchedHeads: Bool, precision: WeightPrecision = .f32
    ) throws -> LoadReport {
        var report = LoadReport()
        var namesByParameter: [ObjectIdentifier: [String]] = [:]
        var order: [Parameter] = []
        for (name, parameter) in named {
            let id = ObjectIdentifier(parameter)
            if namesByParameter[id] == nil { order.append(parameter) }
            namesByParameter[id, default: []].append(name)
        }
        var generator = RandomGenerator(seed: 0)
        for parameter in order {
            let names = namesByParameter[ObjectIdentifier(parameter)] ?? []
            let found = names.compactMap { name in weights.index(for: name, prefix: prefix).map { (name, $0) } }
            found.forEach { weights.take($0.1) }
            if let (name, index) = found.first {
                let record = weights.archive.tensors[index]
                if record.shape == parameter.shape {
                    if let stored = try weights.storedWeight(at: index, precision: precision) {
                        parameter.assign(stored: stored)
                    } else {
                        parameter.assign(try weights.tensor(at: index))
                    }
                    continue
                }
                guard replacingMismatchedHeads, !name.hasPrefix(prefix + ".") else {
                    throw ModelError.shape(
                        path: weights.archive.path, name: record.name, expected: parameter.shape, found: record.shape)
                }
                report.mismatched.append(name)
            } else if let name = names.first {
                report.missing.append(name)
            }
            parameter.materialize(using: &generator)
        }
        report.unexpected = weights.unused
        return report
    }
}

extension ModelConfig {
    /// The table's entry of this config's `model_type` (the config was read through it).
    func architectureEntry() throws -> Architecture {
        guard let found = Architectures.named(modelType) else {
            throw ModelError.unsupported(path: "config", reason: "model_type '\(modelType)'")
        }
        return found
    }
}

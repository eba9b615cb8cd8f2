import Formats
import NN
import Tensors

/// What loading a checkpoint into a model found, reported the way transformers reports it.
public struct LoadReport: Sendable, Equatable {
    /// Parameters the checkpoint lacks, freshly initialised (a new task head, typically).
    public var missing: [String] = []
    /// Checkpoint tensors no parameter took (another head, a buffer of an older version).
    public var unexpected: [String] = []
    /// Head weights of another size than the new labels need, initialised afresh.
    public var mismatched: [String] = []

    /// transformers' two warnings, or nil when everything matched.
    public func warning(modelClass: String, path: String) -> String? {
        var lines: [String] = []
        if !unexpected.isEmpty {
            lines.append(
                "Some weights of the model checkpoint at \(path) were not used when initializing \(modelClass): "
                    + unexpected.joined(separator: ", "))
        }
        if !missing.isEmpty {
            lines.append(
                "Some weights of \(modelClass) were not initialized from the model checkpoint at \(path) and are newly "
                    + "initialized: \(missing.joined(separator: ", ")); train the model on a downstream task before "
                    + "using it for predictions.")
        }
        if !mismatched.isEmpty {
            lines.append(
                "Some weights of \(modelClass) were not initialized from the model checkpoint at \(path) and are newly "
                    + "initialized because the shapes did not match: \(mismatched.joined(separator: ", "))")
        }
        return lines.isEmpty ? nil : lines.joined(separator: "\n")
    }
}

/// The tensors of a checkpoint, by the names a model asks for.
///
/// Names are matched as transformers matches them: `LayerNorm.gamma`/`beta` read as `weight`/`bias` (early BERT
/// ports), and the base model's prefix (`bert.`, `roberta.`, `transformer.`) added or dropped as the checkpoint
/// needs. Buffers older versions saved (`position_ids`, GPT-2's `attn.bias`/`attn.masked_bias`) are skipped.
final class CheckpointWeights {
    let archive: TensorArchive
    private var indexByName: [String: Int] = [:]
    private var taken = Set<Int>()

    init(_ archive: TensorArchive) {
        self.archive = archive
        for (index, record) in archive.tensors.enumerated() {
            indexByName[CheckpointWeights.normalized(record.name)] = index
        }
    }

    static func normalized(_ name: String) -> String {
        if name.hasSuffix("LayerNorm.gamma") { return String(name.dropLast(5)) + "weight" }
        if name.hasSuffix("LayerNorm.beta") { return String(name.dropLast(4)) + "bias" }
        return name
    }

    static func isIgnoredBuffer(_ name: String) -> Bool {
        name.hasSuffix("position_ids") || name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias")
            || name.hasSuffix("token_type_ids")
    }

    /// The index of the tensor for model parameter `name`, trying the name, without the prefix, and with it.
    func index(for name: String, prefix: String) -> Int? {
        if let index = indexByName[name] { return index }
        if name.hasPrefix(prefix + ".") { return indexByName[String(name.dropFirst(prefix.count + 1))] }
        return indexByName[prefix + "." + name]
    }

    /// Marks a tensor as used (a tied weight the checkpoint also stores counts as used).
    func take(_ index: Int) { taken.insert(index) }

    /// Names no parameter took, in file order.
    var unused: [String] {
        archive.tensors.indices.filter { !taken.contains($0) }.map { archive.tensors[$0].name }
            .filter { !CheckpointWeights.isIgnoredBuffer($0) }
    }

    /// Tensor `index` as float32: the mapped bytes themselves when they are f32 and aligned, else converted.
    func tensor(at index: Int) throws -> Tensor {
        let record = archive.tensors[index]
        let bytes = try archive.bytes(at: index)
        return try Tensor(bytes, record: record, path: archive.path)
    }
}

extension Tensor {
    /// A checkpoint tensor as float32 compute weights: borrowed (zero-copy) when stored f32 and 4-byte aligned,
    /// else converted (f16, bf16, f64) or copied.
    init(_ bytes: TensorBytes, record: TensorRecord, path: String) throws {
        let dtype: Tensor.DType
        switch record.dtype {
        case .f32: dtype = .float32
        case .f16: dtype = .float16
        case .bf16: dtype = .bfloat16
        case .f64: dtype = .float64
        default:
            throw ModelError.weights(path: path, reason: "\(record.name) is \(record.dtype.rawValue), not a float type")
        }
        guard bytes.count == record.elementCount * dtype.size else {
            throw ModelError.weights(path: path, reason: "\(record.name) has \(bytes.count) bytes for \(record.shape)")
        }
        // Unaligned bytes (a safetensors header of odd length) are copied into an aligned buffer first.
        let aligned = bytes.address.map { Int(bitPattern: $0) % 4 == 0 } ?? true
        let source = aligned ? bytes : bytes.withUnsafeBytes { TensorBytes(copying: $0) }
        let owner = BytesOwner(source)
        let stored: Tensor = source.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return Tensor.zeros(record.shape, dtype: dtype) }
            return Tensor(borrowing: base, byteCount: raw.count, shape: record.shape, dtype: dtype, owner: owner)
        }
        self = dtype == .float32 ? stored : stored.converted(to: .float32)
    }
}

/// Keeps a checkpoint's bytes (and so its mapping) alive while a tensor borrows them.
private final class BytesOwner {
    let bytes: TensorBytes
    init(_ bytes: TensorBytes) { self.bytes = bytes }
}

/// Hands out a model's parameters while it is built: the checkpoint's tensor of that name when there is one (shape
/// checked first), else a fresh one initialised as transformers' `_init_weights` does (normal(0, initializer_range)
/// weights, zero biases, unit LayerNorm scales), recorded as missing.
final class ParameterBuilder {
    let config: ModelConfig
    let weights: CheckpointWeights?
    /// The base model's prefix in checkpoints (`bert`, `roberta`, `transformer`).
    let prefix: String
    private var generator: RandomGenerator
    private(set) var report = LoadReport()
    /// Every name handed out, to check that the modules' reflected names equal the checkpoint names.
    private(set) var names: [String] = []
    /// Names of the parameters initialised here rather than loaded.
    private(set) var initialized = Set<String>()
    /// Whether a head weight of another shape is replaced by a fresh one (new labels) rather than refused.
    let replacesMismatchedHeads: Bool

    init(
        config: ModelConfig, weights: CheckpointWeights?, prefix: String, seed: UInt64 = 0,
        replacesMismatchedHeads: Bool = false
    ) {
        self.config = config
        self.weights = weights
        self.prefix = prefix
        self.replacesMismatchedHeads = replacesMismatchedHeads
        generator = RandomGenerator(seed: seed)
    }

    enum Fill { case normal, zeros, ones }

    func parameter(_ name: String, _ shape: [Int], _ fill: Fill) throws -> Parameter {
        names.append(name)
        if let weights, let index = weights.index(for: name, prefix: prefix) {
            let record = weights.archive.tensors[index]
            if record.shape == shape {
                weights.take(index)
                return Parameter(try weights.tensor(at: index))
            }
            guard replacesMismatchedHeads, !name.hasPrefix(prefix + ".") else {
                throw ModelError.shape(
                    path: weights.archive.path, name: record.name, expected: shape, found: record.shape)
            }
            weights.take(index)
            report.mismatched.append(name)
        } else if weights != nil {
            report.missing.append(name)
        }
        initialized.insert(name)
        switch fill {
        case .normal:
            return Parameter(Tensor.randomNormal(shape, std: config.initializerRange, using: &generator))
        case .zeros: return Parameter(Tensor.zeros(shape))
        case .ones: return Parameter(Tensor.ones(shape))
        }
    }

    /// A parameter shared with `tied` (an output embedding); a checkpoint copy of it counts as used, not loaded.
    func tied(_ name: String, to tied: Parameter) -> Parameter {
        names.append(name)
        if let weights, let index = weights.index(for: name, prefix: prefix) { weights.take(index) }
        return tied
    }

    /// Finishes the report: checkpoint tensors nothing took.
    func finish() -> LoadReport {
        var result = report
        result.unexpected = weights?.unused ?? []
        return result
    }
}

/// A dotted path inside a model being built, with the layers transformers builds and how it initialises them.
struct Scope {
    let builder: ParameterBuilder
    let path: String

    subscript(_ child: String) -> Scope { Scope(builder: builder, path: path.isEmpty ? child : path + "." + child) }

    func parameter(_ name: String, _ shape: [Int], _ fill: ParameterBuilder.Fill) throws -> Parameter {
        try builder.parameter(self[name].path, shape, fill)
    }

    /// `nn.Linear(inputs, outputs)`: weight [outputs, inputs].
    func linear(_ inputs: Int, _ outputs: Int, bias: Bool = true) throws -> Linear {
        Linear(
            weight: try parameter("weight", [outputs, inputs], .normal),
            bias: bias ? try parameter("bias", [outputs], .zeros) : nil)
    }

    /// GPT-2's `Conv1D(outputs, inputs)`: weight [inputs, outputs].
    func conv1D(_ inputs: Int, _ outputs: Int) throws -> Conv1D {
        Conv1D(
            weight: try parameter("weight", [inputs, outputs], .normal), bias: try parameter("bias", [outputs], .zeros))
    }

    func embedding(_ count: Int, _ dimension: Int, paddingIndex: Int? = nil) throws -> Embedding {
        let weight = try parameter("weight", [count, dimension], .normal)
        // A fresh table's padding row starts at zero (nn.Embedding); a loaded one is as stored.
        if let paddingIndex, builder.initialized.contains(self["weight"].path) {
            weight.value.slicedUntracked(0, paddingIndex..<paddingIndex + 1).fillZero()
        }
        return Embedding(weight: weight, paddingIndex: paddingIndex)
    }

    func layerNorm(_ dimension: Int) throws -> LayerNorm {
        LayerNorm(
            weight: try parameter("weight", [dimension], .ones), bias: try parameter("bias", [dimension], .zeros),
            epsilon: builder.config.layerNormEpsilon)
    }
}

/// GPT-2's `Conv1D`: y = x W + b with W stored [in, out], the transpose of `Linear`'s layout.
public final class Conv1D: Module, @unchecked Sendable {
    public let weight: Parameter
    public let bias: Parameter

    public init(weight: Parameter, bias: Parameter) {
        self.weight = weight
        self.bias = bias
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.conv1D(weight: weight.value, bias: bias.value) }
}

import Formats
import NN
import Support
import Tensors

/// What loading a checkpoint into a model found, reported the way transformers reports it.
///
/// ```swift
/// let model = try PretrainedModel.load(folder, task: .sequenceClassification)
/// if let warning = model.loadReport.warning(modelClass: model.className, path: folder) { print(warning) }
/// ```
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
/// Names are read through the architecture's `sanitize` (LayerNorm `gamma`/`beta` as `weight`/`bias`, old buffers
/// dropped), and the base model's prefix (`bert.`, `roberta.`, `transformer.`) is added or dropped as the
/// checkpoint needs, as transformers does.
final class CheckpointWeights {
    let archive: TensorArchive
    private var indexByName: [String: Int] = [:]
    /// Tensors that are not weights of the model (buffers), by index.
    private var dropped = Set<Int>()
    private var taken = Set<Int>()

    init(_ archive: TensorArchive, sanitize: (String) -> String?) {
        self.archive = archive
        for (index, record) in archive.tensors.enumerated() {
            if let name = sanitize(record.name) { indexByName[name] = index } else { dropped.insert(index) }
        }
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
        archive.tensors.indices.filter { !taken.contains($0) && !dropped.contains($0) }.map { archive.tensors[$0].name }
    }

    /// Tensor `index` as stored, when it is a matrix already in `precision`; nil otherwise.
    ///
    /// An `.mhub` int8-row tensor for int8, a bf16 or f16 tensor for the same half type: the mapped bytes
    /// themselves where aligned. Other weights go through float32.
    func storedWeight(at index: Int, precision: WeightPrecision) throws -> StoredWeight? {
        let record = archive.tensors[index]
        guard record.shape.count == 2 else { return nil }
        switch precision {
        case .int8:
            guard let file = archive as? MHubFile, let (values, scales) = try file.int8Rows(at: index) else {
                return nil
            }
            guard values.count == record.elementCount, scales.count == record.shape[0] * 4 else {
                throw ModelError.weights(path: archive.path, reason: "\(record.name): int8 rows of the wrong size")
            }
            let rows = Tensor(borrowingBytes: values, shape: record.shape, dtype: .int8)
            let rowScales = scales.withUnsafeBytes { raw in
                (0..<record.shape[0]).map {
                    Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))
                }
            }
            return .int8Rows(rows, scales: rowScales)
        case .bf16, .f16:
            guard record.dtype == (precision == .bf16 ? .bf16 : .f16) else { return nil }
            let bytes = try archive.bytes(at: index)
            guard bytes.count == record.elementCount * 2 else {
                throw ModelError.weights(
                    path: archive.path, reason: "\(record.name) has \(bytes.count) bytes for \(record.shape)")
            }
            let aligned = bytes.address.map { Int(bitPattern: $0) % 2 == 0 } ?? true
            let source = aligned ? bytes : bytes.withUnsafeBytes { TensorBytes(copying: $0) }
            return .half(
                Tensor(borrowingBytes: source, shape: record.shape, dtype: precision == .bf16 ? .bfloat16 : .float16))
        case .f32:
            return nil
        }
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
    package init(_ bytes: TensorBytes, record: TensorRecord, path: String) throws {
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
        let stored = Tensor(borrowingBytes: source, shape: record.shape, dtype: dtype)
        self = dtype == .float32 ? stored : stored.converted(to: .float32)
    }

    /// A tensor over checkpoint bytes (aligned for `dtype`), which it keeps alive.
    init(borrowingBytes bytes: TensorBytes, shape: [Int], dtype: DType) {
        let owner = BytesOwner(bytes)
        self = bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return Tensor.zeros(shape, dtype: dtype) }
            return Tensor(borrowing: base, byteCount: raw.count, shape: shape, dtype: dtype, owner: owner)
        }
    }
}

/// Keeps a checkpoint's bytes (and so its mapping) alive while a tensor borrows them.
private final class BytesOwner {
    let bytes: TensorBytes
    init(_ bytes: TensorBytes) { self.bytes = bytes }
}

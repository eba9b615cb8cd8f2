import Formats
import Support
import Tensors

/// What a sentence-transformers folder puts after its transformer (`modules.json`): pooling, dense layers,
/// normalization, in order; and the prompts of `config_sentence_transformers.json`.
///
/// Both layouts users have are read: the classic one of most Hub repositories (`sentence_transformers.models.Pooling`,
/// `pooling_mode_mean_tokens: true`, …) and sentence-transformers 6's (`…modules.pooling.Pooling`,
/// `"pooling_mode": ["mean"]`).
///
/// ```swift
/// let modules = try SentenceTransformerModules.read(folder: "all-MiniLM-L6-v2")   // nil without modules.json
/// print(modules?.steps ?? [])                                                      // [pooling(mean), normalize]
/// ```
public struct SentenceTransformerModules: Sendable {
    /// A pooling mode, as sentence-transformers names it.
    public enum PoolingMode: String, Sendable, CaseIterable {
        case cls, max, mean
        case meanSquareRootLength = "mean_sqrt_len_tokens"
        case weightedMean = "weightedmean"
        case lastToken = "lasttoken"

        /// The classic config's flag for the mode (`pooling_mode_cls_token`, …).
        var classicFlag: String {
            switch self {
            case .cls: "pooling_mode_cls_token"
            case .max: "pooling_mode_max_tokens"
            case .mean: "pooling_mode_mean_tokens"
            case .meanSquareRootLength: "pooling_mode_mean_sqrt_len_tokens"
            case .weightedMean: "pooling_mode_weightedmean_tokens"
            case .lastToken: "pooling_mode_lasttoken"
            }
        }
    }

    /// A dense layer after pooling: y = activation(x Wᵀ + b).
    public struct Dense: Sendable {
        public let weight: Tensor
        public let bias: Tensor?
        /// "tanh" or "identity" (`torch.nn.modules.activation.Tanh`, `torch.nn.modules.linear.Identity`), "relu".
        public let activation: String
    }

    /// One module after the transformer.
    public enum Step: Sendable {
        /// Token embeddings pooled by each mode, concatenated in the given order; `includePrompt` false leaves a
        /// prompt's tokens out.
        case pooling([PoolingMode], includePrompt: Bool)
        case dense(Dense)
        case normalize
    }

    public var steps: [Step]
    /// Named prompts (e5's `query: `, `passage: `).
    public var prompts: [String: String]
    /// The prompt used when none is named.
    public var defaultPromptName: String?

    /// The classic recipe, for models without modules.json: mean pooling, then L2 normalization.
    static let classic = SentenceTransformerModules(
        steps: [.pooling([.mean], includePrompt: true), .normalize], prompts: [:], defaultPromptName: nil)

    /// Whether the modules are the classic recipe: mean pooling (prompt included), then Normalize.
    public var isMeanThenNormalize: Bool {
        guard steps.count == 2, case .pooling(let modes, let includePrompt) = steps[0], case .normalize = steps[1]
        else { return false }
        return modes == [.mean] && includePrompt
    }

    /// Whether a `Normalize` module ends the model.
    public var normalizes: Bool { steps.contains { if case .normalize = $0 { true } else { false } } }

    /// The modules these files describe (path in the model folder → bytes), or nil without modules.json.
    ///
    /// What `read` makes of a folder, for files held in memory (the fuzz harness). A Dense module's weights are
    /// never found here, so it is refused by name.
    ///
    /// ```swift
    /// let modules = try SentenceTransformerModules.parse(files: ["modules.json": bytes], source: "memory")
    /// ```
    public static func parse(files: [String: [UInt8]], source: String) throws -> SentenceTransformerModules? {
        try read({ files[$0] }, open: { _ in nil }, source: source)
    }

    /// The modules of a folder or `.mhub`, or nil when it has no modules.json.
    ///
    /// `file` gets each file by its path in the folder, `open` a weights file. Unknown module types and malformed
    /// configs are refused by name.
    static func read(
        _ file: (String) throws -> [UInt8]?, open: (String) throws -> TensorArchive?, source: String
    )
        throws -> SentenceTransformerModules?
    {
        guard let bytes = try file("modules.json") else { return nil }
        func json(_ bytes: [UInt8], _ name: String) throws -> JSONValue {
            do { return try JSONParser.parse(bytes, maxDepth: 16) } catch {
                throw ModelError.config(path: "\(source)/\(name)", reason: "not valid JSON: \(error)")
            }
        }
        guard let list = try json(bytes, "modules.json").array else {
            throw ModelError.config(path: "\(source)/modules.json", reason: "not a list of modules")
        }
        var steps: [Step] = []
        for entry in list {
            guard let type = entry.object?["type"]?.string else {
                throw ModelError.config(path: "\(source)/modules.json", reason: "a module has no type")
            }
            let folder = entry.object?["path"]?.string ?? ""
            guard !folder.contains(".."), !folder.hasPrefix("/") else {
                throw ModelError.config(
                    path: "\(source)/modules.json", reason: "module path '\(folder)' leaves the model")
            }
            let prefix = folder.isEmpty ? "" : folder + "/"
            func config() throws -> JSONObject {
                guard let bytes = try file(prefix + "config.json"),
                    let object = try json(bytes, prefix + "config.json").object
                else {
                    throw ModelError.config(path: "\(source)/\(prefix)config.json", reason: "missing or not an object")
                }
                return object
            }
            switch type.split(separator: ".").last.map(String.init) ?? type {
            case "Transformer":
                continue
            case "Pooling":
                let object = try config()
                var modes: [PoolingMode] = []
                if let given = object["pooling_mode"] {
                    let names = given.array?.compactMap(\.string) ?? given.string.map { [$0] } ?? []
                    for name in names {
                        guard let mode = PoolingMode(rawValue: name) else {
                            throw ModelError.config(
                                path: "\(source)/\(prefix)config.json", reason: "pooling mode '\(name)' is unknown")
                        }
                        modes.append(mode)
                    }
                } else {
                    modes = PoolingMode.allCases.filter { object[$0.classicFlag] == .bool(true) }
                }
                guard !modes.isEmpty else {
                    throw ModelError.config(path: "\(source)/\(prefix)config.json", reason: "no pooling mode is set")
                }
                steps.append(.pooling(modes, includePrompt: object["include_prompt"] != .bool(false)))
            case "Dense":
                let object = try config()
                let activation: String
                switch object["activation_function"]?.string ?? "torch.nn.modules.activation.Tanh" {
                case "torch.nn.modules.activation.Tanh": activation = "tanh"
                case "torch.nn.modules.linear.Identity": activation = "identity"
                case "torch.nn.modules.activation.ReLU": activation = "relu"
                case let other:
                    throw ModelError.unsupported(
                        path: "\(source)/\(prefix)config.json", reason: "Dense activation \(other)")
                }
                guard
                    let archive = try open(prefix + "model.safetensors") ?? open(prefix + "pytorch_model.bin")
                else {
                    throw ModelError.config(path: "\(source)/\(folder)", reason: "the Dense module has no weights")
                }
                func tensor(_ name: String) throws -> Tensor? {
                    guard let index = archive.tensors.firstIndex(where: { $0.name == name }) else { return nil }
                    return try Tensor(try archive.bytes(at: index), record: archive.tensors[index], path: archive.path)
                }
                guard let weight = try tensor("linear.weight"), weight.rank == 2 else {
                    throw ModelError.config(path: archive.path, reason: "no 2-D linear.weight")
                }
                let bias = try tensor("linear.bias")
                if let bias, bias.shape != [weight.size(0)] {
                    throw ModelError.config(path: archive.path, reason: "linear.bias \(bias.shape) for \(weight.shape)")
                }
                steps.append(.dense(Dense(weight: weight.contiguous(), bias: bias, activation: activation)))
            case "Normalize":
                steps.append(.normalize)
            default:
                throw ModelError.unsupported(path: "\(source)/modules.json", reason: "the module \(type)")
            }
        }
        var prompts: [String: String] = [:]
        var defaultPromptName: String?
        if let bytes = try file("config_sentence_transformers.json"),
            let object = try json(bytes, "config_sentence_transformers.json").object
        {
            for (name, value) in object["prompts"]?.object?.entries ?? [] {
                if let text = value.string { prompts[name] = text }
            }
            defaultPromptName = object["default_prompt_name"]?.string
        }
        return SentenceTransformerModules(steps: steps, prompts: prompts, defaultPromptName: defaultPromptName)
    }

    /// The embeddings of `hidden` [B, T, C] under `mask` [B, T] (1 for tokens).
    ///
    /// `promptLength` tokens at the start of each row are left out of pooling that excludes the prompt. `normalized` nil follows the modules; true
    /// or false decides the final L2 normalization instead (TEI's `normalize`).
    func embed(hidden: Tensor, mask: Tensor, promptLength: Int, normalized: Bool?) throws -> Tensor {
        var current = hidden
        let (B, T, C) = (hidden.size(0), hidden.size(1), hidden.size(2))
        let values = hidden.contiguous().floats
        let maskValues = mask.converted(to: .float32).floats
        for step in steps {
            switch step {
            case .pooling(let modes, let includePrompt):
                var rowsMask = maskValues
                if !includePrompt, promptLength > 0 {
                    for row in 0..<B {
                        // sentence-transformers: without left padding, the first `promptLength` positions; with it,
                        // the padding and the prompt after it.
                        let padding = (0..<T).first { rowsMask[row * T + $0] != 0 } ?? 0
                        for column in 0..<Swift.min(T, padding + promptLength) { rowsMask[row * T + column] = 0 }
                    }
                }
                let width = modes.count * C
                var out = [Float](repeating: 0, count: B * width)
                for row in 0..<B {
                    let rowMask = Array(rowsMask[(row * T)..<((row + 1) * T)])
                    let original = Array(maskValues[(row * T)..<((row + 1) * T)])
                    func h(_ t: Int, _ c: Int) -> Float { values[(row * T + t) * C + c] }
                    for (index, mode) in modes.enumerated() {
                        let base = row * width + index * C
                        switch mode {
                        case .cls:
                            let first = rowMask.firstIndex { $0 != 0 } ?? 0
                            for c in 0..<C { out[base + c] = h(first, c) }
                        case .max:
                            for c in 0..<C {
                                var best = -Float.infinity
                                for t in 0..<T where rowMask[t] != 0 { best = Swift.max(best, h(t, c)) }
                                out[base + c] = best
                            }
                        case .mean, .meanSquareRootLength:
                            let count = Swift.max(rowMask.reduce(0, +), 1e-9)
                            let denominator = mode == .mean ? count : count.squareRoot()
                            for c in 0..<C {
                                var sum: Float = 0
                                for t in 0..<T { sum += h(t, c) * rowMask[t] }
                                out[base + c] = sum / denominator
                            }
                        case .weightedMean:
                            let padding = Float(original.firstIndex { $0 != 0 } ?? 0)
                            let weights = (0..<T).map { rowMask[$0] * (Float($0 + 1) - padding) }
                            let total = Swift.max(weights.reduce(0, +), 1e-9)
                            for c in 0..<C {
                                var sum: Float = 0
                                for t in 0..<T { sum += h(t, c) * weights[t] }
                                out[base + c] = sum / total
                            }
                        case .lastToken:
                            let last = rowMask.lastIndex { $0 != 0 } ?? (T - 1)
                            for c in 0..<C { out[base + c] = h(last, c) * rowMask[last] }
                        }
                    }
                }
                current = Tensor(out, shape: [B, width])
            case .dense(let dense):
                guard current.rank == 2, current.size(1) == dense.weight.size(1) else {
                    throw ModelError.input(
                        "a Dense module takes \(dense.weight.size(1)) features, the embeddings have \(current.shape)")
                }
                var y = current.linear(weight: dense.weight, bias: dense.bias)
                switch dense.activation {
                case "tanh": y = y.tanh()
                case "relu": y = y.relu()
                default: break
                }
                current = y
            case .normalize:
                if normalized != false { current = Self.l2Normalized(current) }
            }
        }
        if normalized == true, !normalizes { current = Self.l2Normalized(current) }
        return current
    }

    /// Rows divided by their L2 norms (floored at 1e-12, as torch's `F.normalize`).
    static func l2Normalized(_ x: Tensor) -> Tensor {
        let norms = (x * x).sum(axes: [1], keepingDimensions: true).sqrt().doubles.map { Swift.max($0, 1e-12) }
        return x / Tensor(norms.map(Float.init), shape: [norms.count, 1])
    }
}

extension PretrainedModel {
    /// The sentence-transformers modules of the folder or `.mhub` the model came from (read on first use), or nil
    /// when it has no modules.json.
    public var sentenceModules: SentenceTransformerModules? {
        get throws {
            if case .read(let modules)? = sentenceModulesState.withLock({ $0 }) { return modules }
            let modules = try readSentenceModules()
            sentenceModulesState.withLock { $0 = .read(modules) }
            return modules
        }
    }

    private func readSentenceModules() throws -> SentenceTransformerModules? {
        guard let source else { return nil }
        return try SentenceTransformerModules.read(
            { name in try sourceFile(name) },
            open: { name in
                let path = source + "/" + name
                guard !source.hasSuffix(".mhub"), fileExists(path) else { return nil }
                return try Checkpoint.open(path)
            }, source: source)
    }
}

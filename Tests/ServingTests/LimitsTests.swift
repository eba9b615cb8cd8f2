import Foundation
import Models
import Serving
import Support
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Polls `condition` every 20 ms until it holds or `seconds` pass (generous: CI runs the suites in parallel).
func eventually(_ seconds: Double = 30, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return false
}

/// Bad input, limits, authentication, load, disconnects and shutdown.
@Suite(.serialized) struct LimitsTests {
    /// A GPT-2 drawn at random, wide and long enough (1024 positions, no EOS) that a long completion takes a
    /// second or more: time to disconnect from it, or to shut down under it.
    static func slowGPT2() throws -> PretrainedModel {
        let json = try JSONParser.parse(
            Array(
                """
                {"model_type": "gpt2", "n_embd": 256, "n_head": 4, "n_layer": 4, "n_positions": 1024,
                 "vocab_size": 300, "bos_token_id": null, "eos_token_id": null}
                """.utf8))
        let config = try ModelConfig(json: json.object!, path: "slow-gpt2")
        let model = try PretrainedModel.random(config: config, task: .causalLM, seed: 5)
        model.tokenizer = try ServedFixtures.gpt2().tokenizer
        return model
    }

    /// `POST /embed` announcing a 40-byte body of which only `start` is sent.
    static func halfSentRequest(port: Int, _ start: String) throws -> RawConnection {
        let connection = try RawConnection(port: port)
        connection.send("POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n" + start)
        return connection
    }

    @Test func badInputGetsOneClearErrorAndChangesNoOtherAnswer() async throws {
        let running = try await RunningServer(try ServedFixtures.all()) { $0.maxBodyBytes = 4096 }
        defer { Task { try? await running.stop() } }
        let client = TestClient(running.base)
        let good = try await client.post("/embed", "{\"inputs\":\"a tool\"}")
        #expect(good.status == 200)
        let long = quoted(Array(repeating: "licence", count: 100).joined(separator: " "))
        let cases: [(path: String, body: String, status: Int, message: String)] = [
            ("/embed", "{not json", 400, "not valid JSON"),
            ("/embed", "[1, 2]", 422, "JSON object"),
            ("/embed", "{}", 422, "`inputs` is required"),
            ("/embed", "{\"inputs\": 5}", 422, "`inputs` must be"),
            ("/embed", "{\"inputs\": []}", 422, "`inputs` must not be empty"),
            ("/embed", "{\"inputs\": \"\"}", 422, "`inputs` must not be empty"),
            ("/embed", "{\"inputs\": [\"a\", 3]}", 422, "`inputs[1]`"),
            ("/embed", "{\"inputs\": \"a\", \"normalize\": \"yes\"}", 422, "`normalize` must be true or false"),
            ("/embed", "{\"inputs\": \(long)}", 413, "`inputs` is over 64 tokens long"),
            (
                "/embed", "{\"inputs\": [\(Array(repeating: "7", count: 65).joined(separator: ","))]}", 413,
                "65 tokens long"
            ),
            (
                "/embed", "{\"inputs\": [\"a\", \(long)]}", 413,
                "`inputs[1]` is over 64 tokens long; tiny-bert takes at most 64"
            ),
            ("/embed", "{\"inputs\": \"a\", \"a\": 1, \"a\": 2}", 400, "duplicate"),
            ("/embed", "{\"inputs\": " + String(repeating: "[", count: 40) + "}", 400, "not valid JSON"),
            ("/embed", "{\"inputs\": \"" + String(repeating: "x", count: 5000) + "\"}", 413, "4096"),
            ("/v1/embeddings", "{\"model\": \"nope\", \"input\": \"a\"}", 404, "`nope` does not exist"),
            ("/v1/embeddings", "{\"model\": \"tiny-gpt2\", \"input\": \"a\"}", 400, "does not do embeddings"),
            ("/v1/embeddings", "{\"model\": \"tiny-bert\", \"input\": [[1, 99999]]}", 400, "`input[0][1]`"),
            (
                "/v1/embeddings", "{\"model\": \"tiny-bert\", \"input\": \"a\", \"encoding_format\": \"hex\"}", 400,
                "`encoding_format`"
            ),
            ("/v1/embeddings", "{\"model\": \"tiny-bert\", \"input\": \"a\", \"dimensions\": 0}", 400, "`dimensions`"),
            ("/v1/completions", "{\"prompt\": \"a b c\", \"max_tokens\": 64}", 400, "maximum context length is 64"),
            (
                "/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 100}", 400,
                "`max_tokens` must be between 0 and 64"
            ),
            ("/v1/completions", "{\"prompt\": \"a\", \"temperature\": 5}", 400, "`temperature`"),
            ("/v1/completions", "{\"prompt\": \"a\", \"n\": 0}", 400, "`n`"),
            ("/v1/completions", "{\"prompt\": \"a\", \"stop\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}", 400, "`stop`"),
            ("/v1/completions", "{\"prompt\": \"a\", \"logprobs\": 2}", 400, "not supported"),
            ("/v1/completions", "{\"prompt\": \"a\", \"stream\": 1}", 400, "`stream` must be true or false"),
            ("/rerank", "{\"query\": \"q\"}", 422, "`texts` is required"),
            ("/predict", "{\"inputs\": [[1, 2]]}", 422, "`inputs[0]`"),
            ("/tokenize", "{\"inputs\": null}", 422, "`inputs` is required"),
            ("/nowhere", "{}", 404, "no route"),
        ]
        for item in cases {
            let reply = try await client.post(item.path, item.body)
            #expect(reply.status == item.status, "\(item.path) \(item.body.prefix(60)): \(reply.text)")
            #expect(
                reply.errorMessage?.contains(item.message) == true,
                "\(item.path) \(item.body.prefix(60)): \(reply.text)")
            // `check` (what FuzzServe drives) refuses the same way without HTTP; body size is HTTP's to check.
            if !item.body.hasSuffix("xxxxxxxx\"}") {
                #expect(running.server.check(item.path, body: Array(item.body.utf8))?.status.rawValue == item.status)
            }
            let json = try reply.json()
            if item.path.hasPrefix("/v1") {
                #expect(json["error"]?["type"]?.string != nil, "OpenAI's shape: \(reply.text)")
            } else {
                #expect(json["error_type"]?.string != nil, "TEI's shape: \(reply.text)")
            }
        }
        let truncated = try await client.post("/embed", "{\"inputs\": \(long), \"truncate\": true}")
        #expect(truncated.status == 200)
        let again = try await client.post("/embed", "{\"inputs\":\"a tool\"}")
        #expect(again.body == good.body)
    }

    /// FuzzServe's seeds (a route byte, then a body) are requests every route accepts.
    @Test func fuzzSeedsAreAccepted() async throws {
        let server = try ModelServer(try ServedFixtures.all(), options: ServerOptions())
        let routes = ["/v1/embeddings", "/v1/completions", "/embed", "/predict", "/rerank", "/tokenize", "/"]
        let folder = Fixtures.path("serve")
        let seeds = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(seeds.count == routes.count)
        for seed in seeds {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + seed)))
            let route = routes[Int(bytes[0]) % routes.count]
            #expect(server.check(route, body: Array(bytes.dropFirst())) == nil, "\(seed) as \(route)")
        }
    }

    @Test func everyRouteButHealthNeedsTheKey() async throws {
        let running = try await RunningServer(try ServedFixtures.all()) { $0.apiKey = "sesame" }
        defer { Task { try? await running.stop() } }
        let client = TestClient(running.base)
        #expect(try await client.get("/health").status == 200)
        for headers in [
            [:], ["Authorization": "Bearer sesam"], ["Authorization": "Bearer sesame2"], ["Authorization": "sesame"],
        ] {
            let reply = try await client.post("/v1/embeddings", "{\"input\": \"a\"}", headers: headers)
            #expect(reply.status == 401)
            #expect(try reply.json()["error"]?["code"]?.string == "invalid_api_key")
            #expect(try await client.get("/metrics", headers: headers).status == 401)
        }
        let ok = try await client.post(
            "/v1/embeddings", "{\"input\": \"a\"}", headers: ["Authorization": "Bearer sesame"])
        #expect(ok.status == 200)
    }

    @Test func aFullServerAnswers429UntilASlotFrees() async throws {
        let running = try await RunningServer(try ServedFixtures.all()) { $0.maxConcurrentRequests = 1 }
        defer { Task { try? await running.stop() } }
        let client = TestClient(running.base)
        // A client that sends half its body holds the only slot.
        let stalled = try Self.halfSentRequest(port: running.port, "{\"inputs\":")
        // /metrics is not counted: it sees the slot taken.
        #expect(try await eventually { try await client.metric("hub_requests_in_flight") == 1 })
        let refused = try await client.post("/embed", "{\"inputs\": \"a\"}")
        #expect(refused.status == 429)
        #expect(refused.headers["retry-after"] == "1")
        #expect(refused.errorMessage?.contains("limit of 1 concurrent") == true)
        stalled.send(" \"a tool\"}                           ")
        _ = stalled.read(until: "]]")
        #expect(try await eventually { try await client.post("/embed", "{\"inputs\": \"a\"}").status == 200 })
    }

    @Test func aStalledClientIsClosedWithoutHoldingTheWorker() async throws {
        let running = try await RunningServer(try ServedFixtures.all()) { $0.idleTimeoutSeconds = 1 }
        defer { Task { try? await running.stop() } }
        let client = TestClient(running.base)
        let stalled = try Self.halfSentRequest(port: running.port, "{\"inp")
        #expect(try await client.post("/embed", "{\"inputs\": \"a\"}").status == 200)
        #expect(stalled.closedByPeer(within: 5))
        #expect(try await client.post("/embed", "{\"inputs\": \"a\"}").status == 200)
    }

    @Test func aDisconnectedClientsWorkIsCancelledAndFreesItsSlot() async throws {
        let running = try await RunningServer([.init(name: "slow", model: try Self.slowGPT2())])
        defer { Task { try? await running.stop() } }
        let client = TestClient(running.base)
        let body = "{\"prompt\": \"a\", \"max_tokens\": 1000, \"temperature\": 0, \"stream\": true}"
        let connection = try RawConnection(port: running.port)
        connection.send(
            "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
        #expect(connection.read(until: "data: ").contains("200 OK"))
        #expect(try await client.metric("hub_running_sequences") == 1)
        connection.hangUp()
        let settled = try await eventually {
            let running = try await client.metric("hub_running_sequences")
            let inFlight = try await client.metric("hub_requests_in_flight")
            return running == 0 && inFlight == 0
        }
        #expect(settled)
        // Cancelled, not run to the end.
        let generated = try await client.metric("hub_tokens_total{kind=\"generated\"}") ?? 1000
        #expect(generated < 1000)

        // Not streamed: the client hangs up while its sequence decodes; the handler is cancelled and so is the work.
        let plain = "{\"prompt\": \"a\", \"max_tokens\": 1000, \"temperature\": 0}"
        let waiting = try RawConnection(port: running.port)
        waiting.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: \(plain.utf8.count)\r\n\r\n\(plain)")
        #expect(try await eventually { try await client.metric("hub_running_sequences") == 1 })
        waiting.hangUp()
        #expect(try await eventually { try await client.metric("hub_running_sequences") == 0 })
        let after = try await client.metric("hub_tokens_total{kind=\"generated\"}") ?? 2000
        #expect(after - generated < 1000, "\(after - generated) tokens generated for the abandoned request")
    }

    @Test func shutdownLetsRequestsInFlightFinish() async throws {
        let running = try await RunningServer([.init(name: "slow", model: try Self.slowGPT2())])
        let client = TestClient(running.base)
        // A stream in flight (its first chunk read) when shutdown begins: it runs to its end, then `run` returns.
        let body = "{\"prompt\": \"a\", \"max_tokens\": 150, \"temperature\": 0, \"stream\": true}"
        let stream = try RawConnection(port: running.port)
        stream.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let head = stream.read(until: "data: ")
        #expect(head.contains("200 OK"))
        let stopping = Task { try await running.stop() }
        let rest = stream.read(until: "data: [DONE]")
        #expect(rest.contains("\"finish_reason\":\"length\"") && rest.contains("data: [DONE]"))
        try await stopping.value
        await #expect(throws: (any Error).self) { _ = try await client.get("/health") }
    }

    @Test func concurrentClientsGetTheirOwnAnswersFromSharedBatches() async throws {
        let running = try await RunningServer(try ServedFixtures.all())
        defer { Task { try? await running.stop() } }
        let client = TestClient(running.base, connections: 64)
        let words = ["licence", "free", "tool", "reads", "files", "the", "a", "model", "runs", "cpu"]
        let texts = (0..<40).map { index in
            (0..<(1 + index % 13)).map { words[($0 * 7 + index) % words.count] }.joined(separator: " ")
        }
        var alone: [String: [Float]] = [:]
        for text in texts {
            alone[text] = try await client.post("/embed", "{\"inputs\": \(quoted(text))}").json()[0]?.floats
        }
        let before = try await client.metric("hub_batch_size_count") ?? 0
        let results = try await withThrowingTaskGroup(of: [(Int, String, [Float])].self) { group in
            for worker in 0..<64 {
                group.addTask {
                    var answers: [(Int, String, [Float])] = []
                    for request in 0..<20 {
                        let text = texts[(worker * 20 + request) % texts.count]
                        let reply = try await client.post("/embed", "{\"inputs\": \(quoted(text))}")
                        answers.append((reply.status, text, try reply.json()[0]?.floats ?? []))
                    }
                    return answers
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(results.count == 1280)
        #expect(results.allSatisfy { $0.0 == 200 })
        let worst = results.map { maxDifference($0.2, alone[$0.1] ?? []) }.max() ?? .infinity
        #expect(worst <= 1e-5, "largest difference from the one-at-a-time answer: \(worst)")
        let batches = (try await client.metric("hub_batch_size_count") ?? 0) - before
        #expect(batches < 1280, "1280 inputs took \(batches) forward passes")
    }
}

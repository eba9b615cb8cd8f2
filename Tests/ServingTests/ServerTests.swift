import Foundation
import Models
import Serving
import Support
import Tensors
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The routes over real HTTP on loopback, their answers against the library's for the same inputs.
@Suite(.serialized) struct ServerTests {
    static let texts = ["the licence is free", "a tool", "ModelHub reads files and runs models on the cpu"]

    @Test func embeddingsEqualTheLibrarys() async throws {
        let running = try await RunningServer(try ServedFixtures.all())
        defer { Task { try? await running.stop() } }
        let client = TestClient(running.base)
        let encoder = try ServedFixtures.encoder() as! any SentenceEncoder
        let expected = try encoder.sentenceEmbeddings(Self.texts)
        let width = expected.size(1)
        let rows = (0..<Self.texts.count).map { Array(expected.floats[$0 * width..<($0 + 1) * width]) }

        let body = "{\"model\":\"tiny-bert\",\"input\":[\(Self.texts.map(quoted).joined(separator: ","))]}"
        let openAI = try await client.post("/v1/embeddings", body)
        #expect(openAI.status == 200, "\(openAI.text)")
        let json = try openAI.json()
        for (index, row) in rows.enumerated() {
            #expect(json["data"]?[index]?["index"]?.integer == index)
            #expect(maxDifference(json["data"]?[index]?["embedding"]?.floats ?? [], row) <= 1e-5)
        }
        let tokens = try Self.texts.map { try encoder.encode([$0]).first!.count }.reduce(0, +)
        #expect(json["usage"]?["prompt_tokens"]?.integer == tokens)
        #expect(json["model"]?.string == "tiny-bert")

        // base64: little-endian float32, as the openai client decodes it; the alias addresses the same model.
        let encoded = try await client.post(
            "/v1/embeddings",
            "{\"model\":\"fixtures/tiny-bert\",\"input\":\(quoted(Self.texts[0])),\"encoding_format\":\"base64\"}")
        let data = Data(base64Encoded: try encoded.json()["data"]?[0]?["embedding"]?.string ?? "") ?? Data()
        let decoded = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        #expect(maxDifference(decoded, rows[0]) <= 1e-5)

        // dimensions: the first d values, normalised again.
        let short = try await client.post(
            "/v1/embeddings", "{\"model\":\"tiny-bert\",\"input\":\(quoted(Self.texts[1])),\"dimensions\":8}")
        let prefix = Array(rows[1].prefix(8))
        let norm = Float(prefix.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot())
        #expect(
            maxDifference(try short.json()["data"]?[0]?["embedding"]?.floats ?? [], prefix.map { $0 / norm }) <= 1e-5)

        // TEI: /embed and the root route, normalised by default; raw means without normalisation.
        for path in ["/embed", "/"] {
            let tei = try await client.post(path, "{\"inputs\":[\(Self.texts.map(quoted).joined(separator: ","))]}")
            #expect(tei.status == 200, "\(tei.text)")
            for (index, row) in rows.enumerated() {
                #expect(maxDifference(try tei.json()[index]?.floats ?? [], row) <= 1e-5, "\(path) row \(index)")
            }
        }
        let raw = try await client.post("/embed", "{\"inputs\":\(quoted(Self.texts[2])),\"normalize\":false}")
        let rawRow = try raw.json()[0]?.floats ?? []
        let rawNorm = Float(rawRow.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot())
        #expect(abs(rawNorm - 1) > 1e-3)
        #expect(maxDifference(rawRow.map { $0 / rawNorm }, rows[2]) <= 1e-5)
    }

    @Test func predictAndRerankEqualTheLibrarys() async throws {
        let running = try await RunningServer(try ServedFixtures.all())
        defer { Task { try? await running.stop() } }
        let client = TestClient(running.base)

        let classifier = try ServedFixtures.classifier(labels: ["negative", "positive"], seed: 3)
        let expected = try (classifier as! any SequenceClassifier).classify(Self.texts)
        let batch = try await client.post("/predict", "{\"inputs\":[\(Self.texts.map(quoted).joined(separator: ","))]}")
        #expect(batch.status == 200, "\(batch.text)")
        for (row, scores) in expected.enumerated() {
            let answer = try batch.json()[row]?.array ?? []
            #expect(answer.count == 2)
            for item in answer {
                let label = item["label"]?.string ?? ""
                let want = scores.first { $0.label == label }?.score ?? -1
                #expect(abs((item["score"]?.double ?? 0) - want) <= 1e-5, "row \(row) \(label)")
            }
            // Best first, as TEI orders them.
            #expect((answer.first?["score"]?.double ?? 0) >= (answer.last?["score"]?.double ?? 1))
        }
        let single = try await client.post("/predict", "{\"inputs\":\(quoted(Self.texts[0]))}")
        #expect(try single.json()[0]?["label"]?.string == expected[0].max { $0.score < $1.score }?.label)

        let reranker = try ServedFixtures.classifier(labels: ["score"], seed: 4)
        let query = "what is free"
        let logits = try Tensor.withoutGradient {
            try reranker(ModelInputs(reranker.encode(Array(repeating: query, count: 3), pairs: Self.texts))).logits!
        }.floats
        let rerank = try await client.post(
            "/rerank",
            "{\"query\":\(quoted(query)),\"texts\":[\(Self.texts.map(quoted).joined(separator: ","))],\"return_text\":true}"
        )
        #expect(rerank.status == 200, "\(rerank.text)")
        let ranked = try rerank.json().array ?? []
        #expect(ranked.count == 3)
        for item in ranked {
            let index = item["index"]?.integer ?? -1
            #expect(abs((item["score"]?.double ?? 0) - 1 / (1 + exp(-Double(logits[index])))) <= 1e-5)
            #expect(item["text"]?.string == Self.texts[index])
        }
        #expect(ranked.map { $0["index"]?.integer ?? -1 } == logits.indices.sorted { logits[$0] > logits[$1] })
    }

    @Test func completionsEqualTheLibrarys() async throws {
        let running = try await RunningServer(try ServedFixtures.all())
        defer { Task { try? await running.stop() } }
        let client = TestClient(running.base)
        let lm = try ServedFixtures.gpt2() as! any CausalLM
        let prompt = "hello world"

        // Greedy (temperature 0) and seeded sampling (temperature 1, no top-k, as OpenAI's API samples).
        let greedy = GenerationConfig(maxNewTokens: 12)
        let greedyText = try lm.generate(prompt, config: greedy).text
        let sampled = GenerationConfig(maxNewTokens: 12, sampling: true, temperature: 1, topK: 0, topP: 1, seed: 11)
        let sampledText = try lm.generate(prompt, config: sampled).text
        #expect(greedyText != sampledText)

        let reply = try await client.post(
            "/v1/completions",
            "{\"model\":\"tiny-gpt2\",\"prompt\":\(quoted(prompt)),\"max_tokens\":12,\"temperature\":0}")
        #expect(reply.status == 200, "\(reply.text)")
        let json = try reply.json()
        #expect(json["choices"]?[0]?["text"]?.string == greedyText)
        #expect(json["choices"]?[0]?["finish_reason"]?.string == "length")
        #expect(json["usage"]?["completion_tokens"]?.integer == 12)
        #expect(json["object"]?.string == "text_completion")

        let seeded = try await client.post(
            "/v1/completions",
            "{\"model\":\"tiny-gpt2\",\"prompt\":\(quoted(prompt)),\"max_tokens\":12,\"temperature\":1,\"seed\":11}")
        #expect(try seeded.json()["choices"]?[0]?["text"]?.string == sampledText)

        // Streamed: the pieces add up to the same text; the stream ends with [DONE].
        let stream = try await client.post(
            "/v1/completions",
            "{\"model\":\"tiny-gpt2\",\"prompt\":\(quoted(prompt)),\"max_tokens\":12,\"temperature\":0,"
                + "\"stream\":true,\"stream_options\":{\"include_usage\":true}}")
        #expect(stream.headers["content-type"]?.hasPrefix("text/event-stream") == true)
        let events = stream.text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        #expect(events.last == "data: [DONE]")
        var text = ""
        var reasons: [String] = []
        var usage: Int?
        for event in events.dropLast() {
            let chunk = try JSONParser.parse(Array(event.dropFirst("data: ".count).utf8))
            if let choice = chunk["choices"]?[0] {
                text += choice["text"]?.string ?? ""
                if let reason = choice["finish_reason"]?.string { reasons.append(reason) }
            }
            if let tokens = chunk["usage"]?["completion_tokens"]?.integer { usage = tokens }
        }
        #expect(text == greedyText)
        #expect(reasons == ["length"])
        #expect(usage == 12)

        // A stop sequence ends the text before its first occurrence, with finish_reason stop.
        let stop = String(sampledText.dropFirst(3).prefix(2))
        let cut = String(sampledText[..<sampledText.range(of: stop)!.lowerBound])
        let stopped = try await client.post(
            "/v1/completions",
            "{\"model\":\"tiny-gpt2\",\"prompt\":\(quoted(prompt)),\"max_tokens\":12,\"seed\":11,"
                + "\"stop\":[\(quoted(stop))]}")
        #expect(try stopped.json()["choices"]?[0]?["text"]?.string == cut)
        #expect(try stopped.json()["choices"]?[0]?["finish_reason"]?.string == "stop")

        // Several prompts × n: every choice, indexed prompt-major, each equal to its prompt's greedy text.
        let other = "the tool"
        let otherText = try lm.generate(other, config: greedy).text
        let many = try await client.post(
            "/v1/completions",
            "{\"model\":\"tiny-gpt2\",\"prompt\":[\(quoted(prompt)),\(quoted(other))],\"max_tokens\":12,"
                + "\"temperature\":0,\"n\":2}")
        let choices = try many.json()["choices"]?.array ?? []
        #expect(choices.map { $0["text"]?.string ?? "" } == [greedyText, greedyText, otherText, otherText])
        #expect(choices.map { $0["index"]?.integer ?? -1 } == [0, 1, 2, 3])
    }

    /// Completions arriving together join one running batch (different prompt lengths: the narrower cache rows are
    /// left-padded and masked); each still gets the library's tokens for its own prompt and seed.
    @Test func concurrentCompletionsShareTheBatchAndKeepTheirOwnTokens() async throws {
        let running = try await RunningServer(try ServedFixtures.all())
        defer { Task { try? await running.stop() } }
        let client = TestClient(running.base)
        let lm = try ServedFixtures.gpt2() as! any CausalLM
        let prompts = ["hello", "the licence is free", "a", "ModelHub reads files", "tool", "it runs on the cpu"]

        // One request, six prompts of different lengths: admitted together, decoded as one batch of six rows; choice
        // i is sampled with seed + i.
        let together = try await client.post(
            "/v1/completions",
            "{\"model\":\"tiny-gpt2\",\"prompt\":[\(prompts.map(quoted).joined(separator: ","))],\"max_tokens\":12,"
                + "\"seed\":30}")
        let choices = try together.json()["choices"]?.array ?? []
        for (index, prompt) in prompts.enumerated() {
            let settings = GenerationConfig(
                maxNewTokens: 12, sampling: true, temperature: 1, topK: 0, topP: 1, seed: UInt64(30 + index))
            #expect(
                choices[index]["text"]?.string == (try lm.generate(prompt, config: settings).text), "choice \(index)")
        }
        let singleRowSteps = try await client.metric("hub_decode_batch_size_bucket{le=\"1\"}") ?? 0
        let steps = try await client.metric("hub_decode_batch_size_count") ?? 0
        #expect(steps > singleRowSteps, "\(steps) decoding steps, \(singleRowSteps) of them with one row")

        // Six requests at once: they join the running batch as they arrive.
        var expected: [String] = []
        for (index, prompt) in prompts.enumerated() {
            let settings = GenerationConfig(
                maxNewTokens: 10 + index, sampling: true, temperature: 1, topK: 0, topP: 1, seed: UInt64(40 + index))
            expected.append(try lm.generate(prompt, config: settings).text)
        }
        let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for (index, prompt) in prompts.enumerated() {
                group.addTask {
                    let reply = try await client.post(
                        "/v1/completions",
                        "{\"model\":\"tiny-gpt2\",\"prompt\":\(quoted(prompt)),\"max_tokens\":\(10 + index),"
                            + "\"seed\":\(40 + index)}")
                    return (index, try reply.json()["choices"]?[0]?["text"]?.string ?? "<\(reply.status)>")
                }
            }
            return try await group.reduce(into: [Int: String]()) { $0[$1.0] = $1.1 }
        }
        for index in prompts.indices { #expect(answers[index] == expected[index], "prompt \(index)") }
    }

    @Test func tokenizeInfoModelsHealthAndMetrics() async throws {
        let running = try await RunningServer(try ServedFixtures.all())
        defer { Task { try? await running.stop() } }
        let client = TestClient(running.base)
        let tokenizer = try ServedFixtures.encoder().requiredTokenizer()
        let text = "héllo licence"
        let encoding = tokenizer.encode(text)
        let reply = try await client.post("/tokenize", "{\"inputs\":\(quoted(text))}")
        let tokens = try reply.json()[0]?.array ?? []
        #expect(tokens.map { Int32($0["id"]?.integer ?? -1) } == encoding.ids)
        #expect(tokens.first?["special"] == .bool(true))
        // Spans are UTF-8 byte offsets into the text, as TEI gives them.
        let word = tokens.first { $0["special"] == .bool(false) }
        let bytes = Array(text.utf8)
        let start = word?["start"]?.integer ?? 0
        let stop = word?["stop"]?.integer ?? 0
        #expect(String(decoding: bytes[start..<stop], as: UTF8.self) == word?["text"]?.string)

        let info = try await client.get("/info").json()
        #expect(info["model_type"]?["embedding"]?["pooling"]?.string == "mean")
        #expect(info["max_input_length"]?.integer == 64)
        let models = try await client.get("/v1/models").json()
        #expect(
            models["data"]?.array?.compactMap { $0["id"]?.string }
                == ["tiny-bert", "tiny-classifier", "tiny-reranker", "tiny-gpt2"])
        #expect(try await client.get("/health").status == 200)
        _ = try await client.post("/embed", "{\"inputs\":\"a\"}")
        let metrics = try await client.get("/metrics").text
        #expect(metrics.contains("hub_requests_total{endpoint=\"/embed\",status=\"200\"} 1"))
        #expect(metrics.contains("# TYPE hub_request_duration_seconds histogram"))
        #expect(metrics.contains("hub_batch_size_count 1"))
    }
}

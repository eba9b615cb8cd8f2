import Foundation
import Support

/// Tests/Fixtures/fake_hub.py as a child process: a Hub on loopback with faults injected per request.
///
/// It serves fixture folders as repos (defence tables H and K list the faults) and stops when released.
public final class FakeHub: @unchecked Sendable {
    /// `http://127.0.0.1:PORT`, to use as `HF_ENDPOINT`.
    public let endpoint: String
    /// The same server on another host (127.0.0.2) and on another port: redirect targets.
    public let otherHost: String
    public let otherPort: String

    private let process: Process
    private let input: FileHandle
    private let output: FileHandle
    private let lock = NSLock()

    /// One served repo: its id, the folder whose files it holds, and the commit it reports.
    public struct Repo {
        public let id: String
        public let folder: String
        public let commit: String

        public init(_ id: String, folder: String, commit: String) {
            self.id = id
            self.folder = folder
            self.commit = commit
        }
    }

    /// Starts the server (python3 from PATH) and waits for its address.
    public init(repos: [Repo], aliases: [String: String] = [:], gated: [String: String] = [:]) throws {
        var arguments = [Fixtures.path("fake_hub.py")]
        for repo in repos { arguments += ["--repo", "\(repo.id)=\(repo.folder)@\(repo.commit)"] }
        for (alias, repo) in aliases.sorted(by: { $0.key < $1.key }) { arguments += ["--alias", "\(alias)=\(repo)"] }
        for (repo, token) in gated.sorted(by: { $0.key < $1.key }) { arguments += ["--gated", "\(repo)=\(token)"] }
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        input = stdin.fileHandleForWriting
        output = stdout.fileHandleForReading
        let first = try JSONParser.parse(Array(Self.readLine(output).utf8)).object
        guard let endpoint = first?["endpoint"]?.string, let host = first?["other_host"]?.string,
            let port = first?["other_port"]?.string
        else { throw CocoaError(.fileReadCorruptFile) }
        self.endpoint = endpoint
        otherHost = host
        otherPort = port
    }

    deinit {
        try? input.close()
        process.waitUntilExit()
    }

    /// Queues a fault: `mode` for the next `count` requests whose path ends with `path` (fake_hub.py lists them).
    public func fault(_ path: String, _ mode: String, count: Int = 1, _ extra: [String: JSONValue] = [:]) throws {
        var fields: [(key: String, value: JSONValue)] = [
            ("path", .string(path)), ("mode", .string(mode)), ("count", .int(count)),
        ]
        fields += extra.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        _ = try command("fault " + JSONValue.object(JSONObject(fields)).serialized())
    }

    /// Forgets queued faults and logged requests.
    public func reset() throws { _ = try command("reset") }

    /// One logged request.
    public struct Request: Sendable {
        public let method: String
        public let path: String
        /// `HOST:PORT` of the listener that got it.
        public let host: String
        public let range: String?
        public let authorization: String?
    }

    /// Every request since the start or the last reset.
    public func log() throws -> [Request] {
        let answer = try command("log")
        let entries = try JSONParser.parse(Array(answer.utf8), maxDepth: 8).array ?? []
        return entries.compactMap(\.object).map { entry in
            Request(
                method: entry["method"]?.string ?? "", path: entry["path"]?.string ?? "",
                host: entry["host"]?.string ?? "", range: entry["range"]?.string,
                authorization: entry["authorization"]?.string)
        }
    }

    /// GET requests for one file of a repo (`/{repo}/resolve/…/{path}`, also through a redirect's `/cdn/`).
    public func downloads(of path: String) throws -> [Request] {
        try log().filter { $0.method == "GET" && $0.path.contains("/resolve/") && $0.path.hasSuffix("/" + path) }
    }

    private func command(_ line: String) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        input.write(Data((line + "\n").utf8))
        return try Self.readLine(output)
    }

    private static func readLine(_ handle: FileHandle) throws -> String {
        var bytes: [UInt8] = []
        while true {
            guard let data = try handle.read(upToCount: 1), let byte = data.first else {
                throw CocoaError(.fileReadUnknown)
            }
            if byte == 0x0A { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
    }
}

import Foundation
import Support
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `hub mirror` over a cache that `hub pull` filled from the loopback Hub: `hub pull` and huggingface_hub through it
/// get byte-identical files and the same cache layout; ranges, HEAD, the Hub's three 404s, and paths that try to
/// leave the cache.
@Suite(.serialized) struct MirrorCLITests {
    static let commit = "2a0c2b8d3e4a5b6c7d8e9f00112233445566778b"
    static let repo = "modelhub-test/tiny-bert"
    let hub = Fixtures.hubExecutable
    let scratch: ScratchFolder
    let mirror: MirrorProcess
    let server: FakeHub

    init() throws {
        scratch = try ScratchFolder("modelhub-mirror")
        server = try FakeHub(repos: [
            .init(Self.repo, folder: Fixtures.path("models/tiny-bert"), commit: Self.commit)
        ])
        let pulled = try runProcess(
            hub, ["pull", Self.repo], environment: Self.environment(server.endpoint, scratch.path + "/source"))
        guard pulled.status == 0 else { throw CocoaError(.fileReadUnknown, userInfo: ["pull": pulled.stderr]) }
        mirror = try MirrorProcess(cache: scratch.path + "/source")
    }

    static func environment(_ endpoint: String, _ cache: String) -> [String: String] {
        [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": cache,
            "HF_ENDPOINT": endpoint, "HF_HUB_CACHE": cache, "HF_HUB_DOWNLOAD_TIMEOUT": "5",
            "HF_HUB_DISABLE_TELEMETRY": "1",
        ]
    }

    var folder: String { "/models--modelhub-test--tiny-bert" }

    /// Every file under `root` (relative paths) with its bytes; links followed.
    func contents(_ root: String) throws -> [String: Data] {
        var found: [String: Data] = [:]
        for case let path as String in FileManager.default.enumerator(atPath: root) ?? FileManager.default.enumerator(
            atPath: "/nonexistent")!
        {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory),
                !isDirectory.boolValue
            {
                found[path] = try Data(contentsOf: URL(fileURLWithPath: root + "/" + path))
            }
        }
        return found
    }

    @Test func hubPullThroughTheMirrorGetsTheSameCache() throws {
        defer { scratch.remove() }
        let copy = scratch.path + "/copy"
        let pulled = try runProcess(hub, ["pull", Self.repo], environment: Self.environment(mirror.base, copy))
        #expect(pulled.status == 0, "\(pulled.stderr)")
        let source = scratch.path + "/source" + folder
        #expect(try contents(source + "/snapshots").count >= 4)
        #expect(try contents(copy + folder + "/snapshots") == contents(source + "/snapshots"))
        #expect(try contents(copy + folder + "/blobs") == contents(source + "/blobs"))
        #expect(try String(contentsOfFile: copy + folder + "/refs/main", encoding: .utf8) == Self.commit)
    }

    @Test(.enabled(if: ServeCLITests.clientsInstalled, "the huggingface_hub client is not installed (no PyPI?)"))
    func huggingfaceHubThroughTheMirrorGetsTheSameFiles() async throws {
        defer { scratch.remove() }
        let copy = scratch.path + "/python"
        let script = """
            import sys
            from huggingface_hub import snapshot_download, hf_hub_download
            print(snapshot_download(sys.argv[1]))
            print(hf_hub_download(sys.argv[1], "config.json", revision=sys.argv[2]))
            print(hf_hub_download(sys.argv[1], "config.json", revision=sys.argv[2][:7]))
            from huggingface_hub import HfApi
            found = HfApi().get_paths_info(sys.argv[1], ["config.json", "model.safetensors", "missing"], revision="main")
            assert sorted(entry.path for entry in found) == ["config.json", "model.safetensors"], found
            weights = next(entry for entry in found if entry.path == "model.safetensors")
            assert weights.lfs is not None and len(weights.lfs.sha256) == 64, weights
            files = HfApi().list_repo_files(sys.argv[1])
            assert "config.json" in files and "model.safetensors" in files, files
            """
        // Two entries per tree page: the client follows the Link headers.
        let paged = try MirrorProcess(cache: scratch.path + "/source", arguments: ["--page-size", "2"])
        let first = try await Client(paged.base).fetch("GET", "/api/models/\(Self.repo)/tree/main?recursive=true")
        #expect(first.headers["link"]?.contains("cursor=2>; rel=\"next\"") == true)
        let result = try runProcess(
            ServeCLITests.clientsPython, ["-c", script, Self.repo, Self.commit],
            environment: Self.environment(paged.base, copy))
        #expect(result.status == 0, "\(result.stderr)")
        let source = scratch.path + "/source" + folder
        #expect(try contents(source + "/snapshots").count >= 4)
        #expect(try contents(copy + folder + "/snapshots") == contents(source + "/snapshots"))
        #expect(try contents(copy + folder + "/blobs") == contents(source + "/blobs"))
    }

    /// Pull-through: 8 clients at once, each file fetched from upstream once.
    ///
    /// With --upstream, 8 clients pull a repo the mirror lacks at once: each file comes from upstream once, all 8
    /// caches and the mirror's are identical, no client token goes upstream; an upstream download that fails
    /// mid-file fails its client and leaves no blob, and the retry succeeds. --offline never asks upstream.
    @Test func pullThroughFetchesEachFileOnce() async throws {
        defer { scratch.remove() }
        let through = try MirrorProcess(cache: scratch.path + "/empty", arguments: ["--upstream", server.endpoint])
        try server.reset()
        let (hub, base, root) = (self.hub, through.base, scratch.path)
        let pulls = try await withThrowingTaskGroup(of: ProcessResult.self) { group in
            for client in 0..<8 {
                group.addTask {
                    var environment = Self.environment(base, root + "/c\(client)")
                    environment["HF_TOKEN"] = "client-secret"  // sent to the mirror; never forwarded upstream
                    return try runProcess(hub, ["pull", Self.repo], environment: environment)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(pulls.allSatisfy { $0.status == 0 }, "\(pulls.map(\.stderr))")
        #expect(try server.log().allSatisfy { !($0.authorization ?? "").contains("client-secret") })
        let downloads = try server.log().filter { $0.method == "GET" && $0.path.contains("/resolve/") }
        let perFile = Dictionary(grouping: downloads, by: { $0.path.split(separator: "/").last.map(String.init) ?? "" })
        #expect(!perFile.isEmpty && perFile.values.allSatisfy { $0.count == 1 }, "\(perFile.mapValues(\.count))")
        let reference = try contents(scratch.path + "/empty" + folder + "/snapshots")
        #expect(reference.count >= 4)
        for client in 0..<8 { #expect(try contents(scratch.path + "/c\(client)" + folder + "/snapshots") == reference) }

        // The same with huggingface_hub's snapshot_download, where it is installed.
        if ServeCLITests.clientsInstalled {
            let python = try MirrorProcess(cache: scratch.path + "/empty2", arguments: ["--upstream", server.endpoint])
            try server.reset()
            let (pythonBase, script) = (
                python.base, "import sys; from huggingface_hub import snapshot_download; snapshot_download(sys.argv[1])"
            )
            let runs = try await withThrowingTaskGroup(of: ProcessResult.self) { group in
                for client in 0..<8 {
                    group.addTask {
                        try runProcess(
                            ServeCLITests.clientsPython, ["-c", script, Self.repo],
                            environment: Self.environment(pythonBase, root + "/p\(client)"))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(runs.allSatisfy { $0.status == 0 }, "\(runs.map(\.stderr))")
            let fetched = try server.log().filter { $0.method == "GET" && $0.path.contains("/resolve/") }
            let counts = Dictionary(
                grouping: fetched, by: { $0.path.split(separator: "/").last.map(String.init) ?? "" })
            #expect(!counts.isEmpty && counts.values.allSatisfy { $0.count == 1 }, "\(counts.mapValues(\.count))")
            for client in 0..<8 { #expect(try contents(root + "/p\(client)" + folder + "/snapshots") == reference) }
        }

        // A failed upstream download: the client gets an error, the mirror keeps no partial blob, a retry gets the file.
        let other = try MirrorProcess(cache: scratch.path + "/fresh", arguments: ["--upstream", server.endpoint])
        // (A cut alone is resumed by the mirror's downloader; corrupt bytes fail the digest, every time.)
        try server.fault("model.safetensors", "corrupt", count: 20)
        let failed = try runProcess(
            hub, ["pull", Self.repo], environment: Self.environment(other.base, scratch.path + "/d0"))
        #expect(failed.status != 0)
        let blobs =
            (try? FileManager.default.contentsOfDirectory(atPath: scratch.path + "/fresh" + folder + "/blobs")) ?? []
        #expect(!blobs.contains { $0.utf8.count == 64 && !$0.contains(".") }, "\(blobs)")
        try server.reset()
        let retried = try runProcess(
            hub, ["pull", Self.repo], environment: Self.environment(other.base, scratch.path + "/d1"))
        #expect(retried.status == 0, "\(retried.stderr)")

        // Offline: what the cache lacks is a 404, and upstream hears nothing.
        let offline = try MirrorProcess(
            cache: scratch.path + "/none", arguments: ["--upstream", server.endpoint, "--offline"])
        try server.reset()
        let missing = try await Client(offline.base).fetch("GET", "/\(Self.repo)/resolve/main/config.json")
        #expect(missing.status == 404 && missing.headers["x-error-code"] == "RepoNotFound")
        #expect(try server.log().isEmpty)
    }

    /// A gated repo upstream: without the mirror's token (--token-file) its files are a 401; with it they are
    /// fetched, and the token is sent upstream only.
    @Test func gatedReposNeedTheMirrorsToken() async throws {
        defer { scratch.remove() }
        let gated = try FakeHub(
            repos: [.init("org/private", folder: Fixtures.path("models/tiny-bert"), commit: Self.commit)],
            gated: ["org/private": "mirror-token"])
        let without = try MirrorProcess(cache: scratch.path + "/g0", arguments: ["--upstream", gated.endpoint])
        let refused = try await Client(without.base).fetch("GET", "/org/private/resolve/main/config.json")
        #expect(refused.status == 401, "\(String(decoding: refused.body, as: UTF8.self))")
        try writeText("mirror-token\n", to: scratch.path + "/token")
        let with = try MirrorProcess(
            cache: scratch.path + "/g1",
            arguments: ["--upstream", gated.endpoint, "--token-file", scratch.path + "/token"])
        let served = try await Client(with.base).fetch("GET", "/org/private/resolve/main/config.json")
        #expect(served.status == 200)
        #expect(
            served.body == (try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("models/tiny-bert/config.json")))))
        #expect(served.headers.values.allSatisfy { !$0.contains("mirror-token") })
    }

    @Test func rangesHeadNotFoundAndTraversal() async throws {
        defer { scratch.remove() }
        let client = Client(mirror.base)
        let path = "/\(Self.repo)/resolve/main/config.json"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("models/tiny-bert/config.json")))
        let whole = try await client.fetch("GET", path)
        #expect(whole.status == 200 && whole.body == bytes)
        #expect(whole.headers["x-repo-commit"] == Self.commit)
        #expect(whole.headers["x-linked-size"] == String(bytes.count))
        #expect(
            whole.headers["etag"]?.hasPrefix("\"") == true && whole.headers["etag"] == whole.headers["x-linked-etag"])
        // Never Xet: the clients stay on plain HTTP.
        #expect(!whole.headers.keys.contains { $0.hasPrefix("x-xet") } && !whole.headers.keys.contains("link"))
        let head = try await client.fetch("HEAD", path)
        for name in ["etag", "x-repo-commit", "x-linked-etag", "x-linked-size", "content-length", "accept-ranges"] {
            #expect(head.headers[name] == whole.headers[name], "\(name)")
        }
        #expect(head.body.isEmpty)
        let size = bytes.count
        for (range, expected) in [
            ("bytes=0-9", 0..<10), ("bytes=5-14", 5..<15), ("bytes=-7", size - 7..<size), ("bytes=10-", 10..<size),
            ("bytes=0-99999", 0..<size),
        ] {
            let part = try await client.fetch("GET", path, headers: ["Range": range])
            #expect(part.status == 206 && part.body == bytes[expected], "\(range)")
            #expect(part.headers["content-range"] == "bytes \(expected.lowerBound)-\(expected.upperBound - 1)/\(size)")
        }
        let past = try await client.fetch("GET", path, headers: ["Range": "bytes=\(size)-"])
        #expect(past.status == 416 && past.headers["content-range"] == "bytes */\(size)")

        for (path, code) in [
            ("/nobody/nothing/resolve/main/config.json", "RepoNotFound"),
            ("/\(Self.repo)/resolve/no-such-branch/config.json", "RevisionNotFound"),
            ("/\(Self.repo)/resolve/main/no-such-file", "EntryNotFound"),
            ("/api/models/nobody/nothing", "RepoNotFound"),
        ] {
            let reply = try await client.fetch("GET", path)
            #expect(reply.status == 404 && reply.headers["x-error-code"] == code, "\(path)")
        }

        // A link in the snapshot that points out of the cache is neither served nor listed.
        let outside = scratch.path + "/secret.txt"
        try writeText("outside the cache", to: outside)
        let snapshot = scratch.path + "/source" + folder + "/snapshots/" + Self.commit
        try FileManager.default.createSymbolicLink(atPath: snapshot + "/leak.txt", withDestinationPath: outside)
        let leak = try await client.fetch("GET", "/\(Self.repo)/resolve/main/leak.txt")
        #expect(leak.status == 404)
        let info = try await client.fetch("GET", "/api/models/\(Self.repo)")
        #expect(!String(decoding: info.body, as: UTF8.self).contains("leak.txt"))
        // Paths that climb out, spelled every way, never read the secret.
        let port = Int(mirror.base.split(separator: ":").last ?? "") ?? 0
        for attempt in [
            "/\(Self.repo)/resolve/main/../../../secret.txt", "/\(Self.repo)/resolve/main/%2e%2e/%2e%2e/secret.txt",
            "/\(Self.repo)/resolve/main/..%2f..%2fsecret.txt", "//etc/hostname",
            "/\(Self.repo)/resolve/main/%2fetc%2fhostname",
        ] {
            let connection = try RawConnection(port: port)
            connection.send("GET \(attempt) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let answer = connection.read()
            #expect(
                !answer.contains("outside the cache") && (answer.contains(" 404 ") || answer.contains(" 400 ")),
                "\(attempt): \(answer.prefix(80))")
        }
        let write = try await client.fetch("PUT", path)
        #expect(write.status == 405)
    }
}

/// `hub mirror --port 0` over a cache, in the background.
final class MirrorProcess: @unchecked Sendable {
    let process = Process()
    let base: String

    init(cache: String, arguments: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: Fixtures.hubExecutable)
        process.arguments = ["mirror", "--port", "0"] + arguments
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": cache, "HF_HUB_CACHE": cache]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        while !text.contains("\n") {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { throw CocoaError(.fileReadUnknown, userInfo: ["mirror": text]) }
            text += String(decoding: data, as: UTF8.self)
        }
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "," })
        base = words.first { $0.hasPrefix("http://127.0.0.1") }.map(String.init) ?? ""
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
    }
}

extension Client {
    /// One exchange with headers in and out (names lowercased).
    func fetch(
        _ method: String, _ path: String, headers: [String: String] = [:]
    ) async throws
        -> (status: Int, headers: [String: String], body: Data)
    {
        try await httpExchange(session, method, base + path, headers: headers)
    }
}

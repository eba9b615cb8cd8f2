import Dispatch
import Foundation
import Support
import TestSupport
import Testing

@testable import Formats

/// `hub pull / resolve / ls / rm / gc` as a user runs them, against the loopback Hub (Tests/Fixtures/fake_hub.py):
/// concurrent pulls, a pull killed mid-file, offline use, the index, and the error contract.
@Suite(.serialized) struct PullCLITests {
    static let commit = "1f0c2b8d3e4a5b6c7d8e9f00112233445566778a"
    static let weights = "model.safetensors"
    let hub = Fixtures.hubExecutable
    let server: FakeHub
    let scratch: ScratchFolder
    var cache: String { scratch.path + "/hub" }

    init() throws {
        let folder = Fixtures.path("models/tiny-bert")
        server = try FakeHub(repos: [
            .init("modelhub-test/tiny-bert", folder: folder, commit: Self.commit),
            .init("sentence-transformers/all-MiniLM-L6-v2", folder: folder, commit: Self.commit),
        ])
        scratch = try ScratchFolder("modelhub-pull")
    }

    var environment: [String: String] {
        [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": scratch.path,
            "HF_ENDPOINT": server.endpoint, "HF_HUB_CACHE": cache, "HF_HUB_DOWNLOAD_TIMEOUT": "5",
        ]
    }

    func run(_ arguments: [String], offline: Bool = false) throws -> ProcessResult {
        var environment = environment
        if offline { environment["HF_HUB_OFFLINE"] = "1" }
        return try runProcess(hub, arguments, environment: environment)
    }

    func json(_ result: ProcessResult) throws -> JSONValue {
        #expect(result.status == 0, "\(result.stderr)")
        return try JSONParser.parse(Array(result.stdout.utf8), maxDepth: 16)
    }

    var blobs: String { cache + "/models--modelhub-test--tiny-bert/blobs" }

    /// A catalog name pulls the canonical repo with the catalog's files; globs narrow it; the last line printed is
    /// the snapshot folder; resolve (online and offline) lists the same files with sizes and sha256.
    @Test func pullByCatalogNameWithGlobs() throws {
        let narrowed = try json(run(["pull", "minilm", "--include", "*.json", "--exclude", "tokenizer*", "--json"]))
        #expect(narrowed.object?["files"]?.array?.compactMap(\.string) == ["config.json"])

        let text = try run(["pull", "minilm"])
        #expect(text.status == 0, "\(text.stderr)")
        let snapshot = cache + "/models--sentence-transformers--all-MiniLM-L6-v2/snapshots/" + Self.commit
        #expect(text.stdout.split(separator: "\n").last.map(String.init) == snapshot)
        #expect(text.stdout.contains("already cached 1: config.json"))
        let present = try FileManager.default.contentsOfDirectory(atPath: snapshot).sorted()
        #expect(
            present == ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt"])

        let online = try json(run(["resolve", "minilm", "--json"]))
        let offline = try json(run(["resolve", "minilm", "--json"], offline: true))
        #expect(online == offline)
        let root = try #require(online.object)
        #expect(root["repo"]?.string == "sentence-transformers/all-MiniLM-L6-v2")
        #expect(root["commit"]?.string == Self.commit)
        let weights = try #require(
            root["files"]?.array?.compactMap(\.object).first { $0["path"]?.string == Self.weights })
        let bytes = try readBytes(Fixtures.path("models/tiny-bert/model.safetensors"))
        #expect(weights["size"]?.integer == bytes.count)
        #expect(weights["sha256"]?.string == bytes.withUnsafeBytes { sha256Hex($0) })
    }

    /// K1: two `hub pull`s of one model at once both succeed, and every file crosses the network once.
    @Test func concurrentPullsFetchEachBlobOnce() throws {
        try server.fault(Self.weights, "throttle", count: 2, ["rate": .int(60000)])
        let results = ResultBox()
        let (hub, environment) = (hub, environment)
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            results.set(index, try? runProcess(hub, ["pull", "modelhub-test/tiny-bert"], environment: environment))
        }
        let outcomes = results.values
        #expect(outcomes.count == 2)
        for outcome in outcomes {
            #expect(outcome?.status == 0, "\(outcome?.stderr ?? "did not run")")
        }
        #expect(Set(outcomes.compactMap { $0?.stdout.split(separator: "\n").last }).count == 1)
        for file in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt"] {
            #expect(try server.downloads(of: file).count == 1, "\(file)")
        }
        let sha = try readBytes(Fixtures.path("models/tiny-bert/model.safetensors")).withUnsafeBytes { sha256Hex($0) }
        #expect(try readBytes(blobs + "/" + sha).withUnsafeBytes { sha256Hex($0) } == sha)
    }

    /// K3: a pull killed mid-file leaves only a partial file; run again, it resumes from there and ends intact.
    @Test func killedPullResumes() throws {
        try server.fault(Self.weights, "throttle", ["rate": .int(20000)])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: hub)
        process.arguments = ["pull", "modelhub-test/tiny-bert"]
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var partial: Int = 0
        for _ in 0..<100 where partial < 20000 {
            usleep(50_000)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: blobs)) ?? []
            for name in names where name.hasSuffix(".incomplete") {
                let size = (try? FileManager.default.attributesOfItem(atPath: blobs + "/" + name)[.size] as? Int) ?? 0
                partial = max(partial, size)
            }
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(partial >= 20000)
        let snapshot = cache + "/models--modelhub-test--tiny-bert/snapshots/\(Self.commit)/\(Self.weights)"
        #expect(!FileManager.default.fileExists(atPath: snapshot))

        try server.reset()
        // A partial file counts as abandoned once untouched for longer than the download timeout (here 1 s).
        sleep(2)
        var quick = environment
        quick["HF_HUB_DOWNLOAD_TIMEOUT"] = "1"
        let again = try json(runProcess(hub, ["pull", "modelhub-test/tiny-bert", "--json"], environment: quick))
        #expect(again.object?["downloaded"]?.array?.compactMap(\.string).contains(Self.weights) == true)
        let gets = try server.downloads(of: Self.weights)
        let resumedFrom = gets.first?.range.flatMap { Int($0.dropFirst(6).dropLast()) } ?? 0
        #expect(gets.count == 1 && resumedFrom >= 20000, "\(gets.map(\.range))")
        #expect(try readBytes(snapshot) == readBytes(Fixtures.path("models/tiny-bert/model.safetensors")))
        let left = try FileManager.default.contentsOfDirectory(atPath: blobs).filter { $0.hasSuffix(".incomplete") }
        #expect(left.isEmpty)
    }

    /// Offline: a complete cache answers; a missing file is named; an uncached model says how to get it.
    @Test func offlinePull() throws {
        let never = try run(["pull", "modelhub-test/tiny-bert", "--offline"])
        #expect(never.status == 1)
        #expect(
            never.stderr.contains("not in the Hugging Face cache") && never.stderr.split(separator: "\n").count == 1)
        #expect(try server.log().isEmpty)

        _ = try json(run(["pull", "modelhub-test/tiny-bert", "--json"]))
        try server.reset()
        let cached = try run(["pull", "modelhub-test/tiny-bert"], offline: true)
        #expect(cached.status == 0, "\(cached.stderr)")
        #expect(cached.stdout.hasSuffix("/snapshots/\(Self.commit)\n"))
        let snapshot = cache + "/models--modelhub-test--tiny-bert/snapshots/" + Self.commit
        try FileManager.default.removeItem(atPath: snapshot + "/vocab.txt")
        let missing = try run(["pull", "modelhub-test/tiny-bert", "--offline"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("lacks vocab.txt"), "\(missing.stderr)")
        #expect(try server.log().isEmpty)
    }

    /// ls, rm and gc: the index records pulls and conversions, survives corruption, and follows removals.
    @Test func listRemoveCollect() throws {
        _ = try json(run(["pull", "modelhub-test/tiny-bert", "--json"]))
        let output = scratch.path + "/tiny.mhub"
        let convert = try run(["convert", "modelhub-test/tiny-bert", "-o", output])
        #expect(convert.status == 0, "\(convert.stderr)")

        let listed = try #require(try json(run(["ls", "--json"])).array?.first?.object)
        #expect(listed["repo"]?.string == "modelhub-test/tiny-bert")
        #expect(listed["size"]?.integer == 113_040 && listed["files"]?.integer == 5)
        #expect(listed["revisions"]?.array?.first?.object?["commit"]?.string == Self.commit)
        #expect(listed["converted"]?.array?.first?.object?["path"]?.string == output)

        // A corrupt index is rebuilt; the folder is the truth.
        let index = cache + "/.locks/modelhub.sqlite"
        try writeBytes(Array(repeating: 0x5A, count: 4096), to: index)
        try? FileManager.default.removeItem(atPath: index + "-wal")
        let relisted = try json(run(["ls", "--json"]))
        #expect(relisted.array?.first?.object?["size"]?.integer == 113_040)
        #expect(Array(try readBytes(index).prefix(15)) == Array("SQLite format 3".utf8))

        // Python's cache scanner finds nothing odd at the cache root.
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: cache).sorted() == [
                ".locks", "CACHEDIR.TAG", "models--modelhub-test--tiny-bert",
            ])

        try writeBytes([9, 9], to: blobs + "/" + String(repeating: "e", count: 40))
        let garbage = try json(run(["gc", "--json"]))
        #expect(garbage.object?["unreferenced_blobs"]?.array?.count == 1)
        #expect(garbage.object?["freed_bytes"]?.integer == 2)

        let removed = try json(run(["rm", "modelhub-test/tiny-bert", "--json"]))
        #expect(removed.object?["removed"]?.array?.compactMap(\.string) == ["models--modelhub-test--tiny-bert"])
        #expect(removed.object?["freed_bytes"]?.integer == 113_040)
        #expect(try json(run(["ls", "--json"])).array?.isEmpty == true)
        let again = try run(["rm", "modelhub-test/tiny-bert"])
        #expect(again.status == 1 && again.stderr.contains("nothing cached"))
    }

    /// K4: a write that fails (here a file-size limit, as a full disk would) is one clear line; the partial file is
    /// deleted and no blob appears.
    @Test func failedWriteLeavesNothing() throws {
        let limited = try runProcess(
            "/usr/bin/env", ["prlimit", "--fsize=60000", hub, "pull", "modelhub-test/tiny-bert"],
            environment: environment)
        #expect(limited.status == 1)
        #expect(limited.stderr.contains("cannot write the download: File too large"), "\(limited.stderr)")
        #expect(limited.stderr.split(separator: "\n").count == 1)
        let names = try FileManager.default.contentsOfDirectory(atPath: blobs)
        #expect(!names.contains { $0.hasSuffix(".incomplete") || $0.count == 64 }, "\(names)")
    }

    /// `hub convert NAME` pulls a model that is not cached yet, then converts it.
    @Test func convertByNamePullsFirst() throws {
        let output = scratch.path + "/minilm.mhub"
        let result = try run(["convert", "minilm", "-o", output, "--json"])
        let summary = try json(result)
        #expect(summary.object?["tensors"]?.integer == 42)
        let inspect = try json(run(["inspect", output, "--json"]))
        #expect(inspect.object?["provenance"]?.object?["repo"]?.string == "sentence-transformers/all-MiniLM-L6-v2")
        #expect(inspect.object?["provenance"]?.object?["commit"]?.string == Self.commit)
    }

    /// Errors: one line on stderr, exit status 1.
    @Test(arguments: [
        (["pull", "modelhub-test/nope"], "no such repo"),
        (["pull", "bert-base-uncase"], "did you mean bert-base-uncased"),
        (["pull", "modelhub-test/tiny-bert", "--revision", "nobranch"], "no revision 'nobranch'"),
        (["resolve", "modelhub-test/tiny-bert", "--offline"], "not in the Hugging Face cache"),
    ])
    func errorsAreOneLine(_ arguments: [String], _ message: String) throws {
        let result = try run(arguments)
        #expect(result.status == 1)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
    }
}

/// Results written from concurrent closures.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Int: ProcessResult?] = [:]

    func set(_ index: Int, _ value: ProcessResult?) {
        lock.lock()
        results[index] = value
        lock.unlock()
    }

    var values: [ProcessResult?] {
        lock.lock()
        defer { lock.unlock() }
        return results.keys.sorted().map { results[$0] ?? nil }
    }
}

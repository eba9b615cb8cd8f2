import Foundation
import Support
import TestSupport
import Testing

@testable import Hub

/// The downloader against a real HTTP server on loopback (Tests/Fixtures/fake_hub.py).
///
/// The server speaks the Hub's protocol and injects the faults of defence tables H and K. Every outcome is asserted, and after every
/// failure the cache holds nothing corrupt: no blob whose bytes differ from the listing, no snapshot link to one.
@Suite(.serialized) struct DownloaderTests {
    static let commit = "1f0c2b8d3e4a5b6c7d8e9f00112233445566778a"
    static let repo = "modelhub-test/tiny-bert"
    static let weights = "model.safetensors"

    let hub: FakeHub
    let scratch: ScratchFolder
    var cache: String { scratch.path + "/hub" }

    init() throws {
        hub = try FakeHub(
            repos: [
                .init(Self.repo, folder: Fixtures.path("models/tiny-bert"), commit: Self.commit),
                .init("modelhub-test/gated", folder: Fixtures.path("models/tiny-bert"), commit: Self.commit),
            ], gated: ["modelhub-test/gated": "hf_secret"])
        scratch = try ScratchFolder("modelhub-hub")
    }

    func client(token: String? = nil, offline: Bool = false, timeout: Int = 2) -> HubClient {
        var client = HubClient(
            environment: HubEnvironment([
                "HF_ENDPOINT": hub.endpoint, "HF_HUB_CACHE": cache, "HOME": scratch.path,
                "HF_HUB_DOWNLOAD_TIMEOUT": String(timeout), "HF_HUB_OFFLINE": offline ? "1" : "0",
            ]), token: token)
        client.firstBackoff = 0.05
        client.maxBackoff = 0.2
        return client
    }

    func pull(
        _ repo: String = Self.repo, revision: String = "main", token: String? = nil, timeout: Int = 2
    ) throws
        -> PullResult
    {
        let client = client(token: token, timeout: timeout)
        let model = try client.resolve(repo, revision: revision, registry: Registry.builtIn())
        return try client.pull(model)
    }

    var blobs: String { cache + "/models--modelhub-test--tiny-bert/blobs" }
    var weightsSHA: String {
        get throws { try sha256Hex(Fixtures.path("models/tiny-bert/" + Self.weights)) }
    }

    /// The cache holds nothing half-written: no partial files, and every blob's bytes hash to its name.
    func expectCacheClean(allowPartial: Bool = false) throws {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: blobs)) ?? [] {
            if name.hasSuffix(".incomplete") {
                #expect(allowPartial, "left behind: \(name)")
                continue
            }
            let path = blobs + "/" + name
            if name.count == 64 { #expect(try sha256Hex(path) == name, "\(name) is corrupt") }
        }
    }

    // MARK: - Layout and interoperability

    /// A pull writes exactly the layout huggingface_hub wrote for the same repo (Tests/Fixtures/hf-cache, made by
    /// huggingface_hub 2.4's snapshot_download against the same server): blobs, relative links, refs and the
    /// per-commit tree listing, byte for byte.
    @Test func pullWritesThePythonClientsLayout() throws {
        let first = try pull()
        #expect(first.downloaded.count == 5 && first.reused.isEmpty)
        _ = try pull(revision: "v1.0")
        let ours = cache + "/models--modelhub-test--tiny-bert"
        let python = Fixtures.path("hf-cache/models--modelhub-test--tiny-bert")
        let manager = FileManager.default
        #expect(
            try manager.subpathsOfDirectory(atPath: ours).sorted()
                == manager.subpathsOfDirectory(atPath: python).sorted())
        for path in try manager.subpathsOfDirectory(atPath: python) {
            let link = try? manager.destinationOfSymbolicLink(atPath: python + "/" + path)
            #expect((try? manager.destinationOfSymbolicLink(atPath: ours + "/" + path)) == link, "\(path)")
            var isFolder: ObjCBool = false
            if manager.fileExists(atPath: python + "/" + path, isDirectory: &isFolder), !isFolder.boolValue {
                #expect(try readBytes(ours + "/" + path) == readBytes(python + "/" + path), "\(path)")
            }
        }
        #expect(manager.fileExists(atPath: cache + "/CACHEDIR.TAG"))
        // A second pull fetches nothing.
        let again = try pull()
        #expect(again.downloaded.isEmpty && again.reused.count == 5 && again.bytesReceived == 0)
    }

    /// The selection: catalog defaults (preferred weights + listed files), include and exclude globs.
    @Test func fileSelection() throws {
        let files = [
            "config.json", "model.safetensors", "pytorch_model.bin", "vocab.txt", "README.md", "onnx/model.onnx",
        ]
        .map { RemoteFile(path: $0, size: 1, blobID: String(repeating: "a", count: 40), lfsSHA256: nil) }
        let registry = try Registry.builtIn()
        let entry = try #require(registry.entry(named: "bert-base-uncased"))
        let defaults = FileSelection().choose(from: files, entry: entry, weights: registry.weightPreference)
        #expect(defaults.map(\.path) == ["config.json", "model.safetensors", "vocab.txt"])
        let json = FileSelection(include: ["*.json"]).choose(
            from: files, entry: entry, weights: registry.weightPreference)
        #expect(json.map(\.path) == ["config.json"])
        let folder = FileSelection(include: ["onnx/"]).choose(from: files, entry: nil, weights: [])
        #expect(folder.map(\.path) == ["onnx/model.onnx"])
        let all = FileSelection(exclude: ["*.bin", "*.onnx"]).choose(from: files, entry: nil, weights: [])
        #expect(all.map(\.path) == ["config.json", "model.safetensors", "vocab.txt", "README.md"])
        let sharded = [
            "model.safetensors.index.json", "model-00001-of-00002.safetensors",
            "model-00002-of-00002.safetensors", "pytorch_model.bin",
        ]
        .map { RemoteFile(path: $0, size: 1, blobID: String(repeating: "a", count: 40), lfsSHA256: nil) }
        let shards = FileSelection().choose(from: sharded, entry: entry, weights: registry.weightPreference)
        #expect(shards.map(\.path) == sharded.prefix(3).map(\.path))
    }

    // MARK: - HTTP faults (defence table H)

    /// H1: the connection drops mid-file; the next try resumes with a byte range and the blob is intact.
    @Test func connectionCutResumesWithARange() throws {
        try hub.fault(Self.weights, "cut", ["bytes": .int(40000)])
        let result = try pull()
        #expect(result.downloaded.contains(Self.weights))
        let gets = try hub.downloads(of: Self.weights)
        #expect(gets.map(\.range) == [nil, "bytes=40000-"])
        #expect(try sha256Hex(blobs + "/" + weightsSHA) == weightsSHA)
        try expectCacheClean()
    }

    /// H9: 500 twice, then success; 429 with Retry-After is honoured (the wait is the server's, not the backoff's).
    @Test func serverErrorsAndRetryAfter() throws {
        try hub.fault(Self.weights, "status", count: 2, ["status": .int(500)])
        _ = try pull()
        #expect(try hub.downloads(of: Self.weights).count == 3)

        try FileManager.default.removeItem(atPath: cache)
        try hub.reset()
        try hub.fault(
            "/config.json", "status",  // not tokenizer_config.json, which downloads at the same time
            ["status": .int(429), "headers": .object(JSONObject([("Retry-After", .string("1"))]))])
        let start = Date()
        _ = try pull()
        #expect(Date().timeIntervalSince(start) >= 1.0)
        #expect(try hub.downloads(of: "config.json").count == 2)
    }

    /// H9: retries are bounded; after them the error names the status.
    @Test func persistentServerErrorFails() throws {
        try hub.fault(Self.weights, "status", count: 10, ["status": .int(503)])
        #expect {
            try pull()
        } throws: { error in
            guard case HubError.http(_, 503, _) = error else { return false }
            return true
        }
        #expect(try hub.downloads(of: Self.weights).count == 5)
        try expectCacheClean()
    }

    /// H8: 401 without a token and 403 with a wrong one are distinct errors that mention tokens; not retried.
    @Test func gatedRepoNeedsTheRightToken() throws {
        #expect(throws: HubError.unauthorized(repo: "modelhub-test/gated", hadToken: false)) {
            try pull("modelhub-test/gated")
        }
        #expect(throws: HubError.forbidden(repo: "modelhub-test/gated")) {
            try pull("modelhub-test/gated", token: "hf_wrong")
        }
        #expect(HubError.unauthorized(repo: "x/y", hadToken: false).description.contains("HF_TOKEN"))
        let result = try pull("modelhub-test/gated", token: "hf_secret")
        #expect(result.downloaded.count == 5)
        #expect(try hub.log().filter { $0.path.contains("gated") }.count == 2 + 1 + 1 + 5)  // 401, 403, 2 API, 5 files
    }

    /// H8: a missing repo, revision or file: three different errors.
    @Test func notFoundKinds() throws {
        #expect(throws: HubError.repoNotFound(repo: "modelhub-test/nope")) { try pull("modelhub-test/nope") }
        #expect(throws: HubError.revisionNotFound(repo: Self.repo, revision: "nobranch")) {
            try pull(revision: "nobranch")
        }
        try hub.fault(
            "vocab.txt", "status",
            ["status": .int(404), "headers": .object(JSONObject([("X-Error-Code", .string("EntryNotFound"))]))])
        #expect(throws: HubError.fileNotFound(repo: Self.repo, revision: "main", path: "vocab.txt")) { try pull() }
    }

    /// H6, defence §4: a redirect to another host or port is followed without the token.
    ///
    /// The Hub itself got it. H7: a redirect to file:// is refused.
    @Test(arguments: ["other-host", "other-port"])
    func redirectsNeverCarryTheToken(_ target: String) throws {
        try hub.fault(Self.weights, "redirect", ["to": .string(target)])
        let result = try pull(token: "hf_secret")
        #expect(result.downloaded.contains(Self.weights))
        let gets = try hub.downloads(of: Self.weights)
        #expect(gets.count == 2)
        #expect(gets[0].authorization == "Bearer hf_secret" && gets[0].host == String(hub.endpoint.dropFirst(7)))
        #expect(gets[1].authorization == nil && gets[1].path.hasPrefix("/cdn/"))
        #expect(gets[1].host == String((target == "other-host" ? hub.otherHost : hub.otherPort).dropFirst(7)))
        try expectCacheClean()
    }

    @Test func redirectToAFileURLIsRefused() throws {
        try hub.fault(Self.weights, "redirect", ["to": .string("file")])
        #expect(throws: HubError.redirectRefused(url: "file:///etc/passwd")) { try pull() }
        try expectCacheClean()
    }

    /// A wrong SHA-256 (same size) fails clearly and keeps nothing: no blob, no partial file, no snapshot link.
    @Test func corruptBodyIsDiscarded() throws {
        try hub.fault(Self.weights, "corrupt")
        #expect {
            try pull()
        } throws: { error in
            guard case HubError.corruptDownload(Self.weights, let reason) = error else { return false }
            return reason.contains("sha256")
        }
        #expect(!FileManager.default.fileExists(atPath: blobs + "/" + (try weightsSHA)))
        #expect(
            (try? FileManager.default.destinationOfSymbolicLink(
                atPath: cache + "/models--modelhub-test--tiny-bert/snapshots/\(Self.commit)/\(Self.weights)")) == nil)
        try expectCacheClean()
        // A small git file is checked too (its etag is the git blob SHA-1).
        try hub.fault("vocab.txt", "corrupt")
        #expect {
            try pull()
        } throws: { error in
            guard case HubError.corruptDownload("vocab.txt", let reason) = error else { return false }
            return reason.contains("git blob id")
        }
    }

    /// H2/H12: more bytes than the file has aborts the transfer (nothing written past the size).
    @Test func longerBodyIsRefused() throws {
        try hub.fault(Self.weights, "extra", count: 10, ["bytes": .int(1000)])
        #expect {
            try pull()
        } throws: { error in
            guard case HubError.transfer(_, let reason) = error else { return false }
            return reason.contains("more than")
        }
        try expectCacheClean(allowPartial: true)
    }

    /// H10: a server that stops sending is abandoned after the low-speed timeout (not after its own 30 s) and the
    /// next try resumes; a server that always stalls fails with a timeout.
    @Test func stalledServerTimesOut() throws {
        try hub.fault(Self.weights, "stall", ["bytes": .int(1000), "seconds": .int(30)])
        let start = Date()
        _ = try pull(timeout: 1)
        #expect(Date().timeIntervalSince(start) < 4)  // 1 s of silence noticed, one 0.05 s backoff, the rest
        #expect(try hub.downloads(of: Self.weights).map(\.range) == [nil, "bytes=1000-"])
        try expectCacheClean()
    }

    /// H3/H4: a resume answered with 200 (the whole file) or with a 206 starting elsewhere is refused by libcurl;
    /// the download starts over and ends intact.
    @Test(arguments: ["ignore-range", "bad-range"])
    func brokenRangeAnswersRestart(_ mode: String) throws {
        try hub.fault(Self.weights, "cut", ["bytes": .int(30000)])
        try hub.fault(Self.weights, mode)
        _ = try pull()
        #expect(try hub.downloads(of: Self.weights).map(\.range) == [nil, "bytes=30000-", nil])
        #expect(try sha256Hex(blobs + "/" + weightsSHA) == weightsSHA)
        try expectCacheClean()
    }

    /// K7: file names from the server that would leave the snapshot folder are refused before anything is written.
    @Test func unsafeNamesFromTheServerAreRefused() throws {
        let listing =
            #"[{"type": "file", "path": "../../evil", "size": 1, "oid": "\#(String(repeating: "a", count: 40))"}]"#
        try hub.fault("/tree/" + Self.commit, "status", ["status": .int(200), "body": .string(listing)])
        #expect {
            try pull()
        } throws: { error in
            guard case HubError.badAnswer(_, let reason) = error else { return false }
            return reason.contains("bad path")
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/evil"))
    }

    /// The Hub's own headers on the file (X-Linked-Size, X-Linked-Etag, X-Repo-Commit) must agree with the listing.
    @Test func headersMustAgreeWithTheListing() throws {
        let (_, files) = try client().listing(repo: Self.repo, revision: "main")
        let entries = files.map { file -> String in
            let size = file.path == Self.weights ? file.size + 1 : file.size
            let lfs = file.lfsSHA256.map { #", "lfs": {"oid": "\#($0)", "size": \#(size)}"# } ?? ""
            return #"{"type": "file", "path": "\#(file.path)", "size": \#(size), "oid": "\#(file.blobID)"\#(lfs)}"#
        }
        try hub.fault(
            "/tree/" + Self.commit, "status",
            ["status": .int(200), "body": .string("[" + entries.joined(separator: ", ") + "]")])
        #expect {
            try pull()
        } throws: { error in
            guard case HubError.badAnswer(_, let reason) = error else { return false }
            return reason == "size 107128, but the listing says 107129"
        }
        try expectCacheClean()
    }

    // MARK: - Cache (defence table K)

    /// K3: a partial download left by an earlier run is taken over and resumed from its size.
    @Test func leftoverPartialIsResumed() throws {
        try FileManager.default.createDirectory(atPath: blobs, withIntermediateDirectories: true)
        let bytes = try readBytes(Fixtures.path("models/tiny-bert/" + Self.weights))
        let partial = blobs + "/" + (try weightsSHA) + ".1a2b3c4d.incomplete"
        try writeBytes(Array(bytes.prefix(25000)), to: partial)
        // Fresh partial files may belong to a live download whose lock did not exclude us: not taken over.
        let fresh = try pull()
        #expect(fresh.bytesReceived == 113_040)
        #expect(FileManager.default.fileExists(atPath: partial))
        try FileManager.default.removeItem(atPath: cache + "/models--modelhub-test--tiny-bert")
        try hub.reset()
        try FileManager.default.createDirectory(atPath: blobs, withIntermediateDirectories: true)
        try writeBytes(Array(bytes.prefix(25000)), to: partial)
        let old = Date(timeIntervalSinceNow: -60)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: partial)
        let result = try pull()
        #expect(result.bytesReceived == Int64(113_040 - 25000))
        #expect(try hub.downloads(of: Self.weights).map(\.range) == ["bytes=25000-"])
        try expectCacheClean()
    }

    /// K8: offline, nothing is sent at all; answers come from the cache, and what is missing is named.
    @Test func offlineSendsNothing() throws {
        let offline = client(offline: true)
        #expect(throws: HubError.offline(url: hub.endpoint + "/api/models/\(Self.repo)/revision/main")) {
            try offline.listing(repo: Self.repo, revision: "main")
        }
        #expect {
            try offline.cached(Self.repo, registry: Registry.builtIn())
        } throws: { error in
            guard case HubError.notCached = error else { return false }
            return true
        }
        #expect(try hub.log().isEmpty)
        _ = try pull()
        let (model, snapshot) = try offline.cached(Self.repo, registry: Registry.builtIn())
        #expect(model.commit == Self.commit && snapshot.files.count == 5)
        #expect(model.files.first { $0.path == Self.weights }?.lfsSHA256 == (try weightsSHA))
    }

    /// K9: the index mirrors the folder, survives a corrupt file (rebuilt) and keeps last use.
    @Test func indexIsRebuiltFromTheFolder() throws {
        _ = try pull()
        let cacheView = HubCache(root: cache)
        let index = try HubIndex(root: cache)
        try index.refresh(cacheView.scan())
        try index.touch(folder: "models--modelhub-test--tiny-bert", repo: Self.repo)
        let rows = try index.files(folder: "models--modelhub-test--tiny-bert")
        #expect(rows.count == 5)
        #expect(rows.first { $0[1] == Self.weights }?[4] == (try weightsSHA))
        #expect(try index.lastUsed()["models--modelhub-test--tiny-bert"] != nil)

        try writeBytes(Array(repeating: 0x41, count: 8192), to: HubIndex.path(in: cache))
        for suffix in ["-wal", "-shm"] {
            try? FileManager.default.removeItem(atPath: HubIndex.path(in: cache) + suffix)
        }
        let rebuilt = try HubIndex(root: cache)
        #expect(rebuilt.rebuilt)
        try rebuilt.refresh(cacheView.scan())
        #expect(try rebuilt.files(folder: "models--modelhub-test--tiny-bert").count == 5)
        #expect(Array(try readBytes(HubIndex.path(in: cache)).prefix(15)) == Array("SQLite format 3".utf8))
    }

    /// rm of one revision keeps blobs another snapshot uses; gc removes unreferenced blobs and partial files
    /// whose lock is free, and spares one whose lock is held (a live download).
    @Test func removeAndCollectGarbage() throws {
        _ = try pull()
        let view = HubCache(root: cache)
        let folder = "models--modelhub-test--tiny-bert"
        try writeBytes([1, 2, 3], to: blobs + "/" + String(repeating: "b", count: 40))
        let stale = blobs + "/" + String(repeating: "c", count: 64) + ".00000000.incomplete"
        let live = blobs + "/" + String(repeating: "d", count: 64) + ".11111111.incomplete"
        try writeBytes([1], to: stale)
        try writeBytes([2], to: live)
        let held = try #require(
            FileLock.tryLock(path: cache + "/.locks/\(folder)/" + String(repeating: "d", count: 64) + ".lock"))
        let dry = view.collectGarbage(dryRun: true)
        #expect(dry.unreferencedBlobs.count == 1 && dry.staleDownloads == [stale])
        #expect(FileManager.default.fileExists(atPath: stale))
        let report = view.collectGarbage(dryRun: false)
        #expect(report.freedBytes == 4)
        #expect(!FileManager.default.fileExists(atPath: stale) && FileManager.default.fileExists(atPath: live))
        withExtendedLifetime(held) {}

        let removal = try view.remove(folders: [folder], revision: "main")
        #expect(removal.folders == [folder])  // its only snapshot: the folder goes
        #expect(!FileManager.default.fileExists(atPath: cache + "/" + folder))
        #expect(view.scan().isEmpty)
    }
}

/// SHA-256 of a file, as hex.
func sha256Hex(_ path: String) throws -> String {
    let bytes = try readBytes(path)
    return bytes.withUnsafeBytes { sha256Hex($0) }
}

import Foundation
import TestSupport
import Testing

@testable import Hub

/// `HubClient.locate`, the one way from a name to a local snapshot: paths as given, the cache when complete, a
/// pull otherwise (never offline), `refresh` asking the Hub, and every use recorded in the index.
@Suite struct LocateTests {
    static let commit = "3b0c2b8d3e4a5b6c7d8e9f00112233445566778c"

    @Test func namesBecomeSnapshotsOnce() throws {
        let scratch = try ScratchFolder("modelhub-locate")
        defer { scratch.remove() }
        let source = Fixtures.path("models/tiny-bert")
        let hub = try FakeHub(repos: [.init("modelhub-test/tiny-bert", folder: source, commit: Self.commit)])
        func client(offline: Bool = false) -> HubClient {
            HubClient(
                environment: HubEnvironment([
                    "HF_ENDPOINT": hub.endpoint, "HF_HUB_CACHE": scratch.path + "/hub", "HOME": scratch.path,
                    "HF_HUB_OFFLINE": offline ? "1" : "0",
                ]))
        }
        // A path is used as it is, with nothing asked.
        let local = try client().locate(source)
        #expect(local.path == source && local.resolved == nil)
        #expect(try hub.log().isEmpty)
        // Offline, a name not in the cache is an error naming it.
        #expect(throws: HubError.self) { try client(offline: true).locate("modelhub-test/tiny-bert") }
        // Only the tokenizer files, then the whole model: each file fetched once.
        let tokenizer = try client().locate("modelhub-test/tiny-bert", selection: .tokenizer)
        #expect(!tokenizer.downloaded.contains("model.safetensors") && tokenizer.downloaded.contains("vocab.txt"))
        let whole = try client().locate("modelhub-test/tiny-bert")
        #expect(whole.downloaded.contains("model.safetensors") && !whole.downloaded.contains("vocab.txt"))
        #expect(whole.path.hasSuffix("/snapshots/" + Self.commit) && whole.resolved?.commit == Self.commit)
        #expect(try hub.downloads(of: "vocab.txt").count == 1)
        // Complete in the cache: no request at all, online or offline; `refresh` asks the Hub, fetches nothing.
        try hub.reset()
        #expect(try client().locate("modelhub-test/tiny-bert").downloaded.isEmpty)
        #expect(try client(offline: true).locate("modelhub-test/tiny-bert").path == whole.path)
        #expect(try hub.log().isEmpty)
        let refreshed = try client().locate("modelhub-test/tiny-bert", refresh: true)
        let asked = try hub.log()
        #expect(refreshed.downloaded.isEmpty && !asked.isEmpty)
        // Every use is in the index (what `hub ls` shows).
        let used = try HubIndex(root: scratch.path + "/hub").lastUsed()
        #expect(used["models--modelhub-test--tiny-bert"] != nil, "\(used)")
    }
}

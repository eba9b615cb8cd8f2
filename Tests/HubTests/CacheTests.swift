import Foundation
import Hub
import Testing

/// The Hugging Face cache, read as huggingface_hub writes it (Tests/Fixtures/hf-cache was written by
/// huggingface_hub 2.4 itself, against Tests/Fixtures/fake_hub.py on loopback: see generate.py, hf_cache()).
@Suite struct CacheTests {
    static let fixtures: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<2 { url.deleteLastPathComponent() }
        return url.path + "/Fixtures"
    }()
    let cache = HubCache(root: fixtures + "/hf-cache")
    let bertCommit = "1f0c2b8d3e4a5b6c7d8e9f00112233445566778a"

    @Test func environmentFollowsThePythonClient() {
        let plain = HubEnvironment(["HOME": "/home/u"])
        #expect(plain.cacheDirectory == "/home/u/.cache/huggingface/hub")
        #expect(plain.home == "/home/u/.cache/huggingface")
        #expect(plain.endpoint == "https://huggingface.co")
        #expect(!plain.offline)
        #expect(HubEnvironment(["HOME": "/h", "XDG_CACHE_HOME": "/x"]).cacheDirectory == "/x/huggingface/hub")
        #expect(HubEnvironment(["HOME": "/h", "HF_HOME": "~/hf"]).cacheDirectory == "/h/hf/hub")
        #expect(HubEnvironment(["HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/legacy"]).cacheDirectory == "/legacy")
        #expect(HubEnvironment(["HF_HUB_CACHE": "/new", "HUGGINGFACE_HUB_CACHE": "/legacy"]).cacheDirectory == "/new")
        #expect(HubEnvironment(["HF_ENDPOINT": "http://127.0.0.1:8080/"]).endpoint == "http://127.0.0.1:8080")
        for value in ["1", "on", "YES", "true"] { #expect(HubEnvironment(["HF_HUB_OFFLINE": value]).offline) }
        #expect(HubEnvironment(["TRANSFORMERS_OFFLINE": "1"]).offline)
        #expect(!HubEnvironment(["HF_HUB_OFFLINE": "0"]).offline)
        #expect(HubEnvironment(["HF_HUB_DOWNLOAD_TIMEOUT": "3"]).downloadTimeout == 3)
        #expect(HubEnvironment([:]).downloadTimeout == 10 && HubEnvironment([:]).metadataTimeout == 10)
    }

    /// The token, in the Python client's order: --token, HF_TOKEN (legacy HUGGING_FACE_HUB_TOKEN), the token file
    /// (HF_TOKEN_PATH, default $HF_HOME/token); whitespace trimmed, empty means none.
    @Test func tokenLookupOrder() throws {
        let home = FileManager.default.temporaryDirectory.path + "/modelhub-token-\(getpid())"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        #expect(HubEnvironment(["HF_HOME": home]).token() == nil)
        try "hf_from_file\n".write(toFile: home + "/token", atomically: true, encoding: .utf8)
        #expect(HubEnvironment(["HF_HOME": home]).token() == "hf_from_file")
        #expect(HubEnvironment(["HF_HOME": home, "HUGGING_FACE_HUB_TOKEN": "hf_legacy"]).token() == "hf_legacy")
        #expect(
            HubEnvironment(["HF_HOME": home, "HF_TOKEN": " hf_env ", "HUGGING_FACE_HUB_TOKEN": "x"]).token() == "hf_env"
        )
        #expect(HubEnvironment(["HF_HOME": home, "HF_TOKEN": "hf_env"]).token(explicit: "hf_flag") == "hf_flag")
        #expect(HubEnvironment(["HF_HOME": home, "HF_TOKEN": ""]).token() == "hf_from_file")
        try "hf_elsewhere".write(toFile: home + "/other", atomically: true, encoding: .utf8)
        #expect(HubEnvironment(["HF_HOME": home, "HF_TOKEN_PATH": home + "/other"]).token() == "hf_elsewhere")
    }

    @Test func folderNamesAreThePythonClients() {
        #expect(HubCache.folderName(for: "google-bert/bert-base-uncased") == "models--google-bert--bert-base-uncased")
        #expect(HubCache.folderName(for: "gpt2") == "models--gpt2")
    }

    @Test func readsTheSnapshotsHuggingFaceHubWrote() throws {
        let main = try #require(cache.snapshot(of: ["modelhub-test/tiny-bert"]))
        #expect(main.commit == bertCommit)
        #expect(main.folder.hasSuffix("/models--modelhub-test--tiny-bert/snapshots/" + bertCommit))
        let original = Self.fixtures + "/models/tiny-bert"
        let expected = try FileManager.default.contentsOfDirectory(atPath: original).sorted()
        #expect(main.files == expected)
        for file in main.files {
            // Each snapshot entry is a relative link into blobs/, with the original bytes.
            let link = try FileManager.default.destinationOfSymbolicLink(atPath: main.folder + "/" + file)
            #expect(link.hasPrefix("../../blobs/"))
            #expect(
                FileManager.default.contents(atPath: main.folder + "/" + file)
                    == FileManager.default.contents(atPath: original + "/" + file))
        }
        // A tag ref and the commit itself lead to the same snapshot.
        #expect(cache.snapshot(of: ["modelhub-test/tiny-bert"], revision: "v1.0")?.commit == bertCommit)
        #expect(cache.snapshot(of: ["modelhub-test/tiny-bert"], revision: bertCommit)?.folder == main.folder)
    }

    @Test func missingRevisionsAndEscapesFindNothing() {
        #expect(cache.snapshot(of: ["modelhub-test/tiny-bert"], revision: "v2") == nil)
        #expect(cache.snapshot(of: ["modelhub-test/tiny-bert"], revision: "../../models--tiny-gpt2/refs/main") == nil)
        #expect(cache.snapshot(of: ["modelhub-test/absent"]) == nil)
        #expect(HubCache(root: "/nonexistent").snapshot(of: ["a/b"]) == nil)
    }

    @Test func aLegacyNameLivesInItsOwnFolder() throws {
        // hf_hub_download("tiny-gpt2", ...) cached it as models--tiny-gpt2, not under the canonical id.
        let snapshot = try #require(cache.snapshot(of: ["modelhub-test/tiny-gpt2", "tiny-gpt2"]))
        #expect(snapshot.repo == "tiny-gpt2")
        #expect(snapshot.files == ["config.json", "merges.txt", "pytorch_model.bin", "tokenizer.json", "vocab.json"])
    }

    @Test func catalogModelsAreFoundUnderTheirAliasOrTheirCanonicalFolder() throws {
        let root =
            FileManager.default.temporaryDirectory.path + "/cache-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let registry = try Registry.builtIn()
        let gpt2 = try #require(registry.entry(named: "gpt2"))
        for folder in ["models--gpt2", "models--openai-community--gpt2"] {
            let commit = String(repeating: folder.count % 2 == 0 ? "a" : "b", count: 40)
            try FileManager.default.createDirectory(
                atPath: "\(root)/\(folder)/snapshots/\(commit)", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: "\(root)/\(folder)/refs", withIntermediateDirectories: true)
            try Data((commit + "\n").utf8).write(to: URL(fileURLWithPath: "\(root)/\(folder)/refs/main"))
            try Data("{}".utf8).write(to: URL(fileURLWithPath: "\(root)/\(folder)/snapshots/\(commit)/config.json"))
        }
        let cache = HubCache(root: root)
        // As typed first, then the canonical id.
        #expect(cache.snapshot(for: .catalog(gpt2), typed: "gpt2")?.repo == "gpt2")
        #expect(cache.snapshot(for: .catalog(gpt2), typed: "openai-community/gpt2")?.repo == "openai-community/gpt2")
        try FileManager.default.removeItem(atPath: root + "/models--gpt2")
        #expect(cache.snapshot(for: .catalog(gpt2), typed: "gpt2")?.repo == "openai-community/gpt2")
    }
}

import Foundation
import TestSupport
import Testing

@testable import Hub
@testable import Models
@testable import Tokenizers

/// `AutoTokenizer.fromPretrained(NAME)`: a catalog name resolved and pulled from the loopback Hub
/// (Tests/Fixtures/fake_hub.py) into a scratch cache — the tokenizer files only — then read offline from the cache.
@Suite(.serialized) struct PretrainedTests {
    static let commit = "2a0c2b8d3e4a5b6c7d8e9f00112233445566778b"

    @Test func tokenizerByName() async throws {
        let scratch = try ScratchFolder("modelhub-models")
        defer { scratch.remove() }
        // A GPT-2 repo: the tiny model's config and weights, the trained byte-level BPE tokenizer.
        let repo = scratch.path + "/repo"
        try FileManager.default.createDirectory(atPath: repo, withIntermediateDirectories: true)
        for name in ["config.json", "pytorch_model.bin"] {
            try copyFile(Fixtures.path("models/tiny-gpt2/" + name), repo + "/" + name)
        }
        for name in ["tokenizer.json", "vocab.json", "merges.txt"] {
            try copyFile(Fixtures.path("tokenizers/gpt2-bpe/" + name), repo + "/" + name)
        }
        let hub = try FakeHub(repos: [.init("openai-community/gpt2", folder: repo, commit: Self.commit)])
        func client(offline: Bool) -> HubClient {
            HubClient(
                environment: HubEnvironment([
                    "HF_ENDPOINT": hub.endpoint, "HF_HUB_CACHE": scratch.path + "/hub", "HOME": scratch.path,
                    "HF_HUB_OFFLINE": offline ? "1" : "0",
                ]))
        }
        // Offline with an empty cache: a clear error, nothing asked of the Hub.
        await #expect(throws: HubError.self) {
            try await AutoTokenizer.fromPretrained("gpt2", client: client(offline: true))
        }
        #expect(try hub.log().isEmpty)

        let pulled = try await AutoTokenizer.fromPretrained("gpt2", client: client(offline: false))
        let local = try Tokenizer.load(file: Fixtures.path("tokenizers/gpt2-bpe/tokenizer.json"))
        let text = "Hello world, this is ModelHub's tokenizer test."
        #expect(pulled.encode(text) == local.encode(text) && !local.encode(text).ids.isEmpty)
        #expect(try hub.downloads(of: "tokenizer.json").count == 1)
        #expect(try hub.downloads(of: "model.safetensors").isEmpty)  // the weights stay on the Hub

        // The cached copy is found offline under the name, the alias's canonical id, and the folder itself.
        try hub.reset()
        for name in ["gpt2", "openai-community/gpt2"] {
            let cached = try await AutoTokenizer.fromPretrained(name, client: client(offline: true))
            #expect(cached.encode(text) == local.encode(text))
        }
        let folder = try await AutoTokenizer.fromPretrained(
            Fixtures.path("tokenizers/gpt2-bpe"), client: client(offline: true))
        #expect(folder.encode(text) == local.encode(text))
        #expect(try hub.log().isEmpty)
        // Online again with everything cached: no file is fetched twice.
        _ = try await AutoTokenizer.fromPretrained("gpt2", client: client(offline: false))
        #expect(try hub.log().filter { $0.path.contains("/resolve/") }.isEmpty)
    }

    /// `AutoModelForCausalLM.fromPretrained(NAME)`: pulled from the loopback Hub, loaded, equal to the folder
    /// itself; then `AutoModel` and `AutoConfig` by name offline from the cache.
    @Test func modelByName() async throws {
        let scratch = try ScratchFolder("modelhub-models")
        defer { scratch.remove() }
        let source = Fixtures.path("models/tiny-gpt2")
        let hub = try FakeHub(repos: [.init("openai-community/gpt2", folder: source, commit: Self.commit)])
        func client(offline: Bool) -> HubClient {
            HubClient(
                environment: HubEnvironment([
                    "HF_ENDPOINT": hub.endpoint, "HF_HUB_CACHE": scratch.path + "/hub", "HOME": scratch.path,
                    "HF_HUB_OFFLINE": offline ? "1" : "0",
                ]))
        }
        let pulled = try await AutoModelForCausalLM.fromPretrained("gpt2", client: client(offline: false))
        #expect(try hub.downloads(of: "pytorch_model.bin").count == 1)
        // Loaded from code, the model shows in `hub ls` with its last use.
        let used = try HubIndex(root: scratch.path + "/hub").lastUsed()
        #expect(used.keys.contains { $0.hasSuffix("gpt2") }, "\(used)")
        let lm = pulled
        let local = try AutoModelForCausalLM.load(source)
        let prompt = [[84, 72, 69, 221, 76]]
        #expect(try lm.generate(prompt) == local.generate(prompt))
        #expect(lm.tokenizer?.encode("the licence").ids == local.tokenizer?.encode("the licence").ids)
        try hub.reset()
        let base = try await AutoModel.fromPretrained("openai-community/gpt2", client: client(offline: true))
        #expect(base is GPT2Model && base.className == "GPT2Model")
        let config = try await AutoConfig.fromPretrained("gpt2", client: client(offline: true))
        #expect(config.modelType == "gpt2" && config.hiddenSize == 32)
        #expect(try hub.log().isEmpty)
        await #expect(throws: ModelError.self) {
            try await AutoModelForMaskedLM.fromPretrained("gpt2", client: client(offline: true))
        }
    }
}

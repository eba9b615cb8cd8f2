import Foundation
import Hub
import Testing

/// The built-in catalog: the models issue 5 names, resolution order, search and suggestions.
@Suite struct RegistryTests {
    let registry = try! Registry.builtIn()

    @Test func embeddedCatalogIsRegistryModelsJSON() throws {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let file = try String(contentsOf: root.appendingPathComponent("registry/models.json"), encoding: .utf8)
        let embedded = try Registry(json: Array(file.utf8))
        #expect(embedded.entries == registry.entries, "run `make registry` after editing registry/models.json")
        #expect(embedded.weightPreference == registry.weightPreference)
    }

    @Test(arguments: [
        ("bert-base-uncased", "google-bert/bert-base-uncased", "bert"),
        ("bert-base-cased", "google-bert/bert-base-cased", "bert"),
        ("bert-large-uncased", "google-bert/bert-large-uncased", "bert"),
        ("bert-base-multilingual-cased", "google-bert/bert-base-multilingual-cased", "bert"),
        ("distilbert-base-uncased", "distilbert/distilbert-base-uncased", "distilbert"),
        ("gpt2", "openai-community/gpt2", "gpt2"), ("gpt2-medium", "openai-community/gpt2-medium", "gpt2"),
        ("gpt2-large", "openai-community/gpt2-large", "gpt2"), ("distilgpt2", "distilbert/distilgpt2", "gpt2"),
        ("roberta-base", "FacebookAI/roberta-base", "roberta"),
        ("roberta-large", "FacebookAI/roberta-large", "roberta"),
        ("distilroberta-base", "distilbert/distilroberta-base", "roberta"),
        ("sentence-transformers/all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", "bert"),
    ])
    func catalogHasTheModelsUsersAskFor(_ name: String, _ repo: String, _ architecture: String) throws {
        let entry = try #require(registry.entry(named: name))
        #expect(entry.repo == repo)
        #expect(entry.architecture == architecture)
        #expect(entry.supported)
        #expect(entry.files.contains("config.json"))
        #expect(!entry.license.isEmpty && !entry.tasks.isEmpty)
        let tokenizerFiles =
            architecture == "gpt2" || architecture == "roberta" ? ["vocab.json", "merges.txt"] : ["vocab.txt"]
        #expect(tokenizerFiles.allSatisfy(entry.files.contains), "\(entry.files)")
    }

    @Test func weightsArePreferredAsTransformersPrefersThem() {
        #expect(
            registry.weightPreference == [
                "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json",
            ])
    }

    @Test func resolutionOrderIsLocalPathThenCatalogThenRepoID() throws {
        // A folder named like a catalog model is used as is.
        #expect(try registry.resolve("gpt2", pathExists: { $0 == "gpt2" }) == .local(path: "gpt2"))
        // Short names, aliases and canonical ids all reach the catalog entry, whatever their case.
        let gpt2 = try #require(registry.entry(named: "gpt2"))
        for name in ["gpt2", "GPT2", "openai-community/gpt2", "gpt2-small"] {
            #expect(try registry.resolve(name, pathExists: { _ in false }) == .catalog(gpt2), "\(name)")
        }
        #expect(
            try registry.resolve("my-org/tiny_model.v2", pathExists: { _ in false }) == .repo("my-org/tiny_model.v2"))
    }

    @Test(arguments: [("bert-base-uncase", "bert-base-uncased"), ("robreta-base", "roberta-base"), ("gtp2", "gpt2")])
    func typosFailWithTheClosestNames(_ typo: String, _ meant: String) {
        let error = #expect(throws: HubError.self) { try registry.resolve(typo, pathExists: { _ in false }) }
        guard case .unknownModel(let name, let suggestions) = error else { return }
        #expect(name == typo)
        #expect(suggestions.first == meant && suggestions.count <= 3, "\(suggestions)")
        #expect(error?.description.contains("did you mean \(meant)") == true)
    }

    @Test(arguments: ["org/", "/name", "a/b/c", "org--x/name", "org/na..me", "-org/name", "org/name.", "org/na me"])
    func malformedRepoIDsAreRefused(_ text: String) {
        #expect(!Registry.isRepoID(text))
        #expect(throws: HubError.self) { try registry.resolve(text, pathExists: { _ in false }) }
    }

    @Test func searchMatchesEveryWordAndRanksNameMatchesFirst() {
        #expect(registry.search("gpt2").map(\.name) == ["gpt2", "gpt2-medium", "gpt2-large", "distilgpt2"])
        #expect(registry.search("roberta large").map(\.name) == ["roberta-large"])
        #expect(
            registry.search("embed minilm").map(\.name) == [
                "all-MiniLM-L6-v2", "paraphrase-multilingual-MiniLM-L12-v2",
            ])
        #expect(registry.search("multilingual embeddings").map(\.name).first == "multilingual-e5-small")
        #expect(registry.search("nothing-like-this").isEmpty)
        #expect(registry.search("").count == registry.entries.count)
    }

    @Test func duplicateNamesInACatalogAreRefused() {
        let catalog =
            #"{"weights": ["model.safetensors"], "models": ["#
            + Array(
                repeating:
                    #"{"name": "a", "repo": "o/a", "architecture": "bert", "supported": true, "license": "mit"}"#,
                count: 2
            )
            .joined(separator: ",") + "]}"
        #expect(throws: HubError.badCatalog(reason: "'a' names two models")) { try Registry(json: Array(catalog.utf8)) }
    }
}

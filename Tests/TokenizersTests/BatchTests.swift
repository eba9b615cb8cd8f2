import Formats
import TestSupport
import Testing

@testable import Tokenizers

/// `encodeBatch` with truncation and padding against tokenizers' `encode_batch` with the same `enable_truncation`
/// / `enable_padding` settings (reference-batch.json, from generate_tokenizers.py): ids, type ids, attention and
/// special-tokens masks, offsets — and the same refusal where tokenizers refuses.
@Suite struct BatchTests {
    @Test func matchesTokenizers() throws {
        let corpus = try Fixtures.json(Fixtures.path("tokenizers/corpus.json")).array?.compactMap(\.string) ?? []
        let reference = try Fixtures.json(Fixtures.path("tokenizers/reference-batch.json"))
        let cases = try #require(reference.array)
        let tokenizer = try Tokenizer.load(file: Fixtures.path("tokenizers/minilm-uncased/tokenizer.json"))
        #expect(cases.count == 5)
        for item in cases.compactMap(\.object) {
            let settings = try #require(item["settings"]?.array)
            let strategy: Truncation.Strategy =
                switch settings[0].string {
                case "only_first": .onlyFirst
                case "only_second": .onlySecond
                default: .longestFirst
                }
            let truncation = Truncation(
                maxLength: settings[1].integer ?? 0, strategy: strategy,
                direction: settings[2].string == "left" ? .left : .right)
            let padding = Padding(
                length: settings[3].integer.map { .fixed($0) } ?? .longest, left: settings[4].string == "left",
                multipleOf: settings[5].integer)
            let texts = Array(corpus.prefix(48))
            let isPair = settings[6] == .bool(true)
            let first = isPair ? stride(from: 0, to: 48, by: 2).map { texts[$0] } : texts
            let second = isPair ? stride(from: 1, to: 48, by: 2).map { texts[$0] } : nil
            let label = "\(settings.map { $0.serialized() })"
            if item["error"] != nil {
                #expect(throws: TokenizerError.self, "\(label)") {
                    try tokenizer.encodeBatch(first, pairs: second, truncation: truncation, padding: padding)
                }
                continue
            }
            let encodings = try tokenizer.encodeBatch(first, pairs: second, truncation: truncation, padding: padding)
            let expected = (item["encodings"]?.array ?? []).compactMap(\.object)
            try #require(!expected.isEmpty)
            #expect(encodings.count == expected.count)
            for (encoding, want) in zip(encodings, expected) {
                func ints(_ key: String) -> [Int32] { want[key]?.array?.compactMap(\.integer).map { Int32($0) } ?? [] }
                #expect(encoding.ids == ints("ids"), "\(label)")
                #expect(encoding.typeIDs == ints("type_ids"), "\(label)")
                #expect(encoding.attentionMask == ints("attention"), "\(label)")
                #expect(encoding.specialTokensMask == ints("special"), "\(label)")
                let flat = ints("offsets").map(Int.init)
                #expect(encoding.offsets == stride(from: 0, to: flat.count, by: 2).map { flat[$0]..<flat[$0 + 1] })
            }
        }
    }

    /// The batch gives what encoding one by one gives, in order, whatever the number of workers.
    @Test func batchEqualsOneByOne() throws {
        let corpus = try Fixtures.json(Fixtures.path("tokenizers/corpus.json")).array?.compactMap(\.string) ?? []
        let tokenizer = try Tokenizer.load(file: Fixtures.path("tokenizers/minilm-uncased/tokenizer.json"))
        let batch = try tokenizer.encodeBatch(corpus)
        #expect(batch == corpus.map { tokenizer.encode($0) })
        #expect(throws: TokenizerError.self) { try tokenizer.encodeBatch(["a", "b"], pairs: ["c"]) }
    }
}

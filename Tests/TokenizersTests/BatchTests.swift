import Support
import TestSupport
import Testing

@testable import Tokenizers

/// `encodeBatch` with truncation and padding against tokenizers' `encode_batch` with the same `enable_truncation`
/// / `enable_padding` settings (reference-batch.json, from generate_tokenizers.py): ids, type ids, attention and
/// special-tokens masks, offsets, the overflowing windows (stride) with their nesting — and the same refusal where
/// tokenizers refuses (a text too short for only_first/only_second, a stride not shorter than the cut).
@Suite struct BatchTests {
    @Test func matchesTokenizers() throws {
        let corpus = try Fixtures.json(Fixtures.path("tokenizers/corpus.json")).array?.compactMap(\.string) ?? []
        let reference = try Fixtures.json(Fixtures.path("tokenizers/reference-batch.json"))
        let cases = try #require(reference.array)
        let tokenizer = try Tokenizer.load(file: Fixtures.path("tokenizers/minilm-uncased/tokenizer.json"))
        #expect(cases.count == 12)
        var windows = 0
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
                direction: settings[2].string == "left" ? .left : .right, stride: settings[7].integer ?? 0)
            let padding = Padding(
                length: settings[3].integer.map { .fixed($0) } ?? .longest, left: settings[4].string == "left",
                multipleOf: settings[5].integer)
            let texts = (item["lines"]?.array ?? []).compactMap(\.integer).map { corpus[$0] }
            try #require(texts.count == 48)
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
            // Dropping the overflow leaves the first window as it was.
            var dropping = truncation
            dropping.keepsOverflow = false
            let lean = try tokenizer.encodeBatch(first, pairs: second, truncation: dropping, padding: padding)
            #expect(
                lean
                    == encodings.map {
                        var main = $0
                        main.overflowing = []
                        return main
                    }, "\(label) without overflow")
            let expected = (item["encodings"]?.array ?? []).compactMap(\.object)
            try #require(!expected.isEmpty)
            #expect(encodings.count == expected.count)
            func compare(_ encoding: Encoding, _ want: JSONObject, _ path: String) {
                func ints(_ key: String) -> [Int32] { want[key]?.array?.compactMap(\.integer).map { Int32($0) } ?? [] }
                #expect(encoding.ids == ints("ids"), "\(label) \(path)")
                #expect(encoding.typeIDs == ints("type_ids"), "\(label) \(path)")
                #expect(encoding.attentionMask == ints("attention"), "\(label) \(path)")
                #expect(encoding.specialTokensMask == ints("special"), "\(label) \(path)")
                let flat = ints("offsets").map(Int.init)
                #expect(encoding.offsets == stride(from: 0, to: flat.count, by: 2).map { flat[$0]..<flat[$0 + 1] })
                let parts = (want["overflowing"]?.array ?? []).compactMap(\.object)
                #expect(encoding.overflowing.count == parts.count, "\(label) \(path)")
                windows += parts.count
                for (index, (part, wantPart)) in zip(encoding.overflowing, parts).enumerated() {
                    compare(part, wantPart, path + ".\(index)")
                }
            }
            for (index, (encoding, want)) in zip(encodings, expected).enumerated() {
                compare(encoding, want, "\(index)")
            }
        }
        #expect(windows > 100)  // the fixture exercises overflow, not just the main encodings
    }

    /// Without special tokens, a pair's type ids come from the post-processor (BERT 0/1, RoBERTa 0/0, GPT-2's
    /// ByteLevel 0/1); the truncation and padding tokenizer.json carries are read as the library reads them
    /// (reference-options.json).
    @Test func optionsMatchTokenizers() throws {
        let corpus = try Fixtures.json(Fixtures.path("tokenizers/corpus.json")).array?.compactMap(\.string) ?? []
        let reference = try #require(try Fixtures.json(Fixtures.path("tokenizers/reference-options.json")).object)
        #expect(reference.count == 4)
        for (name, value) in reference.entries {
            let want = try #require(value.object)
            let tokenizer = try Tokenizer.load(file: Fixtures.path("tokenizers/\(name)/tokenizer.json"))
            for pair in (want["pairs"]?.array ?? []).compactMap(\.object) {
                let encoding = tokenizer.encode(
                    corpus[pair["a"]?.integer ?? 0], pair: corpus[pair["b"]?.integer ?? 0], addSpecialTokens: false)
                func ints(_ key: String) -> [Int32] { pair[key]?.array?.compactMap(\.integer).map { Int32($0) } ?? [] }
                #expect(encoding.ids == ints("ids"), "\(name)")
                #expect(encoding.typeIDs == ints("type_ids"), "\(name)")
                let flat = ints("offsets").map(Int.init)
                #expect(encoding.offsets == stride(from: 0, to: flat.count, by: 2).map { flat[$0]..<flat[$0 + 1] })
            }
            if let truncation = want["truncation"]?.object {
                #expect(
                    tokenizer.truncation
                        == Truncation(
                            maxLength: truncation["max_length"]?.integer ?? -1,
                            strategy: truncation["strategy"]?.string == "longest_first" ? .longestFirst : .onlyFirst,
                            direction: truncation["direction"]?.string == "left" ? .left : .right,
                            stride: truncation["stride"]?.integer ?? -1), "\(name)")
            } else {
                #expect(tokenizer.truncation == nil, "\(name)")
            }
            if let padding = want["padding"]?.object {
                #expect(
                    tokenizer.padding
                        == Padding(
                            length: padding["length"]?.integer.map { .fixed($0) } ?? .longest,
                            left: padding["direction"]?.string == "left",
                            multipleOf: padding["pad_to_multiple_of"]?.integer,
                            padID: Int32(padding["pad_id"]?.integer ?? -1),
                            padTypeID: Int32(padding["pad_type_id"]?.integer ?? -1),
                            padToken: padding["pad_token"]?.string ?? ""), "\(name)")
            } else {
                #expect(tokenizer.padding == nil, "\(name)")
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

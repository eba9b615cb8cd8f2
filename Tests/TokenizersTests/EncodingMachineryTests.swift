import Dispatch
import Foundation
import Support
import TestSupport
import Testing

@testable import Tokenizers

/// The machinery under encoding and loading: the vocabulary table, the per-thread word caches and scratch, and
/// tokenizer.json read in one pass whatever its key order.
@Suite struct EncodingMachineryTests {
    /// A table grown from empty, with a token given twice: lookups find the later id, and every entry (both ids of
    /// the repeated token) is still listed for id → token.
    @Test func vocabularyTableGrowsAndKeepsEveryEntry() {
        var table = VocabularyTable(capacity: 2)
        for number in 0..<5_000 {
            let inserted = Array("token\(number)".utf8).withUnsafeBufferPointer { table.insert($0, id: Int32(number)) }
            #expect(inserted)
        }
        let again = Array("token7".utf8).withUnsafeBufferPointer { table.insert($0, id: 9_999) }
        #expect(!again)
        #expect(table.count == 5_000 && table.entries.count == 5_001)
        #expect(table.id("token7") == 9_999 && table.id("token4999") == 4_999 && table.id("token5000") == nil)
        #expect(table.id("") == nil)
        var listed: [Int32: String] = [:]
        table.forEachEntry { bytes, id in listed[id] = String(decoding: bytes, as: UTF8.self) }
        #expect(listed[7] == "token7" && listed[9_999] == "token7" && listed.count == 5_001)
    }

    /// The cache keeps what it stored, stops adding at its capacity, and never keeps an over-long word.
    @Test func wordCacheBounds() {
        var cache = WordCache()
        var pieces: [(id: Int32, range: Range<Int>)] = []
        func word(_ number: Int) -> [UInt32] { Array("w\(number)".unicodeScalars.map(\.value)) }
        for number in 0..<(WordCache.capacity + 100) {
            word(number).withUnsafeBufferPointer { cache.store($0, [(Int32(number), 0..<$0.count)]) }
        }
        for number in [0, 1, WordCache.capacity - 1] {
            pieces.removeAll()
            let hit = word(number).withUnsafeBufferPointer { cache.lookup($0, into: &pieces) }
            #expect(hit && pieces.map(\.id) == [Int32(number)])
        }
        let missed = word(WordCache.capacity + 50).withUnsafeBufferPointer { cache.lookup($0, into: &pieces) }
        #expect(!missed)
        var long = WordCache()
        let longWord = [UInt32](repeating: 0x61, count: WordCache.longestWord + 1)
        longWord.withUnsafeBufferPointer { long.store($0, [(1, 0..<$0.count)]) }
        #expect(!longWord.withUnsafeBufferPointer { long.lookup($0, into: &pieces) })
    }

    /// Two BPE tokenizers taking turns on one thread, and on several, each give what they give alone: every
    /// thread keeps one word cache per model, and the cache in use follows the model.
    @Test func modelsTakingTurnsKeepTheirOwnCaches() throws {
        let corpus = try Fixtures.json(Fixtures.path("tokenizers/corpus.json")).array?.compactMap(\.string) ?? []
        let names = ["gpt2-bpe", "roberta-bpe"]
        let expected = try names.map { name in
            let fresh = try Tokenizer.load(file: Fixtures.path("tokenizers/\(name)/tokenizer.json"))
            return corpus.prefix(200).map { fresh.encode($0).ids }
        }
        let tokenizers = try names.map { try Tokenizer.load(file: Fixtures.path("tokenizers/\($0)/tokenizer.json")) }
        for (index, line) in corpus.prefix(200).enumerated() {
            for model in 0..<2 { #expect(tokenizers[model].encode(line).ids == expected[model][index]) }
        }
        nonisolated(unsafe) var wrong = [Int](repeating: 0, count: 4)
        wrong.withUnsafeMutableBufferPointer { wrong in
            nonisolated(unsafe) let wrong = wrong
            DispatchQueue.concurrentPerform(iterations: 4) { worker in
                for (index, line) in corpus.prefix(200).enumerated() {
                    let model = (index + worker) % 2
                    if tokenizers[model].encode(line).ids != expected[model][index] { wrong[worker] += 1 }
                }
            }
        }
        #expect(wrong == [0, 0, 0, 0])
        // Batches in runs on any number of threads give the same encodings, in order.
        let lines = Array(corpus.prefix(200))
        for threads in [1, 3] {
            #expect(try tokenizers[0].encodeBatch(lines, threads: threads).map(\.ids) == expected[0])
        }
    }

    /// The same tokenizer.json with its model's keys in another order (merges before the vocabulary) loads to the
    /// same tokenizer; so does one with a huge sparse id (no table sized by it); ids past Int32 are refused.
    @Test func keyOrderAndSparseIDs() throws {
        let path = Fixtures.path("tokenizers/gpt2-bpe/tokenizer.json")
        let original = try Tokenizer.load(file: path)
        let root = try #require(try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path)))).object)
        let model = try #require(root["model"]?.object)
        var reordered = JSONObject()
        for key in ["merges", "type", "vocab"] + model.keys.filter({ !["merges", "type", "vocab"].contains($0) }) {
            reordered.append(key, try #require(model[key]))
        }
        var rebuilt = JSONObject()
        for (key, value) in root.entries { rebuilt.append(key, key == "model" ? .object(reordered) : value) }
        let text = JSONValue.object(rebuilt).serialized()
        let loaded = try Tokenizer.load(json: Array(text.utf8), path: "reordered.json")
        let corpus = try Fixtures.json(Fixtures.path("tokenizers/corpus.json")).array?.compactMap(\.string) ?? []
        for line in corpus.prefix(300) { #expect(loaded.encode(line) == original.encode(line)) }

        let sparse = text.replacingOccurrences(of: #""<|endoftext|>":0"#, with: #""<|endoftext|>":2147483647"#)
        try #require(sparse != text)
        let sparseLoaded = try Tokenizer.load(json: Array(sparse.utf8), path: "sparse.json")
        #expect(sparseLoaded.token(for: 2_147_483_647) == "<|endoftext|>")
        for line in corpus.prefix(50) { #expect(sparseLoaded.encode(line).ids == original.encode(line).ids) }
        let tooLarge = text.replacingOccurrences(of: #""<|endoftext|>":0"#, with: #""<|endoftext|>":2147483648"#)
        #expect {
            try Tokenizer.load(json: Array(tooLarge.utf8), path: "large.json")
        } throws: { "\($0)".contains("'<|endoftext|>' has no valid id") }
    }
}

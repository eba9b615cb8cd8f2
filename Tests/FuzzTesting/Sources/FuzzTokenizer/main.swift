import FuzzCommon
import ModelHub

// tokenizer.json read in one pass (TokenizerDocument: vocabulary and merges streamed into their tables), the same
// bytes as GPT-2's vocab.json and as its merges.txt beside a small fixed partner file, and as a SentencePiece
// precompiled_charsmap (its double-array trie walked over multilingual text): every failure must be a
// TokenizerError, and whatever loads must encode and decode a fixed text.
let vocabulary = Array(#"{"a": 0, "b": 1, "ab": 2, "Ġ": 3, "Ġa": 4, "<|endoftext|>": 5}"#.utf8)
let merges = Array("#version: 0.2\na b\nĠ a\n".utf8)
let unigram = try? Unigram(pieces: [("<unk>", 0), ("\u{2581}a", -1), ("b", -2)], unknownID: 0)

func exercise(_ tokenizer: Tokenizer) {
    let encoding = tokenizer.encode("ab a<|endoftext|> ba\u{E9}  Ｔｅｓｔ 東京 ﬁ e\u{301}\u{2581}<0x41>", pair: "b")
    _ = tokenizer.decode(encoding.ids)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    if let tokenizer = try? Tokenizer.load(json: bytes, path: "fuzz.json") { exercise(tokenizer) }
    let paths = (vocabulary: "vocab.json", merges: "merges.txt")
    if let tokenizer = try? Tokenizer.byteLevelBPE(vocabulary: bytes, merges: merges, paths: paths, style: .gpt2) {
        exercise(tokenizer)
    }
    if let charsmap = try? PrecompiledCharsmap(bytes), let unigram,
        let tokenizer = try? Tokenizer(
            normalizer: .precompiled(charsmap), preTokenizer: .metaspace(Metaspace()), model: .unigram(unigram),
            addedTokens: [], template: nil, decoder: .metaspace(Metaspace()))
    {
        exercise(tokenizer)
    }
    if let tokenizer = try? Tokenizer.byteLevelBPE(vocabulary: vocabulary, merges: bytes, paths: paths, style: .roberta)
    {
        exercise(tokenizer)
    }
    return 0
}

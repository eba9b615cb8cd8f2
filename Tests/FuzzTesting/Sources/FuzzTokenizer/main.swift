import FuzzCommon
import ModelHub

// tokenizer.json read in one pass (TokenizerDocument: vocabulary and merges streamed into their tables), and the
// same bytes as GPT-2's vocab.json and as its merges.txt beside a small fixed partner file: every failure must be a
// TokenizerError, and whatever loads must encode and decode a fixed text.
let vocabulary = Array(#"{"a": 0, "b": 1, "ab": 2, "Ġ": 3, "Ġa": 4, "<|endoftext|>": 5}"#.utf8)
let merges = Array("#version: 0.2\na b\nĠ a\n".utf8)

func exercise(_ tokenizer: Tokenizer) {
    let encoding = tokenizer.encode("ab a<|endoftext|> ba\u{E9}", pair: "b")
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
    if let tokenizer = try? Tokenizer.byteLevelBPE(vocabulary: vocabulary, merges: bytes, paths: paths, style: .roberta)
    {
        exercise(tokenizer)
    }
    return 0
}

import Foundation
import FuzzCommon
import ModelHub
import Serving

// `hub serve`'s request checking (ModelServer.check: JSON, every field, the model, tokenization, lengths) on
// arbitrary bodies for every POST route, without running a model: each must come back accepted or refused with a
// 4xx error and a message — never a crash, never a 5xx. And `hub mirror`'s request parsing: the same bytes as a
// path (its segments never climb, never hold a separator or NUL) and as a Range header (inside the file, not empty).
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../Fixtures")
    .standardized.path

let server: ModelServer = {
    do {
        let bert = try PretrainedModel.load(fixtures + "/models/tiny-bert", task: .base)
        let gpt2 = try PretrainedModel.load(fixtures + "/models/tiny-gpt2", task: .causalLM)
        let classifier = try PretrainedModel.random(
            config: bert.config.withLabels(["negative", "positive"]), task: .sequenceClassification)
        classifier.tokenizer = bert.tokenizer
        let reranker = try PretrainedModel.random(
            config: bert.config.withLabels(["score"]), task: .sequenceClassification)
        reranker.tokenizer = bert.tokenizer
        return try ModelServer(
            [
                .init(name: "tiny-bert", model: bert), .init(name: "tiny-classifier", model: classifier),
                .init(name: "tiny-reranker", model: reranker), .init(name: "tiny-gpt2", model: gpt2),
            ], options: ServerOptions())
    } catch {
        fatalError("FuzzServe: cannot load the fixtures at \(fixtures): \(error)")
    }
}()

let routes = ["/v1/embeddings", "/v1/completions", "/embed", "/predict", "/rerank", "/tokenize", "/"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    let text = String(decoding: bytes, as: UTF8.self)
    if let segments = CacheMirror.pathSegments(text) {
        for segment in segments
        where segment == ".." || segment == "." || segment.isEmpty || segment.contains("\0")
            || segment.contains("/")
        {
            fatalError("mirror path \(text.debugDescription) gave the segment \(segment.debugDescription)")
        }
    }
    let size = Int(bytes[0]) * 7
    if let range = CacheMirror.byteRange(text, size: size),
        range.isEmpty || range.lowerBound < 0 || range.upperBound > size
    {
        fatalError("range \(text.debugDescription) of \(size) bytes gave \(range)")
    }
    let route = routes[Int(bytes[0]) % routes.count]
    if let error = server.check(route, body: Array(bytes.dropFirst())) {
        guard (400..<500).contains(error.status.rawValue), !error.message.isEmpty else {
            fatalError("\(route): \(error)")
        }
    }
    return 0
}

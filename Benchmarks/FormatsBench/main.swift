import Formats
import Foundation
import Support
import TestSupport

// `make bench` (release): conversion throughput and .mhub open time on a BERT-base-sized checkpoint with random
// weights, made here as safetensors and as a torch.save-style zip .bin. The page cache is warm (files just
// written), as it is when a model was just downloaded. PyTorch runs the same jobs when PEER_PYTHON has torch.

/// bert-base-uncased's tensors: 109.5M F32 parameters, 438 MB.
func bertBaseShapes() -> [(String, [Int])] {
    let h = 768, ff = 3072
    var shapes: [(String, [Int])] = [
        ("bert.embeddings.word_embeddings.weight", [30522, h]),
        ("bert.embeddings.position_embeddings.weight", [512, h]),
        ("bert.embeddings.token_type_embeddings.weight", [2, h]), ("bert.embeddings.LayerNorm.weight", [h]),
        ("bert.embeddings.LayerNorm.bias", [h]),
    ]
    for layer in 0..<12 {
        let p = "bert.encoder.layer.\(layer)."
        for part in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"] {
            shapes += [(p + part + ".weight", [h, h]), (p + part + ".bias", [h])]
        }
        shapes += [(p + "attention.output.LayerNorm.weight", [h]), (p + "attention.output.LayerNorm.bias", [h])]
        shapes += [(p + "intermediate.dense.weight", [ff, h]), (p + "intermediate.dense.bias", [ff])]
        shapes += [(p + "output.dense.weight", [h, ff]), (p + "output.dense.bias", [h])]
        shapes += [(p + "output.LayerNorm.weight", [h]), (p + "output.LayerNorm.bias", [h])]
    }
    shapes += [("bert.pooler.dense.weight", [h, h]), ("bert.pooler.dense.bias", [h])]
    return shapes
}

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

func timed(_ runs: Int, _ body: () throws -> Void) rethrows -> [Double] {
    try (0..<runs).map { _ in
        let start = now()
        try body()
        return now() - start
    }
}

let folder = Fixtures.repositoryRoot + "/.scratch/bench"
try? FileManager.default.removeItem(atPath: folder)
try FileManager.default.createDirectory(atPath: folder + "/blobs", withIntermediateDirectories: true)
try FileManager.default.createDirectory(atPath: folder + "/snapshots/main", withIntermediateDirectories: true)
let plainSafetensors = folder + "/bert-base.safetensors", plainBin = folder + "/bert-base.bin"
// The same files as a downloaded model sits in the Hugging Face cache: snapshots/<rev>/NAME → ../../blobs/<sha256>.
let safetensorsPath = folder + "/snapshots/main/model.safetensors",
    binPath = folder + "/snapshots/main/pytorch_model.bin"
let mhubPath = folder + "/bert-base.mhub"

/// Links `file` into the cache layout under its SHA-256, as huggingface_hub stores LFS files.
func placeInCache(_ file: String, as link: String) throws {
    let mapped = try MappedFile(path: file)
    let digest = withExtendedLifetime(mapped) { sha256Hex(mapped.bytes) }
    try FileManager.default.linkItem(atPath: file, toPath: folder + "/blobs/" + digest)
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "../../blobs/" + digest)
}

/// Times `runs` conversions, each into a fresh output name (replacing an old output would time its deletion).
func timedConversions(_ runs: Int, _ source: String, _ options: MHubWriter.Options = .init()) throws -> [Double] {
    try (0..<runs).map { _ in
        try? FileManager.default.removeItem(atPath: mhubPath)
        let start = now()
        try Converter.convert(ModelSource.open(source), to: mhubPath, options: options)
        return now() - start
    }
}

print("making a BERT-base-sized checkpoint (random F32 weights) in \(folder) ...")
var generator = SeededGenerator(seed: 42)
let tensors: [(name: String, shape: [Int], bytes: [UInt8])] = bertBaseShapes().map { name, shape in
    let count = shape.reduce(1, *)
    var bytes = [UInt8](repeating: 0, count: count * 4)
    bytes.withUnsafeMutableBytes { raw in
        let floats = raw.bindMemory(to: Float.self)
        for i in 0..<count { floats[i] = Float(Int64(bitPattern: generator.next() >> 40) - (1 << 23)) * 6e-9 }
    }
    return (name, shape, bytes)
}
let totalBytes = tensors.reduce(0) { $0 + $1.bytes.count }
try SafeTensorsWriter.write(
    tensors.map { tensor in
        PendingTensor(
            record: TensorRecord(name: tensor.name, dtype: .f32, shape: tensor.shape, byteCount: tensor.bytes.count)
        ) {
            tensor.bytes.withUnsafeBytes { TensorBytes(copying: $0) }
        }
    }, metadata: [("format", "pt")], to: plainSafetensors)
try TorchZipWriter.write(tensors, to: plainBin)
try placeInCache(plainSafetensors, as: safetensorsPath)
try placeInCache(plainBin, as: binPath)
print(
    String(
        format: "%d tensors, %.1f M parameters, %.1f MB\n", tensors.count, Double(totalBytes / 4) / 1e6,
        Double(totalBytes) / 1e6))

var results: [(String, Double, String)] = []  // (job, seconds, figure)
@MainActor func report(_ job: String, _ seconds: Double, bytes: Int? = nil) {
    let figure =
        bytes.map { String(format: "%.2f GB/s", Double($0) / seconds / 1e9) }
        ?? (seconds < 1e-4 ? String(format: "%.2f µs", seconds * 1e6) : String(format: "%.3f ms", seconds * 1e3))
    results.append((job, seconds, figure))
    print(job.padding(toLength: 58, withPad: " ", startingAt: 0) + String(format: "%8.4f s  ", seconds) + figure)
}

let runs = 5
print("median of \(runs) runs; sources in the HF cache layout unless marked 'plain file'")
report("convert safetensors → .mhub", median(try timedConversions(runs, safetensorsPath)), bytes: totalBytes)
report("convert torch zip .bin → .mhub", median(try timedConversions(runs, binPath)), bytes: totalBytes)
report(
    "convert safetensors → .mhub --dtype f16", median(try timedConversions(runs, safetensorsPath, .init(dtype: .f16))),
    bytes: totalBytes)
report(
    "convert safetensors → .mhub --dtype int8",
    median(try timedConversions(runs, safetensorsPath, .init(quantizeInt8: true))), bytes: totalBytes)
report(
    "convert safetensors → .mhub --compress zstd",
    median(try timedConversions(1, safetensorsPath, .init(compress: true))), bytes: totalBytes)
report(
    "convert safetensors → .mhub (plain file: SHA-256 computed)", median(try timedConversions(3, plainSafetensors)),
    bytes: totalBytes)
try? FileManager.default.removeItem(atPath: mhubPath)
try Converter.convert(ModelSource.open(safetensorsPath), to: mhubPath)
let openTimes = try timed(50) { _ = try MHubFile(path: mhubPath) }
report("open .mhub (header + metadata, mmap)", median(openTimes))
let mhub = try MHubFile(path: mhubPath)
report("first tensor bytes from the open .mhub", median(try timed(50) { _ = try mhub.bytes(at: 0).count }))
report("inspect --verify .mhub (XXH64 of every byte)", median(try timed(runs) { try mhub.verify() }), bytes: totalBytes)
report("open .safetensors (header)", median(try timed(50) { _ = try SafeTensorsFile(path: safetensorsPath) }))
report("open torch zip .bin (zip + pickle)", median(try timed(50) { _ = try TorchCheckpoint(path: binPath) }))

var usage = rusage()
getrusage(RUSAGE_SELF.rawValue, &usage)
print(
    String(
        format: "\npeak resident memory: %.0f MB (the generated weights alone are %.0f MB)",
        Double(usage.ru_maxrss) / 1024, Double(totalBytes) / 1e6))

// The peer: the same jobs in PyTorch (torch.load + safetensors save; safetensors.safe_open; torch.load).
let peerPython = ProcessInfo.processInfo.environment["PEER_PYTHON"] ?? "python3"
let peerScript = Fixtures.repositoryRoot + "/Benchmarks/peer_formats.py"
if let peer = try? runProcess("/usr/bin/env", [peerPython, peerScript, safetensorsPath, binPath, folder]),
    peer.status == 0,
    let values = try? JSONParser.parse(Array(peer.stdout.utf8)).object
{
    print("\nPyTorch peer (\(values["versions"]?.string ?? "?")), same files, same machine, 2 threads:")
    let pairs: [(String, String, String, Int?)] = [
        ("convert torch zip .bin → .mhub", "bin_to_safetensors", "torch.load + safetensors save_file", totalBytes),
        ("convert safetensors → .mhub", "safetensors_roundtrip", "safetensors load_file + save_file", totalBytes),
        ("open .mhub (header + metadata, mmap)", "safe_open", "safetensors.safe_open + keys()", nil),
        ("open torch zip .bin (zip + pickle)", "torch_load_mmap", "torch.load(mmap=True, weights_only=True)", nil),
    ]
    for (ours, theirs, label, bytes) in pairs {
        guard let seconds = values[theirs]?.double, let mine = results.first(where: { $0.0 == ours })?.1 else {
            continue
        }
        let figure =
            bytes.map { String(format: "%.2f GB/s", Double($0) / seconds / 1e9) }
            ?? String(format: "%.3f ms", seconds * 1e3)
        print(
            "  " + label.padding(toLength: 56, withPad: " ", startingAt: 0) + String(format: "%8.4f s  ", seconds)
                + figure
                + String(format: "   PyTorch time / ModelHub time (%@) = %.2f", ours, seconds / mine))
    }
} else {
    print("\n(no PyTorch peer: set PEER_PYTHON to a python with torch and safetensors to compare)")
}

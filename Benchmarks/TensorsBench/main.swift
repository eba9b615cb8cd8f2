import CBLAS
import Foundation
import NN
import Tensors

// `make bench` (release): the tensor engine at BERT-base shapes — sgemm through Tensor.matmul against OpenBLAS
// called directly, a 12-layer BERT-base-shaped encoder (hidden 768, 12 heads, intermediate 3072, random weights)
// forward at 1 × 128 and 8 × 128, and a training step (forward + backward + AdamW) at 8 × 128 — beside PyTorch
// (Benchmarks/peer_tensors.py, when PEER_PYTHON has torch) in the same run. Median of several runs after a warm-up.

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

func median(_ runs: Int, _ body: () -> Void) -> Double {
    body()  // warm-up
    var times: [Double] = []
    for _ in 0..<runs {
        let start = now()
        body()
        times.append(now() - start)
    }
    return times.sorted()[times.count / 2]
}

// An argument keeps one part: `sgemm`, `forward`, `train` or `adam` (the optimizer step alone, only on request) for
// profiling; the peer runs only with all parts.
let only = CommandLine.arguments.dropFirst().first
func wanted(_ part: String) -> Bool { only == nil || only == part }

var generator = RandomGenerator(seed: 1)
let (m, k, n) = (1024, 768, 3072)
let a = Tensor.randomNormal([m, k], using: &generator)
let b = Tensor.randomNormal([n, k], using: &generator)  // a Linear weight [out, in], used transposed
let flops = 2.0 * Double(m * k * n)
if wanted("sgemm") {
    let viaTensor = median(5) { _ = a.matmul(b.transposed()) }
    let out = Tensor.zeros([m, n])
    let direct = median(5) {
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1,
            a.storage.pointer.assumingMemoryBound(to: Float.self), Int32(k),
            b.storage.pointer.assumingMemoryBound(to: Float.self), Int32(k), 0,
            out.storage.pointer.assumingMemoryBound(to: Float.self), Int32(n))
    }
    print(
        String(
            format: "sgemm %d×%d×%d: Tensor.matmul %.1f GFLOP/s, OpenBLAS direct %.1f GFLOP/s (%.2f×)", m, k, n,
            flops / viaTensor / 1e9, flops / direct / 1e9, direct / viaTensor))
}

let layers = (0..<12).map { _ in
    TransformerEncoderBlock(width: 768, heads: 12, feedForward: 3072, dropout: 0, generator: &generator)
}
func encode(_ x: Tensor) -> Tensor {
    var h = x
    for layer in layers { h = layer(h) }
    return h
}
var ours: [String: Double] = [:]
for batch in [1, 8] where wanted("forward") {
    let x = Tensor.randomNormal([batch, 128, 768], using: &generator)
    let seconds = median(batch == 1 ? 5 : 3) { _ = Tensor.withoutGradient { encode(x) } }
    ours["forward \(batch)x128"] = seconds
    print(String(format: "  ModelHub  forward %d × 128: %.3f s", batch, seconds))
}
if only == "adam" {
    let parameters = layers.flatMap { $0.parameters() }
    let optimizer = Adam.adamW([ParameterGroup(parameters, weightDecay: 0.01)], learningRate: 1e-4)
    let x = Tensor.randomNormal([8, 128, 768], using: &generator)
    encode(x).squared().mean().backward()
    print(String(format: "adam step %.1f ms", median(9) { optimizer.step() } * 1e3))
}
if wanted("train") {
    let parameters = layers.flatMap { $0.parameters() }
    let optimizer = Adam.adamW([ParameterGroup(parameters, weightDecay: 0.01)], learningRate: 1e-4)
    let x = Tensor.randomNormal([8, 128, 768], using: &generator)
    let train = median(3) {
        optimizer.zeroGrad()
        let loss = encode(x).squared().mean()
        loss.backward()
        optimizer.step()
    }
    ours["train 8x128"] = train
    print(String(format: "  ModelHub  train step 8 × 128 (forward + backward + AdamW): %.3f s", train))
}

let peer = ProcessInfo.processInfo.environment["PEER_PYTHON"] ?? "python3"
let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("peer_tensors.py").path
let process = Process()
process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
process.arguments = [peer, script]
let pipe = Pipe()
process.standardOutput = pipe
process.standardError = Pipe()
if only == nil, (try? process.run()) != nil {
    process.waitUntilExit()
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    var printed = false
    for line in text.split(separator: "\n") {
        let fields = line.split(separator: "\t")
        guard fields.count == 2, let seconds = Double(fields[1]), let mine = ours[String(fields[0])] else { continue }
        printed = true
        print(
            String(
                format: "  PyTorch   %@: %.3f s → ModelHub takes %.2f× its time", String(fields[0]), seconds,
                mine / seconds))
    }
    if !printed { print("  peer skipped: \(peer) has no torch; set PEER_PYTHON to a Python that has it") }
}

import CBLAS
import Foundation
import NN
import Tensors
import TestSupport

// `make bench` (release): the tensor engine at BERT-base shapes — sgemm through Tensor.matmul against OpenBLAS
// called directly, a 12-layer BERT-base-shaped encoder (hidden 768, 12 heads, intermediate 3072, random weights)
// forward at 1 × 128 and 8 × 128, and a training step (forward + backward + AdamW) at 8 × 128 — beside PyTorch
// (Benchmarks/peer_tensors.py, when PEER_PYTHON has torch) in the same run. Median of several runs after a warm-up;
// the two sides alternate for BENCH_ROUNDS rounds.

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

// An argument keeps one part: `sgemm`, `int8`, `forward`, `train` or `adam` (the optimizer step alone, only on request) for
// profiling; the peer runs only with all parts.
let only = CommandLine.arguments.dropFirst().first
func wanted(_ part: String) -> Bool { only == nil || only == part }

print(MachineDescription.line)
var generator = RandomGenerator(seed: 1)
let (m, k, n) = (1024, 768, 3072)
let a = Tensor.randomNormal([m, k], using: &generator)
let b = Tensor.randomNormal([n, k], using: &generator)  // a Linear weight [out, in], used transposed
let flops = 2.0 * Double(m * k * n)
if wanted("sgemm") {
    let viaTensor = median(5) { _ = a.matmul(b.transposed()) }
    let out = Tensor.zeros([m, n])
    // OpenBLAS with its own two threads (the engine keeps it single-threaded and cuts products itself).
    openblas_set_num_threads(2)
    defer { openblas_set_num_threads(1) }
    let direct = median(5) {
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1,
            a.storage.pointer.assumingMemoryBound(to: Float.self), Int32(k),
            b.storage.pointer.assumingMemoryBound(to: Float.self), Int32(k), 0,
            out.storage.pointer.assumingMemoryBound(to: Float.self), Int32(n))
    }
    print(
        String(
            format: "sgemm %d×%d×%d: Tensor.matmul %.1f GFLOP/s, OpenBLAS direct (its 2 threads) %.1f GFLOP/s (%.2f×)",
            m, k, n,
            flops / viaTensor / 1e9, flops / direct / 1e9, direct / viaTensor))
}

// The int8 product (Tensor.quantizedLinear: the activations quantized per row, exact int32 products, rescaled) against
// float32's Tensor.linear at BERT-base's three shapes, 1,024 rows (8 × 128 tokens) and one row (generation).
if wanted("int8") {
    print("int8 kernel: \(Int8Kernel.active.name) (of \(Int8Kernel.allCases.filter(\.isSupported).map(\.name)))")
    print("bf16 kernel: \(HalfWeight.kernelName)")
    // The last shape is GPT-2's LM head: 154 MB of float32, far past the caches, so one row is bound by memory.
    let shapes = [(1024, 768, 768), (1024, 768, 3072), (1024, 3072, 768), (1, 768, 3072), (1, 768, 50257)]
    for (rows, inputs, outputs) in shapes {
        let x = Tensor.randomNormal([rows, inputs], using: &generator)
        let weight = Tensor.randomNormal([outputs, inputs], using: &generator)
        let quantized = QuantizedWeight(weight)
        let half = HalfWeight(weight, format: .bfloat16)
        let operations = 2.0 * Double(rows * inputs * outputs)
        let runs = rows > 1 ? 7 : outputs > 10_000 ? 30 : 200
        let float = median(runs) { _ = x.linear(weight: weight, bias: nil) }
        let bf16 = median(runs) { _ = x.halfLinear(half, bias: nil) }
        let int8 = median(runs) { _ = x.quantizedLinear(quantized, bias: nil) }
        print(
            String(
                format:
                    "  %4d × %4d → %5d: f32 %6.1f GFLOP/s, bf16 %6.1f (%.2f×), int8 %6.1f GOP/s (%.2f× f32's rate)",
                rows, inputs, outputs, operations / float / 1e9, operations / bf16 / 1e9, float / bf16,
                operations / int8 / 1e9, float / int8))
    }
}

let layers = (0..<12).map { _ in
    TransformerEncoderBlock(width: 768, heads: 12, feedForward: 3072, dropout: 0, generator: &generator)
}
func encode(_ x: Tensor) -> Tensor {
    var h = x
    for layer in layers { h = layer(h) }
    return h
}
let forwardInputs = [1, 8].map { Tensor.randomNormal([$0, 128, 768], using: &generator) }
let trainInput = Tensor.randomNormal([8, 128, 768], using: &generator)
let optimizer = Adam.adamW(
    [ParameterGroup(layers.flatMap { $0.parameters() }, weightDecay: 0.01)], learningRate: 1e-4)

/// One round of ModelHub's figures: seconds by part name (the peer's names).
@MainActor func measureOurs() -> [String: Double] {
    var ours: [String: Double] = [:]
    for x in forwardInputs where wanted("forward") {
        let batch = x.size(0)
        ours["forward \(batch)x128"] = median(batch == 1 ? 5 : 3) { _ = Tensor.withoutGradient { encode(x) } }
    }
    if wanted("train") {
        ours["train 8x128"] = median(3) {
            optimizer.zeroGrad()
            encode(trainInput).squared().mean().backward()
            optimizer.step()
        }
    }
    return ours
}

if only == "adam" {
    encode(trainInput).squared().mean().backward()
    print(String(format: "adam step %.1f ms", median(9) { optimizer.step() } * 1e3))
} else {
    // This VM's speed drifts by up to 2× within minutes, so the two sides alternate for BENCH_ROUNDS rounds (3 by
    // default) and each figure is the median over the rounds.
    let rounds = Swift.max(Int(ProcessInfo.processInfo.environment["BENCH_ROUNDS"] ?? "") ?? 3, 1)
    var oursByPart: [String: [Double]] = [:]
    var peerByPart: [String: [Double]] = [:]
    var peerRuns = only == nil  // the peer runs only with all parts, and stops after a first failure
    for round in 1...rounds {
        for (part, seconds) in measureOurs() { oursByPart[part, default: []].append(seconds) }
        guard peerRuns, let peer = Peer.figures(script: "peer_tensors.py") else {
            peerRuns = false
            continue
        }
        for (part, seconds) in peer { peerByPart[part, default: []].append(seconds) }
        let line = peer.keys.sorted().compactMap { part in
            oursByPart[part]?.last.map { String(format: "%@ %.3f / %.3f s", part, $0, peer[part] ?? 0) }
        }
        print("  round \(round) (ModelHub / PyTorch): " + line.joined(separator: ", "))
    }
    func middle(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
    for part in ["forward 1x128", "forward 8x128", "train 8x128"] {
        guard let mine = oursByPart[part] else { continue }
        let name =
            part == "train 8x128"
            ? "train step 8 × 128 (forward + backward + AdamW)" : part.replacingOccurrences(of: "x128", with: " × 128")
        var line = String(format: "  ModelHub  %@: %.3f s", name, middle(mine))
        if let theirs = peerByPart[part] {
            line += String(
                format: "; PyTorch %.3f s → ModelHub takes %.2f× its time (median of %d rounds)", middle(theirs),
                middle(mine) / middle(theirs), theirs.count)
        }
        print(line)
    }
    if only == nil, peerByPart.isEmpty {
        print("  peer skipped: PEER_PYTHON has no torch; set PEER_PYTHON to a Python that has it")
    }
    if let step = oursByPart["train 8x128"].map(middle) {
        let floor = productFloor()
        var line = String(
            format:
                "  product floor of the step (its products alone through OpenBLAS, 2 threads, as gemm_floor.py): %.3f s → the step takes %.2f× it",
            floor, step / floor)
        if let theirs = peerByPart["train 8x128"].map(middle) {
            line += String(format: "; PyTorch's step %.2f× it", theirs / floor)
        }
        print(line)
    }
}

/// The training step's matrix products alone: no step can take less.
///
/// One layer's forward and backward at 8 × 128, times 12, each product through OpenBLAS with its own two threads,
/// one `cblas_sgemm` per matrix (Benchmarks/gemm_floor.py's list). Medians of 9 runs after a warm-up.
func productFloor() -> Double {
    let (tokens, width, inner, length, depth, pairs) = (1024, 768, 3072, 128, 64, 8 * 12)
    // (transpose A, transpose B, m, n, k, batches, count per layer)
    let layer: [(Bool, Bool, Int, Int, Int, Int, Int)] = [
        (false, true, tokens, width, width, 1, 4), (false, true, tokens, inner, width, 1, 1),
        (false, true, tokens, width, inner, 1, 1), (false, true, length, length, depth, pairs, 1),
        (false, false, length, depth, length, pairs, 1), (false, false, tokens, width, width, 1, 4),
        (true, false, width, width, tokens, 1, 4), (false, false, tokens, width, inner, 1, 1),
        (true, false, inner, width, tokens, 1, 1), (false, false, tokens, inner, width, 1, 1),
        (true, false, width, inner, tokens, 1, 1), (false, true, length, length, depth, pairs, 1),
        (true, false, length, depth, length, pairs, 2), (false, false, length, depth, length, pairs, 1),
    ]
    openblas_set_num_threads(2)
    defer { openblas_set_num_threads(1) }
    var generator = RandomGenerator(seed: 9)
    var total = 0.0
    for (transA, transB, m, n, k, batches, count) in layer {
        let a = Tensor.randomNormal([batches, m * k], using: &generator)
        let b = Tensor.randomNormal([batches, k * n], using: &generator)
        let c = Tensor.zeros([batches, m * n])
        let (pa, pb, pc) = (
            a.storage.pointer.assumingMemoryBound(to: Float.self),
            b.storage.pointer.assumingMemoryBound(to: Float.self),
            c.storage.pointer.assumingMemoryBound(to: Float.self)
        )
        let seconds = median(9) {
            for index in 0..<batches {
                cblas_sgemm(
                    CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, Int32(m),
                    Int32(n), Int32(k), 1, pa + index * m * k, Int32(transA ? m : k), pb + index * k * n,
                    Int32(transB ? k : n), 0, pc + index * m * n, Int32(n))
            }
        }
        withExtendedLifetime((a, b, c)) {}
        total += seconds * Double(count)
    }
    return 12 * total
}

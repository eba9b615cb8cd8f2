import Foundation
import TestSupport
import Testing

@testable import Tensors

/// Expects `function`'s gradients at `inputs` to agree with central differences (GradientCheck.worst ≤ 1).
private func check(
    _ label: String, _ inputs: [Tensor], sourceLocation: SourceLocation = #_sourceLocation,
    _ function: ([Tensor]) -> Tensor
) {
    let result = GradientCheck.worst(inputs, function)
    #expect(result.score <= 1, "\(label): \(result.where)", sourceLocation: sourceLocation)
}

/// A float64 leaf with seeded uniform values.
private func input(_ shape: [Int], _ seed: UInt64, in range: ClosedRange<Double> = -2...2) -> Tensor {
    GradientCheck.input(shape, seed: seed, in: range)
}

/// Every differentiable op against central differences in float64 (GradientCheck: |analytic − numeric| within
/// 1e-7 + 1e-5·|numeric|), on broadcast and non-contiguous inputs where the op has them.
@Suite struct GradientTests {
    @Test func arithmeticWithBroadcasting() {
        let (a, b, c) = (input([2, 3, 4], 1), input([4], 2), input([3, 1], 3))
        check("add", [a, b]) { $0[0] + $0[1] }
        check("sub", [a, c]) { $0[0] - $0[1] }
        check("mul", [a, b, c]) { $0[0] * $0[1] * $0[2] }
        check("div", [a, input([2, 1, 4], 4, in: 0.5...2)]) { $0[0] / $0[1] }
        check("scalar", [a]) { ($0[0] * 3 + 1) / 2 - 0.5 }
        check("square", [a]) { $0[0].squared() }
    }

    @Test func pointwiseFunctions() {
        let x = input([3, 5], 5)
        check("exp", [x]) { $0[0].exp() }
        check("tanh", [x]) { $0[0].tanh() }
        check("sigmoid", [x]) { $0[0].sigmoid() }
        check("relu", [x]) { $0[0].relu() }
        check("gelu", [x]) { $0[0].gelu() }
        check("gelu tanh", [x]) { $0[0].geluTanh() }
        let positive = input([3, 5], 6, in: 0.5...3)
        check("log", [positive]) { $0[0].log() }
        check("sqrt", [positive]) { $0[0].sqrt() }
    }

    @Test func reductions() {
        let x = input([2, 3, 4], 7)
        check("sum all", [x]) { $0[0].sum() }
        check("sum axis 1", [x]) { $0[0].sum(axes: [1]) }
        check("sum axes 0,2 kept", [x]) { $0[0].sum(axes: [0, 2], keepingDimensions: true) }
        check("mean last", [x]) { $0[0].mean(axes: [-1]) }
        check("max axis 1", [x]) { $0[0].max(axis: 1) }
    }

    @Test func matrixProducts() {
        let (a, b) = (input([3, 4], 8), input([4, 5], 9))
        check("2d", [a, b]) { $0[0].matmul($0[1]) }
        check("transposed operands", [input([4, 3], 10), input([5, 4], 11)]) {
            $0[0].transposed().matmul($0[1].transposed())
        }
        check("batched", [input([2, 3, 4], 12), input([2, 4, 5], 13)]) { $0[0].matmul($0[1]) }
        check("batch broadcast", [input([2, 3, 4], 14), b]) { $0[0].matmul($0[1]) }
        check("batch broadcast left", [a, input([2, 4, 5], 15)]) { $0[0].matmul($0[1]) }
        check("attention shape", [input([2, 2, 3, 4], 16), input([2, 2, 3, 4], 17)]) {
            $0[0].matmul($0[1].transposed())
        }
    }

    @Test func views() {
        let x = input([2, 3, 4], 18)
        check("transpose + contiguous", [x]) { $0[0].transposed(0, 2).contiguous() * 2 }
        check("permute", [x]) { $0[0].permuted([2, 0, 1]).exp() }
        check("slice", [x]) { $0[0].sliced(1, 1..<3).tanh() }
        check("expand", [input([3, 1], 19)]) { $0[0].expanded(to: [2, 3, 4]).sigmoid() }
        check("reshape of a transpose", [x]) { $0[0].transposed().reshaped([6, -1]).gelu() }
        check("unsqueeze/squeeze", [x]) { $0[0].unsqueezed(1).squeezed(1) * $0[0] }
    }
}

/// The neural-network ops: softmax family, layer norm, lookups, joins, losses, attention, dropout.
@Suite struct NetworkGradientTests {
    @Test func softmaxAndLayerNorm() {
        let x = input([2, 3, 5], 21)
        check("softmax", [x]) { $0[0].softmax(axis: -1) }
        check("softmax axis 1", [x]) { $0[0].softmax(axis: 1) }
        check("log softmax", [x]) { $0[0].logSoftmax(axis: -1) }
        check("log softmax axis 0 of a transpose", [x]) { $0[0].transposed(1, 2).logSoftmax(axis: 0) }
        let (weight, bias) = (input([5], 22), input([5], 23))
        check("layer norm", [x, weight, bias]) { $0[0].layerNorm(weight: $0[1], bias: $0[2], epsilon: 1e-5) }
        check("layer norm without affine", [x]) { $0[0].layerNorm(weight: nil, bias: nil) }
    }

    @Test func lookupsAndJoins() {
        let table = input([6, 4], 24)
        let ids = Tensor([1, 5, 1, 0, 2, 1], shape: [2, 3])
        check("embedding (repeated ids)", [table]) { $0[0].embedding(ids) }
        // nn.Embedding(padding_idx=1): row 1 is read but never gets a gradient (not the true derivative, by design).
        table.zeroGrad()
        table.embedding(ids, paddingIndex: 1).sum().backward()
        #expect(table.grad?.doubles == [1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
        let x = input([3, 4], 25)
        check("gather", [x]) { $0[0].gather(axis: 1, index: Tensor([0, 3, 3, 1, 2, 0], shape: [3, 2])) }
        let mask = Tensor([1, 0, 0, 1] as [UInt8], shape: [1, 4], dtype: .bool)
        check("masked fill", [x]) { $0[0].maskedFill(mask, -5) }
        check("where", [x, input([3, 4], 26)]) { Tensor.where(mask, $0[0], $0[1]) }
        check("concatenate", [x, input([3, 2], 27)]) { Tensor.concatenate([$0[0], $0[1]], axis: 1).tanh() }
        check("stack", [x, input([3, 4], 28)]) { Tensor.stack([$0[0], $0[1]], axis: 1).sigmoid() }
        check("split", [x]) { input in
            let parts = input[0].split([1, 3], axis: 1)
            return parts[1] * parts[0]
        }
    }

    @Test func losses() {
        let logits = input([4, 5], 29)
        let targets = Tensor([2, -100, 4, 0])
        check("cross entropy with ignore index", [logits]) { $0[0].crossEntropy(targets: targets) }
        check("cross entropy with label smoothing", [logits]) {
            $0[0].crossEntropy(targets: targets, labelSmoothing: 0.1)
        }
        check("cross entropy of [B, T, C]", [input([2, 2, 5], 30)]) {
            $0[0].crossEntropy(targets: Tensor([1, 2, 3, 4], shape: [2, 2]))
        }
        check("mse", [logits, input([4, 5], 31)]) { $0[0].mseLoss($0[1]) }
        check("bce with logits", [logits, input([4, 5], 32, in: 0...1)]) {
            $0[0].binaryCrossEntropyWithLogits($0[1])
        }
    }

    @Test func attentionAndDropout() {
        let (q, k, v) = (input([2, 2, 3, 4], 33), input([2, 2, 5, 4], 34), input([2, 2, 5, 4], 35))
        let padding = Tensor([1, 1, 1, 0, 0, 1, 1, 1, 1, 1] as [UInt8], shape: [2, 1, 1, 5], dtype: .bool)
        check("attention with a padding mask", [q, k, v]) {
            Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: padding)
        }
        check("causal attention (cache of 2)", [q, k, v]) {
            Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], causal: true)
        }
        let x = input([4, 6], 36)
        check("dropout", [x]) {
            var generator = RandomGenerator(seed: 3)
            return $0[0].dropout(0.3, training: true, using: &generator)
        }
    }
}

/// The fused forms: `linear` (bias written first, sgemm adds with β = 1) and `matmul(_:scale:)` (α), against the
/// unfused ops in float32 and by finite differences in float64.
@Suite struct FusedOpTests {
    /// Batched float32 products small enough for `mh_sgemm_batch` (the C kernel attention's per-head products take)
    /// against the same products in float64 (dgemm): rows and columns around the 8-row and 32-column blocks, every
    /// transpose of either side, a head split's strided views, a broadcast batch axis, the α scale; within 1e-5 of
    /// max(|value|, 1).
    @Test(arguments: [(1, 64, 100), (3, 5, 7), (8, 32, 64), (13, 33, 1), (128, 128, 64), (128, 64, 128), (20, 97, 16)])
    func smallBatchedProductsMatchDouble(_ shape: (m: Int, n: Int, k: Int)) {
        var generator = RandomGenerator(seed: UInt64(shape.m * 1000 + shape.n))
        let (m, n, k) = shape
        func check(_ a: Tensor, _ b: Tensor, _ what: String) {
            let single = a.matmul(b, scale: 0.5).doubles
            let double = a.converted(to: .float64).matmul(b.converted(to: .float64), scale: 0.5).doubles
            let worst = zip(single, double).map { abs($0 - $1) / Swift.max(abs($1), 1) }.max() ?? 1
            #expect(single.count == double.count && worst < 1e-5, "\(what) \(m)×\(n)×\(k): \(worst)")
        }
        let a = Tensor.randomNormal([2, 3, m, k], using: &generator)
        let b = Tensor.randomNormal([2, 3, k, n], using: &generator)
        check(a, b, "plain")
        check(a.transposed().contiguous().transposed(), b, "Aᵀ stored")
        check(a, b.transposed().contiguous().transposed(), "Bᵀ stored")
        check(a, Tensor.randomNormal([3, k, n], using: &generator), "B broadcast over the first batch axis")
        // A head split: [B, T, H·D] viewed as [B, H, T, D]; scores Q Kᵀ read both sides through strides.
        let x = Tensor.randomNormal([2, m, 4 * k], using: &generator)
        let heads = x.reshaped([2, m, 4, k]).transposed(1, 2)
        check(heads, heads.transposed(), "QKᵀ of strided heads")
    }

    /// `linear` (W [out, in]) and GPT-2's `conv1D` (W [in, out], read as stored) against matmul + bias.
    @Test(arguments: [true, false])
    func affineProductsEqualMatmulPlusBias(_ linear: Bool) {
        var generator = RandomGenerator(seed: linear ? 41 : 47)
        func product(_ x: Tensor, _ w: Tensor, _ b: Tensor?) -> Tensor {
            linear ? x.linear(weight: w, bias: b) : x.conv1D(weight: w, bias: b)
        }
        let x = Tensor.randomNormal([2, 3, 5], using: &generator).requiringGrad()
        let w = Tensor.randomNormal(linear ? [4, 5] : [5, 4], using: &generator).requiringGrad()
        let b = Tensor.randomNormal([4], using: &generator).requiringGrad()
        let fused = product(x, w, b)
        let plain = x.matmul(linear ? w.transposed() : w) + b
        #expect(zip(fused.doubles, plain.doubles).allSatisfy { abs($0 - $1) <= 1e-6 })
        let seed = Tensor.randomNormal([2, 3, 4], using: &generator)
        fused.backward(seed)
        let (gx, gw, gb) = (x.grad?.doubles ?? [], w.grad?.doubles ?? [], b.grad?.doubles ?? [])
        for t in [x, w, b] { t.zeroGrad() }
        plain.backward(seed)
        for (ours, reference) in [
            (gx, x.grad?.doubles ?? []), (gw, w.grad?.doubles ?? []), (gb, b.grad?.doubles ?? []),
        ] {
            #expect(ours.count == reference.count && zip(ours, reference).allSatisfy { abs($0 - $1) <= 1e-5 })
        }
        #expect(product(x, w, nil).doubles.count == 24)
        let check = GradientCheck.worst(
            [
                GradientCheck.input([3, 5], seed: 42), GradientCheck.input(linear ? [4, 5] : [5, 4], seed: 43),
                GradientCheck.input([4], seed: 44),
            ]
        ) { product($0[0], $0[1], $0[2]) }
        #expect(check.score <= 1, "\(check.where)")
    }

    @Test func scaledMatmulGradient() {
        let scaled = GradientCheck.worst([
            GradientCheck.input([2, 3, 4], seed: 45), GradientCheck.input([2, 5, 4], seed: 46),
        ]) {
            $0[0].matmul($0[1].transposed(), scale: 0.125)
        }
        #expect(scaled.score <= 1, "\(scaled.where)")
    }

    /// The vectorized float32 kernels (CKernels: polynomial erf and exp) against float64 libm over [−12, 12]:
    /// both GELUs and their derivatives within 2e-6 of max(|value|, 1); softmax within 5e-7, exactly 0 at −∞; the
    /// softmax and log-softmax gradients within 1e-5.
    @Test func vectorizedKernelsMatchLibm() {
        let points = (0...48000).map { -12 + Double($0) / 2000 }
        let x32 = Tensor(points.map(Float.init), shape: [points.count]).requiringGrad()
        let x64 = Tensor(points.map { Double(Float($0)) }, shape: [points.count], dtype: .float64).requiringGrad()
        for (name, f) in [("gelu", { (x: Tensor) in x.gelu() }), ("gelu_tanh", { (x: Tensor) in x.geluTanh() })] {
            let (y32, y64) = (f(x32), f(x64))
            let worst = zip(y32.doubles, y64.doubles).map { abs($0 - $1) / Swift.max(abs($1), 1) }.max() ?? 1
            #expect(worst < 2e-6, "\(name): \(worst)")
            y32.sum().backward()
            y64.sum().backward()
            let (g32, g64) = (x32.grad?.doubles ?? [], x64.grad?.doubles ?? [])
            let worstGradient = zip(g32, g64).map { abs($0 - $1) / Swift.max(abs($1), 1) }.max() ?? 1
            #expect(g32.count == points.count && worstGradient < 2e-6, "\(name)′: \(worstGradient)")
            x32.zeroGrad()
            x64.zeroGrad()
        }
        var generator = RandomGenerator(seed: 61)
        let scores = Tensor.randomNormal([6, 300], std: 20, using: &generator)
        let (p32, p64) = (scores.softmax().doubles, scores.converted(to: .float64).softmax().doubles)
        #expect(zip(p32, p64).map { abs($0 - $1) }.max() ?? 1 < 5e-7)  // a few float ulps of 1
        let masked = Tensor([0, -Float.infinity, 2, -Float.infinity], shape: [1, 4]).softmax().doubles
        #expect(masked[1] == 0 && masked[3] == 0 && abs(masked[0] + masked[2] - 1) < 1e-7)
        let allMasked = Tensor([-Float.infinity, -Float.infinity], shape: [1, 2]).softmax().doubles
        #expect(allMasked.allSatisfy { $0.isNaN })
        // Their backward (one vectorized pass per row), rows of 300: not a multiple of the 16 lanes.
        let seed = Tensor.randomNormal([6, 300], using: &generator)
        for log in [false, true] {
            let (s32, s64) = (scores.requiringGrad(), scores.converted(to: .float64).requiringGrad())
            (log ? s32.logSoftmax() : s32.softmax()).backward(seed)
            (log ? s64.logSoftmax() : s64.softmax()).backward(seed.converted(to: .float64))
            let (g32, g64) = (s32.grad?.doubles ?? [], s64.grad?.doubles ?? [])
            let worst = zip(g32, g64).map { abs($0 - $1) / Swift.max(abs($1), 1) }.max() ?? 1
            #expect(g32.count == 1800 && worst < 1e-5, "\(log ? "log-softmax" : "softmax")′: \(worst)")
        }
    }

    /// The vectorized float32 cross-entropy (CKernels) against the float64 loops: 1031 classes (not a multiple of the
    /// 16 lanes), an ignored row, label smoothing; loss and gradient within 1e-5.
    @Test func vectorizedCrossEntropyMatchesDouble() {
        var generator = RandomGenerator(seed: 83)
        let logits = Tensor.randomNormal([5, 1031], std: 4, using: &generator)
        let targets = Tensor([3, -100, 1030, 0, 517] as [Int64], shape: [5])
        for smoothing in [0, 0.1] {
            let (x32, x64) = (logits.requiringGrad(), logits.converted(to: .float64).requiringGrad())
            let (l32, l64) = (
                x32.crossEntropy(targets: targets, labelSmoothing: smoothing),
                x64.crossEntropy(targets: targets, labelSmoothing: smoothing)
            )
            #expect(abs(l32.item - l64.item) < 1e-5 * Swift.max(abs(l64.item), 1), "loss \(l32.item) vs \(l64.item)")
            l32.backward()
            l64.backward()
            let (g32, g64) = (x32.grad?.doubles ?? [], x64.grad?.doubles ?? [])
            let worst = zip(g32, g64).map { abs($0 - $1) }.max() ?? 1
            #expect(g32.count == 5 * 1031 && worst < 1e-5, "gradient: \(worst)")
            #expect(g32[1031..<2062].allSatisfy { $0 == 0 })  // the ignored row
        }
    }

    /// The fused float32 layer norm (forward and backward in one pass per row) against the composed float64 ops,
    /// with rows not a multiple of the 16 lanes, with both affine parameters, only the scale (ModernBERT's norms),
    /// only the shift, or neither.
    @Test(arguments: [37, 64, 5])
    func fusedLayerNormMatchesComposed(_ width: Int) {
        var generator = RandomGenerator(seed: 71)
        let x = Tensor.randomNormal([3, 4, width], std: 3, using: &generator)
        let w = Tensor.randomNormal([width], using: &generator)
        let b = Tensor.randomNormal([width], using: &generator)
        let seed = Tensor.randomNormal([3, 4, width], using: &generator)
        for (scale, shift) in [(true, true), (true, false), (false, true), (false, false)] {
            let inputs32 = [x, w, b].map { $0.requiringGrad() }
            let inputs64 = [x, w, b].map { $0.converted(to: .float64).requiringGrad() }
            let y32 = inputs32[0].layerNorm(weight: scale ? inputs32[1] : nil, bias: shift ? inputs32[2] : nil)
            let y64 = inputs64[0].layerNorm(weight: scale ? inputs64[1] : nil, bias: shift ? inputs64[2] : nil)
            y32.backward(seed)
            y64.backward(seed.converted(to: .float64))
            func close(_ a: Tensor?, _ b: Tensor?) -> Bool {
                let (a, b) = (a?.doubles ?? [], b?.doubles ?? [])
                return a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * Swift.max(abs($1), 1) }
            }
            #expect(close(y32, y64), "scale \(scale) shift \(shift)")
            #expect(close(inputs32[0].grad, inputs64[0].grad), "scale \(scale) shift \(shift)")
            #expect(!scale || close(inputs32[1].grad, inputs64[1].grad), "scale \(scale) shift \(shift)")
            #expect(!shift || close(inputs32[2].grad, inputs64[2].grad), "scale \(scale) shift \(shift)")
        }
    }

    /// The fused float32 gated GELU (GeGLU) against GELU of the first half times the second, composed in float64:
    /// values and the input's gradient within 1e-5 (relative above 1), rows of an odd half-width; the float64 path
    /// (composed ops) against central differences.
    @Test func gatedGELUMatchesComposed() {
        var generator = RandomGenerator(seed: 97)
        let x = Tensor.randomNormal([3, 5, 2 * 37], std: 2, using: &generator)
        let seed = Tensor.randomNormal([3, 5, 37], using: &generator)
        let (x32, x64) = (x.requiringGrad(), x.converted(to: .float64).requiringGrad())
        let y32 = x32.gatedGELU()
        let y64 = x64.sliced(2, 0..<37).gelu() * x64.sliced(2, 37..<74)
        y32.backward(seed)
        y64.backward(seed.converted(to: .float64))
        func close(_ a: [Double], _ b: [Double]) -> Bool {
            a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * Swift.max(abs($1), 1) }
        }
        #expect(y32.shape == [3, 5, 37] && close(y32.doubles, y64.doubles))
        #expect(close(x32.grad?.doubles ?? [], x64.grad?.doubles ?? []))
        check("gated gelu", [input([2, 3, 8], 98)]) { $0[0].gatedGELU() }
    }

    /// The fused rotary embedding against transformers' formula composed of ops (`x·cos + rotate_half(x)·sin`), in
    /// float32 and float64, on a transposed (non-contiguous) input; its gradient against central differences.
    @Test func rotaryEmbeddingMatchesComposedFormula() {
        var generator = RandomGenerator(seed: 91)
        let (T, D) = (7, 6)
        let angles = Tensor.randomNormal([T, D / 2], std: 2, using: &generator).doubles
        // Each position's angles over both halves, as transformers repeats them.
        let table = (0..<T).flatMap { t in (0..<D).map { angles[t * D / 2 + $0 % (D / 2)] } }
        let (cos, sin) = (
            Tensor(table.map { Float(Foundation.cos($0)) }, shape: [T, D]),
            Tensor(table.map { Float(Foundation.sin($0)) }, shape: [T, D])
        )
        let x = Tensor.randomNormal([2, T, 3, D], using: &generator).transposed(1, 2)  // [2, 3, T, D], strided
        for dtype in [Tensor.DType.float32, .float64] {
            let y = x.converted(to: dtype)
            let halves = (y.sliced(3, 0..<D / 2), y.sliced(3, D / 2..<D))
            let composed =
                y * cos.converted(to: dtype) + Tensor.concatenate([-1 * halves.1, halves.0], axis: 3)
                * sin.converted(to: dtype)
            let fused = y.rotaryEmbedding(cos: cos, sin: sin)
            #expect(fused.shape == [2, 3, T, D])
            #expect(zip(fused.doubles, composed.doubles).allSatisfy { abs($0 - $1) <= 1e-6 }, "\(dtype)")
        }
        let (c64, s64) = (cos.converted(to: .float64), sin.converted(to: .float64))
        check("rotary", [input([2, T, 3, D], 95)]) { $0[0].transposed(1, 2).rotaryEmbedding(cos: c64, sin: s64) }
    }

    /// One and two rows take matrix-vector products (a generation step); with and without a bias, both layouts.
    @Test(arguments: [1, 2, 3])
    func fewRowsEqualMatmul(_ rows: Int) {
        var generator = RandomGenerator(seed: 51)
        let x = Tensor.randomNormal([rows, 5], using: &generator)
        let w = Tensor.randomNormal([4, 5], using: &generator)
        let b = Tensor.randomNormal([4], using: &generator)
        let cases: [(Tensor, Tensor)] = [
            (x.linear(weight: w, bias: b), x.matmul(w.transposed()) + b),
            (x.linear(weight: w, bias: nil), x.matmul(w.transposed())),
            (x.conv1D(weight: w.transposed().contiguous(), bias: b), x.matmul(w.transposed()) + b),
            (x.conv1D(weight: w.transposed().contiguous(), bias: nil), x.matmul(w.transposed())),
        ]
        for (fused, plain) in cases {
            #expect(fused.shape == [rows, 4])
            #expect(zip(fused.doubles, plain.doubles).allSatisfy { abs($0 - $1) <= 1e-5 })
        }
    }
}

/// `backward`'s `gradientReady`: each leaf reported once, with its complete gradient, as soon as every op that
/// reads it has run — the last layer's weight long before the first's — which data-parallel training relies on to
/// sum gradients while backward goes on.
@Suite struct GradientReadyTests {
    @Test func leavesAreReportedOnceCompleteAndEarly() {
        let x = input([4, 3], 11).detached()  // data: no gradient
        let (first, second, shared) = (input([3, 5], 12), input([5, 2], 13), input([2], 14))
        // An identity op on the first layer's weight that notes when the walk reaches it.
        final class Flag { var raised = false }
        let reached = Flag()
        let probe = Tensor.record("probe", first.detached(), inputs: [first]) { gradient in
            reached.raised = true
            return [gradient]
        }
        // `shared` is read twice, once near the loss and once deeper: reported only after both reads.
        let hidden = (x.matmul(probe).tanh().matmul(second) + shared).tanh()
        let loss = (hidden * shared).sum()
        var reported: [(ObjectIdentifier, Tensor)] = []
        var deepFirst: [Bool] = []
        loss.backward(gradientReady: {
            reported.append(($0, $1))
            deepFirst.append(reached.raised)
        })
        // `second` and `shared` before the walk reached the first layer; `first` after.
        #expect(deepFirst == [false, false, true])
        let names = [first, second, shared].map { $0.gradientIdentity }
        #expect(reported.count == 3 && Set(reported.map(\.0)).count == 3)
        #expect(reported.map(\.0) == [names[2], names[1], names[0]].compactMap { $0 })
        for (leaf, gradient) in reported {
            let tensor = [first, second, shared].first { $0.gradientIdentity == leaf }
            #expect(tensor?.grad?.doubles == gradient.doubles)
        }
        // The same gradients as a pass without the hook.
        let again = [first, second, shared].map { $0.detached().requiringGrad() }
        let repeated = ((x.matmul(again[0]).tanh().matmul(again[1]) + again[2]).tanh() * again[2]).sum()
        repeated.backward()
        #expect(zip([first, second, shared], again).allSatisfy { $0.grad?.doubles == $1.grad?.doubles })
    }
}

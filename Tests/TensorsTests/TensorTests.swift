import Support
import TestSupport
import Testing

@testable import Tensors

/// Creation, layouts and views: values checked element by element against what row-major order gives.
@Suite struct TensorTests {
    @Test func creationAndElements() {
        let x = Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3])
        #expect(x.shape == [2, 3] && x.dtype == .float32 && x.isContiguous)
        #expect(x.floats == [1, 2, 3, 4, 5, 6])
        #expect(Tensor.zeros([2, 2]).floats == [0, 0, 0, 0])
        #expect(Tensor.full([3], 2.5, dtype: .float64).doubles == [2.5, 2.5, 2.5])
        #expect(Tensor.arange(0, 5).integers == [0, 1, 2, 3, 4] && Tensor.arange(0, 5).dtype == .int64)
        #expect(Tensor([3, 1, 2]).dtype == .int64)
        for dtype in Tensor.DType.allCases {
            #expect(Tensor([1, 0, 2] as [Double], dtype: dtype).integers == (dtype == .bool ? [1, 0, 1] : [1, 0, 2]))
        }
        // Half precision rounds to nearest even: 1 + 2⁻¹¹ is halfway between 1 and 1 + 2⁻¹⁰.
        #expect(
            Tensor([1.00048828125, 65504, -0.00006103515625] as [Double], dtype: .float16).doubles == [
                1, 65504, -0.00006103515625,
            ])
        #expect(Tensor([1.00390625] as [Double], dtype: .bfloat16).doubles == [1])
    }

    /// Buffers of 1 MB and more are reused after their tensor is gone (no fresh pages for the next one of the same
    /// size), and a reused buffer asked for as zeros is zeros.
    @Test func largeBuffersAreReused() {
        let count = 600_000  // 2.4 MB of float32
        var address: UnsafeMutableRawPointer?
        do {
            let first = Tensor.full([count], 7)
            address = first.storage.pointer
            #expect(first.doubles.allSatisfy { $0 == 7 })
        }
        let second = Tensor.zeros([count])
        #expect(second.storage.pointer == address, "the freed buffer is taken again")
        #expect(second.doubles.allSatisfy { $0 == 0 })
        let small = Tensor.zeros([10])
        #expect(small.doubles == [Double](repeating: 0, count: 10))
    }

    @Test func viewsShareStorage() {
        let x = Tensor((0..<24).map(Float.init), shape: [2, 3, 4])
        let t = x.transposed(0, 2)
        #expect(t.shape == [4, 3, 2] && !t.isContiguous && t.storage === x.storage)
        #expect(t.floats.prefix(4) == [0, 12, 4, 16])
        #expect(x.permuted([1, 2, 0]).floats.prefix(4) == [0, 12, 1, 13])
        #expect(x.sliced(2, 1..<3).floats == [1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22])
        #expect(
            Tensor([1, 2, 3] as [Float], shape: [3, 1]).expanded(to: [2, 3, 2]).floats == [
                1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3,
            ])
        #expect(x.reshaped([6, -1]).shape == [6, 4])
        #expect(t.contiguous().isContiguous && t.contiguous().floats == t.floats)
        #expect(x.transposed().reshaped([-1]).floats.prefix(5) == [0, 4, 8, 1, 5])
    }

    @Test func arithmeticAndReductions() {
        let a = Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3])
        let bias = Tensor([10, 20, 30] as [Float])
        #expect((a + bias).floats == [11, 22, 33, 14, 25, 36])
        #expect((a * Tensor([2] as [Float])).floats == [2, 4, 6, 8, 10, 12])
        #expect((Tensor([1, 2] as [Float], shape: [2, 1]) - a).floats == [0, -1, -2, -2, -3, -4])
        #expect(a.sum().item == 21 && a.sum(axes: [0]).floats == [5, 7, 9] && a.mean(axes: [1]).floats == [2, 5])
        #expect(a.max(axis: 1).floats == [3, 6] && a.argmax(axis: 0).integers == [1, 1, 1])
        let product = a.matmul(Tensor([1, 0, 0, 1, 1, 1] as [Float], shape: [3, 2]))
        #expect(product.floats == [4, 5, 10, 11])
        #expect(a.matmul(a.transposed()).floats == [14, 32, 32, 77])
    }

    /// A head split's copy ([B, T, H, D] → [B, H, T, D], rows of D contiguous in the source) copies row by row;
    /// every element lands where the index arithmetic says.
    @Test func permutedCopiesMoveRows() {
        let (b, t, h, d) = (2, 3, 4, 20)
        let x = Tensor.arange(0, Double(b * t * h * d), dtype: .float32).reshaped([b, t, h, d])
        let y = x.transposed(1, 2).contiguous().floats
        var expected: [Float] = []
        for i in 0..<b {
            for j in 0..<h {
                for k in 0..<t {
                    for l in 0..<d {
                        expected.append(Float(((i * t + k) * h + j) * d + l))
                    }
                }
            }
        }
        #expect(y == expected)
        #expect(x.transposed(1, 2).contiguous().transposed(1, 2).contiguous().floats == x.floats)
        // A slice of each row (an offset, and a row stride larger than the row).
        let middle = x.sliced(3, 2..<18).contiguous().floats
        #expect(middle == x.floats.enumerated().filter { (2..<18).contains($0.offset % d) }.map(\.element))
    }

    /// Sums over leading axes of a contiguous float32 tensor take a column-sum kernel (blocks of 512 columns):
    /// checked against sums in Double over a width that leaves a partial block, and against the general path.
    @Test func leadingAxisSumsMatchDoubleSums() {
        var generator = RandomGenerator(seed: 3)
        let x = Tensor.randomNormal([3, 5, 1030], using: &generator)
        let values = x.floats
        let expected = (0..<1030).map { column in
            Float((0..<15).reduce(0.0) { $0 + Double(values[$1 * 1030 + column]) })
        }
        #expect(x.sum(axes: [0, 1]).floats == expected)
        #expect(x.sum(axes: [1, 0], keepingDimensions: true).shape == [1, 1, 1030])
        // The same sums through the transposed-copy path (a non-contiguous input).
        let general = x.permuted([2, 0, 1]).sum(axes: [1, 2]).floats
        #expect(zip(general, expected).allSatisfy { abs($0 - $1) <= 1e-5 * Swift.max(abs($1), 1) })
    }

    /// Freed buffers of 1 MB and more come back for the next tensor of the same size, zero-filled where the tensor
    /// promises zeros; other sizes get their own; a pool holds no more than its capacity and drains to nothing.
    @Test func freedBuffersAreReused() {
        // An element count no other test uses, so tests running beside this one do not take the buffer.
        let elements = 300_007
        var first: Tensor? = Tensor.full([elements], 7)
        let address = first?.storage.pointer
        first = nil
        let second = Tensor.zeros([elements])
        #expect(second.storage.pointer == address)
        #expect(second.floats.allSatisfy { $0 == 0 })
        #expect(Tensor.zeros([elements + 1]).storage.pointer != address)

        let pool = BufferPool(capacity: 3 << 20)
        let buffers = (0..<4).map { _ in UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 64) }
        #expect(pool.give(buffers[0], byteCount: 1 << 20) && pool.give(buffers[1], byteCount: 1 << 20))
        #expect(pool.give(buffers[2], byteCount: 1 << 20) && !pool.give(buffers[3], byteCount: 1 << 20))
        buffers[3].deallocate()
        #expect(pool.held == 3 << 20 && pool.take(2 << 20) == nil)
        #expect(pool.take(1 << 20) == buffers[2])
        buffers[2].deallocate()
        let small = UnsafeMutableRawPointer.allocate(byteCount: 1000, alignment: 64)
        #expect(!pool.give(small, byteCount: 1000))  // under 1 MB: malloc keeps those well enough
        small.deallocate()
        pool.drain()
        #expect(pool.held == 0 && pool.take(1 << 20) == nil)
    }

    @Test func autogradAccumulatesAndReleases() {
        let x = Tensor([1, 2, 3] as [Float], requiresGrad: true)
        let y = (x * x).sum()
        y.backward()
        #expect(x.grad?.floats == [2, 4, 6])
        (x * 3).sum().backward()
        #expect(x.grad?.floats == [5, 7, 9])  // accumulated across calls
        x.zeroGrad()
        #expect(x.grad == nil)
        let z = Tensor.withoutGradient { (x * x).sum() }
        #expect(!z.requiresGrad && !z.hasGradientFunction)
        #expect(!(x.detached() * 2).requiresGrad)
        // A seed gradient for a non-scalar output.
        let w = x * x
        w.backward(Tensor([1, 0, 2] as [Float]))
        #expect(x.grad?.floats == [2, 0, 12])
        // A leaf's gradient keeps the buffer its op made, but never the caller's seed.
        let leaf = Tensor([1, 2] as [Float], requiresGrad: true)
        let seed = Tensor([3, 4] as [Float])
        leaf.backward(seed)
        #expect(leaf.grad?.floats == [3, 4] && leaf.grad?.storage !== seed.storage)
        let (a, b) = (Tensor([1] as [Float], requiresGrad: true), Tensor([2] as [Float], requiresGrad: true))
        (a * b).backward()
        #expect(a.grad?.floats == [2] && b.grad?.floats == [1])
    }
}

/// Masks: bool, integer and broadcast masks select the same elements.
@Suite struct MaskTests {
    @Test func masksSelectAndBroadcast() {
        let x = Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3])
        let rowMask = Tensor([1, 0, 1], dtype: .bool)
        #expect(x.maskedFill(rowMask, -1).floats == [-1, 2, -1, -1, 5, -1])
        #expect(x.maskedFill(Tensor([0, 1], shape: [2, 1], dtype: .uint8), 0).floats == [1, 2, 3, 0, 0, 0])
        #expect(rowMask.logicalNot().integers == [0, 1, 0] && rowMask.logicalNot().dtype == .bool)
        #expect(Tensor.where(rowMask, x, x * 10).floats == [1, 20, 3, 4, 50, 6])
        #expect(x.maskedFill(rowMask, -.infinity).floats[0] == -.infinity)  // no 0·∞ NaN
    }
}

/// `print(tensor)` writes what PyTorch's `repr` writes (Tests/Fixtures/tensors/printing.json, made by torch), and the
/// typed accessors read what `doubles` reads.
@Suite struct TensorDescriptionTests {
    static let cases: [JSONObject] = {
        (try? Fixtures.json(Fixtures.path("tensors/printing.json")))?.array?.compactMap(\.object) ?? []
    }()

    static let dtypes: [String: Tensor.DType] = [
        "float32": .float32, "float64": .float64, "float16": .float16, "bfloat16": .bfloat16, "int64": .int64,
        "int32": .int32, "int8": .int8, "uint8": .uint8, "bool": .bool,
    ]

    @Test(arguments: cases.compactMap { $0["name"]?.string })
    func printsAsPyTorch(_ name: String) throws {
        let entry = try #require(Self.cases.first { $0["name"]?.string == name })
        let dtype = try #require(Self.dtypes[entry["dtype"]?.string ?? ""])
        let shape = entry["shape"]?.array?.compactMap(\.integer) ?? []
        let values = (entry["values"]?.array ?? []).map { value -> Double in
            if let number = value.double { return number }
            return ["nan": .nan, "inf": .infinity, "-inf": -.infinity][value.string ?? ""] ?? 0
        }
        let tensor = Tensor(values, shape: shape, dtype: dtype, requiresGrad: entry["requires_grad"] == .bool(true))
        let expected = try #require(entry["repr"]?.string)
        #expect(tensor.description == expected, "\n\(tensor.description)\n---\n\(expected)")
    }

    /// Tensors of f16/bf16 hold what `hub convert --dtype` writes: one conversion (NaN in bf16 is 0xFFFF, as torch).
    @Test func halfTensorsUseTheFilesConversion() {
        let values: [Float] = [.nan, 1, -2.5e-3, 65504, 3.140625, 1e-8]
        for dtype in [Tensor.DType.float16, .bfloat16] {
            let tensor = Tensor(values, shape: [values.count]).converted(to: dtype).contiguous()
            let bits = (0..<values.count).map { tensor.storage.pointer.load(fromByteOffset: $0 * 2, as: UInt16.self) }
            let expected = values.map {
                dtype == .float16 ? HalfPrecision.float16Bits($0) : HalfPrecision.bfloat16Bits($0)
            }
            #expect(bits == expected, "\(dtype)")
        }
    }

    @Test func typedAccessorsReadTheStoredFloats() {
        let x = Tensor((0..<24).map { Float($0) * 0.37 - 3 }, shape: [2, 3, 4])
        #expect(x.floats == x.doubles.map(Float.init))
        let strided = x.transposed(0, 2)  // not contiguous
        #expect(!strided.isContiguous && strided.floats == strided.doubles.map(Float.init))
        #expect(x.rows.count == 6 && x.rows[1] == Array(x.floats[4..<8]))
        #expect(Tensor([2.5] as [Float], shape: [1]).scalar == 2.5)
        #expect(Tensor([1, 2], shape: [2]).rows == [[1, 2]], "integers converted")
    }
}

// Lookups and selections: embedding rows, gather, masked fill, where, concatenation, stacking, chunks.

extension Tensor {
    /// Rows of this [V, D] table picked by integer `ids` of any shape → ids.shape + [D].
    ///
    /// Backward: each picked row's gradient is added into that row (a row picked twice gets both); the
    /// `paddingIndex` row gets none, as `nn.Embedding(padding_idx=)`.
    public func embedding(_ ids: Tensor, paddingIndex: Int? = nil) -> Tensor {
        precondition(rank == 2, "an embedding table is [V, D], not \(shape)")
        let (vocabulary, width) = (shape[0], shape[1])
        let indices = ids.integers
        for id in indices {
            precondition(id >= 0 && id < vocabulary, "id \(id) is outside the embedding table of \(vocabulary) rows")
        }
        let table = contiguous().detached()
        let out = Tensor.empty(ids.shape + [width], dtype: dtype)
        let size = dtype.size * width
        let (from, to) = (table.storage.pointer + table.layout.offset * dtype.size, out.storage.pointer)
        for (row, id) in indices.enumerated() { (to + row * size).copyMemory(from: from + id * size, byteCount: size) }
        let dtype = self.dtype
        return Tensor.record("embedding", out, inputs: [self]) { g in
            let g = g.contiguous()
            let grad = Tensor.zeros([vocabulary, width], dtype: dtype)
            switch dtype {
            case .float32: Tensor.addRows(Float.self, g, into: grad, indices, width, skipping: paddingIndex)
            default: Tensor.addRows(Double.self, g, into: grad, indices, width, skipping: paddingIndex)
            }
            return [grad]
        }
    }

    private static func addRows<T: FloatElement>(
        _ type: T.Type, _ rows: Tensor, into table: Tensor, _ indices: [Int], _ width: Int, skipping: Int?
    ) {
        let (from, to) = (rows.pointer(as: T.self), table.pointer(as: T.self))
        for (row, id) in indices.enumerated() where id != skipping {
            for j in 0..<width { to[id * width + j] += from[row * width + j] }
        }
    }

    /// Elements picked along `axis` by integer `index` (same rank; PyTorch's `gather`).
    ///
    /// Backward: each gradient element is added where its element was picked from.
    public func gather(axis: Int, index: Tensor) -> Tensor {
        let resolved = layout.axis(axis)
        precondition(index.rank == rank, "gather index rank \(index.rank) differs from \(rank)")
        let picks = index.integers
        let source = contiguous().detached()
        let out = Tensor.empty(index.shape, dtype: dtype)
        let positions = Tensor.gatherPositions(index.shape, shape, resolved, picks)
        for (element, position) in positions.enumerated() {
            out.setElement(element, source.element(atStorageIndex: source.layout.offset + position))
        }
        let (original, dtype) = (shape, self.dtype)
        return Tensor.record("gather", out, inputs: [self]) { g in
            let values = g.doubles
            let grad = Tensor.zeros(original, dtype: dtype)
            for (element, position) in positions.enumerated() {
                grad.setElement(position, grad.element(atStorageIndex: position) + values[element])
            }
            return [grad]
        }
    }

    /// Row-major positions in a tensor of `shape` of each element `gather` picks.
    private static func gatherPositions(_ indexShape: [Int], _ shape: [Int], _ axis: Int, _ picks: [Int]) -> [Int] {
        let strides = Layout.contiguousStrides(shape)
        var coordinate = [Int](repeating: 0, count: indexShape.count)
        var positions: [Int] = []
        positions.reserveCapacity(picks.count)
        for pick in picks {
            precondition(pick >= 0 && pick < shape[axis], "gather index \(pick) out of 0..<\(shape[axis])")
            var position = 0
            for d in 0..<shape.count {
                precondition(d == axis || coordinate[d] < shape[d], "gather index shape \(indexShape) exceeds \(shape)")
                position += (d == axis ? pick : coordinate[d]) * strides[d]
            }
            positions.append(position)
            var d = indexShape.count - 1
            while d >= 0 {
                coordinate[d] += 1
                if coordinate[d] < indexShape[d] { break }
                coordinate[d] = 0
                d -= 1
            }
        }
        return positions
    }

    /// `value` where `mask` (bool or integer, broadcast) is non-zero, this tensor elsewhere.
    ///
    /// Backward: the gradient where the mask is zero.
    public func maskedFill(_ mask: Tensor, _ value: Double) -> Tensor {
        let keep = Tensor.keepMask(mask, shape: shape, dtype: dtype, invert: true)
        // Written element by element, not as x·keep + (1 − keep)·value: a value of −∞ would make 0·∞ = NaN.
        let filled = copied()
        switch dtype {
        case .float32:
            let (f, k) = (filled.pointer(as: Float.self), keep.pointer(as: Float.self))
            for i in 0..<count where k[i] == 0 { f[i] = Float(value) }
        case .float64:
            let (f, k) = (filled.pointer(as: Double.self), keep.pointer(as: Double.self))
            for i in 0..<count where k[i] == 0 { f[i] = value }
        default:
            preconditionFailure("masked fill of \(dtype): convert to float32 first")
        }
        return Tensor.record("masked_fill", filled, inputs: [self]) { g in [g * keep] }
    }

    /// `a` where `condition` is non-zero, `b` elsewhere (all broadcast).
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        guard let shape = broadcastShape(broadcastShape(a.shape, b.shape) ?? [], condition.shape) else {
            preconditionFailure("where: \(condition.shape), \(a.shape) and \(b.shape) do not broadcast")
        }
        let pick = keepMask(condition, shape: shape, dtype: a.dtype, invert: false)
        return a * pick + b * (1 - pick)
    }

    /// A float tensor of `shape`: 1 where `mask` is non-zero (0 when `invert`), else the opposite.
    private static func keepMask(_ mask: Tensor, shape: [Int], dtype: DType, invert: Bool) -> Tensor {
        let view = Tensor(storage: mask.storage, layout: mask.layout.expanded(to: shape), dtype: mask.dtype)
        let out = Tensor.empty(shape, dtype: dtype)
        func write<T: FloatElement>(_ type: T.Type) {
            let o = out.pointer(as: T.self)
            var index = 0
            view.layout.forEachIndex {
                o[index] = (view.element(atStorageIndex: $0) != 0) != invert ? 1 : 0
                index += 1
            }
        }
        switch dtype {
        case .float32: write(Float.self)
        case .float64: write(Double.self)
        default: preconditionFailure("a mask for \(dtype) values: convert them to float32 first")
        }
        return out
    }

    /// A bool tensor, true where this one is zero.
    public func logicalNot() -> Tensor {
        let out = Tensor.empty(shape, dtype: .bool)
        let o = out.pointer(as: UInt8.self)
        var index = 0
        layout.forEachIndex {
            o[index] = element(atStorageIndex: $0) == 0 ? 1 : 0
            index += 1
        }
        return out
    }

    /// The tensors joined along `axis` (same shape elsewhere).
    ///
    /// Backward: each gets its slice of the gradient.
    public static func concatenate(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concatenate of no tensors")
        let first = tensors[0]
        let resolved = first.layout.axis(axis)
        var shape = first.shape
        shape[resolved] = tensors.reduce(0) { $0 + $1.shape[resolved] }
        let out = Tensor.empty(shape, dtype: first.dtype)
        var start = 0
        var ranges: [Range<Int>] = []
        for tensor in tensors {
            var expected = first.shape
            expected[resolved] = tensor.shape[resolved]
            precondition(
                tensor.shape == expected && tensor.dtype == first.dtype,
                "concatenate of \(tensor.shape) with \(first.shape)")
            let range = start..<start + tensor.shape[resolved]
            tensor.copyElements(into: out.slicedUntracked(resolved, range))
            ranges.append(range)
            start = range.upperBound
        }
        return record("cat", out, inputs: tensors) { g in ranges.map { g.sliced(resolved, $0) } }
    }

    /// The tensors (same shape) stacked along a new axis.
    public static func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        concatenate(tensors.map { $0.unsqueezed(axis) }, axis: axis)
    }

    /// Views of consecutive pieces of `sizes` along `axis` (PyTorch's `split` with a list).
    public func split(_ sizes: [Int], axis: Int) -> [Tensor] {
        precondition(sizes.reduce(0, +) == size(axis), "split sizes \(sizes) do not add up to \(size(axis))")
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return sliced(axis, start..<start + size)
        }
    }
}

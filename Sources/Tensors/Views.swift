// Views (no copy, storage shared) and the copies that make a layout contiguous or change the dtype. Each view's
// backward undoes the view on the gradient.

extension Tensor {
    /// A row-major copy of the elements in fresh storage (same dtype), cut off from the graph.
    func copied() -> Tensor {
        let result = Tensor.empty(shape, dtype: dtype)
        copyElements(into: result)
        return result
    }

    /// Copies the elements, in row-major order, into `target` (same count and dtype; any layout, writable).
    func copyElements(into target: Tensor) {
        precondition(target.count == count && target.dtype == dtype, "copy of \(shape) \(dtype) into \(target.shape)")
        precondition(target.storage.isWritable, "writing to read-only (mapped) storage")
        // Nothing to move; an empty layout may not count as contiguous, and copying its source would recurse.
        guard count > 0 else { return }
        let size = dtype.size
        if !target.isContiguous {
            // Scatter: row-major source elements to the target's positions.
            let source = isContiguous ? self : copied()
            let from = source.storage.pointer + source.layout.offset * size
            let to = target.storage.pointer
            var index = 0
            target.layout.forEachIndex {
                (to + $0 * size).copyMemory(from: from + index * size, byteCount: size)
                index += 1
            }
            return
        }
        let destination = target.storage.pointer + target.layout.offset * size
        if isContiguous {
            destination.copyMemory(from: storage.pointer + layout.offset * size, byteCount: count * size)
            return
        }
        // Rows contiguous in the source (a head split or merge, [B, T, H, D] ↔ [B, H, T, D]): one copy per row.
        let inner = shape.last ?? 1
        if rank > 1, layout.strides[rank - 1] == 1, inner >= 16 {
            let rows = Layout(
                shape: Array(shape.dropLast()), strides: Array(layout.strides.dropLast()), offset: layout.offset)
            var index = 0
            rows.forEachIndex {
                (destination + index * size).copyMemory(from: storage.pointer + $0 * size, byteCount: inner * size)
                index += inner
            }
            return
        }
        // Typed gathers for the common element sizes: one load and store per element, not a memcpy call.
        func gather<T>(_ type: T.Type) {
            let (to, from) = (
                destination.assumingMemoryBound(to: T.self), storage.pointer.assumingMemoryBound(to: T.self)
            )
            var index = 0
            layout.forEachIndex {
                to[index] = from[$0]
                index += 1
            }
        }
        switch size {
        case 4: gather(UInt32.self)
        case 8: gather(UInt64.self)
        case 2: gather(UInt16.self)
        default: gather(UInt8.self)
        }
    }

    /// This tensor when its layout is already row-major, else a row-major copy (gradients pass through).
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        return Tensor.record("contiguous", copied(), inputs: [self]) { [$0] }
    }

    /// The elements converted to `dtype` (gradients flow between floating-point types).
    public func converted(to dtype: DType) -> Tensor {
        if dtype == self.dtype { return self }
        let result = Tensor.empty(shape, dtype: dtype)
        switch (self.dtype, dtype) {
        case (.float32, .float64): convertFloats(Float.self, Double.self, into: result)
        case (.float64, .float32): convertFloats(Double.self, Float.self, into: result)
        default:
            var index = 0
            layout.forEachIndex {
                result.setElement(index, element(atStorageIndex: $0))
                index += 1
            }
        }
        guard self.dtype.isFloatingPoint, dtype.isFloatingPoint else { return result }
        let source = self.dtype
        return Tensor.record("convert", result, inputs: [self]) { [$0.converted(to: source)] }
    }

    /// Float ↔ double, element by element in row-major order, into the contiguous `result`.
    private func convertFloats<S: FloatElement, D: FloatElement>(
        _ source: S.Type, _ target: D.Type, into result: Tensor
    ) {
        let (to, from) = (result.pointer(as: D.self), storage.pointer.assumingMemoryBound(to: S.self))
        var index = 0
        layout.forEachIndex {
            to[index] = D(from[$0])
            index += 1
        }
    }

    /// The same elements with another shape (one axis may be -1: inferred).
    ///
    /// A view when the layout allows, else a copy.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var newShape = newShape
        if let inferred = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != inferred }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            newShape[inferred] = count / known
        }
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        let source = contiguous()
        guard let view = source.layout.reshaped(newShape) else { preconditionFailure("reshape of a contiguous tensor") }
        let oldShape = shape
        return Tensor.record(
            "reshape", Tensor(storage: source.storage, layout: view, dtype: dtype), inputs: [source]
        ) { [$0.reshaped(oldShape)] }
    }

    /// A view with two axes swapped.
    public func transposed(_ first: Int = -2, _ second: Int = -1) -> Tensor {
        let view = Tensor(storage: storage, layout: layout.transposed(first, second), dtype: dtype)
        return Tensor.record("transpose", view, inputs: [self]) { [$0.transposed(first, second)] }
    }

    /// A view with the axes reordered: axis `i` of the result is axis `order[i]` of this tensor.
    public func permuted(_ order: [Int]) -> Tensor {
        let view = Tensor(storage: storage, layout: layout.permuted(order), dtype: dtype)
        let resolved = order.map(layout.axis)
        var inverse = [Int](repeating: 0, count: resolved.count)
        for (index, axis) in resolved.enumerated() { inverse[axis] = index }
        return Tensor.record("permute", view, inputs: [self]) { [$0.permuted(inverse)] }
    }

    /// A view of elements `range` along `axis` (PyTorch's `narrow`).
    public func sliced(_ axis: Int, _ range: Range<Int>) -> Tensor {
        let view = Tensor(storage: storage, layout: layout.sliced(axis, range), dtype: dtype)
        let (shape, dtype, resolved) = (self.shape, self.dtype, layout.axis(axis))
        return Tensor.record("slice", view, inputs: [self]) { gradient in
            let full = Tensor.zeros(shape, dtype: dtype)
            gradient.copyElements(into: full.slicedUntracked(resolved, range))
            return [full]
        }
    }

    /// A slice view without autograd (for writing into).
    package func slicedUntracked(_ axis: Int, _ range: Range<Int>) -> Tensor {
        Tensor(storage: storage, layout: layout.sliced(axis, range), dtype: dtype)
    }

    /// A view broadcast to `target` (size-1 axes repeated without copying).
    public func expanded(to target: [Int]) -> Tensor {
        if target == shape { return self }
        let view = Tensor(storage: storage, layout: layout.expanded(to: target), dtype: dtype)
        let original = shape
        return Tensor.record("expand", view, inputs: [self]) { [$0.summed(toShape: original)] }
    }

    /// A view with a size-1 axis inserted at `axis`.
    public func unsqueezed(_ axis: Int) -> Tensor {
        let position = axis < 0 ? axis + rank + 1 : axis
        var newShape = shape
        newShape.insert(1, at: position)
        return reshaped(newShape)
    }

    /// A view without the size-1 axis `axis`.
    public func squeezed(_ axis: Int) -> Tensor {
        let position = layout.axis(axis)
        precondition(shape[position] == 1, "squeeze of axis \(axis) of size \(shape[position])")
        var newShape = shape
        newShape.remove(at: position)
        return reshaped(newShape)
    }

    /// The gradient of a broadcast: summed over the axes that `shape` repeated, to `shape`.
    func summed(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        var axes = Array(0..<lead)
        for (index, size) in target.enumerated() where size == 1 && shape[lead + index] != 1 {
            axes.append(lead + index)
        }
        return sum(axes: axes, keepingDimensions: true).reshaped(target)
    }
}

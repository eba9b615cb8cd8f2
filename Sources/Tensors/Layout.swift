/// Where a tensor's elements sit in its storage: shape, strides (in elements) and offset.
///
/// Views — transpose,
/// permute, slice, expand — change the layout and share the storage.
///
/// ```swift
/// let x = Tensor.zeros([2, 3])
/// x.transposed(0, 1).layout.strides              // [1, 3]: a view, no copy
/// ```
public struct Layout: Sendable, Equatable {
    public var shape: [Int]
    public var strides: [Int]
    public var offset: Int

    /// Row-major (C order) layout of `shape` from element 0.
    public init(contiguous shape: [Int]) {
        self.shape = shape
        strides = Self.contiguousStrides(shape)
        offset = 0
    }

    public init(shape: [Int], strides: [Int], offset: Int) {
        precondition(shape.count == strides.count, "shape \(shape) and strides \(strides) differ in rank")
        self.shape = shape
        self.strides = strides
        self.offset = offset
    }

    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= Swift.max(shape[axis], 1)
        }
        return strides
    }

    public var rank: Int { shape.count }
    /// The number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// Row-major with no gaps (size-1 axes may have any stride).
    public var isContiguous: Bool {
        var expected = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) where shape[axis] != 1 {
            if strides[axis] != expected { return false }
            expected *= shape[axis]
        }
        return true
    }

    /// An axis index counted from the end when negative (`-1` is the last axis).
    func axis(_ axis: Int) -> Int {
        let resolved = axis < 0 ? axis + rank : axis
        precondition(resolved >= 0 && resolved < Swift.max(rank, 1), "axis \(axis) out of range for rank \(rank)")
        return resolved
    }

    /// The layout with two axes swapped.
    func transposed(_ first: Int, _ second: Int) -> Layout {
        let (a, b) = (axis(first), axis(second))
        var result = self
        result.shape.swapAt(a, b)
        result.strides.swapAt(a, b)
        return result
    }

    /// The layout with its axes reordered: axis `i` of the result is axis `order[i]` of this one.
    func permuted(_ order: [Int]) -> Layout {
        let order = order.map(axis)
        precondition(order.count == rank && Set(order).count == rank, "\(order) is not a permutation of \(rank) axes")
        return Layout(shape: order.map { shape[$0] }, strides: order.map { strides[$0] }, offset: offset)
    }

    /// Elements `range` of one axis.
    func sliced(_ axis: Int, _ range: Range<Int>) -> Layout {
        let a = self.axis(axis)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[a], "slice \(range) out of 0..<\(shape[a])")
        var result = self
        result.offset += range.lowerBound * strides[a]
        result.shape[a] = range.count
        return result
    }

    /// The layout broadcast to `target` (NumPy rules: align right, size-1 axes repeat with stride 0).
    func expanded(to target: [Int]) -> Layout {
        precondition(target.count >= rank, "cannot expand \(shape) to \(target)")
        var newStrides = [Int](repeating: 0, count: target.count)
        let lead = target.count - rank
        for axis in 0..<rank {
            if shape[axis] == target[lead + axis] {
                newStrides[lead + axis] = strides[axis]
            } else {
                precondition(shape[axis] == 1, "cannot expand \(shape) to \(target)")
            }
        }
        return Layout(shape: target, strides: newStrides, offset: offset)
    }

    /// The same elements viewed with `newShape`, when possible without copying (contiguous layouts).
    func reshaped(_ newShape: [Int]) -> Layout? {
        guard isContiguous else { return nil }
        return Layout(shape: newShape, strides: Self.contiguousStrides(newShape), offset: offset)
    }

    /// Calls `body` with the storage index of every element, in row-major order of the shape.
    @inline(__always) func forEachIndex(_ body: (Int) -> Void) {
        let count = self.count
        guard count > 0 else { return }
        if rank == 0 {
            body(offset)
            return
        }
        let last = rank - 1
        let inner = shape[last]
        let innerStride = strides[last]
        var index = [Int](repeating: 0, count: rank)
        var base = offset
        var done = 0
        while done < count {
            var position = base
            for _ in 0..<inner {
                body(position)
                position += innerStride
            }
            done += inner
            // Carry into the outer axes.
            var axis = last - 1
            while axis >= 0 {
                index[axis] += 1
                base += strides[axis]
                if index[axis] < shape[axis] { break }
                base -= strides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}

/// The shape two shapes broadcast to (NumPy rules), or nil when they do not.
func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = Swift.max(a.count, b.count)
    var result = [Int](repeating: 1, count: rank)
    for index in 0..<rank {
        let x = index < rank - a.count ? 1 : a[index - (rank - a.count)]
        let y = index < rank - b.count ? 1 : b[index - (rank - b.count)]
        if x == y || y == 1 {
            result[index] = x
        } else if x == 1 {
            result[index] = y
        } else {
            return nil
        }
    }
    return result
}

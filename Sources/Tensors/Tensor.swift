import Support

/// An n-dimensional array on the CPU: storage shared by views, a layout, an element type, and (when it takes part
/// in differentiation) autograd state shared by its copies.
///
/// ```swift
/// let x = Tensor([1, 2, 3, 4] as [Float], shape: [2, 2], requiresGrad: true)
/// let y = (x * x).sum()
/// y.backward()
/// x.grad?.floats  // [2, 4, 6, 8]
/// ```
public struct Tensor: @unchecked Sendable {
    package let storage: Storage
    public let layout: Layout
    public let dtype: DType
    /// Gradient bookkeeping; nil for tensors that need no gradient.
    let autograd: AutogradInfo?

    init(storage: Storage, layout: Layout, dtype: DType, autograd: AutogradInfo? = nil) {
        precondition(
            layout.count == 0 || (layout.offset + Self.span(layout)) * dtype.size <= storage.byteCount,
            "layout \(layout.shape) at offset \(layout.offset) overruns \(storage.byteCount) bytes of storage")
        self.storage = storage
        self.layout = layout
        self.dtype = dtype
        self.autograd = autograd
    }

    /// One past the farthest element a layout reaches from its offset (strides are never negative here).
    static func span(_ layout: Layout) -> Int {
        var farthest = 0
        for (size, stride) in zip(layout.shape, layout.strides) where size > 0 { farthest += (size - 1) * stride }
        return farthest + 1
    }

    public var shape: [Int] { layout.shape }
    public var rank: Int { layout.rank }
    /// The number of elements.
    public var count: Int { layout.count }
    public var isContiguous: Bool { layout.isContiguous }

    /// The size of one axis (negative counts from the end).
    public func size(_ axis: Int) -> Int { layout.shape[layout.axis(axis)] }

    // MARK: - Creation

    /// A tensor of `shape` filled with zeros.
    public static func zeros(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        Tensor(
            storage: Storage(byteCount: Layout(contiguous: shape).count * dtype.size),
            layout: Layout(contiguous: shape), dtype: dtype)
    }

    /// A tensor of `shape` with every element `value`.
    public static func full(_ shape: [Int], _ value: Double, dtype: DType = .float32) -> Tensor {
        let result = Tensor.empty(shape, dtype: dtype)
        result.fill(value)
        return result
    }

    /// A tensor of `shape` filled with ones.
    public static func ones(_ shape: [Int], dtype: DType = .float32) -> Tensor { full(shape, 1, dtype: dtype) }

    /// Storage of `shape` whose elements the caller writes before anything reads them.
    package static func empty(_ shape: [Int], dtype: DType) -> Tensor {
        let layout = Layout(contiguous: shape)
        precondition(shape.allSatisfy { $0 >= 0 }, "negative size in shape \(shape)")
        return Tensor(storage: Storage(uninitializedByteCount: layout.count * dtype.size), layout: layout, dtype: dtype)
    }

    /// `start, start + step, …` below `end`.
    public static func arange(_ start: Double = 0, _ end: Double, step: Double = 1, dtype: DType = .int64) -> Tensor {
        precondition(step != 0, "arange with step 0")
        let count = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        let result = Tensor.empty([count], dtype: dtype)
        for index in 0..<count { result.setElement(index, start + Double(index) * step) }
        return result
    }

    /// Floating-point values, shaped (row-major).
    public init<T: BinaryFloatingPoint>(
        _ values: [T], shape: [Int]? = nil, dtype: DType? = nil, requiresGrad: Bool = false
    ) {
        let shape = shape ?? [values.count]
        let layout = Layout(contiguous: shape)
        precondition(layout.count == values.count, "\(values.count) values do not fill shape \(shape)")
        let type = dtype ?? (T.self == Double.self ? .float64 : .float32)
        let result = Tensor.empty(shape, dtype: type)
        // Same element type: one copy (the generic per-element path goes through witness tables, ~50 ns each).
        if (T.self == Float.self && type == .float32) || (T.self == Double.self && type == .float64) {
            values.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress {
                    result.storage.pointer.copyMemory(from: base, byteCount: bytes.count)
                }
            }
        } else {
            for (index, value) in values.enumerated() { result.setElement(index, Double(value)) }
        }
        self.init(
            storage: result.storage, layout: layout, dtype: type,
            autograd: requiresGrad ? AutogradInfo(requiresGrad: true) : nil)
    }

    /// Integer values (token ids, labels, masks), shaped (row-major); int64 unless `dtype` says otherwise.
    public init<T: BinaryInteger>(_ values: [T], shape: [Int]? = nil, dtype: DType = .int64) {
        let shape = shape ?? [values.count]
        let layout = Layout(contiguous: shape)
        precondition(layout.count == values.count, "\(values.count) values do not fill shape \(shape)")
        let result = Tensor.empty(shape, dtype: dtype)
        if T.self == Int.self && dtype == .int64 && Int.bitWidth == 64 {
            values.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress {
                    result.storage.pointer.copyMemory(from: base, byteCount: bytes.count)
                }
            }
        } else {
            for (index, value) in values.enumerated() { result.setElement(index, Double(value)) }
        }
        self = result
    }

    /// A tensor over borrowed bytes (a memory-mapped weight): no copy; `owner` keeps them alive.
    public init(borrowing pointer: UnsafeRawPointer, byteCount: Int, shape: [Int], dtype: DType, owner: AnyObject) {
        let layout = Layout(contiguous: shape)
        precondition(layout.count * dtype.size <= byteCount, "\(byteCount) bytes cannot hold \(shape) of \(dtype)")
        self.init(
            storage: Storage(borrowing: pointer, byteCount: byteCount, owner: owner), layout: layout, dtype: dtype)
    }

    // MARK: - Elements

    /// Element `index` (in storage elements, not row-major order) as a Double.
    @inline(__always) func element(atStorageIndex index: Int) -> Double {
        let pointer = storage.pointer
        switch dtype {
        case .float32: return Double(pointer.load(fromByteOffset: index * 4, as: Float.self))
        case .float64: return pointer.load(fromByteOffset: index * 8, as: Double.self)
        case .float16:
            return Double(HalfPrecision.float(float16: pointer.load(fromByteOffset: index * 2, as: UInt16.self)))
        case .bfloat16:
            return Double(HalfPrecision.float(bfloat16: pointer.load(fromByteOffset: index * 2, as: UInt16.self)))
        case .int64: return Double(pointer.load(fromByteOffset: index * 8, as: Int64.self))
        case .int32: return Double(pointer.load(fromByteOffset: index * 4, as: Int32.self))
        case .int8: return Double(pointer.load(fromByteOffset: index, as: Int8.self))
        case .uint8, .bool: return Double(pointer.load(fromByteOffset: index, as: UInt8.self))
        }
    }

    /// Writes element `index` of a contiguous tensor from offset 0 (the value converted to the dtype).
    func setElement(_ index: Int, _ value: Double) {
        precondition(storage.isWritable, "writing to read-only (mapped) storage")
        let pointer = storage.pointer
        switch dtype {
        case .float32: pointer.storeBytes(of: Float(value), toByteOffset: index * 4, as: Float.self)
        case .float64: pointer.storeBytes(of: value, toByteOffset: index * 8, as: Double.self)
        case .float16:
            pointer.storeBytes(of: HalfPrecision.float16Bits(Float(value)), toByteOffset: index * 2, as: UInt16.self)
        case .bfloat16:
            pointer.storeBytes(of: HalfPrecision.bfloat16Bits(Float(value)), toByteOffset: index * 2, as: UInt16.self)
        case .int64: pointer.storeBytes(of: Int64(value), toByteOffset: index * 8, as: Int64.self)
        case .int32: pointer.storeBytes(of: Int32(value), toByteOffset: index * 4, as: Int32.self)
        case .int8: pointer.storeBytes(of: Int8(value), toByteOffset: index, as: Int8.self)
        case .uint8: pointer.storeBytes(of: UInt8(value), toByteOffset: index, as: UInt8.self)
        case .bool: pointer.storeBytes(of: value != 0 ? 1 : 0, toByteOffset: index, as: UInt8.self)
        }
    }

    /// Every element set to `value` (a freshly made contiguous tensor).
    func fill(_ value: Double) {
        switch dtype {
        case .float32:
            storage.pointer.bindMemory(to: Float.self, capacity: count).update(repeating: Float(value), count: count)
        case .float64:
            storage.pointer.bindMemory(to: Double.self, capacity: count).update(repeating: value, count: count)
        default:
            for index in 0..<count { setElement(index, value) }
        }
    }

    /// Sets every element of this (writable) tensor or view to zero.
    package func fillZero() {
        let zero = Tensor.zeros(shape, dtype: dtype)
        zero.copyElements(into: self)
    }

    /// The elements in row-major order, as Doubles (any dtype).
    public var doubles: [Double] {
        var values: [Double] = []
        values.reserveCapacity(count)
        layout.forEachIndex { values.append(element(atStorageIndex: $0)) }
        return values
    }

    /// The elements in row-major order, as Floats (any dtype); a float32 tensor is read as it is stored, without
    /// going through Doubles (a contiguous one in one copy).
    ///
    /// ```swift
    /// let embeddings = try model.sentenceEmbeddings(texts)   // [texts, hidden]
    /// let values: [Float] = embeddings.floats
    /// ```
    public var floats: [Float] {
        guard dtype == .float32 else { return doubles.map(Float.init) }
        let source = pointer(as: Float.self)
        if isContiguous { return Array(UnsafeBufferPointer(start: source, count: count)) }
        let base = storage.pointer.bindMemory(to: Float.self, capacity: storage.byteCount / 4)
        var values: [Float] = []
        values.reserveCapacity(count)
        layout.forEachIndex { values.append(base[$0]) }
        return values
    }

    /// The elements as rows of the last axis (`[batch, hidden]` → one `[Float]` per row; a vector is one row).
    ///
    /// ```swift
    /// let rows = embeddings.rows          // rows[i]: the embedding of text i
    /// ```
    public var rows: [[Float]] {
        guard let width = shape.last, width > 0 else { return count == 0 ? [] : [floats] }
        let values = floats
        return stride(from: 0, to: values.count, by: width).map { Array(values[$0..<$0 + width]) }
    }

    /// The one element of a one-element tensor, as a Float (`loss.scalar`).
    public var scalar: Float {
        precondition(count == 1, "scalar of a tensor of \(count) elements")
        return dtype == .float32 ? pointer(as: Float.self).pointee : Float(item)
    }

    /// The elements in row-major order, as integers (any dtype; floats truncated).
    public var integers: [Int] { doubles.map { Int($0) } }

    /// The one element of a one-element tensor.
    public var item: Double {
        precondition(count == 1, "item of a tensor of \(count) elements")
        return element(atStorageIndex: layout.offset)
    }

    /// The elements in row-major order as raw bytes of the tensor's dtype (a contiguous copy first when the layout
    /// is not): how writers stream a tensor into a file without copying it into an array.
    package func withContiguousBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let dense = isContiguous ? self : contiguous()
        return try withExtendedLifetime(dense) {
            try body(
                UnsafeRawBufferPointer(
                    start: dense.storage.pointer + dense.layout.offset * dtype.size, count: dense.count * dtype.size))
        }
    }

    /// A typed pointer to element 0 of the layout (the storage at the layout's offset).
    func pointer<T>(as type: T.Type) -> UnsafeMutablePointer<T> {
        storage.pointer.bindMemory(to: T.self, capacity: storage.byteCount / MemoryLayout<T>.stride)
            + layout.offset
    }
}

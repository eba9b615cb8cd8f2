import Support

/// A protocol-buffers message being encoded, kept as pieces so that large byte fields (tensor data) are written
/// from where they live when the message is written, never copied into it.
///
/// Only what ONNX's messages use: varints (wire type 0), 32-bit floats (5) and length-delimited fields (2). Field
/// order is the caller's; protobuf readers accept any order.
///
/// ```swift
/// var dims = ProtoMessage()
/// dims.varint(1, 768)                 // TensorShapeProto.Dimension.dim_value
/// var shape = ProtoMessage()
/// shape.message(1, dims)              // TensorShapeProto.dim
/// ```
struct ProtoMessage {
    /// Bytes written by `write`, in order.
    enum Piece {
        case bytes([UInt8])
        /// `count` bytes that `write` produces when the message is written.
        case deferred(count: Int, what: String, write: (AtomicFile.Writer) throws -> Void)
    }

    private(set) var pieces: [Piece] = []
    private var tail: [UInt8] = []
    /// The encoded length in bytes.
    private(set) var count = 0

    private mutating func append(_ byte: UInt8) {
        tail.append(byte)
        count += 1
    }

    private mutating func appendVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        append(UInt8(value))
    }

    private mutating func tag(_ field: Int, _ wireType: UInt64) { appendVarint(UInt64(field) << 3 | wireType) }

    /// An integer field (int32, int64 or enum): negative values as their 64-bit two's complement, as protobuf does.
    mutating func varint(_ field: Int, _ value: Int) {
        tag(field, 0)
        appendVarint(UInt64(bitPattern: Int64(value)))
    }

    /// A `float` field.
    mutating func float(_ field: Int, _ value: Float) {
        tag(field, 5)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { for byte in $0 { append(byte) } }
    }

    /// A `string` field.
    mutating func string(_ field: Int, _ value: String) { bytes(field, Array(value.utf8)) }

    /// A `bytes` field held in the message.
    mutating func bytes(_ field: Int, _ value: [UInt8]) {
        tag(field, 2)
        appendVarint(UInt64(value.count))
        tail.append(contentsOf: value)
        count += value.count
    }

    /// A `bytes` field of `length` bytes that `write` produces at writing time (`what` names them in errors).
    mutating func deferredBytes(
        _ field: Int, length: Int, what: String, write: @escaping (AtomicFile.Writer) throws -> Void
    ) {
        tag(field, 2)
        appendVarint(UInt64(length))
        flush()
        pieces.append(.deferred(count: length, what: what, write: write))
        count += length
    }

    /// A packed `repeated int64` field.
    mutating func packedVarints(_ field: Int, _ values: [Int]) {
        var body = ProtoMessage()
        for value in values { body.appendVarint(UInt64(bitPattern: Int64(value))) }
        tag(field, 2)
        appendVarint(UInt64(body.count))
        tail.append(contentsOf: body.tail)
        count += body.count
    }

    /// A packed `repeated float` field.
    mutating func packedFloats(_ field: Int, _ values: [Float]) {
        tag(field, 2)
        appendVarint(UInt64(values.count * 4))
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { for byte in $0 { append(byte) } } }
    }

    /// An embedded message.
    mutating func message(_ field: Int, _ value: ProtoMessage) {
        tag(field, 2)
        appendVarint(UInt64(value.count))
        flush()
        pieces.append(contentsOf: value.pieces)
        if !value.tail.isEmpty { pieces.append(.bytes(value.tail)) }
        count += value.count
    }

    private mutating func flush() {
        if !tail.isEmpty { pieces.append(.bytes(tail)) }
        tail = []
    }

    /// Writes the encoded message into the file at `path`, checking that each deferred piece wrote what it declared.
    func write(to out: AtomicFile.Writer, path: String) throws {
        var all = pieces
        if !tail.isEmpty { all.append(.bytes(tail)) }
        for piece in all {
            switch piece {
            case .bytes(let bytes): try bytes.withUnsafeBytes { try out.write($0) }
            case .deferred(let count, let what, let write):
                let before = out.offset
                try write(out)
                guard out.offset - before == count else {
                    throw FormatError.badTensor(
                        path: path, tensor: what, reason: "wrote \(out.offset - before) bytes, declared \(count)")
                }
            }
        }
    }
}

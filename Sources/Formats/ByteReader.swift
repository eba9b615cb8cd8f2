/// A bounds-checked little-endian cursor over untrusted bytes; every read checks what remains first.
package struct ByteReader {
    /// The file the bytes come from, for error messages.
    package let path: String
    package let bytes: UnsafeRawBufferPointer
    package private(set) var position: Int

    package init(_ bytes: UnsafeRawBufferPointer, path: String, position: Int = 0) {
        self.bytes = bytes
        self.path = path
        self.position = position
    }

    package var remaining: Int { bytes.count - position }
    package var isAtEnd: Bool { position >= bytes.count }

    /// Moves to `offset`, which must lie within the bytes.
    package mutating func seek(to offset: Int, what: String) throws {
        guard offset >= 0, offset <= bytes.count else { throw FormatError.truncated(path: path, what: what) }
        position = offset
    }

    package mutating func skip(_ count: Int, what: String) throws {
        guard count >= 0, count <= remaining else { throw FormatError.truncated(path: path, what: what) }
        position += count
    }

    package mutating func u8(_ what: String) throws -> UInt8 {
        guard remaining >= 1 else { throw FormatError.truncated(path: path, what: what) }
        defer { position += 1 }
        return bytes[position]
    }

    package mutating func u16(_ what: String) throws -> UInt16 { UInt16(truncatingIfNeeded: try integer(2, what)) }
    package mutating func u32(_ what: String) throws -> UInt32 { UInt32(truncatingIfNeeded: try integer(4, what)) }
    package mutating func u64(_ what: String) throws -> UInt64 { try integer(8, what) }

    /// `count` bytes as a borrowed slice.
    package mutating func take(_ count: Int, what: String) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else { throw FormatError.truncated(path: path, what: what) }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<position + count])
    }

    private mutating func integer(_ width: Int, _ what: String) throws -> UInt64 {
        guard remaining >= width else { throw FormatError.truncated(path: path, what: what) }
        var value: UInt64 = 0
        for i in 0..<width { value |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
        position += width
        return value
    }
}

extension UnsafeRawBufferPointer {
    /// Little-endian integer of `width` bytes at `offset`; the caller has checked the bounds.
    package func littleEndian(at offset: Int, width: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<width { value |= UInt64(self[offset + i]) << (8 * UInt64(i)) }
        return value
    }
}

import Support

/// A read-only ZIP archive as `torch.save` writes it: stored (uncompressed) entries, ZIP64 where needed.
///
/// One strict parser validates and locates entries (docs/ARCHITECTURE.md (defences) table Z): the end-of-central-directory
/// record must end the file, the central directory must lie before it and parse to exactly the declared count,
/// every local header must agree with its central entry (name, method, flags, sizes), entries may not overlap
/// each other or the directory, and only method 0 (stored) is read — a compressed entry is refused before any
/// decompression, so a deflate bomb costs nothing. Entry names are never used as file-system paths.
package final class ZipArchive {
    package struct Entry {
        package let name: String
        /// Absolute range of the entry's data in the file.
        package let data: Range<Int>
        package let crc32: UInt32
    }

    package let path: String
    package let file: MappedFile
    package private(set) var entries: [String: Entry] = [:]
    /// Entry names in central-directory order.
    package private(set) var names: [String] = []
    /// Most entries an archive may hold (a checkpoint has one per storage plus a few records).
    static let maxEntries = 1_000_000

    package init(file: MappedFile) throws {
        self.file = file
        path = file.path
        let bytes = file.bytes
        let eocd = try Self.findEndRecord(bytes, path: path)
        var reader = ByteReader(bytes, path: path, position: eocd + 4)
        let disk = try reader.u16("end record"), cdDisk = try reader.u16("end record")
        let diskEntries = UInt64(try reader.u16("end record")), totalEntries16 = try reader.u16("end record")
        var totalEntries = UInt64(totalEntries16)
        var cdSize = UInt64(try reader.u32("end record")), cdOffset = UInt64(try reader.u32("end record"))
        guard disk == 0, cdDisk == 0, diskEntries == totalEntries else {
            throw FormatError.malformed(path: path, reason: "multi-disk ZIP archives are not supported")
        }
        var directoryEnd = eocd
        // A ZIP64 locator sits right before the end record; when present its record is authoritative.
        if eocd >= 20, bytes.littleEndian(at: eocd - 20, width: 4) == 0x0706_4b50 {
            // Locator: signature, disk of the ZIP64 end record (u32), its offset (u64), number of disks (u32).
            var locator = ByteReader(bytes, path: path, position: eocd - 16)
            let recordDisk = try locator.u32("ZIP64 locator")
            let recordOffset = try locator.u64("ZIP64 locator")
            guard recordDisk == 0, try locator.u32("ZIP64 locator") <= 1 else {
                throw FormatError.malformed(path: path, reason: "multi-disk ZIP archives are not supported")
            }
            guard eocd >= 20 + 56, recordOffset <= UInt64(eocd - 20 - 56) else {
                throw FormatError.malformed(
                    path: path, reason: "ZIP64 end record offset \(recordOffset) is out of bounds")
            }
            var record = ByteReader(bytes, path: path, position: Int(recordOffset))
            guard try record.u32("ZIP64 end record") == 0x0606_4b50 else {
                throw FormatError.malformed(path: path, reason: "ZIP64 locator does not point at a ZIP64 end record")
            }
            try record.skip(8 + 2 + 2 + 4 + 4, what: "ZIP64 end record")
            let onDisk = try record.u64("ZIP64 end record")
            totalEntries = try record.u64("ZIP64 end record")
            cdSize = try record.u64("ZIP64 end record")
            cdOffset = try record.u64("ZIP64 end record")
            guard onDisk == totalEntries else {
                throw FormatError.malformed(path: path, reason: "multi-disk ZIP archives are not supported")
            }
            directoryEnd = Int(recordOffset)
        } else if totalEntries16 == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            throw FormatError.malformed(path: path, reason: "ZIP64 sentinel values without a ZIP64 end record")
        }
        guard totalEntries <= UInt64(Self.maxEntries) else {
            throw FormatError.malformed(
                path: path, reason: "central directory declares \(totalEntries) entries (limit \(Self.maxEntries))")
        }
        guard cdOffset <= UInt64(directoryEnd), cdSize <= UInt64(directoryEnd) - cdOffset,
            cdOffset + cdSize == UInt64(directoryEnd)
        else {
            throw FormatError.malformed(
                path: path,
                reason:
                    "central directory (offset \(cdOffset), size \(cdSize)) does not end where the end record starts (\(directoryEnd))"
            )
        }
        try readDirectory(offset: Int(cdOffset), size: Int(cdSize), count: Int(totalEntries))
    }

    private static func findEndRecord(_ bytes: UnsafeRawBufferPointer, path: String) throws -> Int {
        guard bytes.count >= 22 else {
            throw FormatError.truncated(path: path, what: "no ZIP end-of-central-directory record")
        }
        let lowest = max(0, bytes.count - 22 - 0xFFFF)
        var position = bytes.count - 22
        while position >= lowest {
            if bytes.littleEndian(at: position, width: 4) == 0x0605_4b50 {
                let commentLength = Int(bytes.littleEndian(at: position + 20, width: 2))
                if position + 22 + commentLength == bytes.count { return position }
            }
            position -= 1
        }
        throw FormatError.malformed(
            path: path, reason: "failed finding central directory (no end record ends the file)")
    }

    private func readDirectory(offset: Int, size: Int, count: Int) throws {
        let bytes = file.bytes
        var reader = ByteReader(
            UnsafeRawBufferPointer(rebasing: bytes[0..<(offset + size)]), path: path, position: offset)
        var spans: [(start: Int, end: Int, name: String)] = []
        for index in 0..<count {
            let what = "central directory entry \(index)"
            guard try reader.u32(what) == 0x0201_4b50 else {
                throw FormatError.malformed(path: path, reason: "\(what) has a bad signature")
            }
            try reader.skip(4, what: what)  // versions
            let flags = try reader.u16(what)
            let method = try reader.u16(what)
            try reader.skip(4, what: what)  // time, date
            let crc = try reader.u32(what)
            var compressed = UInt64(try reader.u32(what))
            var uncompressed = UInt64(try reader.u32(what))
            let nameLength = Int(try reader.u16(what))
            let extraLength = Int(try reader.u16(what))
            let commentLength = Int(try reader.u16(what))
            let diskStart = try reader.u16(what)
            try reader.skip(6, what: what)  // attributes
            var localOffset = UInt64(try reader.u32(what))
            let nameBytes = try reader.take(nameLength, what: what)
            let extra = try reader.take(extraLength, what: what)
            try reader.skip(commentLength, what: what)
            guard let name = String(validating: nameBytes, as: UTF8.self), !name.isEmpty, !name.utf8.contains(0) else {
                throw FormatError.malformed(path: path, reason: "\(what) has an invalid name")
            }
            guard diskStart == 0 || diskStart == 0xFFFF else {
                throw FormatError.malformed(path: path, reason: "entry '\(name)' is on another disk")
            }
            guard flags & 0x41 == 0 else {
                throw FormatError.unsupported(path: path, reason: "entry '\(name)' is encrypted")
            }
            try Self.applyZip64(extra, &uncompressed, &compressed, &localOffset, path: path, name: name)
            guard method == 0 else {
                throw FormatError.unsupported(
                    path: path,
                    reason: "entry '\(name)' is compressed (method \(method)); torch.save writes stored entries only")
            }
            guard compressed == uncompressed else {
                throw FormatError.malformed(
                    path: path,
                    reason: "stored entry '\(name)' has compressed size \(compressed) ≠ size \(uncompressed)")
            }
            guard entries[name] == nil else {
                throw FormatError.malformed(path: path, reason: "duplicate entry '\(name)'")
            }
            let data = try localData(
                name: name, flags: flags, method: method, size: compressed, crc: crc, at: localOffset,
                directoryStart: offset)
            entries[name] = Entry(name: name, data: data, crc32: crc)
            names.append(name)
            spans.append((Int(localOffset), data.upperBound, name))
        }
        guard reader.position == offset + size else {
            throw FormatError.malformed(
                path: path,
                reason: "central directory has \(offset + size - reader.position) bytes after its \(count) entries")
        }
        spans.sort { $0.start < $1.start }
        for (a, b) in zip(spans, spans.dropFirst()) where b.start < a.end {
            throw FormatError.malformed(path: path, reason: "entries '\(a.name)' and '\(b.name)' overlap")
        }
    }

    private static func applyZip64(
        _ extra: UnsafeRawBufferPointer, _ uncompressed: inout UInt64, _ compressed: inout UInt64,
        _ localOffset: inout UInt64, path: String, name: String
    ) throws {
        guard uncompressed == 0xFFFF_FFFF || compressed == 0xFFFF_FFFF || localOffset == 0xFFFF_FFFF else { return }
        var reader = ByteReader(extra, path: path)
        while reader.remaining >= 4 {
            let id = try reader.u16("extra field of '\(name)'")
            let length = Int(try reader.u16("extra field of '\(name)'"))
            var field = ByteReader(try reader.take(length, what: "extra field of '\(name)'"), path: path)
            guard id == 0x0001 else { continue }
            let what = "ZIP64 extra field of '\(name)'"
            if uncompressed == 0xFFFF_FFFF { uncompressed = try field.u64(what) }
            if compressed == 0xFFFF_FFFF { compressed = try field.u64(what) }
            if localOffset == 0xFFFF_FFFF { localOffset = try field.u64(what) }
            return
        }
        throw FormatError.malformed(
            path: path, reason: "entry '\(name)' uses ZIP64 sentinels but has no ZIP64 extra field")
    }

    /// Checks the local header at `offset` against the central entry and returns the data range.
    private func localData(
        name: String, flags: UInt16, method: UInt16, size: UInt64, crc: UInt32, at offset: UInt64, directoryStart: Int
    ) throws -> Range<Int> {
        let bytes = file.bytes
        guard offset <= UInt64(directoryStart) else {
            throw FormatError.malformed(path: path, reason: "entry '\(name)' starts past the central directory")
        }
        var reader = ByteReader(
            UnsafeRawBufferPointer(rebasing: bytes[0..<directoryStart]), path: path, position: Int(offset))
        let what = "local header of '\(name)'"
        guard try reader.u32(what) == 0x0403_4b50 else {
            throw FormatError.malformed(path: path, reason: "\(what) has a bad signature")
        }
        try reader.skip(2, what: what)
        let localFlags = try reader.u16(what)
        let localMethod = try reader.u16(what)
        try reader.skip(4, what: what)
        let localCRC = try reader.u32(what)
        var localCompressed = UInt64(try reader.u32(what))
        var localSize = UInt64(try reader.u32(what))
        let nameLength = Int(try reader.u16(what))
        let extraLength = Int(try reader.u16(what))
        let localName = try reader.take(nameLength, what: what)
        let extra = try reader.take(extraLength, what: what)
        guard localName.elementsEqual(name.utf8) else {
            throw FormatError.malformed(path: path, reason: "\(what) names a different entry")
        }
        guard localFlags == flags, localMethod == method else {
            throw FormatError.malformed(
                path: path, reason: "\(what) disagrees with the central directory (flags or method)")
        }
        if flags & 0x08 == 0 {
            var ignoredOffset: UInt64 = 0
            try Self.applyZip64(extra, &localSize, &localCompressed, &ignoredOffset, path: path, name: name)
            guard localCompressed == size, localSize == size, localCRC == crc else {
                throw FormatError.malformed(
                    path: path, reason: "\(what) disagrees with the central directory (sizes or CRC)")
            }
        }
        let start = reader.position
        guard size <= UInt64(directoryStart - start) else {
            throw FormatError.malformed(
                path: path, reason: "entry '\(name)' data (\(size) bytes) runs past the central directory")
        }
        return start..<(start + Int(size))
    }

    /// The bytes of entry `name`, borrowed from the mapping.
    package func data(_ name: String) -> TensorBytes? {
        entries[name].map { file.slice($0.data) }
    }

    /// Checks an entry's CRC-32 against its bytes.
    package func verifyCRC(_ name: String) throws {
        guard let entry = entries[name] else { return }
        let actual = CRC32.checksum(UnsafeRawBufferPointer(rebasing: file.bytes[entry.data]))
        guard actual == entry.crc32 else {
            throw FormatError.checksumMismatch(
                path: path,
                what:
                    "entry '\(name)' CRC-32 is \(String(actual, radix: 16)), expected \(String(entry.crc32, radix: 16))"
            )
        }
    }
}

/// CRC-32 (IEEE, as ZIP uses it), slicing-by-8.
package enum CRC32 {
    /// Eight 256-entry tables, flattened.
    private static let table: [UInt32] = {
        var tables = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            tables[0][i] = c
        }
        for i in 0..<256 {
            for t in 1..<8 { tables[t][i] = (tables[t - 1][i] >> 8) ^ tables[0][Int(tables[t - 1][i] & 0xFF)] }
        }
        return tables.flatMap { $0 }
    }()

    package static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        return Self.table.withUnsafeBufferPointer { table in
            var i = 0
            let n = bytes.count
            while n - i >= 8 {
                let lo =
                    crc
                    ^ (UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3])
                        << 24)
                let hi =
                    UInt32(bytes[i + 4]) | UInt32(bytes[i + 5]) << 8 | UInt32(bytes[i + 6]) << 16 | UInt32(bytes[i + 7])
                    << 24
                crc =
                    table[7 * 256 + Int(lo & 0xFF)] ^ table[6 * 256 + Int((lo >> 8) & 0xFF)]
                    ^ table[5 * 256 + Int((lo >> 16) & 0xFF)] ^ table[4 * 256 + Int(lo >> 24)]
                    ^ table[3 * 256 + Int(hi & 0xFF)] ^ table[2 * 256 + Int((hi >> 8) & 0xFF)]
                    ^ table[1 * 256 + Int((hi >> 16) & 0xFF)] ^ table[Int(hi >> 24)]
                i += 8
            }
            while i < n {
                crc = table[Int((crc ^ UInt32(bytes[i])) & 0xFF)] ^ (crc >> 8)
                i += 1
            }
            return crc ^ 0xFFFF_FFFF
        }
    }
}

import Foundation

/// SentencePiece's `precompiled_charsmap` (the `Precompiled` normalizer of XLM-RoBERTa, T5, mBART, e5 …): a
/// double-array trie (darts-clone) over UTF-8 byte strings whose values are offsets into a blob of NUL-terminated
/// replacement strings.
///
/// The blob is `u32 trie size in bytes (little-endian) · trie units · replacement strings`; every length and every
/// trie position is checked before it is used, so a damaged charsmap is refused by name or, inside the trie,
/// simply matches nothing.
///
/// ```swift
/// let charsmap = try PrecompiledCharsmap(bytes)    // the base64-decoded "precompiled_charsmap"
/// ```
public struct PrecompiledCharsmap: Sendable {
    /// The double array's units.
    let units: [UInt32]
    /// The replacement strings, NUL-terminated, as UTF-8.
    let normalized: [UInt8]
    /// Whether no printable ASCII character has a replacement (then such text is left as it is without a lookup).
    let keepsPrintableASCII: Bool

    /// Parses a charsmap, throwing a reason when it is malformed.
    ///
    /// An empty charsmap normalizes nothing.
    public init(_ bytes: [UInt8]) throws(TokenizerError) {
        guard !bytes.isEmpty else {
            units = []
            normalized = []
            keepsPrintableASCII = true
            return
        }
        guard bytes.count >= 4 else { throw TokenizerError.invalid("precompiled_charsmap: \(bytes.count) bytes") }
        let trieSize = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
        guard trieSize % 4 == 0, trieSize <= bytes.count - 4 else {
            throw TokenizerError.invalid(
                "precompiled_charsmap: a trie of \(trieSize) bytes in a charsmap of \(bytes.count)")
        }
        var units = [UInt32](repeating: 0, count: trieSize / 4)
        for index in units.indices {
            let base = 4 + 4 * index
            units[index] =
                UInt32(bytes[base]) | UInt32(bytes[base + 1]) << 8 | UInt32(bytes[base + 2]) << 16
                | UInt32(bytes[base + 3]) << 24
        }
        let blob = Array(bytes[(4 + trieSize)...])
        guard String(validating: blob, as: UTF8.self) != nil else {
            throw TokenizerError.invalid("precompiled_charsmap: the replacement strings are not UTF-8")
        }
        self.units = units
        normalized = blob
        keepsPrintableASCII = !(UInt8(0x20)..<0x7F).contains { byte in
            [byte].withUnsafeBufferPointer { Self.replacement($0, units: units, normalized: blob) } != nil
        }
    }

    /// The replacement of the first (shortest) trie key that is a prefix of `key`, or nil (spm_precompiled's
    /// `transform`).
    func replacement(_ key: UnsafeBufferPointer<UInt8>) -> ArraySlice<UInt8>? {
        Self.replacement(key, units: units, normalized: normalized)
    }

    private static func replacement(
        _ key: UnsafeBufferPointer<UInt8>, units: [UInt32], normalized: [UInt8]
    ) -> ArraySlice<UInt8>? {
        guard !units.isEmpty else { return nil }
        func offset(_ unit: UInt32) -> Int { Int((unit >> 10) << ((unit & (1 << 9)) >> 6)) }
        var position = offset(units[0])
        for byte in key {
            if byte == 0 { break }
            position ^= Int(byte)
            guard position < units.count else { return nil }
            let unit = units[position]
            guard unit & ((1 << 31) | 0xFF) == UInt32(byte) else { return nil }
            position ^= offset(unit)
            guard position < units.count else { return nil }
            if (unit >> 8) & 1 == 1 {
                let start = Int(units[position] & ((1 << 31) - 1))
                guard start < normalized.count else { return nil }
                let end = normalized[start...].firstIndex(of: 0) ?? normalized.count
                return normalized[start..<end]
            }
        }
        return nil
    }

    /// Normalizes as tokenizers' `Precompiled` does: each grapheme cluster shorter than 6 bytes replaced whole when
    /// the charsmap has a prefix of it, else each of its characters replaced on its own or kept.
    func normalize(_ text: inout NormalizedText) {
        guard !units.isEmpty else { return }
        if keepsPrintableASCII, text.scalars.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return }
        var changes: [(scalar: UInt32, change: Int)] = []
        changes.reserveCapacity(text.scalars.count)
        var modified = false
        func replace(_ old: Int, _ new: ArraySlice<UInt8>) {
            let added = String(decoding: new, as: UTF8.self).unicodeScalars.map(\.value)
            for scalar in added { changes.append((scalar, 0)) }
            let difference = added.count - old
            if difference > 0 {
                for index in (changes.count - difference)..<changes.count { changes[index].change = 1 }
            } else if difference < 0, !changes.isEmpty {
                changes[changes.count - 1].change += difference
            }
        }
        let string = String(String.UnicodeScalarView(text.scalars.compactMap(Unicode.Scalar.init)))
        var utf8: [UInt8] = []
        for grapheme in string {
            let scalars = grapheme.unicodeScalars
            utf8.removeAll(keepingCapacity: true)
            utf8.append(contentsOf: grapheme.utf8)
            if utf8.count < 6, let new = utf8.withUnsafeBufferPointer({ replacement($0) }) {
                modified = true
                replace(scalars.count, new)
                continue
            }
            for scalar in scalars {
                utf8.removeAll(keepingCapacity: true)
                utf8.append(contentsOf: String(scalar).utf8)
                if let new = utf8.withUnsafeBufferPointer({ replacement($0) }) {
                    modified = true
                    replace(1, new)
                } else {
                    changes.append((scalar.value, 0))
                }
            }
        }
        if modified { text.transform(changes) }
    }
}

/// GPT-2's byte level: every byte of the UTF-8 text is shown as one printable character (space → `Ġ`, newline → `Ċ`),
/// and the text is first split by GPT-2's pattern
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, evaluated by hand here with the
/// character classes of `tokenizers` (`ByteLevelTables`).
///
/// ```swift
/// ByteLevel.decode(["Hello", "Ġworld"])     // "Hello world"
/// ```
public struct ByteLevel: Sendable, Equatable {
    /// Put a space before a text that does not start with one, so its first word looks like any other.
    public var addPrefixSpace: Bool
    /// Split with GPT-2's pattern (else the whole text is one word).
    public var useRegex: Bool

    public init(addPrefixSpace: Bool = false, useRegex: Bool = true) {
        self.addPrefixSpace = addPrefixSpace
        self.useRegex = useRegex
    }

    /// Byte → its character (the scalar value), and back.
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    static let scalarToByte: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (byte, scalar) in byteToScalar.enumerated() { map[scalar] = UInt8(byte) }
        return map
    }()

    /// The words of `text` (one segment between added tokens): byte-level characters, each with the index of the
    /// original scalar it came from.
    func words(_ text: NormalizedText) -> [NormalizedText] {
        var scratch = Scratch()
        var words: [NormalizedText] = []
        forEachWord(text, 0..<text.scalars.count, scratch: &scratch) { scalars, origins in
            var word = NormalizedText()
            word.scalars = Array(scalars)
            word.origins = Array(origins)
            words.append(word)
        }
        return words
    }

    /// Buffers `forEachWord` reuses, so a text costs a few allocations rather than a few per word.
    struct Scratch {
        var scalars: [UInt32] = []
        var origins: [Int32] = []
        var kinds: [Class] = []
        var pieces: [Range<Int>] = []
        var word = NormalizedText()
    }

    /// Calls `body` with each word of `text.scalars[span]` in byte-level characters, each with its origin.
    func forEachWord(
        _ text: NormalizedText, _ span: Range<Int>, scratch: inout Scratch,
        _ body: (UnsafeBufferPointer<UInt32>, UnsafeBufferPointer<Int32>) -> Void
    ) {
        guard !span.isEmpty else { return }
        scratch.scalars.removeAll(keepingCapacity: true)
        scratch.origins.removeAll(keepingCapacity: true)
        if addPrefixSpace, text.scalars[span.lowerBound] != 0x20 {
            scratch.scalars.append(0x20)
            scratch.origins.append(text.origins[span.lowerBound])
        }
        scratch.scalars += text.scalars[span]
        scratch.origins += text.origins[span]
        scratch.pieces.removeAll(keepingCapacity: true)
        if useRegex {
            Self.split(scratch.scalars, kinds: &scratch.kinds, into: &scratch.pieces)
        } else {
            scratch.pieces.append(0..<scratch.scalars.count)
        }
        let table = Self.byteToScalar
        // ASCII is one byte per character: the whole segment maps at once and the words are slices of it.
        if !scratch.scalars.contains(where: { $0 >= 0x80 }) {
            scratch.word.scalars.removeAll(keepingCapacity: true)
            for scalar in scratch.scalars { scratch.word.scalars.append(table[Int(scalar)]) }
            scratch.word.scalars.withUnsafeBufferPointer { scalars in
                scratch.origins.withUnsafeBufferPointer { origins in
                    for piece in scratch.pieces {
                        body(
                            UnsafeBufferPointer(rebasing: scalars[piece]), UnsafeBufferPointer(rebasing: origins[piece])
                        )
                    }
                }
            }
            return
        }
        for piece in scratch.pieces {
            scratch.word.scalars.removeAll(keepingCapacity: true)
            scratch.word.origins.removeAll(keepingCapacity: true)
            for index in piece {
                let scalar = scratch.scalars[index]
                let origin = scratch.origins[index]
                func add(_ byte: UInt32) { scratch.word.append(table[Int(byte)], origin: origin) }
                switch scalar {
                case 0..<0x80:
                    add(scalar)
                case 0x80..<0x800:
                    add(0xC0 | scalar >> 6)
                    add(0x80 | scalar & 0x3F)
                case 0x800..<0x10000:
                    add(0xE0 | scalar >> 12)
                    add(0x80 | scalar >> 6 & 0x3F)
                    add(0x80 | scalar & 0x3F)
                default:
                    add(0xF0 | scalar >> 18)
                    add(0x80 | scalar >> 12 & 0x3F)
                    add(0x80 | scalar >> 6 & 0x3F)
                    add(0x80 | scalar & 0x3F)
                }
            }
            scratch.word.scalars.withUnsafeBufferPointer { scalars in
                scratch.word.origins.withUnsafeBufferPointer { origins in body(scalars, origins) }
            }
        }
    }

    /// The character classes GPT-2's pattern distinguishes.
    enum Class { case letter, number, space, other }

    private static func kind(_ scalar: UInt32) -> Class {
        if scalar < 0x80 {
            switch scalar {
            case 0x41...0x5A, 0x61...0x7A: return .letter
            case 0x30...0x39: return .number
            case 0x09...0x0D, 0x20: return .space
            default: return .other
            }
        }
        if UnicodeClasses.contains(ByteLevelTables.letters, scalar) { return .letter }
        if UnicodeClasses.contains(ByteLevelTables.numbers, scalar) { return .number }
        if UnicodeClasses.contains(ByteLevelTables.spaces, scalar) { return .space }
        return .other
    }

    /// GPT-2's pattern: the ranges it matches, in order, covering the text, appended to `pieces`.
    static func split(_ scalars: [UInt32], kinds: inout [Class], into pieces: inout [Range<Int>]) {
        let count = scalars.count
        kinds.removeAll(keepingCapacity: true)
        for scalar in scalars { kinds.append(kind(scalar)) }
        var index = 0
        func run(from start: Int, _ kind: Class) -> Int {
            var end = start
            while end < count, kinds[end] == kind { end += 1 }
            return end
        }
        while index < count {
            // 's 't 're 've 'm 'll 'd
            if scalars[index] == 0x27, index + 1 < count {
                let next = scalars[index + 1]
                if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 {  // s t m d
                    pieces.append(index..<index + 2)
                    index += 2
                    continue
                }
                if index + 2 < count {
                    let pair = (next, scalars[index + 2])
                    if pair == (0x72, 0x65) || pair == (0x76, 0x65) || pair == (0x6C, 0x6C) {  // re ve ll
                        pieces.append(index..<index + 3)
                        index += 3
                        continue
                    }
                }
            }
            // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+'
            let spaced = scalars[index] == 0x20 && index + 1 < count && kinds[index + 1] != .space
            let start = spaced ? index + 1 : index
            if kinds[start] != .space {
                let end = run(from: start, kinds[start])
                pieces.append(index..<end)
                index = end
                continue
            }
            // '\s+(?!\S)', then '\s+'
            let end = run(from: index, .space)
            if end == count || end - index == 1 {
                pieces.append(index..<end)
                index = end
            } else {
                pieces.append(index..<end - 1)  // leave one space to start the next word
                index = end - 1
            }
        }
    }

    /// Text from byte-level tokens: characters back to bytes, then UTF-8 with U+FFFD for broken sequences; a token
    /// with a character outside the byte alphabet keeps its own UTF-8.
    public static func decode(_ tokens: [String]) -> String {
        var bytes: [UInt8] = []
        for token in tokens {
            let mapped = token.unicodeScalars.map { scalarToByte[$0.value] }
            if mapped.allSatisfy({ $0 != nil }) {
                bytes += mapped.compactMap { $0 }
            } else {
                bytes += token.utf8
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// How many space characters (`Ġ` or whitespace) a token starts with (high byte) and ends with (low byte), at
    /// most 255 each: what offset trimming takes off.
    static func spaceEdges(_ token: String) -> UInt16 {
        let space = byteToScalar[0x20]
        func isSpace(_ scalar: Unicode.Scalar) -> Bool { scalar.value == space || scalar.properties.isWhitespace }
        var leading = 0
        for scalar in token.unicodeScalars {
            guard isSpace(scalar) else { break }
            leading += 1
        }
        var trailing = 0
        for scalar in token.unicodeScalars.reversed() {
            guard isSpace(scalar) else { break }
            trailing += 1
        }
        return UInt16(min(leading, 255)) << 8 | UInt16(min(trailing, 255))
    }
}

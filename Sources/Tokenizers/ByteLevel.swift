/// GPT-2's byte level: every byte of the UTF-8 text is shown as one printable character (space → `Ġ`, newline → `Ċ`),
/// and the text is first split by GPT-2's pattern
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, evaluated by hand here with the
/// character classes of `tokenizers` (`ByteLevelTables`).
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
        var text = text
        if addPrefixSpace, let first = text.origins.first, text.scalars.first != 0x20 {
            text.scalars.insert(0x20, at: 0)
            text.origins.insert(first, at: 0)
        }
        let pieces = useRegex ? Self.split(text.scalars) : (text.scalars.isEmpty ? [] : [0..<text.scalars.count])
        return pieces.map { piece in
            var word = NormalizedText()
            var utf8: [UInt8] = []
            for index in piece {
                utf8.removeAll(keepingCapacity: true)
                appendUTF8(text.scalars[index], to: &utf8)
                for byte in utf8 { word.append(Self.byteToScalar[Int(byte)], origin: text.origins[index]) }
            }
            return word
        }
    }

    private enum Class { case letter, number, space, other }

    private static func kind(_ scalar: UInt32) -> Class {
        if scalar < 0x80 {
            switch scalar {
            case 0x41...0x5A, 0x61...0x7A: return .letter
            case 0x30...0x39: return .number
            default: break
            }
        }
        if UnicodeClasses.contains(ByteLevelTables.letters, scalar) { return .letter }
        if UnicodeClasses.contains(ByteLevelTables.numbers, scalar) { return .number }
        if UnicodeClasses.contains(ByteLevelTables.spaces, scalar) { return .space }
        return .other
    }

    /// GPT-2's pattern: the ranges it matches, in order, covering the text.
    static func split(_ scalars: [UInt32]) -> [Range<Int>] {
        let count = scalars.count
        let kinds = scalars.map(kind)
        var pieces: [Range<Int>] = []
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
                if [0x73, 0x74, 0x6D, 0x64].contains(next) {  // s t m d
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
        return pieces
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

    /// tokenizers' `process_offsets`: offsets lose the spaces (`Ġ` or whitespace) a token starts or ends with,
    /// except the one space `addPrefixSpace` put before the first word.
    static func trimOffsets(_ encoding: inout Encoding, addPrefixSpace: Bool) {
        let space = byteToScalar[0x20]
        func isSpace(_ scalar: Unicode.Scalar) -> Bool { scalar.value == space || scalar.properties.isWhitespace }
        for index in 0..<encoding.count {
            let scalars = Array(encoding.tokens[index].unicodeScalars)
            var leading = scalars.prefix(while: isSpace).count
            let trailing = scalars.reversed().prefix(while: isSpace).count
            guard leading > 0 || trailing > 0 else { continue }
            var range = encoding.offsets[index]
            if leading > 0 {
                if (index == 0 || range.lowerBound == 0) && addPrefixSpace && leading == 1 { leading = 0 }
                range = min(range.lowerBound + leading, range.upperBound)..<range.upperBound
            }
            if trailing > 0, range.upperBound >= trailing {
                range = range.lowerBound..<max(range.upperBound - trailing, range.lowerBound)
            }
            encoding.offsets[index] = range
        }
    }
}

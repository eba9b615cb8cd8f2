#if canImport(Glibc)
    import Glibc
#endif

/// A JSON value that keeps object keys in file order and numbers as written.
///
/// Foundation's two JSON parsers disagree on duplicate keys (`JSONDecoder` keeps the first value,
/// `JSONSerialization` the last), so checkpoint headers go through this strict parser instead, which refuses
/// duplicates (compared by UTF-8 bytes, not by canonical equivalence), invalid UTF-8, lone surrogates,
/// trailing garbage and nesting deeper than a caller-given bound.
///
/// ```swift
/// let value = try JSONParser.parse(Array(#"{"a": [1, 2.5, "x"]}"#.utf8))
/// value.object?["a"]?.array?.first?.integer     // 1
/// ```
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// A number as written in the document, e.g. `"-1.5e3"`.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The value as a non-negative integer within `limit`, or nil (negative, fractional, exponent or too large).
    public func nonNegativeInteger(limit: Int = (1 << 48) - 1) -> Int? {
        // Digits only (no sign, fraction or exponent), at most 18 of them so the sum cannot overflow.
        guard case .number(let text) = self, !text.isEmpty, text.utf8.count <= 18 else { return nil }
        var value = 0
        for byte in text.utf8 {
            guard byte >= 48, byte <= 57 else { return nil }
            value = value * 10 + Int(byte - 48)
        }
        return value <= limit ? value : nil
    }

    /// The value as an integer (any sign, no fraction or exponent), or nil.
    public var integer: Int? {
        guard case .number(let text) = self, text.utf8.count <= 19 else { return nil }
        return Int(text)
    }

    /// The value as a Double when it is a number.
    public var double: Double? {
        guard case .number(let text) = self else { return nil }
        return Double(text)
    }

    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var object: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    public var array: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// A JSON number for an integer.
    public static func int(_ value: Int) -> JSONValue { .number(String(value)) }
}

/// A JSON object: key–value pairs in document order, keys unique.
///
/// ```swift
/// var object = JSONObject([("name", .string("bert")), ("layers", .int(12))])
/// object.append("tied", .bool(true))
/// JSONValue.object(object).serialized()          // {"name":"bert","layers":12,"tied":true}
/// ```
public struct JSONObject: Equatable, Sendable {
    public private(set) var entries: [(key: String, value: JSONValue)]

    public init(_ entries: [(key: String, value: JSONValue)] = []) { self.entries = entries }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.entries.count == rhs.entries.count
            && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    /// The value for `key` (linear search: objects read this way are small).
    public subscript(key: String) -> JSONValue? {
        entries.first(where: { sameUTF8($0.key, key) })?.value
    }

    /// Appends a key; the caller guarantees it is new.
    public mutating func append(_ key: String, _ value: JSONValue) { entries.append((key, value)) }

    /// Puts keys in front of the existing ones; the caller guarantees they are new.
    public mutating func prepend(_ items: [(key: String, value: JSONValue)]) {
        entries.insert(contentsOf: items, at: 0)
    }

    public var keys: [String] { entries.map(\.key) }
    public var count: Int { entries.count }
}

/// Whether two strings have the same UTF-8 bytes (Swift's `==` also equates canonically equivalent strings).
@inline(__always) func sameUTF8(_ a: String, _ b: String) -> Bool {
    guard a.utf8.count == b.utf8.count else { return false }
    let fast = a.utf8.withContiguousStorageIfAvailable { left in
        b.utf8.withContiguousStorageIfAvailable { right in
            guard let leftBase = left.baseAddress, let rightBase = right.baseAddress else { return true }  // both empty
            return memcmp(leftBase, rightBase, left.count) == 0
        }
    }
    return (fast ?? nil) ?? a.utf8.elementsEqual(b.utf8)
}

/// An object key hashed and compared by its UTF-8 bytes, for duplicate detection.
struct UTF8Key: Hashable {
    let text: String
    static func == (lhs: UTF8Key, rhs: UTF8Key) -> Bool { sameUTF8(lhs.text, rhs.text) }
    func hash(into hasher: inout Hasher) {
        var text = text
        text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// Parses JSON text strictly (see `JSONValue`).
///
/// ```swift
/// let config = try JSONParser.parse(bytes, maxDepth: 64).object    // duplicate keys and deep nesting refused
/// ```
public struct JSONParser {
    /// Errors carry a byte offset and a reason; callers wrap them with the file name.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let offset: Int
        public let reason: String
        public var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    let bytes: UnsafeRawBufferPointer
    var index = 0
    let maxDepth: Int
    /// The objects and arrays the streaming calls (JSONParser+Streaming) are inside, innermost last: whether each
    /// has had a member yet.
    var open: [Bool] = []
    /// The keys `nextKey()` has read in each of them.
    var openKeys: [Set<UTF8Key>] = []

    /// Parses one JSON document from `bytes`; white space may surround it, nothing else.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 64) throws(Failure) -> JSONValue {
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw Failure(offset: parser.index, reason: "trailing characters") }
        return value
    }

    /// Parses a document held in a byte array.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = 64) throws(Failure) -> JSONValue {
        do {
            return try bytes.withUnsafeBytes { raw in try parse(raw, maxDepth: maxDepth) }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(offset: 0, reason: "\(error)")
        }
    }

    init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    func fail(_ reason: String) -> Failure { Failure(offset: index, reason: reason) }

    mutating func value(depth: Int) throws(Failure) -> JSONValue {
        guard index < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return .object(try object(depth: depth + 1))
        case UInt8(ascii: "["): return .array(try array(depth: depth + 1))
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw fail("unexpected character")
        }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw fail("unexpected end of input") }
        for i in 0..<count where bytes[index + i] != word.utf8Start[i] { throw fail("invalid literal") }
        index += count
    }

    private mutating func object(depth: Int) throws(Failure) -> JSONObject {
        guard depth <= maxDepth else { throw fail("nesting deeper than \(maxDepth)") }
        index += 1
        var result = JSONObject()
        var seen = Set<UTF8Key>()
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return result
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a key") }
            let keyStart = index
            let key = try string()
            // Small objects (most of them) are checked by a scan; a set takes over past 8 keys.
            let duplicate: Bool
            if result.count < 8 {
                duplicate = result.entries.contains { sameUTF8($0.key, key) }
            } else {
                if seen.isEmpty { seen = Set(result.entries.map { UTF8Key(text: $0.key) }) }
                duplicate = !seen.insert(UTF8Key(text: key)).inserted
            }
            guard !duplicate else {
                throw Failure(offset: keyStart, reason: "duplicate key '\(key)'")
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            index += 1
            skipWhitespace()
            result.append(key, try value(depth: depth))
            skipWhitespace()
            guard index < bytes.count else { throw fail("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
            index += 1
            return result
        }
    }

    private mutating func array(depth: Int) throws(Failure) -> [JSONValue] {
        guard depth <= maxDepth else { throw fail("nesting deeper than \(maxDepth)") }
        index += 1
        var result: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return result
        }
        while true {
            skipWhitespace()
            result.append(try value(depth: depth))
            skipWhitespace()
            guard index < bytes.count else { throw fail("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "]") else { throw fail("expected ',' or ']'") }
            index += 1
            return result
        }
    }

    private mutating func number() throws(Failure) -> String {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        func digits(_ parser: inout JSONParser) -> Int {
            let begin = parser.index
            while parser.index < parser.bytes.count, (48...57).contains(parser.bytes[parser.index]) {
                parser.index += 1
            }
            return parser.index - begin
        }
        guard index < bytes.count else { throw fail("unexpected end of input") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else if digits(&self) == 0 {
            throw fail("invalid number")
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits(&self) > 0 else { throw fail("invalid number") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard digits(&self) > 0 else { throw fail("invalid number") }
        }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    mutating func string() throws(Failure) -> String {
        let quote = index
        index += 1
        let start = index
        // Fast path: no escapes. ASCII text (names, dtypes, hex digits: the common case) needs no UTF-8 validation.
        var highBits: UInt8 = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let codeUnits = UnsafeRawBufferPointer(rebasing: bytes[start..<index]).bindMemory(to: UInt8.self)
                let ascii = highBits < 0x80
                guard
                    let text = ascii
                        ? String(decoding: codeUnits, as: UTF8.self) : String(validating: codeUnits, as: UTF8.self)
                else {
                    throw Failure(offset: start, reason: "string is not valid UTF-8")
                }
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw fail("control character in string") }
            highBits |= byte
            index += 1
        }
        index = quote
        var buffer: [UInt8] = []
        try stringBytes(into: &buffer)
        guard let text = String(validating: buffer, as: UTF8.self) else {
            throw Failure(offset: start, reason: "string is not valid UTF-8")
        }
        return text
    }

    /// Appends the bytes of the string whose opening quote is at `index` to `buffer`, escapes decoded and UTF-8
    /// checked, and moves past its closing quote.
    mutating func stringBytes(into buffer: inout [UInt8]) throws(Failure) {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a string") }
        index += 1
        let start = index
        let first = buffer.count
        var runStart = index
        var highBits: UInt8 = 0
        func flush(_ parser: borrowing JSONParser, _ buffer: inout [UInt8]) {
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: parser.bytes[runStart..<parser.index]))
        }
        while true {
            guard index < bytes.count else { throw fail("unterminated string") }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                flush(self, &buffer)
                index += 1
                break
            }
            guard byte >= 0x20 else { throw fail("control character in string") }
            if byte != UInt8(ascii: "\\") {
                highBits |= byte
                index += 1
                continue
            }
            flush(self, &buffer)
            index += 1
            guard index < bytes.count else { throw fail("unterminated escape") }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""): buffer.append(0x22)
            case UInt8(ascii: "\\"): buffer.append(0x5C)
            case UInt8(ascii: "/"): buffer.append(0x2F)
            case UInt8(ascii: "b"): buffer.append(0x08)
            case UInt8(ascii: "f"): buffer.append(0x0C)
            case UInt8(ascii: "n"): buffer.append(0x0A)
            case UInt8(ascii: "r"): buffer.append(0x0D)
            case UInt8(ascii: "t"): buffer.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"),
                        bytes[index + 1] == UInt8(ascii: "u")
                    else { throw fail("lone surrogate") }
                    index += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw fail("lone surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw fail("lone surrogate")
                }
                appendUTF8(scalar, to: &buffer)  // a scalar value (surrogates refused above): valid UTF-8
            default: throw fail("invalid escape")
            }
            runStart = index
        }
        if highBits >= 0x80 {
            let valid = buffer.withUnsafeBufferPointer { isValidUTF8(UnsafeBufferPointer(rebasing: $0[first...])) }
            guard valid else { throw Failure(offset: start, reason: "string is not valid UTF-8") }
        }
    }

    mutating func hex4() throws(Failure) -> UInt32 {
        guard bytes.count - index >= 4 else { throw fail("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case 48...57: digit = byte - 48
            case 65...70: digit = byte - 55
            case 97...102: digit = byte - 87
            default: throw fail("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }
}

extension JSONValue {
    /// Compact (or indented) JSON text with keys in their stored order.
    public func serialized(indent: Int? = nil) -> String {
        var out = ""
        write(to: &out, indent: indent, level: 0)
        return out
    }

    private func write(to out: inout String, indent: Int?, level: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .number(let text): out += text
        case .string(let text): JSONValue.writeString(text, to: &out)
        case .array(let items):
            if items.isEmpty {
                out += "[]"
                return
            }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                JSONValue.newline(&out, indent, level + 1)
                item.write(to: &out, indent: indent, level: level + 1)
            }
            JSONValue.newline(&out, indent, level)
            out += "]"
        case .object(let object):
            if object.entries.isEmpty {
                out += "{}"
                return
            }
            out += "{"
            for (i, entry) in object.entries.enumerated() {
                if i > 0 { out += "," }
                JSONValue.newline(&out, indent, level + 1)
                JSONValue.writeString(entry.key, to: &out)
                out += indent == nil ? ":" : ": "
                entry.value.write(to: &out, indent: indent, level: level + 1)
            }
            JSONValue.newline(&out, indent, level)
            out += "}"
        }
    }

    private static func newline(_ out: inout String, _ indent: Int?, _ level: Int) {
        guard let indent else { return }
        out += "\n" + String(repeating: " ", count: indent * level)
    }

    private static func writeString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

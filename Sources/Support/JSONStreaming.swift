/// Reading a document piece by piece, for the few values too large to hold as a `JSONValue` tree (a tokenizer's
/// 50,000-entry vocabulary: one String and one tree node per entry would cost more than the finished table).
///
/// The same strict rules as `parse`: `nextKey()` refuses a key its object had already (`nextKey(into:)` leaves that
/// to the caller, whose table sees it), depth counts every open container.
///
/// ```swift
/// var parser = JSONParser(raw, maxDepth: 64)
/// try parser.beginObject()
/// var key: [UInt8] = []
/// while try parser.nextKey(into: &key) {
///     let id = try parser.nonNegativeInteger(limit: Int(Int32.max))   // {"hello": 1, …}
/// }
/// try parser.end()
/// ```
extension JSONParser {
    /// A parser at the start of `bytes`.
    public init(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 64) {
        self.init(bytes: bytes, maxDepth: maxDepth)
        skipWhitespace()
    }

    /// The byte offset reached.
    public var offset: Int { index }

    /// The first byte of the next value, or nil at the end.
    public var next: UInt8? { index < bytes.count ? bytes[index] : nil }

    /// How many members the object or array that starts here has, and how many bytes it spans — found by a quick
    /// scan that validates nothing (the reading that follows does), so a caller can size its tables once.
    public func members() -> (count: Int, bytes: Int)? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") || bytes[index] == UInt8(ascii: "[") else {
            return nil
        }
        var depth = 0
        var commas = 0
        var empty = true
        var position = index
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                while position < bytes.count, bytes[position] != UInt8(ascii: "\"") {
                    position += bytes[position] == UInt8(ascii: "\\") ? 2 : 1
                }
                if depth == 1 { empty = false }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                if depth == 1 { empty = false }
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 { return (empty ? 0 : commas + 1, position + 1 - index) }
            case UInt8(ascii: ","):
                if depth == 1 { commas += 1 }
            case 0x20, 0x09, 0x0A, 0x0D:
                break
            default:
                if depth == 1 { empty = false }
            }
            position += 1
        }
        return nil
    }

    /// Enters the object that starts here.
    public mutating func beginObject() throws(Failure) { try begin(UInt8(ascii: "{")) }

    /// Enters the array that starts here.
    public mutating func beginArray() throws(Failure) { try begin(UInt8(ascii: "[")) }

    private mutating func begin(_ bracket: UInt8) throws(Failure) {
        guard index < bytes.count, bytes[index] == bracket else {
            throw fail(bracket == UInt8(ascii: "{") ? "expected an object" : "expected an array")
        }
        guard open.count < maxDepth else { throw fail("nesting deeper than \(maxDepth)") }
        index += 1
        open.append(false)
        openKeys.append([])
        skipWhitespace()
    }

    /// Moves to the next member of the container entered last: true before a member, false after its closing
    /// bracket (consumed).
    private mutating func advance(closing: UInt8) throws(Failure) -> Bool {
        guard let started = open.last else { throw fail("not inside a container") }
        guard index < bytes.count else { throw fail("unexpected end of input") }
        if bytes[index] == closing {
            index += 1
            open.removeLast()
            openKeys.removeLast()
            skipWhitespace()
            return false
        }
        if started {
            guard bytes[index] == UInt8(ascii: ",") else {
                throw fail(closing == UInt8(ascii: "}") ? "expected ',' or '}'" : "expected ',' or ']'")
            }
            index += 1
            skipWhitespace()
        }
        open[open.count - 1] = true
        return true
    }

    /// The next key of the object entered last, its bytes in place of `key`'s (escapes decoded, UTF-8 checked),
    /// ready for its value; false at the object's end.
    public mutating func nextKey(into key: inout [UInt8]) throws(Failure) -> Bool {
        guard try advance(closing: UInt8(ascii: "}")) else { return false }
        key.removeAll(keepingCapacity: true)
        try stringBytes(into: &key)
        try colon()
        return true
    }

    /// The next key of the object entered last, ready for its value; nil at the object's end.
    public mutating func nextKey() throws(Failure) -> String? {
        guard try advance(closing: UInt8(ascii: "}")) else { return nil }
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a key") }
        let keyStart = index
        let key = try string()
        guard openKeys[openKeys.count - 1].insert(UTF8Key(text: key)).inserted else {
            throw Failure(offset: keyStart, reason: "duplicate key '\(key)'")
        }
        try colon()
        return key
    }

    private mutating func colon() throws(Failure) {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
        index += 1
        skipWhitespace()
    }

    /// Whether another element of the array entered last follows (false after its `]`, consumed).
    public mutating func nextElement() throws(Failure) -> Bool { try advance(closing: UInt8(ascii: "]")) }

    /// The string here, its bytes appended to `buffer` (escapes decoded, UTF-8 checked).
    public mutating func string(into buffer: inout [UInt8]) throws(Failure) {
        try stringBytes(into: &buffer)
        skipWhitespace()
    }

    /// The number here as a non-negative integer no larger than `limit` (no sign, fraction or exponent).
    public mutating func nonNegativeInteger(limit: Int) throws(Failure) -> Int {
        let start = index
        var value = 0
        while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
            // 18 digits cannot overflow; past that the limit has been passed anyway.
            guard index - start < 18 else { throw Failure(offset: start, reason: "number larger than \(limit)") }
            value = value * 10 + Int(bytes[index] - 48)
            index += 1
        }
        guard index > start else { throw Failure(offset: start, reason: "expected a non-negative integer") }
        if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) {
            throw Failure(offset: start, reason: "expected an integer")
        }
        guard value <= limit else { throw Failure(offset: start, reason: "number larger than \(limit)") }
        if index - start > 1, bytes[start] == 48 { throw Failure(offset: start, reason: "invalid number") }
        skipWhitespace()
        return value
    }

    /// The whole value here, as `parse` reads it (nesting counted from the containers already entered).
    public mutating func value() throws(Failure) -> JSONValue {
        let value = try value(depth: open.count)
        skipWhitespace()
        return value
    }

    /// Checks that the document ends here: every container closed, nothing but white space left.
    public mutating func end() throws(Failure) {
        guard open.isEmpty else { throw fail("unexpected end of input") }
        skipWhitespace()
        guard index == bytes.count else { throw fail("trailing characters") }
    }
}

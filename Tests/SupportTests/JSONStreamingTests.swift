import Testing

@testable import Support

/// Reading JSON piece by piece (what tokenizer files stream their vocabularies through) accepts and refuses exactly
/// what the whole-document parser does, and the UTF-8 check agrees with Swift's.
@Suite struct JSONStreamingTests {
    /// Streams an object of arrays and scalars back into a JSONValue.
    func streamed(_ text: String) throws -> JSONValue {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBytes { raw in
            var parser = JSONParser(raw, maxDepth: 8)
            try parser.beginObject()
            var object = JSONObject()
            while let key = try parser.nextKey() {
                if parser.next == UInt8(ascii: "[") {
                    try parser.beginArray()
                    var items: [JSONValue] = []
                    while try parser.nextElement() { items.append(try parser.value()) }
                    object.append(key, .array(items))
                } else {
                    object.append(key, try parser.value())
                }
            }
            try parser.end()
            return .object(object)
        }
    }

    @Test(arguments: [
        #"{}"#, #" { "a" : [ 1 , 2 ] , "b" : { "c" : [ ] } , "d" : "x\"y\\u00e9" } "#, #"{"a":[],"b":[[1],{}]}"#,
        "{\"é\":[\"😀\",null,true,false,-1.5e3]}",
    ])
    func streamingEqualsParsing(_ text: String) throws {
        #expect(try streamed(text) == JSONParser.parse(Array(text.utf8)))
    }

    @Test(arguments: [
        #"{"a":1,"a":2}"#, #"{"a":1 "b":2}"#, #"{"a":[1 2]}"#, #"{"a":[1,]}"#, #"{,"a":1}"#, #"{"a":1}x"#, #"{"a":1"#,
        #"{"a":[1}"#, #"{"a"1}"#, "{\"a\":\"\u{1}\"}", #"{"a":"\ud800"}"#,
    ])
    func streamingRefusesWhatParsingRefuses(_ text: String) throws {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(Array(text.utf8)) }
        #expect(throws: JSONParser.Failure.self) { try streamed(text) }
    }

    @Test func keysAsBytesAndIntegers() throws {
        let text = #"{"a\u0120b": 0, "": 7, "\u00e9": 2147483647}"#
        var keys: [[UInt8]] = []
        var numbers: [Int] = []
        try Array(text.utf8).withUnsafeBytes { raw in
            var parser = JSONParser(raw)
            try parser.beginObject()
            var key: [UInt8] = []
            while try parser.nextKey(into: &key) {
                keys.append(key)
                numbers.append(try parser.nonNegativeInteger(limit: Int(Int32.max)))
            }
            try parser.end()
        }
        #expect(keys == [Array("aĠb".utf8), [], Array("é".utf8)])
        #expect(numbers == [0, 7, 2_147_483_647])
    }

    @Test(arguments: ["-1", "1.5", "1e3", "01", "00", "2147483648", "12345678901234567890123", "x"])
    func badIntegersAreRefused(_ number: String) throws {
        #expect(throws: JSONParser.Failure.self) {
            try Array(number.utf8).withUnsafeBytes { raw in
                var parser = JSONParser(raw)
                _ = try parser.nonNegativeInteger(limit: Int(Int32.max))
            }
        }
    }

    /// The quick count sizes tables: members at the first level only, brackets and commas inside strings ignored.
    @Test(arguments: [
        (#"{}"#, 0), (#"[ ]"#, 0), (#"[1]"#, 1), (#"{"a":1,"b":[1,2,3],"c":{"d":[",]"]}}"#, 3),
        (#"["a\",b", "c\\", "]"]"#, 3), (#"[[],[[]],{}]"#, 3),
    ])
    func membersAreCounted(_ text: String, _ count: Int) {
        let found = Array(text.utf8).withUnsafeBytes { JSONParser($0).members() }
        #expect(found?.count == count)
        #expect(found?.bytes == text.utf8.count)
        #expect(Array("[1,2".utf8).withUnsafeBytes { JSONParser($0).members() } == nil)
    }

    /// Every 1- and 2-byte sequence and many 3- and 4-byte ones: the same verdict as `String(validating:)`.
    @Test func utf8CheckAgreesWithSwift() {
        func agrees(_ bytes: [UInt8]) -> Bool {
            bytes.withUnsafeBufferPointer { isValidUTF8($0) } == (String(validating: bytes, as: UTF8.self) != nil)
        }
        var disagreements: [[UInt8]] = []
        for first in 0...255 {
            if !agrees([UInt8(first)]) { disagreements.append([UInt8(first)]) }
            for second in 0...255 where !agrees([UInt8(first), UInt8(second)]) {
                disagreements.append([UInt8(first), UInt8(second)])
            }
        }
        var generator = SystemRandomNumberGenerator()
        let leads: [UInt8] = [0xE0, 0xE1, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xC0, 0xC1, 0x80]
        for _ in 0..<200_000 {
            let length = Int.random(in: 3...4, using: &generator)
            var bytes = [leads.randomElement(using: &generator) ?? 0xE0]
            for _ in 1..<length { bytes.append(UInt8.random(in: 0x70...0xC5, using: &generator)) }
            if !agrees(bytes) { disagreements.append(bytes) }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5))")
    }
}

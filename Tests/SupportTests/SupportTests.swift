import Support
import TestSupport
import Testing

/// The ground floor: checksums against published vectors and the Python xxhash library, the strict JSON parser's
/// refusals, and the one f16/bf16 conversion.
@Suite struct SupportTests {
    @Test func xxh64MatchesReference() {
        #expect(XXH64.hash("") == 0xEF46_DB37_51D8_E999)
        #expect(XXH64.hash("abc") == 0x44BC_2CF5_AD77_0999)
        // From Python: xxhash.xxh64(bytes((i*7+3)%256 for i in range(1000))) and its first 37 bytes; seed 5 of "abc".
        let pattern = (0..<1000).map { UInt8(($0 * 7 + 3) % 256) }
        #expect(pattern.withUnsafeBytes { XXH64.hash($0) } == 0x5F23_5FA0_33F1_A3FB)
        #expect(pattern.prefix(37).withUnsafeBytes { XXH64.hash($0) } == 0xE32E_F638_02F5_A3FD)
        #expect(Array("abc".utf8).withUnsafeBytes { XXH64.hash($0, seed: 5) } == 0xE7AB_658B_7412_8F34)
        #expect(XXH64.hex(0xAB) == "00000000000000ab")
    }

    @Test func sha256MatchesPublishedVectors() {
        #expect(
            Array("abc".utf8).withUnsafeBytes(sha256Hex)
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            [UInt8]().withUnsafeBytes(sha256Hex) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let long = [UInt8](repeating: 0x61, count: 1_000_003)
        let streamed = SHA256()
        long.withUnsafeBytes {
            streamed.update(UnsafeRawBufferPointer(rebasing: $0[0..<500_000]));
            streamed.update(UnsafeRawBufferPointer(rebasing: $0[500_000...]))
        }
        #expect(streamed.finalizeHex() == long.withUnsafeBytes(sha256Hex))
    }

    @Test(arguments: [
        (#"{"a": 1, "a": 2}"#, "duplicate key"),
        (#"{"a": {"b": 1, "b": 1}}"#, "duplicate key"),
        (#"["\ud800"]"#, "surrogate"),
        (#"{"a": 1} x"#, "trailing"),
        (#"{"a": 01}"#, ""),
        ("{\"a\": \"tab\tinside\"}", ""),
        (#"{'a': 1}"#, ""),
        (#"[1, 2,]"#, ""),
        (String(repeating: "[", count: 200) + String(repeating: "]", count: 200), "deep"),
        ("{" + (0..<12).map { "\"k\($0)\": \($0)" }.joined(separator: ", ") + #", "k3": 0}"#, "duplicate key 'k3'"),
    ])
    func jsonParserRefuses(_ text: String, _ words: String) {
        let error = #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(Array(text.utf8)) }
        #expect(words.isEmpty || error?.description.contains(words) == true, "\(text): \(String(describing: error))")
    }

    @Test func jsonParserKeepsNumbersAsWrittenAndOrder() throws {
        let value = try JSONParser.parse(
            Array(#"  {"z": 12345678901234567890, "a": -1.5e-3, "s": "\u00e9\ud83d\ude00\n"}"#.utf8))
        let object = try #require(value.object)
        #expect(object.keys == ["z", "a", "s"])
        #expect(object["z"] == .number("12345678901234567890"))
        #expect(object["z"]?.integer == nil)
        #expect(object["a"]?.double == -0.0015)
        #expect(object["s"]?.string == "é😀\n")
        #expect(JSONValue.object(object).serialized() == #"{"z":12345678901234567890,"a":-1.5e-3,"s":"é😀\n"}"#)
    }

    @Test func keysDifferingOnlyInNormalizationAreDistinct() throws {
        // "é" precomposed and "e" + combining acute are equal Swift Strings but different JSON keys.
        for count in [1, 12] {
            let filler = (0..<count).map { "\"f\($0)\": 0, " }.joined()
            let object = try #require(
                try JSONParser.parse(Array("{\(filler)\"\u{E9}\": 1, \"e\u{301}\": 2}".utf8)).object)
            #expect(object.count == count + 2)
            #expect(object["\u{E9}"]?.integer == 1)
            #expect(object["e\u{301}"]?.integer == 2)
        }
    }

    @Test func float16ConversionEqualsSwiftsRoundToNearestEven() {
        // Every exponent and sign, with random and edge mantissas (ties, all ones, zero); NaNs become quiet.
        var generator = SeededGenerator(seed: 10)
        for exponent in UInt32(0)...255 {
            for mantissa in [0, 1, 0x0FFF, 0x1000, 0x1FFF, 0x2000, 0x3000, 0x7F_E000, 0x7F_F000, 0x7F_FFFF]
                + (0..<2000).map({ _ in UInt32.random(in: 0...0x7F_FFFF, using: &generator) })
            {
                for sign in [UInt32(0), 0x8000_0000] {
                    let value = Float(bitPattern: sign | exponent << 23 | mantissa)
                    let expected = value.isNaN ? UInt16(0x7E00 | (sign >> 16)) : Float16(value).bitPattern
                    #expect(HalfPrecision.float16Bits(value) == expected, "\(String(value.bitPattern, radix: 16))")
                    if HalfPrecision.float16Bits(value) != expected { return }
                }
            }
        }
    }

    /// bf16 rounds to nearest even and writes NaN as 0xFFFF, as PyTorch's `tensor.to(torch.bfloat16)` does; f16 and
    /// bf16 bits read back exactly.
    @Test func bfloat16ConversionFollowsPyTorch() {
        #expect(HalfPrecision.bfloat16Bits(.nan) == 0xFFFF)
        #expect(HalfPrecision.bfloat16Bits(1) == 0x3F80)
        #expect(HalfPrecision.bfloat16Bits(Float(bitPattern: 0x3F80_8000)) == 0x3F80, "a tie rounds to even")
        #expect(HalfPrecision.bfloat16Bits(Float(bitPattern: 0x3F81_8000)) == 0x3F82, "a tie rounds to even")
        for bits in [UInt16(0x3F80), 0xC2F7, 0x0001, 0x7F80] {
            #expect(HalfPrecision.bfloat16Bits(HalfPrecision.float(bfloat16: bits)) == bits)
        }
        for bits in [UInt16(0x3C00), 0xBC00, 0x0001, 0x03FF, 0x7BFF, 0x7C00] {
            #expect(HalfPrecision.float16Bits(HalfPrecision.float(float16: bits)) == bits)
            #expect(HalfPrecision.float(float16: bits) == Float(Float16(bitPattern: bits)))
        }
    }
}

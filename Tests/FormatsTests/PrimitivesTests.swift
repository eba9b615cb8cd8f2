import Formats
import Support
import TestSupport
import Testing

/// The zip CRC-32 against its published vector; safetensors' dtype names.
@Suite struct PrimitivesTests {
    @Test func crc32MatchesThePublishedVector() {
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC32.checksum($0) } == 0xCBF4_3926)
    }

    @Test func dtypeNamesAndSizesFollowSafetensors() {
        #expect(StoredDType(rawValue: "BF16")?.itemSize == 2)
        #expect(StoredDType(rawValue: "BOOL")?.itemSize == 1)
        #expect(StoredDType(rawValue: "F64")?.itemSize == 8)
        #expect(StoredDType(rawValue: "f32") == nil)
    }
}

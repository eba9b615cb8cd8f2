import FuzzCommon
import ModelHub

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    if let value = try? JSONParser.parse(UnsafeRawBufferPointer(start: start, count: count), maxDepth: 64) {
        // What parses must serialize and parse back to the same value.
        guard let again = try? JSONParser.parse(Array(value.serialized().utf8), maxDepth: 64), again == value else {
            fatalError("JSON round trip changed the value")
        }
    }
    return 0
}

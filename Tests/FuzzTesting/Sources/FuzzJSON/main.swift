import FuzzCommon
import ModelHub

/// The document read with the streaming calls (objects and arrays entered, scalars read whole).
func streamed(_ raw: UnsafeRawBufferPointer) throws -> JSONValue {
    var parser = JSONParser(raw, maxDepth: 64)
    func read(_ parser: inout JSONParser) throws -> JSONValue {
        switch parser.next {
        case UInt8(ascii: "{"):
            try parser.beginObject()
            var object = JSONObject()
            while let key = try parser.nextKey() { object.append(key, try read(&parser)) }
            return .object(object)
        case UInt8(ascii: "["):
            try parser.beginArray()
            var items: [JSONValue] = []
            while try parser.nextElement() { items.append(try read(&parser)) }
            return .array(items)
        default:
            return try parser.value()
        }
    }
    let value = try read(&parser)
    try parser.end()
    return value
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let raw = UnsafeRawBufferPointer(start: start, count: count)
    let whole = try? JSONParser.parse(raw, maxDepth: 64)
    if let value = whole {
        // What parses must serialize and parse back to the same value.
        guard let again = try? JSONParser.parse(Array(value.serialized().utf8), maxDepth: 64), again == value else {
            fatalError("JSON round trip changed the value")
        }
    }
    // Streaming accepts exactly what parsing accepts, with the same value.
    guard (try? streamed(raw)) == whole else { fatalError("streaming and parsing disagree") }
    return 0
}

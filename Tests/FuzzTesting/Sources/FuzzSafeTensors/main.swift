import FuzzCommon

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    fuzzCheckpoint(start, count, suffix: ".safetensors")
    return 0
}

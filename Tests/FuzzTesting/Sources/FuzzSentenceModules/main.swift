import FuzzCommon
import ModelHub

/// sentence-transformers' module files as `SentenceTransformerModules` reads them.
///
/// The input is cut at its first two zero bytes into modules.json, the config.json of every module folder it names,
/// and config_sentence_transformers.json. Any bytes give modules or a `ModelError`, never a trap; accepted modules
/// that are mean pooling then Normalize say that they normalize.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let parts = Array(UnsafeRawBufferPointer(start: start, count: count)).split(
        separator: 0, maxSplits: 2, omittingEmptySubsequences: false
    ).map(Array.init)
    var files: [String: [UInt8]] = ["modules.json": parts[0]]
    if parts.count > 1 {
        // Whatever folder a module names gets the second part as its config.json.
        for folder in ["", "1_Pooling/", "2_Dense/", "2_Normalize/", "3_Normalize/"] {
            files[folder + "config.json"] = parts[1]
        }
    }
    if parts.count > 2 { files["config_sentence_transformers.json"] = parts[2] }
    guard let modules = try? SentenceTransformerModules.parse(files: files, source: "fuzz") else { return 0 }
    if modules.isMeanThenNormalize, !modules.normalizes {
        fatalError("mean + Normalize modules that do not normalize")
    }
    return 0
}

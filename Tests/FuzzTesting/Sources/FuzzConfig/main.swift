import FuzzCommon
import ModelHub

/// config.json as `AutoConfig` reads it: any bytes give a config or a `ModelError`, never a trap; an accepted config
/// keeps the invariants the model code relies on, and a small one builds a model (allocation bounded by the
/// estimate checked first, as loading checks it against the checkpoint).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    guard let config = try? ModelConfig.parse(bytes, path: "fuzz/config.json") else { return 0 }
    guard config.hiddenSize % config.headCount == 0, config.vocabularySize > 0, config.layerCount > 0,
        config.maxPositions > 0, config.intermediateSize > 0
    else { fatalError("an accepted config breaks an invariant") }
    if config.parameterEstimate <= 1 << 16 {
        // Every task: those the architecture lacks fail with a ModelError, the others build.
        for task in ModelTask.allCases { _ = try? PretrainedModel.random(config: config, task: task) }
    }
    return 0
}

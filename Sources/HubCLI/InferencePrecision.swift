import ArgumentParser
import ModelHub

extension WeightPrecision: ExpressibleByArgument {}

/// `--dtype f32|bf16|f16|int8` on `hub run`, `hub generate` and `hub bench`: the precision the weights are held in.
struct InferencePrecision: ParsableArguments {
    @Option(
        help: """
            f32; bf16 or f16: weights and embedding tables held in 16 bits, arithmetic in float32; int8: every \
            linear layer's weights quantized per output channel and its products run on integer kernels, the \
            activations quantized per token (model.quantize(.int8)). An int8 .mhub (hub convert --dtype int8) and a \
            bf16/f16 checkpoint load as stored.
            """)
    var dtype: WeightPrecision = .f32

    /// The product kernel in use, as `--json` reports it.
    var kernel: String {
        switch dtype {
        case .f32: "openblas"
        case .int8: Int8Kernel.active.name
        case .bf16, .f16: HalfWeight.kernelName
        }
    }
}

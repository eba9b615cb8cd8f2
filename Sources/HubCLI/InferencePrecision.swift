import ArgumentParser
import ModelHub

/// `--dtype f32|int8` on `hub run`, `hub generate` and `hub bench`: the precision of the linear layers' products.
struct InferencePrecision: ParsableArguments {
    enum DType: String, ExpressibleByArgument, CaseIterable {
        case f32, int8
    }

    @Option(
        help: """
            f32, or int8: every linear layer's weights quantized per output channel and its products run on integer \
            kernels, the activations quantized per token (model.quantize(.int8)).
            """)
    var dtype: DType = .f32

    /// Applies the precision to a loaded model.
    func apply(to model: PretrainedModel) {
        if dtype == .int8 { model.quantize(.int8) }
    }

    /// The product kernel in use, as `--json` reports it.
    var kernel: String { dtype == .int8 ? Int8Kernel.active.name : "openblas" }
}

import Tensors

/// A one-layer LSTM over [B, T, input] (batch first), PyTorch's `nn.LSTM` with its parameter names
/// (`weight_ih_l0` [4H, I], `weight_hh_l0` [4H, H], `bias_ih_l0`, `bias_hh_l0`; gates in the order i, f, g, o).
///
/// Per step: gates = x Wᵢₕᵀ + bᵢₕ + h Wₕₕᵀ + bₕₕ; c ← σ(f)·c + σ(i)·tanh(g); h ← σ(o)·tanh(c).
///
/// ```swift
/// var generator = RandomGenerator(seed: 0)
/// let lstm = LSTM(inputSize: 64, hiddenSize: 128, generator: &generator)
/// let (output, hidden, cell) = lstm(Tensor.zeros([4, 20, 64]))   // output [4, 20, 128]
/// ```
public final class LSTM: Module, @unchecked Sendable {
    public let weightIhL0: Parameter
    public let weightHhL0: Parameter
    public let biasIhL0: Parameter
    public let biasHhL0: Parameter
    public let hiddenSize: Int

    /// Initialized as PyTorch does: every weight uniform in ±1/√hidden.
    public init(inputSize: Int, hiddenSize: Int, generator: inout RandomGenerator) {
        let bound = 1 / Double(Swift.max(hiddenSize, 1)).squareRoot()
        func uniform(_ shape: [Int]) -> Parameter {
            Parameter(Tensor.randomUniform(shape, in: -bound...bound, using: &generator))
        }
        weightIhL0 = uniform([4 * hiddenSize, inputSize])
        weightHhL0 = uniform([4 * hiddenSize, hiddenSize])
        biasIhL0 = uniform([4 * hiddenSize])
        biasHhL0 = uniform([4 * hiddenSize])
        self.hiddenSize = hiddenSize
    }

    /// The input and hidden projections in reduced precision once `Module.quantize` made them (inference only),
    /// as `quantize_dynamic` swaps `nn.LSTM` for its dynamic int8 counterpart.
    public internal(set) var reduced: (input: ReducedWeight, hidden: ReducedWeight)?

    /// All hidden states [B, T, H], and the last hidden and cell states [B, H].
    public func callAsFunction(_ x: Tensor) -> (output: Tensor, hidden: Tensor, cell: Tensor) {
        let (batch, steps) = (x.size(0), x.size(1))
        let hidden = hiddenSize
        // The input projection for every step at once: [B, T, 4H].
        let projected =
            reduced.map { $0.input.linear(x, bias: biasIhL0.value) + biasHhL0.value }
            ?? x.matmul(weightIhL0.value.transposed()) + biasIhL0.value + biasHhL0.value
        // The hidden projection, one step's product: through the reduced weight, else the float one read once.
        let hiddenProduct: (Tensor) -> Tensor =
            if let recurrent = reduced?.hidden {
                { recurrent.linear($0, bias: nil) }
            } else {
                { [weight = weightHhL0.value.transposed()] in $0.matmul(weight) }
            }
        var h = Tensor.zeros([batch, hidden], dtype: x.dtype)
        var c = Tensor.zeros([batch, hidden], dtype: x.dtype)
        var outputs: [Tensor] = []
        for step in 0..<steps {
            let gates = projected.sliced(1, step..<step + 1).squeezed(1) + hiddenProduct(h)
            let parts = gates.split([hidden, hidden, hidden, hidden], axis: 1)
            let (i, f, g, o) = (parts[0].sigmoid(), parts[1].sigmoid(), parts[2].tanh(), parts[3].sigmoid())
            c = f * c + i * g
            h = o * c.tanh()
            outputs.append(h)
        }
        return (Tensor.stack(outputs, axis: 1), h, c)
    }
}

import Tensors

/// y = x Wᵀ + b with W [out, in] (PyTorch's `nn.Linear`, the layout of BERT's checkpoints).
///
/// ```swift
/// var generator = RandomGenerator(seed: 0)
/// let layer = Linear(768, 3072, generator: &generator)     // weight [3072, 768], PyTorch's init
/// let y = layer(Tensor.zeros([8, 128, 768]))               // [8, 128, 3072]
/// ```
public final class Linear: Module, @unchecked Sendable {
    public let weight: Parameter
    public let bias: Parameter?

    /// Initialized as PyTorch does: W and b uniform in ±1/√in.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, generator: inout RandomGenerator) {
        let bound = 1 / Double(Swift.max(inFeatures, 1)).squareRoot()
        weight = Parameter(Tensor.randomUniform([outFeatures, inFeatures], in: -bound...bound, using: &generator))
        self.bias = bias ? Parameter(Tensor.randomUniform([outFeatures], in: -bound...bound, using: &generator)) : nil
    }

    /// A layer of fresh parameters as transformers' `_init_weights` draws them (W normal(0, `std`), b zero), drawn
    /// when the model is built unless a checkpoint supplies them.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, std: Double) {
        weight = Parameter(pending: [outFeatures, inFeatures], .normal(std: std))
        self.bias = bias ? Parameter(pending: [outFeatures], .zeros) : nil
    }

    /// A layer over given parameters (loaded weights, or a weight shared with another module).
    public init(weight: Parameter, bias: Parameter?) {
        self.weight = weight
        self.bias = bias
    }

    /// The weight in reduced precision once `Module.quantize` made it: products then run on its kernels
    /// (inference only).
    public internal(set) var reduced: ReducedWeight?

    public func callAsFunction(_ x: Tensor) -> Tensor {
        if let reduced { return reduced.linear(x, bias: bias?.value) }
        return x.linear(weight: weight.value, bias: bias?.value)
    }
}

/// Rows of a [count, dimension] table looked up by integer ids (PyTorch's `nn.Embedding`).
///
/// ```swift
/// var generator = RandomGenerator(seed: 0)
/// let table = Embedding(30522, 768, paddingIndex: 0, generator: &generator)
/// let vectors = table(Tensor([101, 2023, 102], shape: [1, 3]))   // [1, 3, 768]
/// ```
public final class Embedding: Module, @unchecked Sendable {
    public let weight: Parameter
    /// The row that gets no gradient (and starts at zero).
    public let paddingIndex: Int?

    /// Initialized N(0, 1), the padding row zero, as PyTorch does.
    public init(_ count: Int, _ dimension: Int, paddingIndex: Int? = nil, generator: inout RandomGenerator) {
        let table = Tensor.randomNormal([count, dimension], using: &generator)
        if let paddingIndex {
            table.slicedUntracked(0, paddingIndex..<paddingIndex + 1).fillZero()
        }
        weight = Parameter(table)
        self.paddingIndex = paddingIndex
    }

    /// A table as transformers' `_init_weights` draws it (normal(0, `std`), the padding row zero), drawn when the
    /// model is built unless a checkpoint supplies it.
    public init(_ count: Int, _ dimension: Int, paddingIndex: Int? = nil, std: Double) {
        weight = Parameter(pending: [count, dimension], .normal(std: std, zeroRow: paddingIndex))
        self.paddingIndex = paddingIndex
    }

    /// A table over a given parameter (loaded weights).
    public init(weight: Parameter, paddingIndex: Int? = nil) {
        self.weight = weight
        self.paddingIndex = paddingIndex
    }

    /// The table in reduced precision once `Module.quantize` made it (inference only).
    public internal(set) var reduced: ReducedTable?

    public func callAsFunction(_ ids: Tensor) -> Tensor {
        if let reduced { return reduced.rows(ids) }
        return weight.value.embedding(ids, paddingIndex: paddingIndex)
    }
}

/// Layer normalization over the last axis with a learned scale and shift (PyTorch's `nn.LayerNorm`).
///
/// ```swift
/// let norm = LayerNorm(768, epsilon: 1e-12)
/// let y = norm(Tensor.zeros([2, 768]))
/// ```
public final class LayerNorm: Module, @unchecked Sendable {
    public let weight: Parameter
    public let bias: Parameter
    public let epsilon: Double

    /// Scale 1, shift 0.
    public init(_ dimension: Int, epsilon: Double = 1e-5) {
        weight = Parameter(Tensor.ones([dimension]))
        bias = Parameter(Tensor.zeros([dimension]))
        self.epsilon = epsilon
    }

    /// A layer over given parameters (loaded weights).
    public init(weight: Parameter, bias: Parameter, epsilon: Double) {
        self.weight = weight
        self.bias = bias
        self.epsilon = epsilon
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.layerNorm(weight: weight.value, bias: bias.value, epsilon: epsilon)
    }
}

/// Inverted dropout while training, the identity in evaluation mode.
///
/// ```swift
/// let dropout = Dropout(0.1, seed: 7)
/// dropout.eval()               // the identity from now on
/// ```
public final class Dropout: Module, @unchecked Sendable {
    public let probability: Double
    /// The mask source; saved and restored by checkpoints so a resumed run draws the same masks.
    public var generator: RandomGenerator

    public init(_ probability: Double, seed: UInt64 = 0) {
        self.probability = probability
        generator = RandomGenerator(seed: seed)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.dropout(probability, training: training, using: &generator)
    }
}

/// GPT-2's `Conv1D`: y = x W + b with W stored [in, out], the transpose of `Linear`'s layout, read as stored (the
/// product takes W untransposed, so mapped weights stay zero-copy).
///
/// ```swift
/// let projection = Conv1D(768, 2304, std: 0.02)   // weight [768, 2304], as GPT-2 stores c_attn
/// ```
public final class Conv1D: Module, @unchecked Sendable {
    public let weight: Parameter
    public let bias: Parameter

    /// A layer of fresh parameters, drawn normal(0, `std`) (transformers' `_init_weights`) when the model is built.
    public init(_ inFeatures: Int, _ outFeatures: Int, std: Double) {
        weight = Parameter(pending: [inFeatures, outFeatures], .normal(std: std))
        bias = Parameter(pending: [outFeatures], .zeros)
    }

    public init(weight: Parameter, bias: Parameter) {
        self.weight = weight
        self.bias = bias
    }

    /// The weight in reduced precision, rows per output channel (`Module.quantize`), as `Linear.reduced`.
    public internal(set) var reduced: ReducedWeight?

    public func callAsFunction(_ x: Tensor) -> Tensor {
        if let reduced { return reduced.linear(x, bias: bias.value) }
        return x.conv1D(weight: weight.value, bias: bias.value)
    }
}

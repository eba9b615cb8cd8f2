import Tensors

/// Multi-head attention with separate query, key, value and output projections (BERT's layout).
///
/// Shapes: x [B, T, C] → heads [B, H, T, C/H] → attention → [B, T, C].
///
/// ```swift
/// var generator = RandomGenerator(seed: 0)
/// let attention = MultiHeadAttention(width: 64, heads: 4, generator: &generator)
/// let y = attention(Tensor.zeros([2, 10, 64]), causal: true)
/// ```
public final class MultiHeadAttention: Module, @unchecked Sendable {
    public let query: Linear
    public let key: Linear
    public let value: Linear
    public let output: Linear
    public let heads: Int

    public init(width: Int, heads: Int, generator: inout RandomGenerator) {
        precondition(heads > 0 && width % heads == 0, "width \(width) is not divisible by \(heads) heads")
        query = Linear(width, width, generator: &generator)
        key = Linear(width, width, generator: &generator)
        value = Linear(width, width, generator: &generator)
        output = Linear(width, width, generator: &generator)
        self.heads = heads
    }

    /// Self-attention over `x`; `mask` as in `Tensor.scaledDotProductAttention` ([B, 1, 1, T] for padding).
    public func callAsFunction(_ x: Tensor, mask: Tensor? = nil, causal: Bool = false) -> Tensor {
        let (b, t, c) = (x.size(0), x.size(1), x.size(2))
        func split(_ y: Tensor) -> Tensor { y.reshaped([b, t, heads, c / heads]).transposed(1, 2) }  // [B, H, T, D]
        let attended = Tensor.scaledDotProductAttention(
            query: split(query(x)), key: split(key(x)), value: split(value(x)), mask: mask, causal: causal)
        return output(attended.transposed(1, 2).reshaped([b, t, c]))  // [B, T, C]
    }
}

/// A post-norm encoder block (BERT): h = LN(x + attention(x)); LN(h + W₂ gelu(W₁ h)).
///
/// ```swift
/// var generator = RandomGenerator(seed: 0)
/// let block = TransformerEncoderBlock(width: 64, heads: 4, feedForward: 256, generator: &generator)
/// let y = block(Tensor.zeros([2, 10, 64]))
/// ```
public final class TransformerEncoderBlock: Module, @unchecked Sendable {
    public let attention: MultiHeadAttention
    public let attentionNorm: LayerNorm
    public let intermediate: Linear
    public let outputDense: Linear
    public let outputNorm: LayerNorm
    public let dropout: Dropout

    public init(
        width: Int, heads: Int, feedForward: Int, dropout: Double = 0.1, epsilon: Double = 1e-12,
        generator: inout RandomGenerator
    ) {
        attention = MultiHeadAttention(width: width, heads: heads, generator: &generator)
        attentionNorm = LayerNorm(width, epsilon: epsilon)
        intermediate = Linear(width, feedForward, generator: &generator)
        outputDense = Linear(feedForward, width, generator: &generator)
        outputNorm = LayerNorm(width, epsilon: epsilon)
        self.dropout = Dropout(dropout, seed: generator.next())
    }

    public func callAsFunction(_ x: Tensor, mask: Tensor? = nil) -> Tensor {
        let h = attentionNorm(x + dropout(attention(x, mask: mask)))
        return outputNorm(h + dropout(outputDense(intermediate(h).gelu())))
    }
}

/// A pre-norm causal decoder block (GPT-2): h = x + attention(LN(x)); h + W₂ gelu_tanh(W₁ LN(h)).
///
/// ```swift
/// var generator = RandomGenerator(seed: 0)
/// let block = TransformerDecoderBlock(width: 64, heads: 4, feedForward: 256, generator: &generator)
/// let y = block(Tensor.zeros([2, 10, 64]))      // causal
/// ```
public final class TransformerDecoderBlock: Module, @unchecked Sendable {
    public let firstNorm: LayerNorm
    public let attention: MultiHeadAttention
    public let secondNorm: LayerNorm
    public let expand: Linear
    public let project: Linear

    public init(width: Int, heads: Int, feedForward: Int, epsilon: Double = 1e-5, generator: inout RandomGenerator) {
        firstNorm = LayerNorm(width, epsilon: epsilon)
        attention = MultiHeadAttention(width: width, heads: heads, generator: &generator)
        secondNorm = LayerNorm(width, epsilon: epsilon)
        expand = Linear(width, feedForward, generator: &generator)
        project = Linear(feedForward, width, generator: &generator)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = x + attention(firstNorm(x), causal: true)
        return h + project(expand(secondNorm(h)).geluTanh())
    }
}

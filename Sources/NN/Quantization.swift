import Tensors

/// How `Module.quantize` stores the weights it quantizes.
public enum QuantizationType: Sendable {
    /// Symmetric int8, one float scale per output channel; activations quantized per row at run time, products
    /// accumulated in int32 (dynamic quantization).
    case int8
}

extension Module {
    /// Quantizes every `Linear` and `Conv1D` inside for inference, in place — what `torch.quantize_dynamic(model,
    /// {nn.Linear}, dtype=torch.qint8)` does, with per-output-channel weight scales and per-row activation scales.
    ///
    /// ```swift
    /// let model = try await AutoModel.fromPretrained("all-MiniLM-L6-v2")
    /// model.quantize(.int8)
    /// let embeddings = try model.sentenceEmbeddings(["int8 products, float32 everywhere else"])
    /// ```
    ///
    /// - Parameter keepingTiedWeights: leaves in float32 a layer whose weight is shared with another module (a
    ///   language-model head tied to the word embeddings).
    /// - Returns: how many layers were quantized.
    @discardableResult
    public func quantize(_ type: QuantizationType = .int8, keepingTiedWeights: Bool = false) -> Int {
        let tree = walk()
        var uses: [ObjectIdentifier: Int] = [:]
        for (_, parameter) in tree.parameters { uses[ObjectIdentifier(parameter), default: 0] += 1 }
        func tied(_ parameter: Parameter) -> Bool {
            keepingTiedWeights && uses[ObjectIdentifier(parameter), default: 0] > 1
        }
        var count = 0
        for module in tree.modules {
            switch module {
            case let linear as Linear where !tied(linear.weight):
                linear.quantize()
                count += 1
            case let conv as Conv1D where !tied(conv.weight):
                conv.quantize()
                count += 1
            default:
                continue
            }
        }
        return count
    }
}

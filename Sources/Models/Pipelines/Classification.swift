import Tensors

extension SequenceClassifier {
    /// Label probabilities (softmax of the logits) of each text, with the config's label names.
    public func classify(_ texts: [String]) throws -> [[(label: String, score: Double)]] {
        let logits = try Tensor.withoutGradient { try forward(ModelInputs(encode(texts))).requiredLogits() }
        let probabilities = logits.softmax(axis: -1).doubles
        let count = config.labelCount
        return texts.indices.map { row in
            (0..<count).map { (config.labels[$0], probabilities[row * count + $0]) }
        }
    }
}

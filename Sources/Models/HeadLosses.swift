import Tensors

// The losses of transformers' task heads, shared by every architecture's classes.

/// Masked LM or token classification: cross-entropy over every position (-100 ignored) of logits [B, T, N].
func tokenLoss(_ logits: Tensor, labels: Tensor, classes: Int) -> Tensor {
    logits.reshaped([-1, classes]).crossEntropy(targets: labels.reshaped([-1]))
}

/// Sequence classification, the loss as transformers picks the problem type, of logits [B, labels].
///
/// Mean squared error for one label (regression), binary cross-entropy for float multi-labels, else cross-entropy.
func sequenceLoss(_ logits: Tensor, labels: Tensor, labelCount: Int) -> Tensor {
    if labelCount == 1 {
        return logits.reshaped([-1]).mseLoss(labels.converted(to: .float32).reshaped([-1]))
    }
    if labels.dtype.isFloatingPoint { return logits.binaryCrossEntropyWithLogits(labels.converted(to: .float32)) }
    return logits.crossEntropy(targets: labels.reshaped([-1]))
}

/// Extractive QA: the mean of the start and end cross-entropies, positions clamped to the length and ignored there.
func spanLoss(start: Tensor, end: Tensor, startPositions: Tensor, endPositions: Tensor) -> Tensor {
    let length = start.size(1)
    func clamped(_ positions: Tensor) -> Tensor {
        Tensor(positions.integers.map { Swift.min(Swift.max($0, 0), length) }, shape: [positions.count])
    }
    let startLoss = start.crossEntropy(targets: clamped(startPositions), ignoreIndex: length)
    let endLoss = end.crossEntropy(targets: clamped(endPositions), ignoreIndex: length)
    return (startLoss + endLoss) * 0.5
}

/// Start and end logits [B, T] each from a [B, T, 2] `qa_outputs`, and the loss when both positions are given.
func spanOutput(_ output: inout ModelOutput, logits: Tensor, inputs: ModelInputs) {
    let parts = logits.split([1, 1], axis: 2)
    let (start, end) = (parts[0].squeezed(2), parts[1].squeezed(2))
    output.startLogits = start
    output.endLogits = end
    if let startPositions = inputs.startPositions, let endPositions = inputs.endPositions {
        output.loss = spanLoss(start: start, end: end, startPositions: startPositions, endPositions: endPositions)
    }
}

#if canImport(Glibc)
    import Glibc
#endif

// Losses, reduced by the mean as PyTorch's defaults: cross-entropy (ignore_index, label smoothing), MSE,
// binary cross-entropy on logits.

extension Tensor {
    /// Cross-entropy of logits [N, C] (or [..., C]) against integer class `targets` [N] (or [...]).
    ///
    /// Averaged over the targets that are not `ignoreIndex`; with `labelSmoothing` ε the target distribution is
    /// (1 − ε) one-hot + ε/C everywhere (PyTorch's `cross_entropy`).
    public func crossEntropy(targets: Tensor, ignoreIndex: Int = -100, labelSmoothing: Double = 0) -> Tensor {
        let classes = shape.last ?? 0
        let rows = classes == 0 ? 0 : count / classes
        let labels = targets.integers
        precondition(labels.count == rows, "\(labels.count) targets for \(rows) rows of logits \(shape)")
        precondition(labelSmoothing >= 0 && labelSmoothing <= 1, "label smoothing \(labelSmoothing) outside [0, 1]")
        var weights = [Double](repeating: 0, count: rows * classes)
        var counted = 0
        for (row, label) in labels.enumerated() where label != ignoreIndex {
            precondition(label >= 0 && label < classes, "target \(label) outside 0..<\(classes)")
            counted += 1
            for c in 0..<classes { weights[row * classes + c] = labelSmoothing / Double(classes) }
            weights[row * classes + label] += 1 - labelSmoothing
        }
        let logProbabilities = reshaped([rows, classes]).logSoftmax(axis: -1)
        let target = Tensor(weights, shape: [rows, classes], dtype: dtype)
        // PyTorch divides by the number of counted targets (NaN when there is none).
        return -(logProbabilities * target).sum() / Double(counted)
    }

    /// Mean squared error.
    public func mseLoss(_ target: Tensor) -> Tensor { (self - target).squared().mean() }

    /// Binary cross-entropy of logits against targets in [0, 1], averaged.
    ///
    /// Per element max(x, 0) − x·y + log(1 + e^(−|x|)). Backward: (σ(x) − y) / n for x, −x / n for y.
    public func binaryCrossEntropyWithLogits(_ target: Tensor) -> Tensor {
        precondition(shape == target.shape, "logits \(shape) and targets \(target.shape) differ")
        let (x, y) = (doubles, target.doubles)
        var total = 0.0
        for i in x.indices {
            total += Swift.max(x[i], 0) - x[i] * y[i] + Glibc.log1p(Glibc.exp(-abs(x[i])))
        }
        let n = Double(Swift.max(count, 1))
        let out = Tensor([total / n], shape: [], dtype: dtype)
        let (logits, targets) = (self, target)
        return Tensor.record("bce_with_logits", out, inputs: [logits, targets]) { g in
            let scale = g.item / n
            let dx = logits.detached().sigmoid() - targets.detached()
            return [
                logits.requiresGrad ? dx * scale : nil,
                targets.requiresGrad ? logits.detached() * -scale : nil,
            ]
        }
    }
}

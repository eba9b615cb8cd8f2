import CKernels

#if canImport(Glibc)
    import Glibc
#endif

// Losses, reduced by the mean as PyTorch's defaults: cross-entropy (ignore_index, label smoothing), MSE,
// binary cross-entropy on logits.

extension Tensor {
    /// Cross-entropy of logits [N, C] (or [..., C]) against integer class `targets` [N] (or [...]).
    ///
    /// Averaged over the targets that are not `ignoreIndex`; with `labelSmoothing` ε the target distribution is
    /// (1 − ε) one-hot + ε/C everywhere (PyTorch's `cross_entropy`). One pass per row, no [N, C] target matrix: the
    /// loss of a row is lse − (1 − ε)·x[label] − (ε/C)·Σx with lse = log Σ exp x; its gradient (softmax − target)/n.
    public func crossEntropy(targets: Tensor, ignoreIndex: Int = -100, labelSmoothing: Double = 0) -> Tensor {
        let classes = shape.last ?? 0
        let rows = classes == 0 ? 0 : count / classes
        let labels = targets.integers
        precondition(labels.count == rows, "\(labels.count) targets for \(rows) rows of logits \(shape)")
        precondition(labelSmoothing >= 0 && labelSmoothing <= 1, "label smoothing \(labelSmoothing) outside [0, 1]")
        for label in labels where label != ignoreIndex {
            precondition(label >= 0 && label < classes, "target \(label) outside 0..<\(classes)")
        }
        let counted = labels.filter { $0 != ignoreIndex }.count
        let logits = contiguous().detached()
        let (total, shifts): (Double, [Double])
        switch dtype {
        case .float32:
            (total, shifts) = logits.crossEntropyRows(Float.self, labels, ignoreIndex, labelSmoothing, classes)
        case .float64:
            (total, shifts) = logits.crossEntropyRows(Double.self, labels, ignoreIndex, labelSmoothing, classes)
        default: preconditionFailure("cross-entropy of \(dtype): convert to float32 first")
        }
        // PyTorch divides by the number of counted targets (NaN when there is none).
        let out = Tensor([total / Double(counted)], shape: [], dtype: dtype)
        let input = self
        return Tensor.record("cross_entropy", out, inputs: [self]) { g in
            let scale = g.item / Double(counted)
            let gradient = Tensor.empty([rows, classes], dtype: logits.dtype)
            switch logits.dtype {
            case .float32:
                logits.crossEntropyGradient(
                    Float.self, into: gradient, labels, shifts, ignoreIndex, labelSmoothing, scale, classes)
            default:
                logits.crossEntropyGradient(
                    Double.self, into: gradient, labels, shifts, ignoreIndex, labelSmoothing, scale, classes)
            }
            return [gradient.reshaped(input.shape)]
        }
    }

    /// The summed loss of the counted rows, and each row's log-sum-exp (for the backward).
    private func crossEntropyRows<T: FloatElement>(
        _ type: T.Type, _ labels: [Int], _ ignoreIndex: Int, _ smoothing: Double, _ classes: Int
    ) -> (Double, [Double]) {
        var shifts = [Double](repeating: 0, count: labels.count)
        if T.self == Float.self {  // vectorized exp (CKernels), rows in two halves; row losses added in order
            var losses = [Double](repeating: 0, count: labels.count)
            let x = SharedBuffer(pointer(as: Float.self))
            labels.withUnsafeBufferPointer { labelBuffer in
                shifts.withUnsafeMutableBufferPointer { shiftBuffer in
                    losses.withUnsafeMutableBufferPointer { lossBuffer in
                        guard let l = labelBuffer.baseAddress, let s = shiftBuffer.baseAddress,
                            let o = lossBuffer.baseAddress
                        else { return }
                        let (l2, s2, o2) = (SharedBuffer(l), SharedBuffer(s), SharedBuffer(o))
                        splitInHalves(labels.count, minimum: Swift.max((1 << 18) / Swift.max(classes, 1), 2)) {
                            start, count in
                            mh_cross_entropy_rows(
                                x.base + start * classes, count, classes, l2.base + start, ignoreIndex,
                                Float(smoothing), s2.base + start, o2.base + start)
                        }
                    }
                }
            }
            return (losses.reduce(0, +), shifts)
        }
        let x = pointer(as: T.self)
        var total = 0.0
        for (row, label) in labels.enumerated() where label != ignoreIndex {
            let xr = x + row * classes
            var largest = -T.infinity
            for j in 0..<classes where xr[j] > largest { largest = xr[j] }
            var sum: T = 0
            var plain: T = 0
            for j in 0..<classes {
                sum += T.exp(xr[j] - largest)
                plain += xr[j]
            }
            let lse = Double(largest) + Double(T.log(sum))
            shifts[row] = lse
            total += lse - (1 - smoothing) * Double(xr[label]) - smoothing / Double(classes) * Double(plain)
        }
        return (total, shifts)
    }

    /// (softmax − target) · scale on counted rows, 0 on ignored ones.
    private func crossEntropyGradient<T: FloatElement>(
        _ type: T.Type, into gradient: Tensor, _ labels: [Int], _ shifts: [Double], _ ignoreIndex: Int,
        _ smoothing: Double, _ scale: Double, _ classes: Int
    ) {
        if T.self == Float.self {  // vectorized exp (CKernels), rows in two halves
            let (x, d) = (SharedBuffer(pointer(as: Float.self)), SharedBuffer(gradient.pointer(as: Float.self)))
            labels.withUnsafeBufferPointer { labelBuffer in
                shifts.withUnsafeBufferPointer { shiftBuffer in
                    guard let l = labelBuffer.baseAddress, let s = shiftBuffer.baseAddress else { return }
                    let (l2, s2) = (SharedBuffer(l), SharedBuffer(s))
                    splitInHalves(labels.count, minimum: Swift.max((1 << 18) / Swift.max(classes, 1), 2)) {
                        start, count in
                        mh_cross_entropy_backward(
                            x.base + start * classes, count, classes, l2.base + start, ignoreIndex, s2.base + start,
                            Float(smoothing), Float(scale), d.base + start * classes)
                    }
                }
            }
            return
        }
        let (x, d) = (pointer(as: T.self), gradient.pointer(as: T.self))
        let (uniform, peak, factor) = (T(smoothing / Double(classes)), T(1 - smoothing), T(scale))
        for (row, label) in labels.enumerated() {
            let (xr, dr) = (x + row * classes, d + row * classes)
            guard label != ignoreIndex else {
                dr.update(repeating: 0, count: classes)
                continue
            }
            let shift = T(shifts[row])
            for j in 0..<classes { dr[j] = (T.exp(xr[j] - shift) - uniform) * factor }
            dr[label] -= peak * factor
        }
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

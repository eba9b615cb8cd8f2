import CKernels
import Tensors

#if canImport(Glibc)
    import Glibc
#endif

/// Parameters updated together with their own weight decay (and learning-rate factor): AdamW's usual split puts
/// biases and LayerNorm weights in a group without decay.
///
/// ```swift
/// let groups = [ParameterGroup(weights, weightDecay: 0.01), ParameterGroup(biasesAndNorms, weightDecay: 0)]
/// let optimizer = Adam.adamW(groups, learningRate: 5e-5)
/// ```
public struct ParameterGroup {
    public var parameters: [Parameter]
    public var weightDecay: Double

    public init(_ parameters: [Parameter], weightDecay: Double = 0) {
        self.parameters = parameters
        self.weightDecay = weightDecay
    }
}

/// An optimizer: `step()` updates the parameters from their gradients.
///
/// ```swift
/// func train(_ optimizer: Optimizer, _ loss: () throws -> Tensor) rethrows {
///     optimizer.zeroGrad()
///     try loss().backward()
///     optimizer.step()
/// }
/// ```
public protocol Optimizer: AnyObject {
    /// The learning rate of the next step (schedules set it).
    var learningRate: Double { get set }
    func step()
    func zeroGrad()
}

/// Parameters of a float32 tensor as a mutable buffer, and their gradient, for the update loops.
private func withBuffers(
    _ parameter: Parameter, _ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
) {
    guard let gradient = parameter.grad?.contiguous().converted(to: .float32) else { return }
    let value = parameter.writableValue()
    precondition(value.dtype == .float32, "optimizers update float32 parameters")
    let g = gradient.storage.pointer.assumingMemoryBound(to: Float.self) + gradient.layout.offset
    let p = value.storage.pointer.assumingMemoryBound(to: Float.self) + value.layout.offset
    body(p, g, value.count)
}

/// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay (PyTorch's `optim.SGD`).
///
/// ```swift
/// let optimizer = SGD([ParameterGroup(model.parameters())], learningRate: 0.1, momentum: 0.9)
/// ```
public final class SGD: Optimizer {
    public var learningRate: Double
    public let momentum: Double
    public let dampening: Double
    public let nesterov: Bool
    public var groups: [ParameterGroup]
    private var buffers: [ObjectIdentifier: [Float]] = [:]

    public init(
        _ groups: [ParameterGroup], learningRate: Double, momentum: Double = 0, dampening: Double = 0,
        nesterov: Bool = false
    ) {
        self.groups = groups
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
    }

    public func step() {
        let (lr, momentum, dampening) = (Float(learningRate), Float(self.momentum), Float(self.dampening))
        for group in groups {
            let decay = Float(group.weightDecay)
            for parameter in group.parameters {
                withBuffers(parameter) { p, g, n in
                    let key = ObjectIdentifier(parameter)
                    let first = buffers[key] == nil
                    var buffer = buffers[key] ?? [Float](repeating: 0, count: n)
                    for i in 0..<n {
                        var d = g[i] + decay * p[i]
                        if momentum != 0 {
                            buffer[i] = first ? d : momentum * buffer[i] + (1 - dampening) * d
                            d = nesterov ? d + momentum * buffer[i] : buffer[i]
                        }
                        p[i] -= lr * d
                    }
                    if momentum != 0 { buffers[key] = buffer }
                }
            }
        }
    }

    public func zeroGrad() { groups.forEach { $0.parameters.forEach { $0.zeroGrad() } } }
}

/// Adam (L2 weight decay added to the gradient) or AdamW (decoupled decay: p ← p − lr·λ·p before the update),
/// as PyTorch's `optim.Adam` / `optim.AdamW` with bias correction.
///
/// ```swift
/// let optimizer = Adam.adamW([ParameterGroup(model.parameters(), weightDecay: 0.01)], learningRate: 1e-3)
/// loss.backward()
/// optimizer.step()
/// optimizer.zeroGrad()
/// ```
public final class Adam: Optimizer {
    public var learningRate: Double
    public let betas: (Double, Double)
    public let epsilon: Double
    /// AdamW's decoupled weight decay rather than Adam's L2 term.
    public let decoupled: Bool
    public var groups: [ParameterGroup]
    /// Steps taken (for bias correction), and the moment estimates per parameter.
    public private(set) var steps = 0
    private var moments: [ObjectIdentifier: (m: [Float], v: [Float])] = [:]

    public init(
        _ groups: [ParameterGroup], learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
        epsilon: Double = 1e-8, decoupledWeightDecay: Bool = false
    ) {
        self.groups = groups
        self.learningRate = learningRate
        self.betas = betas
        self.epsilon = epsilon
        decoupled = decoupledWeightDecay
    }

    /// AdamW with PyTorch's defaults (weight decay 0.01 unless the groups say otherwise).
    public static func adamW(
        _ groups: [ParameterGroup], learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
        epsilon: Double = 1e-8
    ) -> Adam {
        Adam(groups, learningRate: learningRate, betas: betas, epsilon: epsilon, decoupledWeightDecay: true)
    }

    public func step() { step(gradientScale: 1) }

    /// A step with every gradient multiplied by `gradientScale` first (gradient clipping's factor, applied in the
    /// update instead of by writing scaled copies of the gradients: the same values, one pass fewer).
    public func step(gradientScale: Double) {
        steps += 1
        let scale = Float(gradientScale)
        let (beta1, beta2) = (Float(betas.0), Float(betas.1))
        let correction1 = 1 - Glibc.pow(betas.0, Double(steps))
        let correction2 = (1 - Glibc.pow(betas.1, Double(steps))).squareRoot()
        let stepSize = Float(learningRate / correction1)
        let (eps, lr) = (Float(epsilon), Float(learningRate))
        let c2 = Float(correction2)
        for group in groups {
            let decay = Float(group.weightDecay)
            for parameter in group.parameters {
                withBuffers(parameter) { p, g, n in
                    let key = ObjectIdentifier(parameter)
                    // Taken out of the table so the updates below do not copy the arrays.
                    var (m, v) =
                        moments.removeValue(forKey: key)
                        ?? ([Float](repeating: 0, count: n), [Float](repeating: 0, count: n))
                    m.withUnsafeMutableBufferPointer { mBuffer in
                        v.withUnsafeMutableBufferPointer { vBuffer in
                            guard let mBase = mBuffer.baseAddress, let vBase = vBuffer.baseAddress else { return }
                            let shrink: Float = decoupled ? 1 - lr * decay : 1
                            let (p, g) = (SharedBuffer(p), SharedBuffer(g))
                            let (m, v) = (SharedBuffer(mBase), SharedBuffer(vBase))
                            let l2: Float = decoupled ? 0 : decay
                            // Memory-bound: two cores move more bytes per second (BERT-base's step: 130 → 93 ms).
                            splitInHalves(n, minimum: 1 << 20) { start, count in
                                mh_adam(
                                    p.base + start, g.base + start, m.base + start, v.base + start, count, scale, beta1,
                                    beta2, l2, shrink, stepSize, c2, eps)
                            }
                        }
                    }
                    moments[key] = (m, v)
                }
            }
        }
    }

    public func zeroGrad() { groups.forEach { $0.parameters.forEach { $0.zeroGrad() } } }

    /// The first and second moment estimates of a parameter (nil before its first step), for checkpoints.
    public func moments(of parameter: Parameter) -> (m: [Float], v: [Float])? { moments[ObjectIdentifier(parameter)] }

    /// Restores the step count and the moments a checkpoint saved.
    public func restore(steps: Int, moments saved: [(parameter: Parameter, m: [Float], v: [Float])]) {
        self.steps = steps
        moments = [:]
        for (parameter, m, v) in saved { moments[ObjectIdentifier(parameter)] = (m, v) }
    }
}

/// Scales all gradients down so their global L2 norm is at most `maxNorm` (PyTorch's `clip_grad_norm_`);
/// returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ parameters: [Parameter], maxNorm: Double) -> Double {
    let norm = gradientNorm(parameters)
    let scale = clippingFactor(norm: norm, maxNorm: maxNorm)
    guard scale < 1 else { return norm }
    for parameter in parameters {
        guard let gradient = parameter.grad else { continue }
        parameter.value.setGrad(Tensor.withoutGradient { gradient * scale })
    }
    return norm
}

/// The L2 norm of all the parameters' gradients together (those without one count as zeros).
public func gradientNorm(_ parameters: [Parameter]) -> Double {
    var total = 0.0
    for parameter in parameters {
        guard let gradient = parameter.grad?.contiguous().converted(to: .float32) else { continue }
        total += mh_sum_squares(
            gradient.storage.pointer.assumingMemoryBound(to: Float.self) + gradient.layout.offset, gradient.count)
    }
    return total.squareRoot()
}

/// What gradient clipping multiplies the gradients by for a global `norm`.
///
/// `maxNorm / (norm + 1e-6)` when that is below 1, else 1 (PyTorch's `clip_grad_norm_`). Pass it to
/// `Adam.step(gradientScale:)` to clip without copies.
///
/// ```swift
/// optimizer.step(gradientScale: clippingFactor(norm: gradientNorm(parameters), maxNorm: 1))
/// ```
public func clippingFactor(norm: Double, maxNorm: Double) -> Double {
    let scale = maxNorm / (norm + 1e-6)
    return scale < 1 ? scale : 1
}

/// Gradient state of a tensor that takes part in differentiation, shared by its copies (a `Tensor` is a value;
/// its gradient belongs to the tensor, whichever copy asks).
final class AutogradInfo: @unchecked Sendable {
    let requiresGrad: Bool
    /// The accumulated gradient of a leaf (a parameter or an input).
    var grad: Tensor?
    /// How this tensor was computed; nil for leaves.
    var node: Node?

    init(requiresGrad: Bool, node: Node? = nil) {
        self.requiresGrad = requiresGrad
        self.node = node
    }
}

/// One recorded operation: its inputs that need gradients and how the output's gradient becomes theirs.
final class Node: @unchecked Sendable {
    let name: String
    /// The op's inputs, nil where an input needs no gradient.
    var inputs: [Tensor?]
    /// Output gradient → one gradient per input (nil where none is needed); released after `backward`.
    var backward: ((Tensor) -> [Tensor?])?

    init(name: String, inputs: [Tensor?], backward: @escaping (Tensor) -> [Tensor?]) {
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }
}

/// Whether operations record what `backward` needs (off inside `Tensor.withoutGradient`).
enum GradientMode {
    @TaskLocal static var isEnabled = true
}

extension Tensor {
    /// Whether gradients flow to this tensor.
    public var requiresGrad: Bool { autograd?.requiresGrad ?? false }

    /// The accumulated gradient (leaves only), after `backward`.
    public var grad: Tensor? { autograd?.grad }

    /// What names this tensor's gradient across its copies (nil when it takes no part in differentiation): the
    /// identity `backward`'s `gradientReady` reports a leaf by.
    public var gradientIdentity: ObjectIdentifier? { autograd.map(ObjectIdentifier.init) }

    /// Whether this tensor was made by a recorded operation (not a leaf).
    public var hasGradientFunction: Bool { autograd?.node != nil }

    /// The same elements as a leaf that gradients flow to (PyTorch's `requires_grad_()`).
    public func requiringGrad(_ flag: Bool = true) -> Tensor {
        Tensor(storage: storage, layout: layout, dtype: dtype, autograd: flag ? AutogradInfo(requiresGrad: true) : nil)
    }

    /// The same elements, cut off from the graph.
    public func detached() -> Tensor { Tensor(storage: storage, layout: layout, dtype: dtype) }

    /// Forgets the accumulated gradient.
    public func zeroGrad() { autograd?.grad = nil }

    /// Sets the accumulated gradient (optimizer tests, gradient clipping).
    public func setGrad(_ gradient: Tensor?) {
        precondition(autograd != nil, "setGrad on a tensor that does not require grad")
        autograd?.grad = gradient
    }

    /// Runs `body` without recording operations: inference, optimizer updates.
    public static func withoutGradient<R>(_ body: () throws -> R) rethrows -> R {
        try GradientMode.$isEnabled.withValue(false) { try body() }
    }

    /// Whether operations are being recorded here.
    public static var isGradientEnabled: Bool { GradientMode.isEnabled }

    /// Back-propagates from this tensor into `grad` of every leaf it depends on that requires grad.
    ///
    /// Gradients add to what `grad` holds. Without `seed` the tensor must hold one element (a loss) and the seed is 1.
    /// The graph is released afterwards unless `retainGraph`.
    ///
    /// `gradientReady` is called, on this thread, as soon as a leaf's gradient is complete — nothing later in this
    /// pass adds to it — with the leaf's `gradientIdentity` and its accumulated `grad`: data-parallel training
    /// starts summing the early gradients over processes while the rest of the pass runs.
    public func backward(
        _ seed: Tensor? = nil, retainGraph: Bool = false,
        gradientReady: ((_ leaf: ObjectIdentifier, _ gradient: Tensor) -> Void)? = nil
    ) {
        guard let root = autograd, root.requiresGrad else {
            preconditionFailure("backward() on a tensor that does not require grad")
        }
        let seed =
            seed
            ?? {
                precondition(count == 1, "backward() without a seed needs a one-element tensor, not \(shape)")
                return Tensor.ones(shape, dtype: dtype)
            }()
        precondition(seed.shape == shape, "seed shape \(seed.shape) differs from \(shape)")
        // Every tensor of the graph, and how many edges lead into each: a tensor's gradient is complete once that
        // many consumers have run. The walk runs a node as soon as it is complete, newest first (a stack): a weight's
        // transpose or reshape right after the product that read it, so a parameter's gradient is complete — and
        // `gradientReady` hears of it — as early as it can be, not after the rest of the graph.
        var consumers: [ObjectIdentifier: Int] = [:]
        var visited: Set<ObjectIdentifier> = [ObjectIdentifier(root)]
        var unvisited = [root]
        while let info = unvisited.popLast() {
            for case let input? in info.node?.inputs ?? [] {
                guard let next = input.autograd else { continue }
                consumers[ObjectIdentifier(next), default: 0] += 1
                if visited.insert(ObjectIdentifier(next)).inserted { unvisited.append(next) }
            }
        }
        var pending: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): seed]
        func finish(_ info: AutogradInfo, _ gradient: Tensor) {
            let update = gradient.contiguous().detached()
            // A gradient that fills a buffer of its own (what an op's backward made) is kept as it is; one that
            // shares bytes (the caller's seed, a view into a larger buffer) is copied. Nothing writes to a gradient
            // in place, so two leaves may share one.
            let whole =
                update.storage !== seed.storage && update.storage.isWritable && update.layout.offset == 0
                && update.count * update.dtype.size == update.storage.byteCount
            let accumulated = info.grad.map { $0 + update } ?? (whole ? update : update.copied())
            info.grad = accumulated
            gradientReady?(ObjectIdentifier(info), accumulated)
        }
        Tensor.withoutGradient {
            var ready = [root]
            while let info = ready.popLast() {
                // A node no gradient reached still releases its inputs' counts.
                let gradient = pending.removeValue(forKey: ObjectIdentifier(info))
                guard let node = info.node else {
                    if let gradient { finish(info, gradient) }  // the root itself a leaf
                    continue
                }
                var gradients: [Tensor?] = Array(repeating: nil, count: node.inputs.count)
                if let gradient {
                    guard let backward = node.backward else {
                        preconditionFailure("backward through \(node.name) a second time: pass retainGraph: true")
                    }
                    gradients = backward(gradient)
                    precondition(
                        gradients.count == node.inputs.count, "\(node.name) returned the wrong number of grads")
                }
                for (input, inputGradient) in zip(node.inputs, gradients) {
                    guard let input, let next = input.autograd else { continue }
                    let key = ObjectIdentifier(next)
                    if let inputGradient {
                        precondition(
                            inputGradient.shape == input.shape,
                            "\(node.name) gave a gradient of shape \(inputGradient.shape) for an input of \(input.shape)"
                        )
                        pending[key] = pending[key].map { $0 + inputGradient } ?? inputGradient
                    }
                    consumers[key, default: 1] -= 1
                    guard consumers[key] == 0 else { continue }
                    if next.node == nil {
                        if let complete = pending.removeValue(forKey: key) { finish(next, complete) }
                    } else {
                        ready.append(next)
                    }
                }
                if !retainGraph, gradient != nil {
                    node.backward = nil
                    node.inputs = []
                }
            }
        }
    }

    /// `result`, recording `backward` when gradients are on and some input requires one.
    static func record(
        _ name: String, _ result: Tensor, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]
    ) -> Tensor {
        guard GradientMode.isEnabled, inputs.contains(where: \.requiresGrad) else { return result }
        let node = Node(name: name, inputs: inputs.map { $0.requiresGrad ? $0 : nil }, backward: backward)
        return Tensor(
            storage: result.storage, layout: result.layout, dtype: result.dtype,
            autograd: AutogradInfo(requiresGrad: true, node: node))
    }
}

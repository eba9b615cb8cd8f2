#if canImport(Glibc)
    import Glibc
#endif

/// Learning-rate schedules as transformers and PyTorch define them; `factor(step)` multiplies the base rate.
///
/// ```swift
/// let schedule = LearningRateSchedule.linear(warmup: 100, total: 1000)
/// optimizer.learningRate = 5e-5 * schedule.factor(step)
/// ```
public enum LearningRateSchedule: Sendable, Equatable {
    /// `get_linear_schedule_with_warmup`: 0 → 1 over `warmup` steps, then linearly to 0 at `total`.
    case linear(warmup: Int, total: Int)
    /// `get_cosine_schedule_with_warmup`: warmup, then half a cosine wave (by default) down to 0 at `total`.
    case cosine(warmup: Int, total: Int, cycles: Double = 0.5)
    case constant

    /// The multiplier of the base learning rate at `step` (0-based, as the schedulers' `last_epoch`).
    public func factor(_ step: Int) -> Double {
        switch self {
        case .constant:
            return 1
        case .linear(let warmup, let total):
            if step < warmup { return Double(step) / Double(Swift.max(1, warmup)) }
            return Swift.max(0, Double(total - step) / Double(Swift.max(1, total - warmup)))
        case .cosine(let warmup, let total, let cycles):
            if step < warmup { return Double(step) / Double(Swift.max(1, warmup)) }
            let progress = Double(step - warmup) / Double(Swift.max(1, total - warmup))
            return Swift.max(0, 0.5 * (1 + cos(Double.pi * cycles * 2 * progress)))
        }
    }
}

/// PyTorch's `ReduceLROnPlateau` in `min` mode with a relative threshold: the rate is multiplied by `factor`
/// when the metric has not improved for more than `patience` evaluations.
///
/// ```swift
/// let plateau = ReduceLearningRateOnPlateau(factor: 0.5, patience: 2)
/// plateau.step(validationLoss, optimizer: optimizer)      // lowers the rate after 2 evaluations without progress
/// ```
public final class ReduceLearningRateOnPlateau {
    public let factor: Double
    public let patience: Int
    public let threshold: Double
    public let cooldown: Int
    public let minimum: Double
    /// The best metric so far, evaluations without improvement, and cooldown evaluations left (checkpointed).
    public var best = Double.infinity
    public var badEpochs = 0
    public var cooldownLeft = 0

    public init(
        factor: Double = 0.1, patience: Int = 10, threshold: Double = 1e-4, cooldown: Int = 0, minimum: Double = 0
    ) {
        precondition(factor < 1, "ReduceLROnPlateau factor must be < 1")
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.cooldown = cooldown
        self.minimum = minimum
    }

    /// Records a metric (lower is better) and lowers the optimizer's rate when it has stalled.
    public func step(_ metric: Double, optimizer: Optimizer) {
        if metric < best * (1 - threshold) {
            best = metric
            badEpochs = 0
        } else {
            badEpochs += 1
        }
        if cooldownLeft > 0 {
            cooldownLeft -= 1
            badEpochs = 0
        }
        if badEpochs > patience {
            let lowered = Swift.max(optimizer.learningRate * factor, minimum)
            // PyTorch skips changes smaller than eps = 1e-8.
            if optimizer.learningRate - lowered > 1e-8 { optimizer.learningRate = lowered }
            cooldownLeft = cooldown
            badEpochs = 0
        }
    }
}

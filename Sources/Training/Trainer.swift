import Collectives
import Models
import NN
import Support
import Tensors

#if canImport(Glibc)
    import Glibc
#endif

/// How a `Trainer` trains: transformers' `TrainingArguments` that ModelHub implements, with its defaults.
///
/// ```swift
/// var arguments = TrainingArguments()
/// arguments.epochs = 3
/// arguments.learningRate = 1e-4
/// arguments.outputDirectory = "out"     // checkpoints, best/, metrics.jsonl, the model
/// ```
public struct TrainingArguments: Sendable {
    /// The learning-rate schedule after warmup.
    public enum Schedule: Sendable, Equatable {
        case linear, cosine, constant
        /// ReduceLROnPlateau on the validation loss, as the LSTM seed does.
        case plateau(factor: Double, patience: Int)
    }

    public var epochs = 3
    /// Stop after this many optimizer steps (overrides `epochs`).
    public var maxSteps: Int?
    public var batchSize = 16
    public var evaluationBatchSize = 32
    public var learningRate = 5e-5
    /// AdamW's decoupled weight decay; biases and LayerNorm weights get none.
    public var weightDecay = 0.01
    /// Warmup steps as a share of all optimizer steps.
    public var warmupRatio = 0.0
    public var schedule = Schedule.linear
    /// Clip the global gradient norm to this (nil: no clipping).
    public var maxGradientNorm: Double? = 1.0
    /// Batches whose gradients add up before each optimizer step.
    public var gradientAccumulation = 1
    /// Evaluate every this many optimizer steps; nil: after each epoch.
    public var evaluateEvery: Int?
    /// Stop when the validation loss has not improved for this many evaluations.
    public var earlyStoppingPatience: Int?
    public var seed: UInt64 = 42
    /// Where the final model, `metrics.jsonl`, the best model (`best/`) and the last checkpoint go.
    ///
    /// While training they are written under `DIR.partial`, renamed to DIR when training ends: DIR is complete or
    /// absent, and a stopped run's checkpoints are in `DIR.partial/checkpoint-STEP` (resume from one of them). DIR
    /// must not exist already, or be empty.
    public var outputDirectory: String?
    /// Write a checkpoint at each evaluation (and keep only the last and the best).
    public var saveCheckpoints = true
    /// Batch examples of similar length together.
    public var bucketByLength = true
    /// A progress line on stderr (when it is a terminal).
    public var progress = true
    /// Data-parallel runs: gradients are summed over the ranks in buckets of about this many MB (PyTorch DDP's
    /// `bucket_cap_mb`); smaller buckets start summing sooner, larger ones make fewer calls.
    public var bucketMegabytes = 25.0
    /// Data-parallel runs: when gradients are summed over the ranks.
    public enum Overlap: String, Sendable, CaseIterable {
        /// While backward runs where the host has a core the ranks' engine threads leave free, else after it.
        case automatic = "auto"
        /// While backward runs (a communication thread), always.
        case always = "on"
        /// After backward.
        case never = "off"
    }
    /// Data-parallel runs: when gradients are summed over the ranks.
    public var overlap = Overlap.automatic
    /// Data-parallel runs: compare a checksum of every rank's parameters after every optimizer step and stop if
    /// any differ (a check for debugging; it reads every parameter once per step).
    public var verifyRanks = false

    public init() {}
}

/// The metrics of one evaluation.
///
/// ```swift
/// let metrics = try trainer.evaluate(validation)
/// print(metrics.loss, metrics.accuracy ?? 0, metrics.macroF1 ?? 0)
/// ```
public struct EvaluationMetrics: Sendable, Equatable {
    public var loss: Double
    /// Classification: the share of correct labels (tokens for token classification).
    public var accuracy: Double?
    /// Classification: the unweighted mean over labels of F1.
    public var macroF1: Double?
    /// Language modelling: exp(loss).
    public var perplexity: Double?
}

/// What a finished training run reports.
///
/// ```swift
/// let summary = try trainer.fit()
/// print(summary)
/// ```
public struct TrainingSummary: Sendable {
    public var steps: Int
    public var epochs: Double
    /// The mean training loss of the first and the last logged windows.
    public var firstLoss: Double
    public var lastLoss: Double
    /// Each evaluation, with the step it was made at.
    public var evaluations: [(step: Int, metrics: EvaluationMetrics)]
    public var stoppedEarly: Bool
    public var examplesPerSecond: Double
    /// Several ranks: what summing the gradients cost per step (nil alone).
    public var exchange: ExchangeFigures?
}

/// Trains a `PretrainedModel` on `TaskData`: AdamW (no decay on biases and LayerNorm weights), warmup and a
/// schedule or ReduceLROnPlateau, clipping, accumulation, evaluation, early stopping, and checkpoints holding the
/// model, optimizer, schedule, random state and step, from which a run resumes exactly.
///
/// ```swift
/// let trainer = Trainer(model: model, arguments: arguments, train: trainData, validation: validationData)
/// trainer.onEvaluation = { step, epoch, metrics in print(epoch, metrics.accuracy ?? 0) }
/// try trainer.fit()                               // or fit(resumingFrom: "out/checkpoint-40")
/// ```
public final class Trainer {
    public let model: PretrainedModel
    public let arguments: TrainingArguments
    public let train: TaskData
    public let validation: TaskData?
    /// Called after each evaluation and its checkpoint (the CLI prints the metrics); an error it throws ends `fit`
    /// there, the checkpoint kept.
    public var onEvaluation: ((_ step: Int, _ epoch: Double, _ metrics: EvaluationMetrics) throws -> Void)?

    /// The job's processes: one alone, or MPI ranks training together (`DataParallel`).
    public let communicator: any Communicator
    let optimizer: Adam
    /// The trainable parameters in the model's order — the order backward completes them in, reversed, which the
    /// data-parallel buckets follow (the optimizer's groups would interleave the layers).
    let parameters: [Parameter]
    let plateau: ReduceLearningRateOnPlateau?
    /// Set when the job has more than one rank.
    let parallel: DataParallel?
    /// Whether this process writes logs, checkpoints, the output folder and progress (rank 0 does).
    var writes: Bool { communicator.rank == 0 }
    // Internal, not private: Checkpoints.swift saves and restores them.
    var step = 0
    var epoch = 0
    var batchInEpoch = 0
    var bestLoss = Double.infinity
    var badEvaluations = 0
    var log: [JSONValue] = []

    /// A trainer of `model`; with a `communicator` of several ranks (`World.communicator()` under mpirun), each
    /// rank trains on its share of every global batch of `arguments.batchSize` and the gradients are summed.
    public init(
        model: PretrainedModel, arguments: TrainingArguments, train: TaskData, validation: TaskData? = nil,
        communicator: any Communicator = SingleProcess()
    ) {
        self.model = model
        self.communicator = communicator
        self.arguments = arguments
        self.train = train
        self.validation = validation
        var decay: [Parameter] = [], noDecay: [Parameter] = []
        parameters = model.namedParameters().map(\.parameter)
        for (name, parameter) in model.namedParameters() {
            if Trainer.skipsWeightDecay(name) { noDecay.append(parameter) } else { decay.append(parameter) }
        }
        optimizer = Adam.adamW(
            [ParameterGroup(decay, weightDecay: arguments.weightDecay), ParameterGroup(noDecay, weightDecay: 0)],
            learningRate: arguments.learningRate)
        if case .plateau(let factor, let patience) = arguments.schedule {
            plateau = ReduceLearningRateOnPlateau(factor: factor, patience: patience)
        } else {
            plateau = nil
        }
        parallel =
            communicator.size > 1
            ? DataParallel(
                communicator: communicator, parameters: parameters,
                vocabularySize: model.config.vocabularySize, bucketBytes: Int(arguments.bucketMegabytes * 1_048_576),
                overlap: arguments.overlap, verifiesEveryStep: arguments.verifyRanks)
            : nil
    }

    /// transformers' rule: biases and LayerNorm weights are not decayed.
    static func skipsWeightDecay(_ name: String) -> Bool {
        name.hasSuffix("bias") || name.contains("LayerNorm.") || name.contains("layer_norm.")
            || name.contains(".ln_") || name.hasPrefix("ln_") || name.contains("ln_f.")
    }

    var batchesPerEpoch: Int { (train.count + arguments.batchSize - 1) / arguments.batchSize }
    var stepsPerEpoch: Int {
        Swift.max(1, (batchesPerEpoch + arguments.gradientAccumulation - 1) / arguments.gradientAccumulation)
    }
    var totalSteps: Int { arguments.maxSteps ?? arguments.epochs * stepsPerEpoch }

    /// The learning rate at optimizer step `step` (0-based).
    func learningRate(at step: Int) -> Double {
        let warmup = Int((Double(totalSteps) * arguments.warmupRatio).rounded(.up))
        let factor: Double
        switch arguments.schedule {
        case .linear: factor = LearningRateSchedule.linear(warmup: warmup, total: totalSteps).factor(step)
        case .cosine: factor = LearningRateSchedule.cosine(warmup: warmup, total: totalSteps).factor(step)
        case .constant, .plateau: factor = step < warmup ? Double(step) / Double(Swift.max(1, warmup)) : 1
        }
        return arguments.learningRate * factor
    }

    /// Trains until the epochs or steps are done or early stopping; resumes from `checkpoint` (a
    /// `checkpoint-STEP` folder of an earlier run with the same data and arguments) when given.
    @discardableResult
    public func fit(resumingFrom checkpoint: String? = nil) throws -> TrainingSummary {
        guard train.count > 0 else { throw ModelError.input("no training examples") }
        if let validation, validation.count == 0 { throw ModelError.input("no validation examples") }
        if writes, let folder = arguments.outputDirectory { try prepareWorkFolder(folder, resuming: checkpoint) }
        if let checkpoint { try restore(checkpoint) }
        try parallel?.synchronizeParameters()
        let firstStep = step
        let started = monotonicSeconds()
        var examples = 0
        var windowLoss = 0.0, windowCount = 0
        var firstLoss: Double?
        var lastLoss = Double.nan
        var evaluations: [(Int, EvaluationMetrics)] = []
        var stoppedEarly = false
        model.train()
        training: while step < totalSteps {
            let batches = train.batches(
                size: arguments.batchSize, epoch: epoch, seed: arguments.seed, shuffle: true,
                bucketing: arguments.bucketByLength)
            while batchInEpoch < batches.count {
                let groupEnd = Swift.min(batchInEpoch + arguments.gradientAccumulation, batches.count)
                let group = batches[batchInEpoch..<groupEnd]
                let maskSeed = arguments.seed &+ UInt64(step) &* 7919
                let total = Double(Swift.max(group.reduce(0) { $0 + train.weight($1, maskSeed: maskSeed) }, 1))
                var stepLoss = 0.0
                parallel?.beginExchange()
                for (index, batch) in zip(group.indices, group) {
                    examples += batch.count
                    // Each rank its shard of the global batch (all of it alone).
                    let part = parallel?.shard(batch) ?? batch
                    // Nothing to learn from (no examples, or no token masked): no gradient, as a zero weight says.
                    let weight = train.weight(part, maskSeed: maskSeed)
                    guard weight > 0 else { continue }
                    let inputs = train.inputs(part, maskSeed: maskSeed)
                    guard let loss = try model(inputs).loss else {
                        throw ModelError.input("the model returned no loss")
                    }
                    // Batches weighted by what their loss averages over, so accumulation (and the ranks' shards)
                    // add up to one large batch. The step's last batch: its gradients are summed over the ranks as
                    // backward completes them.
                    let summing = index == group.indices.last ? parallel : nil
                    (loss * (Double(weight) / total)).backward(gradientReady: summing?.gradientReady)
                    stepLoss += loss.item * Double(weight) / total
                }
                if let parallel {
                    try parallel.finishExchange()
                    stepLoss = try parallel.sum(stepLoss)
                }
                // Clipping's factor goes into the update: the gradients are not rewritten.
                var gradientScale = 1.0
                if let maxNorm = arguments.maxGradientNorm {
                    let norm = parallel?.gradientNorm() ?? gradientNorm(parameters)
                    gradientScale = clippingFactor(norm: norm, maxNorm: maxNorm)
                }
                // ReduceLROnPlateau owns the rate after the first step; the schedules set it every step.
                if plateau == nil {
                    optimizer.learningRate = learningRate(at: step)
                } else if step == 0 {
                    optimizer.learningRate = arguments.learningRate
                }
                optimizer.step(gradientScale: gradientScale)
                optimizer.zeroGrad()
                if let parallel, parallel.verifiesEveryStep { try parallel.verifyIdentical("after step \(step + 1)") }
                step += 1
                batchInEpoch = groupEnd
                firstLoss = firstLoss ?? stepLoss
                windowLoss += stepLoss
                windowCount += 1
                lastLoss = stepLoss
                if step % 10 == 0 || step == totalSteps {
                    let elapsed = monotonicSeconds() - started
                    append([
                        ("step", .int(step)), ("epoch", number(currentEpoch)),
                        ("loss", number(windowLoss / Double(windowCount))),
                        ("learning_rate", number(optimizer.learningRate)),
                        ("examples_per_s", number(Double(examples) / elapsed)),
                    ])
                    windowLoss = 0
                    windowCount = 0
                }
                showProgress(loss: stepLoss, examples: examples, started: started)
                if let every = arguments.evaluateEvery, step % every == 0 {
                    if let metrics = try evaluateAndCheckpoint() {
                        evaluations.append((step, metrics))
                        if shouldStop(metrics) {
                            stoppedEarly = true
                            break training
                        }
                    }
                }
                if step >= totalSteps { break }  // the epoch ends here: evaluated below
            }
            epoch += 1
            batchInEpoch = 0
            if arguments.evaluateEvery == nil, let metrics = try evaluateAndCheckpoint() {
                evaluations.append((step, metrics))
                if shouldStop(metrics) {
                    stoppedEarly = true
                    break
                }
            }
        }
        clearProgress()
        model.eval()
        if writes, let folder = arguments.outputDirectory {
            try model.savePretrained(workFolder(folder))
            try writeLog(workFolder(folder))
            // An empty DIR (made by the user) gives way; a full one was refused at the start.
            rmdir(folder)
            guard rename(workFolder(folder), folder) == 0 else {
                throw ModelError.input("\(folder): cannot rename \(workFolder(folder)) into place: \(errnoText())")
            }
        }
        let elapsed = monotonicSeconds() - started
        return TrainingSummary(
            steps: step, epochs: currentEpoch, firstLoss: firstLoss ?? .nan, lastLoss: lastLoss,
            evaluations: evaluations, stoppedEarly: stoppedEarly, examplesPerSecond: Double(examples) / elapsed,
            exchange: parallel?.figures(steps: step - firstStep))
    }

    private var currentEpoch: Double { Double(epoch) + Double(batchInEpoch) / Double(Swift.max(batchesPerEpoch, 1)) }

    private func shouldStop(_ metrics: EvaluationMetrics) -> Bool {
        guard let patience = arguments.earlyStoppingPatience else { return false }
        return badEvaluations >= patience && metrics.loss >= bestLoss
    }

    /// Evaluates on the validation data (when any), steps ReduceLROnPlateau, keeps the best model, checkpoints.
    private func evaluateAndCheckpoint() throws -> EvaluationMetrics? {
        guard let validation else {
            if writes, arguments.saveCheckpoints { try checkpoint() }
            return nil
        }
        let metrics = try evaluate(validation)
        plateau?.step(metrics.loss, optimizer: optimizer)
        var entry: [(String, JSONValue)] = [
            ("step", .int(step)), ("epoch", number(currentEpoch)), ("eval_loss", number(metrics.loss)),
        ]
        if let accuracy = metrics.accuracy { entry.append(("eval_accuracy", number(accuracy))) }
        if let f1 = metrics.macroF1 { entry.append(("eval_macro_f1", number(f1))) }
        if let perplexity = metrics.perplexity { entry.append(("eval_perplexity", number(perplexity))) }
        append(entry)
        let improved = metrics.loss < bestLoss
        if improved {
            bestLoss = metrics.loss
            badEvaluations = 0
            if writes, let folder = arguments.outputDirectory { try model.savePretrained(workFolder(folder) + "/best") }
        } else {
            badEvaluations += 1
        }
        if writes, arguments.saveCheckpoints { try checkpoint() }
        clearProgress()
        if writes { try onEvaluation?(step, currentEpoch, metrics) }
        model.train()
        return metrics
    }

    /// Loss and the task's metrics over `data`, in evaluation mode, without gradients.
    ///
    /// With several ranks each evaluates every size-th batch and the sums are reduced, so every rank gets the
    /// metrics one process computes over all of `data` (the loss up to the order of a sum).
    public func evaluate(_ data: TaskData) throws -> EvaluationMetrics {
        let wasTraining = model.training
        model.eval()
        defer { model.train(wasTraining) }
        var lossSum = 0.0, weightSum = 0
        var predicted: [Int] = [], actual: [Int] = []
        let batches = data.batches(
            size: arguments.evaluationBatchSize, epoch: 0, seed: 0, shuffle: false, bucketing: false)
        for (index, batch) in batches.enumerated() where index % communicator.size == communicator.rank {
            let maskSeed = arguments.seed &+ UInt64(index)
            let weight = data.weight(batch, maskSeed: maskSeed)
            guard weight > 0 else { continue }
            let inputs = data.inputs(batch, maskSeed: maskSeed)
            let output = try Tensor.withoutGradient { try model(inputs) }
            guard let loss = output.loss, let logits = output.logits else {
                throw ModelError.input("no loss or logits")
            }
            lossSum += loss.item * Double(weight)
            weightSum += weight
            if data.task == .sequenceClassification || data.task == .tokenClassification, let labels = inputs.labels {
                let best = logits.argmax(axis: -1).integers
                for (guess, truth) in zip(best, labels.integers) where truth != -100 {
                    predicted.append(guess)
                    actual.append(truth)
                }
            }
        }
        if let parallel {
            (lossSum, weightSum, predicted, actual) = try parallel.reduce(
                lossSum: lossSum, weightSum: weightSum, predicted: predicted, actual: actual,
                labels: model.config.labelCount,
                classifies: data.task == .sequenceClassification
                    || data.task == .tokenClassification)
        }
        let loss = lossSum / Double(Swift.max(weightSum, 1))
        var metrics = EvaluationMetrics(loss: loss)
        if !actual.isEmpty {
            metrics.accuracy = Double(zip(predicted, actual).filter { $0 == $1 }.count) / Double(actual.count)
            metrics.macroF1 = Trainer.macroF1(predicted: predicted, actual: actual, labels: model.config.labelCount)
        }
        if data.task == .causalLM || data.task == .maskedLM { metrics.perplexity = Glibc.exp(loss) }
        return metrics
    }

    /// The unweighted mean of per-label F1 over the labels that occur (scikit-learn's `f1_score(average="macro")`
    /// over the labels present in either list).
    static func macroF1(predicted: [Int], actual: [Int], labels: Int) -> Double {
        let present = Set(predicted).union(actual)
        let scores = present.map { label -> Double in
            let truePositives = zip(predicted, actual).filter { $0 == label && $1 == label }.count
            let predictedCount = predicted.filter { $0 == label }.count
            let actualCount = actual.filter { $0 == label }.count
            guard predictedCount + actualCount > 0 else { return 0 }
            return 2 * Double(truePositives) / Double(predictedCount + actualCount)
        }
        return scores.reduce(0, +) / Double(Swift.max(scores.count, 1))
    }

    // MARK: Logging

    private func append(_ entry: [(String, JSONValue)]) { log.append(.object(JSONObject(entry))) }

    private func writeLog(_ folder: String) throws {
        let lines = log.map { $0.serialized() }.joined(separator: "\n") + "\n"
        try writeFileAtomically(folder + "/metrics.jsonl", Array(lines.utf8))
    }

    private func showProgress(loss: Double, examples: Int, started: Double) {
        guard writes, arguments.progress, isatty(2) != 0 else { return }
        let elapsed = monotonicSeconds() - started
        let left = Double(totalSteps - step) * elapsed / Double(Swift.max(step, 1))
        let line =
            "\rstep \(step)/\(totalSteps)  loss \(format(loss))  lr \(String(optimizer.learningRate))  "
            + "\(Int(Double(examples) / Swift.max(elapsed, 1e-9))) examples/s  ETA \(Int(left)) s\u{1B}[K"
        writeStandardError(line)
    }

    private func clearProgress() {
        if writes, arguments.progress, isatty(2) != 0 { writeStandardError("\r\u{1B}[K") }
    }
}

func number(_ value: Double) -> JSONValue { value.isFinite ? .number(String(value)) : .null }

private func format(_ value: Double) -> String {
    let scaled = (value * 10000).rounded() / 10000
    return String(scaled)
}

func monotonicSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

import Foundation
import Models
import Synchronization
import Tensors
import Tokenizers

/// What one embedding or classification request asks of a worker: its inputs, already tokenized.
final class EncodeJob: @unchecked Sendable {
    enum Kind: Equatable {
        /// Mean-pooled last hidden states (normalised later, per request).
        case embed
        /// A sequence-classification head's logits.
        case classify
    }

    let kind: Kind
    let encodings: [Encoding]
    let enqueued = ContinuousClock.now
    /// Set by the request's task when its client went away: the worker skips what it has not run yet.
    let cancelled = Atomic<Bool>(false)
    // Written by the worker thread only.
    var results: [[Float]?]
    var remaining: Int
    var continuation: CheckedContinuation<[[Float]], any Error>?

    init(kind: Kind, encodings: [Encoding]) {
        self.kind = kind
        self.encodings = encodings
        results = [[Float]?](repeating: nil, count: encodings.count)
        remaining = encodings.count
    }
}

/// One sequence a completion request asks for (a prompt × `n`): its settings, and where its text goes.
final class GenerationJob: @unchecked Sendable {
    enum Event: Sendable {
        /// New text, safe to show (no partial character, no possible start of a stop sequence).
        case text(String)
        /// The sequence ended: `stop` (EOS or a stop sequence) or `length`, with the tokens it generated.
        case finished(reason: String, tokens: Int)
        case failed(String)
    }

    /// The choice's index in the response.
    let index: Int
    let prompt: [Int]
    let maxTokens: Int
    let picker: TokenPicker
    let seed: UInt64
    let stops: [String]
    /// Shared by a request's choices; the request ends it once every choice has finished or failed.
    let events: AsyncStream<(Int, Event)>.Continuation
    let cancelled = Atomic<Bool>(false)

    init(
        index: Int, prompt: [Int], maxTokens: Int, picker: TokenPicker, seed: UInt64, stops: [String],
        events: AsyncStream<(Int, Event)>.Continuation
    ) {
        self.index = index
        self.prompt = prompt
        self.maxTokens = maxTokens
        self.picker = picker
        self.seed = seed
        self.stops = stops
        self.events = events
    }

    func send(_ event: Event) { events.yield((index, event)) }
}

/// Requests whose bodies are read and whose work is not queued yet (being parsed and tokenized), server-wide: while
/// there are some, a worker with a part-full batch waits up to `maxBatchWait` for them.
final class Arrivals: Sendable {
    let count = Atomic<Int>(0)

    /// One request on its way; `close()` it when its work is queued or it fails.
    func open() -> Arrival { Arrival(self) }
}

/// One request counted in `Arrivals` until closed (idempotent).
final class Arrival: Sendable {
    private let arrivals: Arrivals
    private let open = Atomic<Bool>(true)

    init(_ arrivals: Arrivals) {
        self.arrivals = arrivals
        arrivals.count.add(1, ordering: .relaxed)
    }

    func close() {
        if open.exchange(false, ordering: .relaxed) { arrivals.count.subtract(1, ordering: .relaxed) }
    }

    deinit { close() }
}

/// Raised to a request whose work the worker refused.
struct WorkerRefusal: Error, CustomStringConvertible {
    let description: String
}

/// The one thread that runs a served model's forward passes, off the event loop.
///
/// Embedding and classification inputs from concurrent requests are gathered into batches of at most
/// `maxBatchTokens` padded tokens, inputs of similar lengths together; completions decode in one running batch
/// that a new sequence joins between two steps and a finished one leaves (continuous batching), each sequence
/// with its own rows of the key/value cache. The worker alternates: a batch of inputs, then a decoding step.
final class ModelWorker: @unchecked Sendable {
    struct Limits {
        var maxBatchTokens: Int
        var maxBatchWait: Duration
        var maxRunningSequences: Int
    }

    private struct Item {
        let job: EncodeJob
        let index: Int
        var length: Int { job.encodings[index].count }
    }

    /// A sequence in the running decode batch.
    private final class Sequence {
        let job: GenerationJob
        var history: [Int]
        var generated: [Int32] = []
        var shown = ""
        var generator: RandomGenerator
        init(job: GenerationJob, seed: UInt64) {
            self.job = job
            history = job.prompt
            generator = RandomGenerator(seed: seed)
        }
    }

    let model: PretrainedModel
    private let limits: Limits
    private let metrics: ServerMetrics
    private let arrivals: Arrivals
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var pending: [Item] = []
    private var waitingGenerations: [GenerationJob] = []
    private var stopping = false
    private var running = 0
    // The worker thread's own.
    private var sequences: [Sequence] = []
    private var cache: KeyValueCache?
    private var masks: [[Int32]] = []
    private var positions: [Int] = []
    private var thread: Thread?
    private let finished = NSCondition()
    private var exited = false

    init(model: PretrainedModel, limits: Limits, metrics: ServerMetrics, arrivals: Arrivals) {
        self.model = model
        self.limits = limits
        self.metrics = metrics
        self.arrivals = arrivals
    }

    func start() {
        let thread = Thread { [self] in
            loop()
            finished.lock()
            exited = true
            finished.broadcast()
            finished.unlock()
        }
        thread.name = "hub-serve-worker"
        thread.stackSize = 8 << 20
        self.thread = thread
        thread.start()
    }

    /// Finishes the queued and running work, then ends the thread.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        guard thread != nil else { return }
        finished.lock()
        while !exited { finished.wait() }
        finished.unlock()
    }

    /// Inputs waiting, prompts waiting and sequences running.
    var depth: (queued: Int, running: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (pending.count + waitingGenerations.count, running)
    }

    /// Runs `encodings` (one request's inputs) in the coming batches; the rows come back in order.
    func encode(
        _ kind: EncodeJob.Kind, _ encodings: [Encoding], arrival: Arrival? = nil
    ) async throws
        -> [[Float]]
    {
        let job = EncodeJob(kind: kind, encodings: encodings)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                condition.lock()
                arrival?.close()
                if stopping {
                    condition.unlock()
                    continuation.resume(throwing: WorkerRefusal(description: "the server is shutting down"))
                    return
                }
                job.continuation = continuation
                if encodings.isEmpty {
                    condition.unlock()
                    job.continuation = nil
                    continuation.resume(returning: [])
                    return
                }
                pending.append(contentsOf: encodings.indices.map { Item(job: job, index: $0) })
                condition.broadcast()
                condition.unlock()
            }
        } onCancel: {
            job.cancelled.store(true, ordering: .relaxed)
        }
    }

    /// Queues a sequence to generate; its events arrive on `job.events`.
    func generate(_ job: GenerationJob) {
        condition.lock()
        if stopping {
            condition.unlock()
            job.send(.failed("the server is shutting down"))
            return
        }
        waitingGenerations.append(job)
        condition.broadcast()
        condition.unlock()
    }

    // MARK: - The worker thread

    private func loop() {
        while true {
            condition.lock()
            while !stopping && pending.isEmpty && waitingGenerations.isEmpty && sequences.isEmpty {
                condition.wait()
            }
            if stopping && pending.isEmpty && waitingGenerations.isEmpty && sequences.isEmpty {
                condition.unlock()
                return
            }
            // More requests are on their way and the batch is not full: give them until the oldest input has
            // waited `maxBatchWait` (never while sequences are decoding: they would stall).
            if let oldest = pending.first, sequences.isEmpty, waitingGenerations.isEmpty,
                arrivals.count.load(ordering: .relaxed) > 0,
                paddedTokens(pending) < limits.maxBatchTokens, !stopping
            {
                let deadline = oldest.job.enqueued + limits.maxBatchWait
                let now = ContinuousClock.now
                if now < deadline {
                    let seconds = Double((deadline - now) / .nanoseconds(1)) / 1e9
                    _ = condition.wait(until: Date(timeIntervalSinceNow: seconds))
                    condition.unlock()
                    continue
                }
            }
            let batch = takeBatch()
            let admitted = Array(waitingGenerations.prefix(Swift.max(0, limits.maxRunningSequences - sequences.count)))
            waitingGenerations.removeFirst(admitted.count)
            running = sequences.count + admitted.count
            condition.unlock()

            if !batch.isEmpty { run(batch) }
            for job in admitted { admit(job) }
            if !sequences.isEmpty { step() }
            condition.lock()
            running = sequences.count
            condition.unlock()
        }
    }

    private func paddedTokens(_ items: [Item]) -> Int {
        (items.map(\.length).max() ?? 0) * items.count
    }

    /// The oldest input and those of the same kind nearest it in length, while the padded batch fits.
    ///
    /// At most `maxBatchTokens` padded tokens, but the oldest always goes, however long. Called with the lock held.
    private func takeBatch() -> [Item] {
        pending.removeAll { $0.job.cancelled.load(ordering: .relaxed) && drop($0) }
        guard let oldest = pending.first else { return [] }
        let candidates = pending.indices.filter { pending[$0].job.kind == oldest.job.kind }
            .sorted { pending[$0].length < pending[$1].length }
        guard var low = candidates.firstIndex(of: 0) else { return [] }
        var high = low
        var width = oldest.length
        growing: while true {
            let below = low > 0 ? pending[candidates[low - 1]].length : nil
            let above = high + 1 < candidates.count ? pending[candidates[high + 1]].length : nil
            // Prefer the neighbour closest in length; a shorter one never widens the batch.
            let takeBelow: Bool
            let newWidth: Int
            switch (below, above) {
            case (nil, nil): break growing
            case (.some, nil):
                (takeBelow, newWidth) = (true, width)
            case (nil, .some(let a)):
                (takeBelow, newWidth) = (false, Swift.max(width, a))
            case (.some(let b), .some(let a)):
                takeBelow = width - b <= a - width
                newWidth = takeBelow ? width : Swift.max(width, a)
            }
            if (high - low + 2) * newWidth > limits.maxBatchTokens { break }
            if takeBelow { low -= 1 } else { high += 1 }
            width = newWidth
        }
        let chosen = Set(candidates[low...high])
        let batch = chosen.sorted().map { pending[$0] }
        pending = pending.indices.filter { !chosen.contains($0) }.map { pending[$0] }
        return batch
    }

    /// Fails a cancelled job's remaining input (its continuation still needs an answer); true to drop it.
    private func drop(_ item: Item) -> Bool {
        item.job.remaining -= 1
        if item.job.remaining == 0, let continuation = item.job.continuation {
            item.job.continuation = nil
            continuation.resume(throwing: CancellationError())
        }
        return true
    }

    private func run(_ batch: [Item]) {
        let now = ContinuousClock.now
        let width = batch.map(\.length).max() ?? 0
        metrics.recordBatch(
            rows: batch.count, paddedTokens: width * batch.count,
            queueSeconds: batch.map { Double((now - $0.job.enqueued) / .nanoseconds(1)) / 1e9 })
        metrics.recordTokens(prompt: batch.reduce(0) { $0 + $1.length }, completion: 0)
        let rows: Result<[[Float]], any Error> = Result {
            let inputs = try model.batch(batch.map { $0.job.encodings[$0.index] })
            let output: Tensor
            switch batch[0].job.kind {
            case .embed:
                guard let encoder = model as? any SentenceEncoder else {
                    throw ModelError.input("\(model.className) does not make embeddings")
                }
                output = try encoder.sentenceEmbeddings(inputs, normalized: false)
            case .classify:
                output = try Tensor.withoutGradient { try model(inputs).requiredLogits() }
            }
            let values = output.contiguous().floats
            let columns = output.size(1)
            return (0..<batch.count).map { Array(values[$0 * columns..<($0 + 1) * columns]) }
        }
        for (row, item) in batch.enumerated() {
            let job = item.job
            guard let continuation = job.continuation else { continue }
            switch rows {
            case .success(let values):
                job.results[item.index] = values[row]
                job.remaining -= 1
                if job.remaining == 0 {
                    job.continuation = nil
                    continuation.resume(returning: job.results.map { $0 ?? [] })
                }
            case .failure(let error):
                job.continuation = nil
                continuation.resume(throwing: error)
            }
        }
    }

    // MARK: Continuous batching

    /// Reads a new sequence's prompt on its own (its own cache rows), picks its first token, and adds it to the
    /// running batch.
    private func admit(_ job: GenerationJob) {
        if job.cancelled.load(ordering: .relaxed) { return }
        let sequence = Sequence(job: job, seed: job.seed)
        let own = KeyValueCache(layers: model.config.layerCount)
        let length = job.prompt.count
        metrics.recordTokens(prompt: length, completion: 0)
        do {
            let inputs = ModelInputs(
                inputIDs: Tensor(job.prompt.map(Int32.init), shape: [1, length]),
                attentionMask: Tensor([Int32](repeating: 1, count: length), shape: [1, length]),
                positionIDs: Tensor((0..<length).map(Int32.init), shape: [1, length]), cache: own)
            let logits = try Tensor.withoutGradient { try model(inputs).requiredLogits() }
            let last = logits.sliced(1, length - 1..<length).contiguous().floats
            guard job.maxTokens > 0 else {
                job.send(.finished(reason: "length", tokens: 0))
                return
            }
            let token = choose(sequence, last)
            if emit(sequence, token) { return }
        } catch {
            job.send(.failed("\(error)"))
            return
        }
        // Join the batch: the narrower side's rows get masked zero positions on the left.
        let width = Swift.max(masks.first?.count ?? 0, length)
        masks = masks.map { [Int32](repeating: 0, count: width - $0.count) + $0 }
        masks.append([Int32](repeating: 0, count: width - length) + [Int32](repeating: 1, count: length))
        positions.append(length)
        if let cache {
            cache.append(own)
        } else {
            cache = own
        }
        sequences.append(sequence)
    }

    /// One decoding step of every running sequence: each reads its last token, against its own cached rows.
    private func step() {
        let alive = sequences.indices.filter { !sequences[$0].job.cancelled.load(ordering: .relaxed) }
        if alive.count != sequences.count {
            compact(keeping: alive)
        }
        guard let cache, !sequences.isEmpty else { return }
        let batch = sequences.count
        metrics.recordDecodeStep(rows: batch)
        for row in 0..<batch { masks[row].append(1) }
        let inputs = ModelInputs(
            inputIDs: Tensor(sequences.map { Int32($0.history[$0.history.count - 1]) }, shape: [batch, 1]),
            attentionMask: Tensor(masks.flatMap { $0 }, shape: [batch, masks[0].count]),
            positionIDs: Tensor(positions.map(Int32.init), shape: [batch, 1]), cache: cache)
        let logits: [Float]
        do {
            logits = try Tensor.withoutGradient { try model(inputs).requiredLogits() }.contiguous().floats
        } catch {
            for sequence in sequences {
                sequence.job.send(.failed("\(error)"))
            }
            reset()
            return
        }
        let vocabulary = model.config.vocabularySize
        var keep: [Int] = []
        for (row, sequence) in sequences.enumerated() {
            positions[row] += 1
            let token = choose(sequence, Array(logits[row * vocabulary..<(row + 1) * vocabulary]))
            if !emit(sequence, token) { keep.append(row) }
        }
        if keep.count != sequences.count { compact(keeping: keep) }
    }

    private func choose(_ sequence: Sequence, _ row: [Float]) -> Int {
        var scores = row
        return sequence.job.picker.pick(
            &scores, history: sequence.history, step: sequence.generated.count, generator: &sequence.generator)
    }

    /// Adds `token` to the sequence and sends what text is now safe to show; true when the sequence ended.
    private func emit(_ sequence: Sequence, _ token: Int) -> Bool {
        let job = sequence.job
        metrics.recordTokens(prompt: 0, completion: 1)
        if job.picker.eos.contains(token) {
            return finish(sequence, reason: "stop", text: nil, tokens: sequence.generated.count + 1)
        }
        sequence.history.append(token)
        sequence.generated.append(Int32(token))
        guard let tokenizer = model.tokenizer else {
            return finish(sequence, reason: "stop", text: nil, tokens: sequence.generated.count)
        }
        let text = tokenizer.decode(sequence.generated)
        for stop in job.stops {
            if let range = text.range(of: stop) {
                return finish(
                    sequence, reason: "stop", text: String(text[..<range.lowerBound]), tokens: sequence.generated.count)
            }
        }
        if sequence.generated.count >= job.maxTokens {
            return finish(sequence, reason: "length", text: text, tokens: sequence.generated.count)
        }
        // Hold back a partial character and whatever could be the start of a stop sequence.
        guard !text.hasSuffix("\u{FFFD}"), text.hasPrefix(sequence.shown) else { return false }
        var safe = text
        for stop in job.stops {
            for length in stride(from: Swift.min(stop.count - 1, text.count), to: 0, by: -1)
            where text.hasSuffix(stop.prefix(length)) {
                let cut = text.index(text.endIndex, offsetBy: -length)
                if cut < safe.endIndex { safe = String(text[..<cut]) }
                break
            }
        }
        if safe.count > sequence.shown.count, safe.hasPrefix(sequence.shown) {
            job.send(.text(String(safe.dropFirst(sequence.shown.count))))
            sequence.shown = safe
        }
        return false
    }

    /// Sends the rest of the text and the finish reason; always true (the sequence ended).
    private func finish(_ sequence: Sequence, reason: String, text: String?, tokens: Int) -> Bool {
        let job = sequence.job
        let final = text ?? sequence.shown
        if final.count > sequence.shown.count, final.hasPrefix(sequence.shown) {
            job.send(.text(String(final.dropFirst(sequence.shown.count))))
        }
        job.send(.finished(reason: reason, tokens: tokens))
        return true
    }

    /// Keeps the rows `keep` and drops the leading positions no remaining row needs.
    private func compact(keeping keep: [Int]) {
        sequences = keep.map { sequences[$0] }
        masks = keep.map { masks[$0] }
        positions = keep.map { positions[$0] }
        guard !sequences.isEmpty else {
            reset()
            return
        }
        cache?.keepRows(keep)
        let unused = masks.map { $0.firstIndex(of: 1) ?? $0.count }.min() ?? 0
        if unused > 0 {
            masks = masks.map { Array($0.dropFirst(unused)) }
            cache?.dropFirst(unused)
        }
    }

    private func reset() {
        for sequence in sequences {
            sequence.job.send(.failed("the running batch was reset"))
        }
        sequences = []
        cache = nil
        masks = []
        positions = []
    }
}

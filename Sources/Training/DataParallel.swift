import CKernels
import Collectives
import Dispatch
import Models
import NN
import Support
import Synchronization
import Tensors

#if canImport(Glibc)
    import Glibc
#endif

/// Keeps the ranks of a data-parallel job in step: the same parameters to start from, each global batch split so
/// that the ranks together see what one process sees, and gradients summed over the ranks before every optimizer
/// step — so N ranks give one process's result, up to the order of a sum.
///
/// Each global batch is cut into `size` contiguous shards (sizes differ by at most one; a rank whose shard is empty
/// contributes a zero gradient). Unlike PyTorch's DistributedSampler, nothing is repeated to even the ranks out:
/// the examples are exactly one process's. Losses are weighted by the whole batch's total, which every rank knows
/// (it holds the whole dataset), so the summed gradient is the one process's gradient.
///
/// Gradients are summed while backward runs, as in PyTorch's DistributedDataParallel: each parameter's gradient
/// is copied, as soon as backward completes it, into its region of one flat float32 buffer laid out last parameter
/// first (the order backward produces them in, the same on every rank); the regions form buckets of about
/// `bucketBytes`, and a communication thread sums each complete bucket over the ranks in place — bucket 0, 1, 2…
/// on every rank, as MPI needs — while this thread goes on with backward. The parameters' gradients then become
/// views of the summed buffer (no copy back); clipping's sums of squares are taken on the communication thread
/// right after each bucket's sum, and its factor is applied inside the optimizer's update.
///
/// A matrix with one row per vocabulary entry (an embedding) is a bucket of its own, exchanged by rows: its
/// gradient is zero but for the rows of the tokens in the batch, so the ranks first sum a mask of the rows each
/// touched, then only the rows some rank touched (MiniLM's word embeddings are half its parameters; a batch touches
/// a few hundred of their 30,522 rows). The sum is the same as the dense one: every other row is zero on every rank.
///
/// An error on one rank leaves the others waiting in a collective: the job must end (`Communicator.abort`), as
/// `hub finetune` ends it.
final class DataParallel {
    let communicator: any Communicator
    /// Every trainable parameter once, in one order on every rank.
    let parameters: [Parameter]
    /// Compare a checksum of every rank's parameters after each step (`TrainingArguments.verifyRanks`).
    let verifiesEveryStep: Bool

    /// Whether buckets are summed while backward runs (else once it ends, on the same thread): only where the host
    /// has a core the ranks' engine threads leave free — on a host without one, the communication thread's polling
    /// takes the core backward needs (two ranks on two cores, MiniLM: 110.5 examples/s overlapped, 116.8 after).
    let overlaps: Bool

    /// PyTorch DDP's default bucket size (`bucket_cap_mb=25`).
    static let defaultBucketBytes = 25 << 20

    /// One collective's worth of gradients: consecutive regions of `flat`.
    private struct Bucket {
        /// Its parameters (indices into `parameters`); none for the flags bucket.
        var members: [Int]
        var floats: Range<Int>
        /// A vocabulary-sized matrix alone in its bucket: its shape and where its row mask starts in `masks`.
        var rows: (count: Int, columns: Int, mask: Int)?
    }

    /// Where parameter `index`'s gradient lives in `flat`.
    private let regions: [Range<Int>]
    private let buckets: [Bucket]
    private let bucketOf: [Int]
    /// Every gradient, then one flag per parameter (1 where this rank has its gradient), the last bucket: a
    /// parameter no rank has a gradient for keeps none, as it would in one process (the optimizer skips it rather
    /// than decaying it).
    private let flat: Tensor
    private let flagsStart: Int
    /// The row masks of the row-exchanged buckets.
    private let masks: UnsafeMutablePointer<Float>
    private let exchange = DispatchQueue(label: "modelhub.data-parallel.allreduce")
    private let inFlight = DispatchGroup()
    /// What the communication thread reports, and the rows it packs.
    private let reports = ExchangeReports()

    // One step's exchange.
    private var parameterOfLeaf: [ObjectIdentifier: Int] = [:]
    private var arrived: [Bool] = []
    private var missing: [Int] = []
    private var nextBucket = 0
    private var firstLaunch = 0.0
    /// Seconds from each step's first bucket to the end of its backward pass (the time communication can hide in),
    /// and seconds this thread then waited for the exchange to finish, over all steps.
    private var windowSeconds = 0.0, waitSeconds = 0.0

    /// Lays out the buckets of `parameters`' gradients.
    ///
    /// Lowers the engine's threads to this host's cores per rank (`EngineThreads`), unless MODELHUB_THREADS says.
    /// Matrices of `vocabularySize` rows are exchanged by the rows their gradients touch.
    init(
        communicator: any Communicator, parameters: [Parameter], vocabularySize: Int,
        bucketBytes: Int = defaultBucketBytes, overlap: TrainingArguments.Overlap = .automatic,
        verifiesEveryStep: Bool = false
    ) {
        self.communicator = communicator
        self.verifiesEveryStep = verifiesEveryStep
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        if getenv("MODELHUB_THREADS") == nil {
            EngineThreads.count = Swift.max(1, cores / Swift.max(communicator.localSize, 1))
        }
        switch overlap {
        case .always: overlaps = true
        case .never: overlaps = false
        case .automatic: overlaps = cores > Swift.max(communicator.localSize, 1) * EngineThreads.count
        }
        var seen = Set<ObjectIdentifier>()
        let parameters = parameters.filter { seen.insert(ObjectIdentifier($0)).inserted }
        self.parameters = parameters
        var regions = [Range<Int>](repeating: 0..<0, count: parameters.count)
        var buckets: [Bucket] = []
        var (offset, maskRows) = (0, 0)
        var open = Bucket(members: [], floats: 0..<0)
        let capacity = Swift.max(bucketBytes / 4, 1)
        func close() {
            if !open.members.isEmpty { buckets.append(open) }
            open = Bucket(members: [], floats: offset..<offset)
        }
        for index in parameters.indices.reversed() {
            let shape = parameters[index].shape
            let count = shape.reduce(1, *)
            let byRows = shape.count == 2 && shape[0] == vocabularySize
            if byRows || (!open.members.isEmpty && open.floats.count + count > capacity) { close() }
            regions[index] = offset..<offset + count
            offset += count
            if byRows {
                buckets.append(
                    Bucket(members: [index], floats: regions[index], rows: (shape[0], shape[1], maskRows)))
                maskRows += shape[0]
                open = Bucket(members: [], floats: offset..<offset)
            } else {
                open.members.append(index)
                open.floats = open.floats.lowerBound..<offset
            }
        }
        close()
        buckets.append(Bucket(members: [], floats: offset..<offset + parameters.count))
        var bucketOf = [Int](repeating: 0, count: parameters.count)
        for (number, bucket) in buckets.enumerated() {
            for index in bucket.members { bucketOf[index] = number }
        }
        self.regions = regions
        self.buckets = buckets
        self.bucketOf = bucketOf
        flagsStart = offset
        flat = Tensor.zeros([offset + parameters.count])
        // After each exchange a mask holds the summed marks: the rows of `flat` that may be non-zero, which the
        // next copy zeros or overwrites (`mh_copy_rows_marking`); all zero at the start, as `flat` is.
        masks = .allocate(capacity: Swift.max(maskRows, 1))
        masks.initialize(repeating: 0, count: Swift.max(maskRows, 1))
    }

    deinit {
        // Buckets still being summed read `flat` and `masks`.
        inFlight.wait()
        masks.deallocate()
    }

    /// This rank's part of `batch`.
    func shard(_ batch: [Int]) -> [Int] {
        let (rank, size) = (communicator.rank, communicator.size)
        return Array(batch[batch.count * rank / size..<batch.count * (rank + 1) / size])
    }

    /// Rank 0's parameter values on every rank (a fresh head's draw included), then a checksum of every rank's
    /// parameters compared: if any rank still differs, every rank stops with an error.
    func synchronizeParameters() throws {
        var values = [Float]()
        values.reserveCapacity(parameters.reduce(0) { $0 + $1.value.count })
        for parameter in parameters { values += parameter.value.converted(to: .float32).floats }
        try values.withUnsafeMutableBytes { try communicator.broadcast($0, root: 0) }
        if communicator.rank != 0 {
            var start = 0
            for parameter in parameters {
                let count = parameter.value.count
                parameter.assign(Tensor(Array(values[start..<start + count]), shape: parameter.shape))
                start += count
            }
        }
        try verifyIdentical("after rank 0's were broadcast")
    }

    /// Stops every rank with an error unless all hold the same parameters, bit for bit: an FNV-1a hash of the
    /// values' bit patterns, compared as two 32-bit halves (exact in a double) — the maximum and the negated
    /// maximum of the negations (the minimum) agree only if every rank's hash is the same.
    func verifyIdentical(_ when: String) throws {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for parameter in parameters {
            let value = parameter.value.converted(to: .float32).contiguous()
            let words = UnsafeBufferPointer(
                start: value.storage.pointer.assumingMemoryBound(to: UInt32.self) + value.layout.offset,
                count: value.count)
            for word in words { hash = (hash ^ UInt64(word)) &* 0x0000_0100_0000_01B3 }
        }
        let (high, low) = (Double(hash >> 32), Double(hash & 0xFFFF_FFFF))
        var extremes = [high, low, -high, -low]
        try extremes.withUnsafeMutableBufferPointer { try communicator.allreduceMax($0) }
        guard extremes[0] == -extremes[2], extremes[1] == -extremes[3] else {
            throw ModelError.input("rank \(communicator.rank): parameters differ between ranks \(when)")
        }
    }

    /// `value` summed over the ranks (the step's loss from each rank's shard).
    func sum(_ value: Double) throws -> Double {
        var values = [value]
        try values.withUnsafeMutableBufferPointer { try communicator.allreduceSum($0) }
        return values[0]
    }

    /// An evaluation's sums over the ranks: the weighted loss and its weight, and (classifiers) the predictions as
    /// a confusion matrix, given back as (predicted, actual) pairs — what accuracy and macro-F1 read, in label order.
    func reduce(
        lossSum: Double, weightSum: Int, predicted: [Int], actual: [Int], labels: Int, classifies: Bool
    ) throws -> (Double, Int, [Int], [Int]) {
        var sums = [lossSum, Double(weightSum)]
        try sums.withUnsafeMutableBufferPointer { try communicator.allreduceSum($0) }
        guard classifies, labels > 0 else { return (sums[0], Int(sums[1]), predicted, actual) }
        var confusion = [Double](repeating: 0, count: labels * labels)
        for (guess, truth) in zip(predicted, actual) where (0..<labels).contains(guess) && (0..<labels).contains(truth)
        {
            confusion[truth * labels + guess] += 1
        }
        try confusion.withUnsafeMutableBufferPointer { try communicator.allreduceSum($0) }
        var (allPredicted, allActual) = ([Int](), [Int]())
        for truth in 0..<labels {
            for guess in 0..<labels {
                let count = Int(confusion[truth * labels + guess])
                allPredicted += repeatElement(guess, count: count)
                allActual += repeatElement(truth, count: count)
            }
        }
        return (sums[0], Int(sums[1]), allPredicted, allActual)
    }

    // MARK: Summing gradients during backward

    /// Starts a step's exchange: call before the backward pass of the step's last micro-batch, pass
    /// `gradientReady` to that `backward`, then `finishExchange()` (also when this rank's shard was empty).
    func beginExchange() {
        parameterOfLeaf.removeAll(keepingCapacity: true)
        for (index, parameter) in parameters.enumerated() {
            if let leaf = parameter.value.gradientIdentity { parameterOfLeaf[leaf] = index }
        }
        arrived = [Bool](repeating: false, count: parameters.count)
        missing = buckets.map(\.members.count)
        // The flags bucket waits for finishExchange.
        missing[buckets.count - 1] = 1
        nextBucket = 0
        reports.squares.withLock { $0 = [Double](repeating: 0, count: parameters.count) }
    }

    /// `backward`'s hook: copies a complete gradient into its region and hands every bucket that is now complete,
    /// in order, to the communication thread.
    func gradientReady(_ leaf: ObjectIdentifier, _ gradient: Tensor) {
        guard let index = parameterOfLeaf[leaf], !arrived[index] else { return }
        store(gradient, index: index)
        if overlaps { launchCompleteBuckets() }
    }

    /// Copies the gradients backward did not report (earlier micro-batches' alone, or none: zeros), sets the
    /// flags, sums what is left, waits for every bucket, and makes each parameter's gradient a view of the sums.
    func finishExchange() throws {
        for (index, parameter) in parameters.enumerated() where !arrived[index] {
            if let gradient = parameter.grad {
                store(gradient, index: index)
                continue
            }
            let region = regions[index]
            (pointer + region.lowerBound).update(repeating: 0, count: region.count)
            if let rows = buckets[bucketOf[index]].rows { (masks + rows.mask).update(repeating: 0, count: rows.count) }
            missing[bucketOf[index]] -= 1
        }
        for index in parameters.indices { pointer[flagsStart + index] = arrived[index] ? 1 : 0 }
        missing[buckets.count - 1] = 0
        let backwardDone = monotonicSeconds()
        if nextBucket > 0 { windowSeconds += backwardDone - firstLaunch }
        launchCompleteBuckets()
        inFlight.wait()
        waitSeconds += monotonicSeconds() - backwardDone
        if let error = reports.error.withLock({ $0 }) { throw error }
        Tensor.withoutGradient {
            for (index, parameter) in parameters.enumerated() {
                // No rank had a gradient: none, as in one process.
                guard pointer[flagsStart + index] > 0 else {
                    parameter.value.setGrad(nil)
                    continue
                }
                parameter.value.setGrad(flat.slicedUntracked(0, regions[index]).reshaped(parameter.shape))
            }
        }
    }

    /// What the exchanges cost so far, per optimizer step over `steps` steps.
    func figures(steps: Int) -> ExchangeFigures {
        let steps = Double(Swift.max(steps, 1))
        return ExchangeFigures(
            bytesPerStep: Double(reports.floats.withLock { $0 } * 4) / steps,
            busySecondsPerStep: reports.busy.withLock { $0 } / steps,
            overlapWindowSecondsPerStep: windowSeconds / steps,
            waitSecondsPerStep: waitSeconds / steps)
    }

    /// The L2 norm of the summed gradients (after `finishExchange`): each parameter's sum of squares, added up in
    /// parameter order as `NN.gradientNorm` adds them — the same on every rank, whatever the bucket size.
    func gradientNorm() -> Double {
        reports.squares.withLock { $0.reduce(0, +) }.squareRoot()
    }

    private var pointer: UnsafeMutablePointer<Float> { flat.storage.pointer.assumingMemoryBound(to: Float.self) }

    private func store(_ gradient: Tensor, index: Int) {
        let region = regions[index]
        let source = gradient.converted(to: .float32).contiguous()
        precondition(source.count == region.count, "a gradient of \(source.count) values for \(region.count)")
        let values = source.storage.pointer.assumingMemoryBound(to: Float.self) + source.layout.offset
        if let rows = buckets[bucketOf[index]].rows {
            mh_copy_rows_marking(values, pointer + region.lowerBound, rows.count, rows.columns, masks + rows.mask)
        } else {
            (pointer + region.lowerBound).update(from: values, count: region.count)
        }
        arrived[index] = true
        missing[bucketOf[index]] -= 1
    }

    private func launchCompleteBuckets() {
        while nextBucket < buckets.count, missing[nextBucket] == 0 {
            if nextBucket == 0 { firstLaunch = monotonicSeconds() }
            let bucket = buckets[nextBucket]
            let (communicator, reports) = (communicator, reports)
            let values = SharedBuffer(pointer + bucket.floats.lowerBound)
            let count = bucket.floats.count
            // Each member's index and where its gradient starts and ends in the bucket.
            let members = bucket.members.map {
                ($0, regions[$0].lowerBound - bucket.floats.lowerBound, regions[$0].count)
            }
            let rows = bucket.rows.map { (SharedBuffer(masks + $0.mask), $0.count, $0.columns) }
            inFlight.enter()
            exchange.async { [inFlight] in
                let started = monotonicSeconds()
                defer {
                    reports.busy.withLock { $0 += monotonicSeconds() - started }
                    inFlight.leave()
                }
                guard reports.error.withLock({ $0 == nil }) else { return }
                do throws(CollectiveError) {
                    var squares: [(Int, Double)] = []
                    if let (mask, rowCount, columns) = rows, let (index, _, _) = members.first {
                        let sum = try Self.sumRows(
                            values.base, rows: rowCount, columns: columns, mask: mask.base, communicator, reports)
                        squares.append((index, sum))
                    } else {
                        try communicator.allreduceSum(UnsafeMutableBufferPointer(start: values.base, count: count))
                        reports.floats.withLock { $0 += count }
                        for (index, start, length) in members {
                            squares.append((index, mh_sum_squares(values.base + start, length)))
                        }
                    }
                    reports.squares.withLock { all in
                        for (index, sum) in squares { all[index] = sum }
                    }
                } catch {
                    reports.error.withLock { $0 = error }
                }
            }
            nextBucket += 1
        }
    }

    /// Sums a row-exchanged matrix over the ranks (on the communication thread); returns its sum of squares.
    ///
    /// The masks first, then the rows any rank touched, packed — or the whole matrix when that is most of it.
    private static func sumRows(
        _ values: UnsafeMutablePointer<Float>, rows: Int, columns: Int, mask: UnsafeMutablePointer<Float>,
        _ communicator: any Communicator, _ reports: ExchangeReports
    ) throws(CollectiveError) -> Double {
        try communicator.allreduceSum(UnsafeMutableBufferPointer(start: mask, count: rows))
        let touched = (0..<rows).filter { mask[$0] > 0 }
        if touched.count * 2 > rows {
            try communicator.allreduceSum(UnsafeMutableBufferPointer(start: values, count: rows * columns))
            reports.floats.withLock { $0 += rows + rows * columns }
            return mh_sum_squares(values, rows * columns)
        }
        reports.floats.withLock { $0 += rows + touched.count * columns }
        guard !touched.isEmpty else { return 0 }
        let packed = reports.scratch(touched.count * columns)
        for (row, source) in touched.enumerated() {
            (packed + row * columns).update(from: values + source * columns, count: columns)
        }
        try communicator.allreduceSum(UnsafeMutableBufferPointer(start: packed, count: touched.count * columns))
        for (row, target) in touched.enumerated() {
            (values + target * columns).update(from: packed + row * columns, count: columns)
        }
        return mh_sum_squares(packed, touched.count * columns)
    }
}

/// What the communication thread reports — its first error (later buckets are skipped), each parameter's sum of
/// squared gradients, taken while the summed bucket is still in cache (clipping's norm without another pass) —
/// and the buffer it packs rows into, which only that thread touches.
private final class ExchangeReports: @unchecked Sendable {
    let error = Mutex<CollectiveError?>(nil)
    let squares = Mutex<[Double]>([])
    /// Floats summed over the ranks since the start: what the exchange costs (masks and packed rows included).
    let floats = Mutex(0)
    /// Seconds the communication thread spent exchanging buckets.
    let busy = Mutex(0.0)
    private var packed: UnsafeMutablePointer<Float>?
    private var capacity = 0

    /// A buffer of at least `count` floats, grown as needed and kept.
    func scratch(_ count: Int) -> UnsafeMutablePointer<Float> {
        if let packed, capacity >= count { return packed }
        packed?.deallocate()
        let grown = UnsafeMutablePointer<Float>.allocate(capacity: count)
        (packed, capacity) = (grown, count)
        return grown
    }

    deinit { packed?.deallocate() }
}

/// What summing gradients over the ranks cost a data-parallel run, per optimizer step (averages over the run).
///
/// ```swift
/// if let exchange = try trainer.fit().exchange {
///     print(exchange.bytesPerStep / 1e6, "MB summed;", exchange.waitSecondsPerStep, "s not hidden by backward")
/// }
/// ```
public struct ExchangeFigures: Sendable, Equatable {
    /// Bytes each rank put into allreduce (dense buckets, row masks and packed rows).
    public var bytesPerStep: Double
    /// Seconds the communication thread spent in the exchange.
    public var busySecondsPerStep: Double
    /// Seconds from the first bucket's start to the end of backward: how long communication could hide.
    public var overlapWindowSecondsPerStep: Double
    /// Seconds the training thread waited after backward for the exchange to finish: what was not hidden.
    public var waitSecondsPerStep: Double
}

import Distributed
import Models
import NN
import Support
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
struct DataParallel {
    let communicator: any Communicator
    /// Every trainable parameter once, in one order on every rank.
    let parameters: [Parameter]

    /// Gradients go in flat float32 buckets of about this many bytes, the last parameters first (as backward
    /// produces them).
    static let bucketBytes = 25 << 20

    /// Lowers the engine's threads to this host's cores per rank (`EngineThreads`), unless MODELHUB_THREADS says.
    init(communicator: any Communicator, parameters: [Parameter]) {
        self.communicator = communicator
        if getenv("MODELHUB_THREADS") == nil {
            let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
            EngineThreads.count = Swift.max(1, cores / Swift.max(communicator.localSize, 1))
        }
        var seen = Set<ObjectIdentifier>()
        self.parameters = parameters.filter { seen.insert(ObjectIdentifier($0)).inserted }
    }

    /// This rank's part of `batch`.
    func shard(_ batch: [Int]) -> [Int] {
        let (rank, size) = (communicator.rank, communicator.size)
        return Array(batch[batch.count * rank / size..<batch.count * (rank + 1) / size])
    }

    /// Rank 0's parameter values on every rank (a fresh head's draw included), then a checksum of every rank's
    /// parameters compared: if any rank still differs, every rank stops with an error.
    func synchronizeParameters() throws {
        var flat = [Float]()
        flat.reserveCapacity(parameters.reduce(0) { $0 + $1.value.count })
        for parameter in parameters { flat += parameter.value.converted(to: .float32).floats }
        try flat.withUnsafeMutableBytes { try communicator.broadcast($0, root: 0) }
        if communicator.rank != 0 {
            var start = 0
            for parameter in parameters {
                let count = parameter.value.count
                parameter.assign(Tensor(Array(flat[start..<start + count]), shape: parameter.shape))
                start += count
            }
        }
        // FNV-1a over the values' bit patterns, compared as two 32-bit halves (exact in a double): the maximum and
        // the negated maximum of the negations (the minimum) agree only if every rank's hash is the same.
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for parameter in parameters {
            for value in parameter.value.converted(to: .float32).floats {
                hash = (hash ^ UInt64(value.bitPattern)) &* 0x0000_0100_0000_01B3
            }
        }
        let (high, low) = (Double(hash >> 32), Double(hash & 0xFFFF_FFFF))
        var extremes = [high, low, -high, -low]
        try extremes.withUnsafeMutableBufferPointer { try communicator.allreduceMax($0) }
        guard extremes[0] == -extremes[2], extremes[1] == -extremes[3] else {
            throw ModelError.input(
                "rank \(communicator.rank): parameters differ between ranks after rank 0's were broadcast")
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

    /// Replaces every parameter's gradient by its sum over the ranks (a missing gradient counts as zeros).
    ///
    /// Each bucket's gradients are copied into one flat buffer, summed in place, and copied into fresh gradient
    /// tensors: two copies and one collective per bucket, no per-element work.
    func sumGradients() throws {
        let bucketFloats = Self.bucketBytes / 4
        var buckets: [[Parameter]] = [[]]
        var filled = 0
        for parameter in parameters.reversed() {
            let count = parameter.shape.reduce(1, *)
            if filled > 0, filled + count > bucketFloats {
                buckets.append([])
                filled = 0
            }
            buckets[buckets.count - 1].append(parameter)
            filled += count
        }
        var flat = [Float]()
        for bucket in buckets where !bucket.isEmpty {
            let total = bucket.reduce(0) { $0 + $1.shape.reduce(1, *) }
            flat.removeAll(keepingCapacity: true)
            flat.append(contentsOf: repeatElement(0, count: total))
            try flat.withUnsafeMutableBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return }
                var start = 0
                for parameter in bucket {
                    let count = parameter.shape.reduce(1, *)
                    if let gradient = parameter.grad?.converted(to: .float32).contiguous() {
                        let source =
                            gradient.storage.pointer.assumingMemoryBound(to: Float.self) + gradient.layout.offset
                        (base + start).update(from: source, count: count)
                    }
                    start += count
                }
                try communicator.allreduceSum(buffer)
                start = 0
                for parameter in bucket {
                    let count = parameter.shape.reduce(1, *)
                    let summed = Tensor.empty(parameter.shape, dtype: .float32)
                    summed.storage.pointer.assumingMemoryBound(to: Float.self).update(from: base + start, count: count)
                    parameter.value.setGrad(summed)
                    start += count
                }
            }
        }
    }
}

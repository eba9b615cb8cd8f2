import CMPI
import Support
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The processes of one job as training sees them.
///
/// Which one this is, how many there are, and the collective operations data-parallel training needs; training
/// code is written against this protocol only.
///
/// ```swift
/// let world = try World.communicator()     // MPI under mpirun (or srun), one process otherwise
/// var gradients: [Float] = …
/// try gradients.withUnsafeMutableBufferPointer { try world.allreduceSum($0) }   // every rank gets the sum
/// ```
public protocol Communicator: AnyObject, Sendable {
    /// This process's number, 0 ..< size.
    var rank: Int { get }
    /// How many processes the job has.
    var size: Int { get }
    /// How many of them run on this host (this one included): they share its cores.
    var localSize: Int { get }
    /// Replaces `values` by their sum over every rank (every rank gets the same sum).
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws(CollectiveError)
    /// Replaces `values` by their sum over every rank (losses, metrics).
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws(CollectiveError)
    /// Replaces `values` by their maximum over every rank.
    func allreduceMax(_ values: UnsafeMutableBufferPointer<Double>) throws(CollectiveError)
    /// Copies rank `root`'s `bytes` over every other rank's.
    func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws(CollectiveError)
    /// Returns once every rank has called it.
    func barrier() throws(CollectiveError)
    /// Ends every process of the job with `code`: what one rank does when it cannot go on, so that no other rank
    /// waits forever in a collective.
    func abort(code: Int32) -> Never
    /// Leaves the job (MPI_Finalize); the last call this communicator takes.
    func finalize()
}

/// A failure of a collective operation, named by the call and MPI's own words.
public enum CollectiveError: Error, Equatable, CustomStringConvertible {
    case mpi(call: String, code: Int32, message: String)
    /// The MPI library gave less thread support than the communicator needs.
    case threadSupport(provided: Int32)
    case invalid(String)

    public var description: String {
        switch self {
        case .mpi(let call, let code, let message): "\(call) failed (MPI error \(code)): \(message)"
        case .threadSupport(let provided):
            "the MPI library gives thread level \(provided); MPI_THREAD_SERIALIZED or more is needed"
        case .invalid(let reason): reason
        }
    }
}

/// The job this process belongs to.
public enum World {
    /// MPI when a launcher started this process (mpirun's `OMPI_COMM_WORLD_SIZE`, PMIx's or Slurm's PMI
    /// variables), else one process alone — which makes no MPI call at all.
    public static func communicator(
        environment: [String: String] = ProcessEnvironment.current
    ) throws(CollectiveError) -> any Communicator {
        let launched = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"].contains {
            environment[$0] != nil
        }
        return launched ? try MPICommunicator.shared() : SingleProcess()
    }
}

/// One process, no MPI: every collective is the identity.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var localSize: Int { 1 }
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws(CollectiveError) {}
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws(CollectiveError) {}
    public func allreduceMax(_ values: UnsafeMutableBufferPointer<Double>) throws(CollectiveError) {}
    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws(CollectiveError) {
        guard root == 0 else { throw .invalid("broadcast from rank \(root) in a job of one process") }
    }
    public func barrier() throws(CollectiveError) {}
    public func abort(code: Int32) -> Never { exit(code) }
    public func finalize() {}
}

/// MPI_COMM_WORLD of the MPI library (Open MPI here).
///
/// Initialized once per process with `MPI_Init_thread` at `MPI_THREAD_SERIALIZED`: collectives may come from any
/// thread (a communication thread overlapping backward), one at a time — a lock serializes them. Errors come back
/// as `CollectiveError` (the communicator's handler is `MPI_ERRORS_RETURN`), except `abort`'s.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    public let localSize: Int
    private let lock = Mutex(())

    private static let instance = Mutex<MPICommunicator?>(nil)

    /// The process's communicator, initializing MPI on first use.
    public static func shared() throws(CollectiveError) -> MPICommunicator {
        let result: Result<MPICommunicator, CollectiveError> = instance.withLock { existing in
            if let existing { return .success(existing) }
            do throws(CollectiveError) {
                let made = try MPICommunicator()
                existing = made
                return .success(made)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private init() throws(CollectiveError) {
        var provided: Int32 = 0
        let serialized = Int32(MPI_THREAD_SERIALIZED)
        try Self.check("MPI_Init_thread", MPI_Init_thread(nil, nil, serialized, &provided))
        guard provided >= serialized else { throw .threadSupport(provided: provided) }
        try Self.check("MPI_Comm_set_errhandler", MPI_Comm_set_errhandler(mh_mpi_comm_world(), mh_mpi_errors_return()))
        var rank: Int32 = 0
        var size: Int32 = 0
        try Self.check("MPI_Comm_rank", MPI_Comm_rank(mh_mpi_comm_world(), &rank))
        try Self.check("MPI_Comm_size", MPI_Comm_size(mh_mpi_comm_world(), &size))
        self.rank = Int(rank)
        self.size = Int(size)
        // The ranks that share this host's memory (MPI-3's shared-memory split): those that share its cores.
        var local: MPI_Comm?
        var localSize: Int32 = 1
        try Self.check(
            "MPI_Comm_split_type",
            MPI_Comm_split_type(mh_mpi_comm_world(), mh_mpi_comm_type_shared(), rank, mh_mpi_info_null(), &local))
        try Self.check("MPI_Comm_size", MPI_Comm_size(local, &localSize))
        _ = MPI_Comm_free(&local)
        self.localSize = Int(localSize)
    }

    private static func check(_ call: String, _ code: Int32) throws(CollectiveError) {
        guard code != MPI_SUCCESS else { return }
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        _ = MPI_Error_string(code, &text, &length)
        let bytes = text.prefix(max(0, min(Int(length), text.count))).map { UInt8(bitPattern: $0) }
        throw .mpi(call: call, code: code, message: String(decoding: bytes, as: UTF8.self))
    }

    /// MPI counts are 32-bit: larger buffers go in pieces of at most this many elements.
    static let largestCount = Int(Int32.max)

    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws(CollectiveError) {
        try allreduce(values, type: mh_mpi_float(), op: mh_mpi_sum(), "MPI_Allreduce (sum)")
    }

    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws(CollectiveError) {
        try allreduce(values, type: mh_mpi_double(), op: mh_mpi_sum(), "MPI_Allreduce (sum)")
    }

    public func allreduceMax(_ values: UnsafeMutableBufferPointer<Double>) throws(CollectiveError) {
        try allreduce(values, type: mh_mpi_double(), op: mh_mpi_max(), "MPI_Allreduce (max)")
    }

    private func allreduce<Element>(
        _ values: UnsafeMutableBufferPointer<Element>, type: MPI_Datatype?, op: MPI_Op?, _ call: String
    ) throws(CollectiveError) {
        guard let base = values.baseAddress else { return }
        try inPieces(values.count) { (start, count) throws(CollectiveError) in
            try Self.check(call, MPI_Allreduce(mh_mpi_in_place(), base + start, count, type, op, mh_mpi_comm_world()))
        }
    }

    /// Runs `call(start, count)` over [0, total) in pieces MPI's 32-bit counts hold, one collective at a time.
    private func inPieces(
        _ total: Int, _ call: (Int, Int32) throws(CollectiveError) -> Void
    ) throws(CollectiveError) {
        try lock.withLock { _ throws(CollectiveError) in
            var start = 0
            while start < total {
                let count = min(total - start, Self.largestCount)
                try call(start, Int32(count))
                start += count
            }
        }
    }

    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws(CollectiveError) {
        guard root >= 0, root < size else { throw .invalid("broadcast from rank \(root) in a job of \(size)") }
        guard let base = bytes.baseAddress else { return }
        try inPieces(bytes.count) { (start, count) throws(CollectiveError) in
            try Self.check("MPI_Bcast", MPI_Bcast(base + start, count, mh_mpi_byte(), Int32(root), mh_mpi_comm_world()))
        }
    }

    public func barrier() throws(CollectiveError) {
        try lock.withLock { _ throws(CollectiveError) in
            try Self.check("MPI_Barrier", MPI_Barrier(mh_mpi_comm_world()))
        }
    }

    public func abort(code: Int32) -> Never {
        _ = MPI_Abort(mh_mpi_comm_world(), code)
        exit(code)  // MPI_Abort does not return; this is for the type checker and a broken library
    }

    public func finalize() {
        lock.withLock { _ in _ = MPI_Finalize() }
    }
}

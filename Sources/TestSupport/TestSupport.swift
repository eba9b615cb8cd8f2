import Foundation
import Support

/// Locations of the committed fixtures and the built `hub` executable, for tests and benchmarks.
public enum Fixtures {
    /// The repository root, found from this source file's place in it.
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `Tests/Fixtures`, where `generate.py` and its outputs live.
    public static let root = repositoryRoot + "/Tests/Fixtures"

    /// `formats/vectors`, the .mhub conformance vectors.
    public static let vectors = repositoryRoot + "/formats/vectors"

    /// The path of a fixture, relative to `Tests/Fixtures`.
    public static func path(_ relative: String) -> String { root + "/" + relative }

    /// Reads and parses a JSON fixture (manifests, reference outputs).
    public static func json(_ path: String) throws -> JSONValue {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try JSONParser.parse([UInt8](data), maxDepth: 64)
    }

    /// The `hub` executable built beside the running test bundle (`swift build --build-tests` builds both).
    public static var hubExecutable: String { executable("hub") }

    /// An executable of this package (`hub`, `MPIProbe`), built beside the test bundle by `swift build --build-tests`.
    public static func executable(_ name: String) -> String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var folder = bundle.deletingLastPathComponent()
        // The test runner may be inside `X.xctest/` (a folder) or be the `X.xctest` file itself.
        while folder.lastPathComponent.hasSuffix(".xctest") || folder.lastPathComponent == "usr" {
            folder.deleteLastPathComponent()
        }
        return folder.appendingPathComponent(name).path
    }
}

/// A fresh empty folder under the system temporary directory, removed by `remove()`.
public struct ScratchFolder {
    /// The folder's absolute path.
    public let path: String

    /// Creates a uniquely named empty folder.
    public init(_ label: String = "modelhub-test") throws {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/\(label)-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// The names of the entries in the folder, sorted (hidden ones included).
    public func contents() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: path).sorted() }

    /// Deletes the folder and everything in it.
    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The outcome of running a program to completion.
public struct ProcessResult: Sendable {
    /// Exit status (or 128 + signal number when killed by a signal).
    public let status: Int32
    /// Everything written to standard output.
    public let stdout: String
    /// Everything written to standard error.
    public let stderr: String
}

/// Runs a program with arguments, capturing its output; standard input is empty.
public func runProcess(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil
) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Drain both pipes concurrently so a chatty child never blocks on a full pipe.
    let group = DispatchGroup()
    nonisolated(unsafe) var errData = Data()
    DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    let status =
        process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    return ProcessResult(
        status: status, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}

/// Copies a file (tests build variants of fixtures in scratch folders).
public func copyFile(_ source: String, _ destination: String) throws {
    try FileManager.default.copyItem(atPath: source, toPath: destination)
}

/// Writes UTF-8 text to a file, replacing it.
public func writeText(_ text: String, to path: String) throws {
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}

/// Writes bytes to a file, replacing it.
public func writeBytes(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Reads a whole file.
public func readBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// SHA-256 of a buffer, as lowercase hex.
public func sha256Hex(_ bytes: UnsafeRawBufferPointer) -> String { SHA256.hex(bytes) }

/// Deterministic pseudo-random numbers (SplitMix64) so failures reproduce from the seed in the message.
public struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    /// Starts the sequence at `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Open MPI's `mpirun` for the tests that run real jobs (DistributedTests, DataParallelCLITests).
public enum MPIJob {
    /// mpirun from PATH, or nil (no openmpi-bin: the tests say so and skip).
    public static let mpirun: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/mpirun" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }()

    /// This environment plus what CI needs and users do not: Open MPI refuses root without
    /// `OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM)`, and containers often forbid the cross-process reads of the shared-memory
    /// transport's single-copy mechanism.
    public static var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"
        return environment
    }
}

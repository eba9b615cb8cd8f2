import Collectives
import Foundation
import TestSupport
import Testing

/// The communicator as jobs use it: one process without a launcher (no MPI call at all), and real `mpirun` jobs of
/// MPIProbe ranks — allreduce (sum and max, a buffer of a million floats), broadcast, barrier on 2 and 4 ranks, and
/// one rank aborting ends them all, non-zero, within seconds.
///
/// mpirun runs as root in CI: the harness sets `OMPI_ALLOW_RUN_AS_ROOT` and `OMPI_ALLOW_RUN_AS_ROOT_CONFIRM` (Open
/// MPI refuses root otherwise), passes `--oversubscribe` (4 ranks on 2 cores) and turns off the shared-memory
/// transport's single-copy mechanism (`btl_vader_single_copy_mechanism=none`: containers often forbid the
/// cross-process reads it uses). Users set none of these. Without mpirun (no openmpi-bin) the jobs are skipped,
/// saying so.
@Suite struct CommunicatorTests {
    static let probe = Fixtures.executable("MPIProbe")

    @Test func oneProcessWithoutALauncher() throws {
        let world = try World.communicator(environment: [:])
        #expect(world is SingleProcess && world.rank == 0 && world.size == 1)
        var values: [Float] = [1, 2, 3]
        try values.withUnsafeMutableBufferPointer { try world.allreduceSum($0) }
        #expect(values == [1, 2, 3])
        var bytes = [UInt8](repeating: 7, count: 4)
        #expect(throws: CollectiveError.self) { try bytes.withUnsafeMutableBytes { try world.broadcast($0, root: 1) } }
        // The probe started directly: no launcher variables, so no MPI.
        let alone = try runProcess(Self.probe, ["collectives"])
        #expect(
            alone.status == 0 && alone.stdout == "ok rank 0 of 1, 1 on this host\n", "\(alone.stdout)\(alone.stderr)")
    }

    @Test(arguments: [2, 4])
    func collectivesAcrossRanks(_ ranks: Int) throws {
        guard let mpirun = MPIJob.mpirun else {
            print("CommunicatorTests: mpirun not found (make deps installs openmpi-bin): \(ranks)-rank job skipped")
            return
        }
        let job = try runProcess(
            mpirun, ["-np", "\(ranks)", "--oversubscribe", Self.probe, "collectives"], environment: MPIJob.environment)
        #expect(job.status == 0, "\(job.stdout)\(job.stderr)")
        let lines = Set(job.stdout.split(separator: "\n").map(String.init))
        // One host: every rank shares it with all the others.
        #expect(
            lines == Set((0..<ranks).map { "ok rank \($0) of \(ranks), \(ranks) on this host" }),
            "\(job.stdout)\(job.stderr)")
    }

    @Test func oneRankAbortingEndsTheJob() throws {
        guard let mpirun = MPIJob.mpirun else {
            print("CommunicatorTests: mpirun not found (make deps installs openmpi-bin): abort job skipped")
            return
        }
        let start = Date()
        let job = try runProcess(
            mpirun, ["-np", "3", "--oversubscribe", Self.probe, "abort"], environment: MPIJob.environment)
        #expect(job.status != 0)
        #expect(Date().timeIntervalSince(start) < 30)
        #expect(!job.stdout.contains("passed a barrier"), "\(job.stdout)")
    }
}

// A rank of CollectivesTests' jobs: run under `mpirun -np N` (or alone), it exercises the communicator and says
// what it saw on one stdout line; a wrong sum or broadcast exits 1.
//
//   MPIProbe collectives   allreduce (sum over a buffer past one 4 MB chunk, max), broadcast, barrier
//   MPIProbe abort         rank 1 aborts with code 3 while the others wait in a barrier
import Collectives

#if canImport(Glibc)
    import Glibc
#endif

func fail(_ message: String) -> Never {
    print("FAIL \(message)")
    exit(1)
}

let mode = CommandLine.arguments.dropFirst().first ?? "collectives"
let world: any Communicator
do {
    world = try World.communicator()
} catch {
    fail("\(error)")
}
let (rank, size) = (world.rank, world.size)
do {
    switch mode {
    case "collectives":
        // Rank r holds (r + 1) · (i mod 1000): the sum over ranks is exact in float32.
        let count = 1_000_003
        var values = (0..<count).map { Float((rank + 1) * ($0 % 1000)) }
        try values.withUnsafeMutableBufferPointer { try world.allreduceSum($0) }
        let factor = Float(size * (size + 1) / 2)
        for index in [0, 1, 999, 1000, count / 2, count - 1] where values[index] != factor * Float(index % 1000) {
            fail("rank \(rank): sum[\(index)] = \(values[index]), expected \(factor * Float(index % 1000))")
        }
        var largest = [Double(rank), -Double(rank)]
        try largest.withUnsafeMutableBufferPointer { try world.allreduceMax($0) }
        guard largest == [Double(size - 1), 0] else { fail("rank \(rank): max \(largest)") }
        var bytes = [UInt8](repeating: rank == 0 ? 0xAB : 0, count: 4099)
        try bytes.withUnsafeMutableBytes { try world.broadcast($0, root: 0) }
        guard bytes.allSatisfy({ $0 == 0xAB }) else { fail("rank \(rank): broadcast did not arrive") }
        try world.barrier()
        print("ok rank \(rank) of \(size), \(world.localSize) on this host")
    case "abort":
        if rank == 1 {
            world.abort(code: 3)
        }
        try world.barrier()  // rank 1 never arrives: the abort must end this rank too
        print("rank \(rank) passed a barrier rank 1 never reached")
    default:
        fail("unknown mode \(mode)")
    }
} catch {
    fail("rank \(rank): \(error)")
}
world.finalize()

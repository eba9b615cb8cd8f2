import Formats
import Foundation
import Support
import TestSupport
import Testing

/// Thousands of random corruptions of valid files go through every parser: each either opens (and then its tensors read
/// and verify, or fail with a FormatError) or is refused with a FormatError.
///
/// A crash fails the run; memory stays bounded because no length is trusted before it is checked.
@Suite struct MutationTests {
    static let seeds: [(String, UInt64)] = [
        ("checkpoints/special.safetensors", 1), ("checkpoints/special.zip.pt", 2), ("checkpoints/special.legacy.pt", 3),
        ("checkpoints/special-zip64.pt", 4), ("models/tiny-gpt2/pytorch_model.bin", 5),
    ]
    static let iterations = 700

    @Test(arguments: seeds)
    func corruptedCheckpointsNeverCrash(_ relative: String, _ seed: UInt64) throws {
        try fuzz(
            original: try readBytes(Fixtures.path(relative)), suffix: (relative as NSString).pathExtension, seed: seed)
    }

    @Test func corruptedMHubNeverCrash() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let raw = scratch.path + "/raw.mhub", packed = scratch.path + "/zstd.mhub"
        _ = try Converter.convert(ModelSource.open(Fixtures.path("checkpoints/special.safetensors")), to: raw)
        _ = try Converter.convert(
            ModelSource.open(Fixtures.path("checkpoints/special.safetensors")), to: packed,
            options: .init(compress: true))
        try fuzz(original: try readBytes(raw), suffix: "mhub", seed: 6)
        try fuzz(original: try readBytes(packed), suffix: "mhub", seed: 7)
    }

    @Test func corruptedPicklesNeverCrash() throws {
        // Straight into the unpickler (no zip CRC in the way): the state-dict pickle of a real torch.save.
        let archive = try ZipArchive(file: MappedFile(path: Fixtures.path("checkpoints/special.zip.pt")))
        let name = try #require(archive.names.first { $0.hasSuffix("/data.pkl") })
        let program = try #require(archive.data(name)).array
        var generator = SeededGenerator(seed: 9)
        var accepted = 0
        for _ in 0..<5_000 {
            var bytes = program
            for _ in 0...Int.random(in: 0...2, using: &generator) { mutate(&bytes, &generator) }
            let result = try? bytes.withUnsafeBytes { buffer in
                try Unpickler.run(
                    buffer, path: "fuzz",
                    persistentLoad: { .storage(try TorchCheckpoint.storageReference($0, legacy: false)) },
                    extract: { try TorchCheckpoint.stateDict($0) })
            }
            if result != nil { accepted += 1 }
        }
        #expect(accepted < 5_000)
        #expect(maxResidentMiB() < 1024)
    }

    @Test func corruptedJSONNeverCrashes() throws {
        let text = Array(#"{"a": [1, -2.5e3, true, null, {"b": "\u00e9\ud83d\ude00"}], "c": "x\n"}"#.utf8)
        var generator = SeededGenerator(seed: 8)
        for _ in 0..<20_000 {
            var bytes = text
            for _ in 0...Int.random(in: 0...3, using: &generator) { mutate(&bytes, &generator) }
            _ = try? JSONParser.parse(bytes)
        }
        #expect(maxResidentMiB() < 1024)
    }

    private func fuzz(original: [UInt8], suffix: String, seed: UInt64) throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        var generator = SeededGenerator(seed: seed)
        var refused = 0
        for iteration in 0..<Self.iterations {
            var bytes = original
            for _ in 0...Int.random(in: 0...2, using: &generator) { mutate(&bytes, &generator) }
            let path = scratch.path + "/case-\(iteration % 8).\(suffix)"
            try writeBytes(bytes, to: path)
            do {
                let archive = try Checkpoint.open(path)
                for index in archive.tensors.indices {
                    _ = try archive.bytes(at: index).withUnsafeBytes { XXH64.hash($0) }
                }
                try archive.verify()
            } catch is FormatError {
                refused += 1
            } catch {
                Issue.record("seed \(seed) iteration \(iteration): not a FormatError: \(error)")
            }
        }
        // Most corruptions must be caught (a flip inside tensor data of a format without checksums is not).
        #expect(refused > Self.iterations / 4, "only \(refused) of \(Self.iterations) refused")
        #expect(maxResidentMiB() < 1024)
    }
}

/// One random corruption: flip bits, overwrite with extreme values, truncate, insert or delete a run of bytes.
func mutate(_ bytes: inout [UInt8], _ generator: inout SeededGenerator) {
    guard !bytes.isEmpty else { bytes = [0x80]; return }
    let position = Int.random(in: 0..<bytes.count, using: &generator)
    switch Int.random(in: 0..<7, using: &generator) {
    case 0: bytes[position] ^= UInt8(1 << Int.random(in: 0..<8, using: &generator))
    case 1: bytes[position] = UInt8.random(in: 0...255, using: &generator)
    case 2:
        let value: UInt64 = [0, 0xFFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF, 1 << 40, 0x7FFF_FFFF].randomElement(
            using: &generator)!
        for i in 0..<min(8, bytes.count - position) {
            bytes[position + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))
        }
    case 3: bytes.removeSubrange(position...)
    case 4:
        bytes.insert(
            contentsOf: (0..<Int.random(in: 1...16, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }, at: position)
    case 5: bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...64, using: &generator)))
    default:
        // Repeat a chunk of the file elsewhere (duplicated records, nested structures).
        let length = min(Int.random(in: 1...256, using: &generator), bytes.count - position)
        let chunk = Array(bytes[position..<(position + length)])
        bytes.insert(contentsOf: chunk, at: Int.random(in: 0...bytes.count, using: &generator))
    }
}

/// Peak resident memory of this process so far, in MiB.
func maxResidentMiB() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss / 1024
}

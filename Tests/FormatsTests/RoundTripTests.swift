import Formats
import Foundation
import Support
import TestSupport
import Testing

/// safetensors → .mhub → HF folder → .mhub: lossless, and the exported safetensors is byte for byte the file
/// the Python safetensors library wrote (same header, order and alignment).
@Suite struct RoundTripTests {
    @Test(arguments: [
        ("models/tiny-bert", "models/tiny-bert/model.safetensors"),
        ("checkpoints/tiny-gpt2.safetensors", "checkpoints/tiny-gpt2.safetensors"),
        ("checkpoints/special.safetensors", "checkpoints/special.safetensors"),
    ])
    func exportReproducesPythonsSafetensors(_ source: String, _ original: String) throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        for compress in [false, true] {
            let mhub = scratch.path + "/model-\(compress).mhub", folder = scratch.path + "/export-\(compress)"
            _ = try Converter.convert(
                ModelSource.open(Fixtures.path(source)), to: mhub, options: .init(compress: compress))
            _ = try Exporter.export(MHubFile(path: mhub), to: folder)
            #expect(
                try readBytes(folder + "/model.safetensors") == readBytes(Fixtures.path(original)),
                "\(source) zstd=\(compress)")
        }
    }

    @Test(arguments: ["models/tiny-bert", "models/tiny-gpt2", "models/tiny-roberta", "models/tiny-bert-sharded-bin"])
    func folderRoundTripIsLossless(_ source: String) throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let first = scratch.path + "/first.mhub", second = scratch.path + "/second.mhub", folder = scratch.path + "/hf"
        _ = try Converter.convert(ModelSource.open(Fixtures.path(source)), to: first)
        let exported = try Exporter.export(MHubFile(path: first), to: folder)
        #expect(exported.first == "model.safetensors")
        _ = try Converter.convert(ModelSource.open(folder), to: second)
        let a = try MHubFile(path: first), b = try MHubFile(path: second)
        // The export orders tensors as safetensors does; names, dtypes, shapes and bytes are what must not change.
        #expect(a.tensors.sorted { $0.name < $1.name } == b.tensors.sorted { $0.name < $1.name })
        let positions = Dictionary(uniqueKeysWithValues: b.tensors.enumerated().map { ($1.name, $0) })
        for index in a.tensors.indices {
            let other = try #require(positions[a.tensors[index].name])
            #expect(a.blob(at: index).xxh64 == b.blob(at: other).xxh64, "\(a.tensors[index].name)")
            #expect(try a.bytes(at: index).array == b.bytes(at: other).array)
        }
        // Carried files come back verbatim, the same set both times.
        #expect(a.files.map(\.path) == b.files.map(\.path))
        for file in a.files {
            #expect(
                try a.fileBytes(file.path)?.array == readBytes(Fixtures.path(source) + "/" + file.path), "\(file.path)")
            #expect(try b.fileBytes(file.path)?.array == a.fileBytes(file.path)?.array)
        }
    }

    @Test func conversionIsDeterministic() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let source = try ModelSource.open(Fixtures.path("models/tiny-gpt2"))
        _ = try Converter.convert(source, to: scratch.path + "/a.mhub", options: .init(dtype: .bf16, compress: true))
        _ = try Converter.convert(source, to: scratch.path + "/b.mhub", options: .init(dtype: .bf16, compress: true))
        #expect(try readBytes(scratch.path + "/a.mhub") == readBytes(scratch.path + "/b.mhub"))
    }

    @Test func provenanceRecordsSourceFilesAndTheirSHA256() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let source = Fixtures.path("models/tiny-roberta")
        _ = try Converter.convert(
            ModelSource.open(source), to: scratch.path + "/r.mhub", provenance: [("repo", .string("org/tiny-roberta"))])
        let provenance = try #require(try MHubFile(path: scratch.path + "/r.mhub").provenance)
        #expect(provenance["repo"]?.string == "org/tiny-roberta")
        #expect(provenance["converter"]?.string == Converter.converterVersion)
        let listed = provenance["files"]?.array?.compactMap { $0.object }
        let files = try #require(listed)
        let shard = try #require(
            files.first { $0["path"]?.string?.hasSuffix("model-00001-of-00003.safetensors") == true })
        let bytes = try readBytes(source + "/model-00001-of-00003.safetensors")
        #expect(shard["sha256"]?.string == bytes.withUnsafeBytes(sha256Hex))
        #expect(shard["size"]?.integer == bytes.count)
    }

    @Test func sourcesInTheHuggingFaceCacheTakeTheirSHA256FromTheBlobName() throws {
        // snapshots/<rev>/NAME → ../../blobs/<sha256> for LFS files, ../../blobs/<40-digit git hash> for the rest.
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let source = Fixtures.path("models/tiny-bert")
        let weights = try readBytes(source + "/model.safetensors")
        let weightsDigest = weights.withUnsafeBytes(sha256Hex)
        let configGitHash = String(repeating: "ab", count: 20)
        try FileManager.default.createDirectory(atPath: scratch.path + "/blobs", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            atPath: scratch.path + "/snapshots/rev", withIntermediateDirectories: true)
        try copyFile(source + "/model.safetensors", scratch.path + "/blobs/" + weightsDigest)
        try copyFile(source + "/config.json", scratch.path + "/blobs/" + configGitHash)
        for (name, blob) in [("model.safetensors", weightsDigest), ("config.json", configGitHash)] {
            try FileManager.default.createSymbolicLink(
                atPath: scratch.path + "/snapshots/rev/" + name, withDestinationPath: "../../blobs/" + blob)
        }
        let output = scratch.path + "/out.mhub"
        try Converter.convert(ModelSource.open(scratch.path + "/snapshots/rev"), to: output)
        let files = try #require(try MHubFile(path: output).provenance?["files"]?.array).compactMap(\.object)
        let weightsEntry = try #require(files.first { $0["path"]?.string == "model.safetensors" })
        #expect(weightsEntry["sha256"]?.string == weightsDigest)
        #expect(weightsEntry["size"]?.integer == weights.count)
        let configEntry = try #require(files.first { $0["path"]?.string == "config.json" })
        let config = try readBytes(source + "/config.json")
        #expect(configEntry["sha256"]?.string == config.withUnsafeBytes(sha256Hex))

        // The name is taken as the digest, not recomputed: a blob renamed to another digest reports that one.
        let renamed = String(repeating: "0", count: 64)
        try FileManager.default.moveItem(
            atPath: scratch.path + "/blobs/" + weightsDigest, toPath: scratch.path + "/blobs/" + renamed)
        try FileManager.default.removeItem(atPath: scratch.path + "/snapshots/rev/model.safetensors")
        try FileManager.default.createSymbolicLink(
            atPath: scratch.path + "/snapshots/rev/model.safetensors", withDestinationPath: "../../blobs/" + renamed)
        try FileManager.default.removeItem(atPath: output)
        try Converter.convert(ModelSource.open(scratch.path + "/snapshots/rev"), to: output)
        let again = try #require(try MHubFile(path: output).provenance?["files"]?.array).compactMap(\.object)
        #expect(again.first { $0["path"]?.string == "model.safetensors" }?["sha256"]?.string == renamed)
    }

    @Test func zstdRoundTripsAndShrinksRedundantTensors() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let zeros = [UInt8](repeating: 0, count: 1 << 16)
        let ramp = (0..<(1 << 14)).flatMap { withUnsafeBytes(of: Float($0).bitPattern.littleEndian, Array.init) }
        let tensors = [("zeros", zeros, [16384]), ("ramp", ramp, [1 << 14])].map { name, bytes, shape in
            PendingTensor(record: TensorRecord(name: name, dtype: .f32, shape: shape, byteCount: bytes.count)) {
                bytes.withUnsafeBytes { TensorBytes(copying: $0) }
            }
        }
        let path = scratch.path + "/z.mhub"
        try MHubWriter.write(
            tensors: tensors, files: [], metadata: [], provenance: { nil }, options: .init(compress: true), to: path)
        let mhub = try MHubFile(path: path)
        try mhub.verify()
        #expect(mhub.blob(at: 0).encoding == .zstd)
        #expect(mhub.blob(at: 0).length < 1024)
        #expect(try mhub.bytes(at: 0).array == zeros)
        #expect(try mhub.bytes(at: 1).array == ramp)
    }

    @Test func writerLeavesNothingBehindWhenASourceFails() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let tensors = [
            PendingTensor(record: TensorRecord(name: "w", dtype: .f32, shape: [4], byteCount: 16)) {
                throw FormatError.io(path: "source", reason: "read failed half way")
            }
        ]
        #expect(throws: FormatError.self) {
            try MHubWriter.write(
                tensors: tensors, files: [], metadata: [], provenance: { nil }, options: .init(),
                to: scratch.path + "/out.mhub")
        }
        #expect(try scratch.contents().isEmpty)
    }
}

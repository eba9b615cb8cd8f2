import Formats
import Support
import TestSupport
import Testing

/// Every reader yields, for every fixture, exactly the tensors torch itself loads from the same file
/// (names, dtypes, shapes and SHA-256 of the row-major bytes, from Tests/Fixtures/reference.json).
@Suite struct ReaderParityTests {
    static let reference: JSONObject = try! Fixtures.json(Fixtures.path("reference.json")).object!
    static let plainKeys = reference.keys.filter { !$0.contains("@") }

    @Test(arguments: plainKeys)
    func readerMatchesTorch(_ key: String) throws {
        let source = try ModelSource.open(Fixtures.path(key))
        try expectMatches(source.weights, Self.reference[key]!.object!, label: key)
        try source.weights.verify()
    }

    @Test(arguments: plainKeys)
    func mhubConversionIsLossless(_ key: String) throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let output = scratch.path + "/out.mhub"
        _ = try Converter.convert(ModelSource.open(Fixtures.path(key)), to: output)
        let mhub = try MHubFile(path: output)
        try mhub.verify()
        try expectMatches(mhub, Self.reference[key]!.object!, label: key + " → .mhub")
        // Raw tensors come straight out of the mapping, 64-byte aligned.
        for index in mhub.tensors.indices where mhub.tensors[index].byteCount > 0 {
            let bytes = try mhub.bytes(at: index)
            #expect(bytes.isMapped)
            #expect(Int(bitPattern: bytes.address!) % 64 == 0)
        }
    }

    @Test(arguments: ["checkpoints/special.safetensors", "models/tiny-bert"], [StoredDType.f16, .bf16])
    func dtypeConversionMatchesTorch(_ key: String, _ dtype: StoredDType) throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let output = scratch.path + "/out.mhub"
        for compress in [false, true] {
            _ = try Converter.convert(
                ModelSource.open(Fixtures.path(key)), to: output, options: .init(dtype: dtype, compress: compress))
            let mhub = try MHubFile(path: output)
            try mhub.verify()
            try expectMatches(
                mhub, Self.reference["\(key)@\(dtype.rawValue)"]!.object!, label: "\(key) as \(dtype) zstd=\(compress)")
        }
    }

    @Test(arguments: ["checkpoints/special.safetensors", "models/tiny-bert"])
    func int8QuantizationMatchesTheSpecifiedArithmetic(_ key: String) throws {
        // References computed by numpy from the same weights (generate.py, quantize_int8_rows).
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let output = scratch.path + "/out.mhub"
        let stored = try #require(Self.reference["\(key)@INT8-stored"]?.object)
        #expect(stored.count > 2)
        for compress in [false, true] {
            try Converter.convert(
                ModelSource.open(Fixtures.path(key)), to: output, options: .init(compress: compress, quantizeInt8: true)
            )
            let mhub = try MHubFile(path: output)
            try mhub.verify()
            try expectMatches(mhub, Self.reference["\(key)@INT8"]!.object!, label: "\(key) int8 zstd=\(compress)")
            for (index, record) in mhub.tensors.enumerated() {
                let expected = stored[record.name]?.object
                #expect((mhub.quantization(at: index) != nil) == (expected != nil), "\(record.name)")
                guard let expected, let rows = try mhub.int8Rows(at: index) else { continue }
                #expect(rows.values.withUnsafeBytes(sha256Hex) == expected["values"]?.string, "\(record.name)")
                #expect(rows.scales.withUnsafeBytes(sha256Hex) == expected["scales"]?.string, "\(record.name)")
            }
        }
    }

    @Test func tiedWeightsShareOneStorage() throws {
        // GPT-2's lm_head.weight is transformer.wte.weight: one storage, two names, both readable.
        let checkpoint = try Checkpoint.open(Fixtures.path("models/tiny-gpt2/pytorch_model.bin"))
        let head = try checkpoint.bytes(named: "lm_head.weight"),
            embedding = try checkpoint.bytes(named: "transformer.wte.weight")
        #expect(head.address == embedding.address)
        #expect(head.isMapped)
    }

    @Test func shardedIndexNamingAnAbsentTensorIsRefused() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let folder = Fixtures.path("models/tiny-bert-sharded-bin")
        for name in ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"] {
            try copyFile(folder + "/" + name, scratch.path + "/" + name)
        }
        var map = try Fixtures.json(folder + "/pytorch_model.bin.index.json").object!["weight_map"]!.object!
        map.append("missing.weight", .string("pytorch_model-00002-of-00002.bin"))
        let index = scratch.path + "/pytorch_model.bin.index.json"
        try writeText(JSONValue.object(JSONObject([("weight_map", .object(map))])).serialized(), to: index)
        let error = #expect(throws: FormatError.self) { try ShardedCheckpoint(indexPath: index) }
        #expect(error?.description.contains("missing.weight") == true, "\(String(describing: error))")
    }

    /// A safetensors header of 640 bytes starts the file with 0x80 0x02, a pickle's PROTO 2: still safetensors,
    /// whatever the file is called (transformers wrote such a file for the tiny RoBERTa of the model fixtures).
    @Test(arguments: ["weights.safetensors", "pytorch_model.bin"])
    func safetensorsLengthLookingLikeAPickleIsSafetensors(_ name: String) throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        var header = Array(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#.utf8)
        header += [UInt8](repeating: 0x20, count: 640 - header.count)
        let bytes = [0x80, 0x02, 0, 0, 0, 0, 0, 0] + header + [0, 0, 0x80, 0x3F]
        try writeBytes(bytes, to: scratch.path + "/" + name)
        let archive = try Checkpoint.open(scratch.path + "/" + name)
        #expect(archive.format == .safetensors)
        #expect(try archive.bytes(named: "a").array == [0, 0, 0x80, 0x3F])
    }
}

/// Checks an archive against a reference table of name → {dtype, shape, sha256}.
func expectMatches(_ archive: TensorArchive, _ expected: JSONObject, label: String) throws {
    #expect(Set(archive.tensors.map(\.name)) == Set(expected.keys), "\(label): tensor names")
    for (index, record) in archive.tensors.enumerated() {
        guard let want = expected[record.name]?.object else { continue }
        #expect(record.dtype.rawValue == want["dtype"]?.string, "\(label): \(record.name) dtype")
        #expect(record.shape == want["shape"]?.array?.compactMap(\.integer), "\(label): \(record.name) shape")
        let bytes = try archive.bytes(at: index)
        #expect(bytes.count == record.byteCount)
        #expect(bytes.withUnsafeBytes(sha256Hex) == want["sha256"]?.string, "\(label): \(record.name) bytes")
    }
}

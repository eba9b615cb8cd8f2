import ArgumentParser
import ModelHub

/// `hub inspect FILE`: what a checkpoint holds, without loading it.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List a checkpoint's tensors (name, dtype, shape, bytes) and metadata.",
        discussion: """
            FILE is a .safetensors, .bin/.pt/.pth (PyTorch zip or legacy), a sharded *.index.json, an .mhub \
            (which also shows its config, tokenizer and provenance) or a Hugging Face folder (its weights). \
            --verify reads every byte and checks every checksum (.mhub per-tensor XXH64, zip CRC-32) and exits 1 \
            on the first mismatch.

            JSON: {"format", "tensors": [{"name", "dtype", "shape", "bytes"}], "metadata": {}}, plus "config", \
            "tokenizer", "provenance" and "files" for .mhub, whose tensors also carry "encoding", "xxh64" and, \
            when quantized, "quantization"; "verified": true with --verify.
            """
    )

    @Argument(help: "Checkpoint file or model folder.")
    var file: String

    @Flag(help: "Print JSON (a stable shape scripts can rely on).")
    var json = false

    @Flag(help: "Read every byte and check every checksum.")
    var verify = false

    func run() throws {
        let archive = try ModelSource.open(file).weights
        if verify { try archive.verify() }
        let mhub = archive as? MHubFile
        var root = JSONObject([
            ("format", .string(archive.format.rawValue)),
            ("tensors", .array(tensorEntries(archive))),
            ("metadata", .object(JSONObject(archive.metadata.map { ($0.key, JSONValue.string($0.value)) }))),
        ])
        if let mhub {
            root.append(
                "files",
                .array(
                    mhub.files.map {
                        .object(JSONObject([("path", .string($0.path)), ("bytes", .int($0.blob.rawLength))]))
                    }))
            root.append("config", try mhub.config().map(JSONValue.object) ?? .null)
            root.append("tokenizer", try TokenizerSummary(mhub).json)
            root.append("provenance", mhub.provenance.map(JSONValue.object) ?? .null)
        }
        if verify { root.append("verified", .bool(true)) }
        if json {
            Output.printJSON(.object(root))
            return
        }
        print(
            "\(file): \(archive.format.rawValue), \(archive.tensors.count) tensors, \(Output.count(archive.parameterCount)) parameters, \(Output.bytes(archive.tensorByteCount))"
        )
        if !archive.metadata.isEmpty {
            print("metadata: " + archive.metadata.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))
        }
        if let mhub { try describe(mhub) }
        let nameWidth = min(max(archive.tensors.map(\.name.count).max() ?? 4, 4), 80)
        print(pad("NAME", nameWidth) + "  " + pad("DTYPE", 7) + "  " + pad("SHAPE", 18) + "  BYTES")
        for (index, record) in archive.tensors.enumerated() {
            let shape = "[" + record.shape.map(String.init).joined(separator: ", ") + "]"
            // Quantized tensors read as F32; the column says how they are stored.
            let dtype = mhub?.quantization(at: index) == nil ? record.dtype.rawValue : record.dtype.rawValue + "/q8"
            print(
                pad(record.name, nameWidth) + "  " + pad(dtype, 7) + "  " + pad(shape, 18) + "  "
                    + String(record.byteCount))
        }
        if verify { print("verified: every byte read, every checksum matches") }
    }

    /// For .mhub each entry also carries its stored encoding and XXH64, so two files can be compared without
    /// reading their tensors.
    private func tensorEntries(_ archive: TensorArchive) -> [JSONValue] {
        guard let mhub = archive as? MHubFile else { return archive.tensors.map(\.json) }
        return archive.tensors.indices.map { index in
            guard case .object(var entry) = archive.tensors[index].json else { return archive.tensors[index].json }
            let blob = mhub.blob(at: index)
            entry.append("encoding", .string(blob.encoding.rawValue))
            if let scheme = mhub.quantization(at: index) { entry.append("quantization", .string(scheme)) }
            entry.append("xxh64", .string(XXH64.hex(blob.xxh64)))
            return .object(entry)
        }
    }

    private func describe(_ mhub: MHubFile) throws {
        if let config = try mhub.config() {
            let keys = [
                "model_type", "architectures", "hidden_size", "num_hidden_layers", "num_attention_heads", "n_embd",
                "n_layer", "n_head", "vocab_size",
            ]
            let parts = keys.compactMap { key in config[key].map { "\(key)=\($0.serialized())" } }
            print("config: " + (parts.isEmpty ? "(present)" : parts.joined(separator: ", ")))
        }
        let tokenizer = try TokenizerSummary(mhub)
        if !tokenizer.files.isEmpty {
            var line = "tokenizer: " + tokenizer.files.joined(separator: ", ")
            if let model = tokenizer.model { line += "; model \(model)" }
            if let size = tokenizer.vocabularySize { line += ", \(size) tokens" }
            print(line)
        }
        if let provenance = mhub.provenance {
            var line = "provenance: " + (provenance["source"]?.string ?? "?")
            for key in ["repo", "revision", "commit"] {
                if let value = provenance[key]?.string { line += ", \(key) \(value)" }
            }
            if let converter = provenance["converter"]?.string { line += " (\(converter))" }
            print(line)
        }
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}

/// What tokenizer an .mhub carries: its files, and from tokenizer.json (or vocab.txt) the model type and size.
struct TokenizerSummary {
    static let tokenizerFiles = [
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.txt",
        "vocab.json", "merges.txt",
    ]
    let files: [String]
    var model: String?
    var vocabularySize: Int?

    init(_ mhub: MHubFile) throws {
        let carried = Set(mhub.files.map(\.path))
        files = Self.tokenizerFiles.filter(carried.contains)
        if let bytes = try mhub.fileBytes("tokenizer.json"),
            let root = bytes.withUnsafeBytes({ try? JSONParser.parse($0, maxDepth: 32).object }),
            let model = root["model"]?.object
        {
            self.model = model["type"]?.string
            vocabularySize = model["vocab"]?.object?.count ?? model["vocab"]?.array?.count
        } else if let bytes = try mhub.fileBytes("vocab.txt") {
            model = "WordPiece"
            vocabularySize = bytes.withUnsafeBytes {
                $0.split(separator: 0x0A, omittingEmptySubsequences: false).count - ($0.last == 0x0A ? 1 : 0)
            }
        } else if let bytes = try mhub.fileBytes("vocab.json"),
            let vocab = bytes.withUnsafeBytes({ try? JSONParser.parse($0, maxDepth: 4).object })
        {
            model = "BPE"
            vocabularySize = vocab.count
        }
    }

    var json: JSONValue {
        .object(
            JSONObject([
                ("files", .array(files.map(JSONValue.string))), ("model", model.map(JSONValue.string) ?? .null),
                ("vocab_size", vocabularySize.map(JSONValue.int) ?? .null),
            ]))
    }
}

import Formats
import Support
import Tensors

extension PretrainedModel {
    /// The tokenizer files `savePretrained` copies from the model's source.
    static let tokenizerFileNames = [
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.txt",
        "vocab.json", "merges.txt",
    ]

    /// Writes a folder `transformers.AutoModel*.from_pretrained` loads: config.json (every key of the original,
    /// `architectures` set to this class, labels as set), model.safetensors (f32, tied weights stored once, as
    /// transformers stores them, in the reference writer's byte layout) and the tokenizer files of the source.
    ///
    /// Each file is written under a temporary name and renamed, so a failure leaves no half-written file.
    @discardableResult
    public func savePretrained(_ folder: String) throws -> [String] {
        var isFolder = false
        if fileExists(folder, isDirectory: &isFolder), !isFolder {
            throw ModelError.input("\(folder) exists and is not a folder")
        }
        try makeDirectories(folder)
        let config = self.config.withArchitecture(className)
        try writeFileAtomically(
            folder + "/config.json", Array((JSONValue.object(config.json).serialized(indent: 2) + "\n").utf8))
        var seen = Set<ObjectIdentifier>()
        var entries: [PendingTensor] = []
        for (name, parameter) in namedParameters(removingDuplicates: false)
        where seen.insert(ObjectIdentifier(parameter)).inserted {
            let value = parameter.value.detached().converted(to: .float32).contiguous()
            let record = TensorRecord(name: name, dtype: .f32, shape: value.shape, byteCount: value.count * 4)
            entries.append(
                PendingTensor(record: record) {
                    // Straight from the storage (`floats` would go through a Double array of the whole tensor).
                    TensorBytes(count: record.byteCount) { out in
                        guard record.byteCount > 0 else { return }
                        withExtendedLifetime(value) {
                            out.copyMemory(
                                from: UnsafeRawBufferPointer(
                                    start: value.storage.pointer + value.layout.offset * 4, count: record.byteCount))
                        }
                    }
                })
        }
        try SafeTensorsWriter.write(entries, metadata: [("format", "pt")], to: folder + "/model.safetensors")
        var written = ["config.json", "model.safetensors"]
        for name in Self.tokenizerFileNames {
            guard let bytes = try sourceFile(name) else { continue }
            try writeFileAtomically(folder + "/" + name, bytes)
            written.append(name)
        }
        return written
    }

    /// A file of the folder or `.mhub` the model came from, or nil.
    func sourceFile(_ name: String) throws -> [UInt8]? {
        guard let source else { return nil }
        if source.hasSuffix(".mhub") { return try MHubFile(path: source).fileBytes(name)?.array }
        let path = source + "/" + name
        guard fileExists(path) else { return nil }
        switch readWholeFile(path, limit: ModelSource.maxCarriedFileSize) {
        case .success(let bytes): return bytes
        case .failure(let failure): throw ModelError.input("\(path): \(failure.reason)")
        }
    }
}

/// Writes `bytes` under a temporary name beside `path`, then renames it.
package func writeFileAtomically(_ path: String, _ bytes: [UInt8]) throws {
    try AtomicFile.write(to: path) { writer in try bytes.withUnsafeBytes { try writer.write($0) } }
}

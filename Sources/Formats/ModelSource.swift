import Support

/// What `hub convert` reads: one weights file, or a Hugging Face model folder with its config and tokenizer.
///
/// ```swift
/// let source = try ModelSource.open("Tests/Fixtures/models/tiny-gpt2")   // a folder or a weights file
/// print(source.weightFiles, source.weights.tensors.count)
/// ```
public struct ModelSource {
    /// Weights files a folder may hold, in order of preference (as transformers prefers them).
    public static let weightCandidates = [
        "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json",
    ]
    /// Small files carried verbatim into the `.mhub`: config, generation settings, tokenizer, sentence-transformers.
    public static let carriedCandidates = [
        "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
        "added_tokens.json", "vocab.txt", "vocab.json", "merges.txt", "modules.json", "sentence_bert_config.json",
        "config_sentence_transformers.json", "1_Pooling/config.json",
    ]
    /// Largest carried file (tokenizer.json of large vocabularies is tens of MB).
    public static let maxCarriedFileSize = 256 << 20

    /// The path given.
    public let path: String
    /// The tensors.
    public let weights: TensorArchive
    /// The weight files read, for provenance (the shards of a sharded checkpoint, else the file).
    public let weightFiles: [String]
    /// Carried files: path relative to the folder, and absolute path.
    public let carriedFiles: [(relativePath: String, path: String)]

    /// Opens a weights file or a model folder.
    public static func open(_ path: String) throws -> ModelSource {
        var isFolder = false
        guard fileExists(path, isDirectory: &isFolder) else {
            throw FormatError.io(path: path, reason: "no such file or folder")
        }
        guard isFolder else {
            let weights = try Checkpoint.open(path)
            return ModelSource(
                path: path, weights: weights, weightFiles: (weights as? ShardedCheckpoint)?.shardPaths ?? [path],
                carriedFiles: [])
        }
        let folder = path.hasSuffix("/") ? path : path + "/"
        guard let weightName = weightCandidates.first(where: { fileExists(folder + $0) }) else {
            throw FormatError.io(
                path: path, reason: "folder has no weights (looked for \(weightCandidates.joined(separator: ", ")))")
        }
        let weights = try Checkpoint.open(folder + weightName)
        let carried = carriedCandidates.filter { fileExists(folder + $0) }.map { ($0, folder + $0) }
        return ModelSource(
            path: path, weights: weights,
            weightFiles: (weights as? ShardedCheckpoint)?.shardPaths ?? [folder + weightName], carriedFiles: carried)
    }
}

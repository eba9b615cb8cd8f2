import Formats
import Hub

#if canImport(Glibc)
    import Glibc
#endif

/// Finds a model on disk the way `from_pretrained` does: a folder or file as given, else the model in the Hugging
/// Face cache, else downloaded into it.
public enum Pretrained {
    /// The folder (or `.mhub` file) holding `model`, pulled into the cache when missing.
    ///
    /// The path itself when it exists; else the cached snapshot of that name when it has every file `selection`
    /// picks; else (unless offline) the model pulled into the cache, only the files `selection` picks. `progress`
    /// reports download progress, from several threads.
    public static func locate(
        _ model: String, revision: String = "main", selection: FileSelection = FileSelection(),
        client: HubClient = HubClient(environment: .current()),
        progress: (@Sendable (PullProgress) -> Void)? = nil
    ) throws -> String {
        var isFolder = false
        if fileExists(model, isDirectory: &isFolder) { return model }
        let registry = try Registry.builtIn()
        do {
            let (resolved, snapshot) = try client.cached(
                model, revision: revision, selection: selection, registry: registry)
            let missing = resolved.files.map(\.path).filter { !snapshot.files.contains($0) }
            if missing.isEmpty || client.environment.offline {
                guard missing.isEmpty else {
                    throw HubError.missingFiles(
                        repo: resolved.repo, commit: resolved.commit, files: missing,
                        cache: client.environment.cacheDirectory)
                }
                return snapshot.folder
            }
        } catch HubError.notCached where !client.environment.offline {
        }
        let resolved = try client.resolve(model, revision: revision, selection: selection, registry: registry)
        return try client.pull(resolved, progress: progress).snapshot
    }

    /// The files a tokenizer is built from, in every layout AutoTokenizer reads.
    public static let tokenizerFiles = FileSelection(include: [
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt",
        "config.json",
    ])
}

/// Writes `text` to stderr unbuffered (load warnings, progress lines).
package func writeStandardError(_ text: String) {
    var copy = text
    copy.withUTF8 { buffer in _ = write(2, buffer.baseAddress, buffer.count) }
}

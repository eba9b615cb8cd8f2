#if canImport(Glibc)
    import Glibc
#endif

/// A model on disk, found from a name, a repo id, a folder or a file (`HubClient.locate`).
///
/// ```swift
/// let located = try HubClient(environment: .current()).locate("gpt2")
/// located.resolved?.commit      // the snapshot's commit
/// located.downloaded            // empty when the cache had everything
/// ```
public struct LocatedModel: Sendable {
    /// The folder (a cache snapshot, or the folder given) or the file given.
    public let path: String
    /// What the name resolved to; nil when a path was given.
    public let resolved: ResolvedModel?
    /// Files downloaded now, and files the cache already had (both empty when a path was given).
    public let downloaded: [String]
    public let reused: [String]
    /// Bytes received over the network.
    public let bytesReceived: Int64
}

extension FileSelection {
    /// The files a tokenizer is built from, in every layout AutoTokenizer reads (and config.json, which names the
    /// model type).
    public static let tokenizer = FileSelection(include: [
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt",
        "config.json",
    ])
}

extension HubClient {
    /// Turns `model` into a local path, the way `from_pretrained` does, and records the use in the cache's index
    /// (so `hub ls` shows when a model was last used, from code or from the CLI).
    ///
    /// The path itself when it exists; else the cached snapshot of that name and `revision` when it has every file
    /// `selection` picks; else (unless offline) a pull of those files. With `refresh`, `model` is a name (never a
    /// path) and the Hub is asked even when the cache is complete (`hub pull`: a branch may have moved).
    /// `progress` reports downloads, from several threads.
    ///
    /// ```swift
    /// let located = try HubClient(environment: .current()).locate("bert-base-uncased")
    /// located.path      // …/models--google-bert--bert-base-uncased/snapshots/<commit>
    /// ```
    public func locate(
        _ model: String, revision: String = "main", selection: FileSelection = FileSelection(), refresh: Bool = false,
        progress: (@Sendable (PullProgress) -> Void)? = nil
    ) throws -> LocatedModel {
        if !refresh, pathExists(model) {
            return LocatedModel(path: model, resolved: nil, downloaded: [], reused: [], bytesReceived: 0)
        }
        let registry = try Registry.builtIn()
        if !refresh || environment.offline {
            do {
                let (resolved, snapshot) = try cached(
                    model, revision: revision, selection: selection, registry: registry)
                let missing = resolved.files.map(\.path).filter { !snapshot.files.contains($0) }
                if missing.isEmpty {
                    recordUse(of: resolved.repo)
                    return LocatedModel(
                        path: snapshot.folder, resolved: resolved, downloaded: [], reused: resolved.files.map(\.path),
                        bytesReceived: 0)
                }
                if environment.offline {
                    throw HubError.missingFiles(
                        repo: resolved.repo, commit: resolved.commit, files: missing, cache: environment.cacheDirectory)
                }
            } catch HubError.notCached where !environment.offline {
            }
        }
        let resolved = try resolve(model, revision: revision, selection: selection, registry: registry)
        let result = try pull(resolved, progress: progress)
        recordUse(of: resolved.repo)
        return LocatedModel(
            path: result.snapshot, resolved: resolved, downloaded: result.downloaded, reused: result.reused,
            bytesReceived: result.bytesReceived)
    }

    /// Records in the cache's index that `repo` was used now, and a `.mhub` file converted from it at `commit`.
    ///
    /// The index is derived from the folder and only adds last use and conversions, so a failure to write it
    /// (a read-only cache) loses nothing else and is not an error.
    public func recordUse(of repo: String, conversion: (output: String, commit: String)? = nil) {
        let root = environment.cacheDirectory
        guard pathExists(root), let index = try? HubIndex(root: root) else { return }
        try? index.refresh(HubCache(root: root).scan())
        let folder = HubCache.folderName(for: repo)
        try? index.touch(folder: folder, repo: repo)
        if let conversion {
            let output = absolutePath(conversion.output)
            try? index.recordConversion(
                output: output, folder: folder, commit: conversion.commit, bytes: fileSize(output) ?? 0)
        }
    }
}

import Support

#if canImport(Glibc)
    import Glibc
#endif

/// What a name resolves to on the Hub or in the cache: the repo, the commit and the files a pull fetches.
///
/// ```swift
/// let resolved = try client.resolve("bert-base-uncased", registry: Registry.builtIn())
/// print(resolved.commit, resolved.files.map(\.path))
/// ```
public struct ResolvedModel: Sendable, Equatable {
    /// The name as typed.
    public let name: String
    /// The repo id used for the download URLs and the cache folder.
    public let repo: String
    /// The revision asked for (branch, tag or commit).
    public let revision: String
    /// The commit it points to.
    public let commit: String
    /// The files a pull fetches (the selection), sorted by path.
    public let files: [RemoteFile]
    /// Every file of the repo at that commit (written to the cache's tree listing).
    public let allFiles: [RemoteFile]

    /// The `hub resolve --json` shape: `{"name", "repo", "revision", "commit", "files": [{"path", "size",
    /// "sha256"}]}`, with `sha256` null for small git files (their `etag`, the git blob id, is given too).
    public var json: JSONValue {
        .object(
            JSONObject([
                ("name", .string(name)), ("repo", .string(repo)), ("revision", .string(revision)),
                ("commit", .string(commit)),
                (
                    "files",
                    .array(
                        files.map { file in
                            .object(
                                JSONObject([
                                    ("path", .string(file.path)), ("size", .int(Int(file.size))),
                                    ("sha256", file.lfsSHA256.map(JSONValue.string) ?? .null),
                                    ("etag", .string(file.etag)),
                                ]))
                        })
                ),
            ]))
    }
}

/// Which files of a repo a pull fetches.
///
/// ```swift
/// let onlyConfig = FileSelection(include: ["config.json"])
/// let noWeights = FileSelection(exclude: ["*.safetensors", "*.bin"])
/// ```
public struct FileSelection: Sendable, Equatable {
    /// Globs (fnmatch, `*` crosses `/`; a trailing `/` means everything under it): when given, only matching files.
    public var include: [String] = []
    /// Globs of files to leave out (applied last).
    public var exclude: [String] = []

    public init(include: [String] = [], exclude: [String] = []) {
        self.include = include
        self.exclude = exclude
    }

    /// The chosen files.
    ///
    /// Without `include`, a catalog model gets its preferred weights (the first of `weights` the
    /// repo has, with the shards an index names by pattern) and its listed files; any other repo gets every file.
    public func choose(from files: [RemoteFile], entry: CatalogEntry?, weights: [String]) -> [RemoteFile] {
        var chosen: [RemoteFile]
        if !include.isEmpty {
            chosen = files.filter { file in include.contains { Self.matches($0, file.path) } }
        } else if let entry {
            let paths = Set(files.map(\.path))
            var wanted = Set(entry.files)
            if let weight = weights.first(where: paths.contains) {
                wanted.insert(weight)
                if weight.hasSuffix(".index.json") {
                    let stem = String(weight.dropLast(".index.json".count))  // model.safetensors
                    let dot = stem.lastIndex(of: ".") ?? stem.endIndex
                    let shards = stem[..<dot] + "-*-of-*" + stem[dot...]  // model-*-of-*.safetensors
                    for path in paths where Self.matches(String(shards), path) { wanted.insert(path) }
                }
            }
            chosen = files.filter { wanted.contains($0.path) }
        } else {
            chosen = files
        }
        return chosen.filter { file in !exclude.contains { Self.matches($0, file.path) } }
    }

    /// fnmatch(3) without FNM_PATHNAME, as Python's fnmatch; a pattern ending in `/` matches everything below.
    static func matches(_ pattern: String, _ path: String) -> Bool {
        let full = pattern.hasSuffix("/") ? pattern + "*" : pattern
        return fnmatch(full, path, 0) == 0
    }
}

extension HubClient {
    /// Resolves a name online: the catalog (or the repo id as given) to a commit and the files to fetch.
    ///
    /// Catalog names download from, and cache under, the canonical repo id: short names such as
    /// `all-MiniLM-L6-v2` or aliases are not ids the Hub knows. Offline, `cached(_:)` answers instead.
    public func resolve(
        _ name: String, revision: String = "main", selection: FileSelection = FileSelection(),
        registry: Registry
    ) throws -> ResolvedModel {
        let (repo, entry) = try Self.repo(for: name, registry: registry)
        let (commit, files) = try listing(repo: repo, revision: revision)
        let chosen = selection.choose(from: files, entry: entry, weights: registry.weightPreference)
        return ResolvedModel(
            name: name, repo: repo, revision: revision, commit: commit, files: chosen, allFiles: files)
    }

    /// The repo id and catalog entry for a name (local paths are not models to download).
    static func repo(for name: String, registry: Registry) throws -> (String, CatalogEntry?) {
        switch try registry.resolve(name, pathExists: { _ in false }) {
        case .catalog(let entry): return (entry.repo, entry)
        case .repo(let id): return (id, nil)
        case .local(let path): return (path, nil)
        }
    }

    /// Resolves a name from the cache alone (offline mode): the snapshot of the revision, with its tree listing
    /// when one was written (sizes and SHA-256 of every file), else the files present.
    public func cached(
        _ name: String, revision: String = "main", selection: FileSelection = FileSelection(),
        registry: Registry
    ) throws -> (model: ResolvedModel, snapshot: HubCache.Snapshot) {
        let cache = HubCache(root: environment.cacheDirectory)
        let resolution: Registry.Resolution
        do {
            resolution = try registry.resolve(name, pathExists: { _ in false })
        } catch let error as HubError {
            // A legacy id without organisation that the Python client cached under its own name.
            guard !name.contains("/"), cache.snapshot(of: [name], revision: revision) != nil else { throw error }
            resolution = .repo(name)
        }
        var entry: CatalogEntry?
        if case .catalog(let found) = resolution { entry = found }
        guard let snapshot = cache.snapshot(for: resolution, typed: name, revision: revision) else {
            throw HubError.notCached(
                name: name, repo: entry?.repo ?? name, revision: revision, cache: environment.cacheDirectory)
        }
        let folder = cache.root + "/" + HubCache.folderName(for: snapshot.repo)
        let files =
            TreeListing.read(folder: folder, commit: snapshot.commit)
            ?? snapshot.files.compactMap { path in
                HubCache.describeCachedFile(snapshot.folder + "/" + path, path: path)
            }
        let chosen = selection.choose(from: files, entry: entry, weights: registry.weightPreference)
        let model = ResolvedModel(
            name: name, repo: snapshot.repo, revision: revision, commit: snapshot.commit, files: chosen,
            allFiles: files)
        return (model, snapshot)
    }
}

/// The tree listing huggingface_hub keeps per commit (`models--…/trees/<commit>.json`, format 1): every file's
/// size, git blob id and LFS SHA-256, so offline answers know what a snapshot should hold.
enum TreeListing {
    static func path(folder: String, commit: String) -> String { folder + "/trees/" + commit + ".json" }

    /// The listing, or nil when there is none or it does not parse (then it is ignored, as Python does).
    static func read(folder: String, commit: String) -> [RemoteFile]? {
        guard let bytes = readSmallFile(path(folder: folder, commit: commit), limit: 64 << 20),
            let root = try? JSONParser.parse(bytes, maxDepth: 8).object, root["format_version"]?.integer == 1,
            let files = root["files"]?.object
        else { return nil }
        var out: [RemoteFile] = []
        for key in files.keys {
            guard CachePath.isSafeRelative(key), let info = files[key]?.object, let size = info["size"]?.integer,
                let blob = info["blob_id"]?.string
            else { return nil }
            out.append(RemoteFile(path: key, size: Int64(size), blobID: blob, lfsSHA256: info["lfs_sha256"]?.string))
        }
        return out.sorted { $0.path < $1.path }
    }

    /// Writes the listing as huggingface_hub does (indent 1, sorted paths), atomically.
    static func write(folder: String, commit: String, files: [RemoteFile]) throws {
        var entries: [(key: String, value: JSONValue)] = []
        for file in files.sorted(by: { $0.path < $1.path }) {
            var info: [(key: String, value: JSONValue)] = [
                ("size", .int(Int(file.size))), ("blob_id", .string(file.blobID)),
            ]
            if let sha = file.lfsSHA256 { info += [("lfs_sha256", .string(sha)), ("lfs_size", .int(Int(file.size)))] }
            entries.append((file.path, .object(JSONObject(info))))
        }
        let root = JSONValue.object(JSONObject([("format_version", .int(1)), ("files", .object(JSONObject(entries)))]))
        let text = Array(root.serialized(indent: 1).utf8)
        try writeAtomically(text, to: path(folder: folder, commit: commit))
    }
}

/// Writes a small file through a temporary name and a rename (refs, tree listings, the cache tag).
func writeAtomically(_ bytes: [UInt8], to path: String) throws(HubError) {
    let folder = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
    do { try makeDirectories(folder) } catch { throw HubError.io(path: folder, reason: "\(error)") }
    let temp = path + "." + randomHex(4) + ".tmp"
    let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw HubError.io(path: temp, reason: "cannot create: \(systemError())") }
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    let synced = fsync(fd) == 0
    close(fd)
    guard written == bytes.count, synced, rename(temp, path) == 0 else {
        let reason = systemError()
        unlink(temp)
        throw HubError.io(path: path, reason: "cannot write: \(reason)")
    }
}

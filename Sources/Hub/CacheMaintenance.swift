import Support

#if canImport(Glibc)
    import Glibc
#endif

/// One repo folder of the cache as it is on disk.
///
/// ```swift
/// for repo in HubCache(root: root).scan() { print(repo.repo, repo.size) }
/// ```
public struct CachedRepo: Sendable {
    /// One `snapshots/<commit>` folder and the files in it.
    public struct Snapshot: Sendable {
        public let commit: String
        public let files: [RemoteFile]
    }

    /// The repo id the folder is named after (`org/name`, or a legacy `name`).
    public let repo: String
    /// `models--ORG--NAME`.
    public let folder: String
    /// Revision name → commit, from `refs/` (sorted by name).
    public let refs: [(revision: String, commit: String)]
    public let snapshots: [Snapshot]
    /// Bytes of the complete blobs.
    public let size: Int64
    /// Number of complete blobs.
    public let fileCount: Int
    /// Newest modification time of a snapshot folder (seconds since 1970): when it was last written.
    public let modified: Double
}

/// What `hub rm` removed.
///
/// ```swift
/// let removal = try HubCache(root: root).remove(folders: ["models--gpt2"], revision: nil)
/// ```
public struct Removal: Sendable {
    /// Repo folders removed whole.
    public var folders: [String] = []
    /// Snapshots (commits) removed from folders that stay.
    public var commits: [String] = []
    /// Bytes of blobs deleted.
    public var freedBytes: Int64 = 0
}

/// What `hub gc` found (and removed unless it was a dry run).
///
/// ```swift
/// let report = HubCache(root: root).collectGarbage(dryRun: true)
/// report.unreferencedBlobs
/// ```
public struct GarbageReport: Sendable {
    /// Blobs no snapshot links to.
    public var unreferencedBlobs: [String] = []
    /// Partial downloads nobody is writing (their blob's lock is free).
    public var staleDownloads: [String] = []
    /// Conversion records of `.mhub` files that no longer exist (dropped from the index).
    public var forgottenConversions = 0
    public var freedBytes: Int64 = 0
}

extension HubCache {
    /// `org/name` for a folder `models--org--name`; nil for anything else (datasets, spaces, stray files).
    static func repo(forFolder name: String) -> String? {
        guard name.hasPrefix("models--"), name.count > 8 else { return nil }
        return name.dropFirst(8).replacingDoubleDashes()
    }

    /// Every model repo in the cache, sorted by repo id.
    public func scan() -> [CachedRepo] {
        directoryEntries(root).sorted().compactMap { name -> CachedRepo? in
            guard let repo = Self.repo(forFolder: name), let info = linkStatus(root + "/" + name),
                (info.st_mode & S_IFMT) == S_IFDIR
            else { return nil }
            return describe(folder: name, repo: repo)
        }
    }

    /// One repo folder as it is on disk.
    func describe(folder: String, repo: String) -> CachedRepo {
        let base = root + "/" + folder
        var refs: [(revision: String, commit: String)] = []
        func walkRefs(_ relative: String) {
            for name in directoryEntries(base + "/refs" + relative).sorted() {
                let path = base + "/refs" + relative + "/" + name
                guard let info = linkStatus(path) else { continue }
                if (info.st_mode & S_IFMT) == S_IFDIR {
                    walkRefs(relative + "/" + name)
                } else if (info.st_mode & S_IFMT) == S_IFREG, let commit = Self.readRef(path) {
                    refs.append((String((relative + "/" + name).dropFirst()), commit))
                }
            }
        }
        walkRefs("")
        var snapshots: [CachedRepo.Snapshot] = []
        var modified = 0.0
        for commit in directoryEntries(base + "/snapshots").sorted() {
            let folder = base + "/snapshots/" + commit
            guard let info = linkStatus(folder), (info.st_mode & S_IFMT) == S_IFDIR else { continue }
            modified = max(modified, Double(info.st_mtim.tv_sec))
            let files = Self.listFiles(folder).compactMap { Self.describeCachedFile(folder + "/" + $0, path: $0) }
            snapshots.append(CachedRepo.Snapshot(commit: commit, files: files))
        }
        var size: Int64 = 0
        var count = 0
        for name in directoryEntries(base + "/blobs") where !name.hasSuffix(".incomplete") {
            guard let info = linkStatus(base + "/blobs/" + name), (info.st_mode & S_IFMT) == S_IFREG else { continue }
            size += Int64(info.st_size)
            count += 1
        }
        return CachedRepo(
            repo: repo, folder: folder, refs: refs, snapshots: snapshots, size: size, fileCount: count,
            modified: modified)
    }

    /// The cache folders a name may be stored under: the name as typed, and for a catalog model its canonical
    /// repo id and aliases (only those that exist).
    public func folders(for resolution: Registry.Resolution, typed name: String) -> [String] {
        var ids = [name]
        if case .catalog(let entry) = resolution { ids += [entry.repo, entry.name] + entry.aliases }
        var seen = Set<String>()
        return ids.map(Self.folderName(for:)).filter { folder in
            guard seen.insert(folder).inserted, let info = linkStatus(root + "/" + folder) else { return false }
            return (info.st_mode & S_IFMT) == S_IFDIR
        }
    }

    /// Removes repo folders whole, or only one revision of them.
    ///
    /// One revision means its snapshot, the refs pointing at it, and the blobs no other snapshot uses. Links are
    /// never followed.
    public func remove(folders: [String], revision: String?) throws -> Removal {
        var removal = Removal()
        for folder in folders {
            guard let repo = Self.repo(forFolder: folder) else { continue }
            let base = root + "/" + folder
            guard let revision else {
                removal.freedBytes += describe(folder: folder, repo: repo).size
                try removeFolder(folder)
                removal.folders.append(folder)
                continue
            }
            let commit = Self.isCommit(revision) ? revision : Self.readRef(base + "/refs/" + revision)
            guard let commit, linkStatus(base + "/snapshots/" + commit) != nil else { continue }
            let before = describe(folder: folder, repo: repo)
            removeTree(base + "/snapshots/" + commit)
            for ref in before.refs where ref.commit == commit { unlink(base + "/refs/" + ref.revision) }
            unlink(TreeListing.path(folder: base, commit: commit))
            let after = describe(folder: folder, repo: repo)
            if after.snapshots.isEmpty {
                removal.freedBytes += after.size
                try removeFolder(folder)
                removal.folders.append(folder)
                continue
            }
            let used = Set(after.snapshots.flatMap { $0.files.map(\.blobID) })
            for name in directoryEntries(base + "/blobs") where !name.hasSuffix(".incomplete") && !used.contains(name) {
                removal.freedBytes += linkStatus(base + "/blobs/" + name).map { Int64($0.st_size) } ?? 0
                unlink(base + "/blobs/" + name)
            }
            removal.commits.append(commit)
        }
        return removal
    }

    /// Renames a repo folder out of the way first (so it vanishes at once), then deletes it and its locks.
    private func removeFolder(_ folder: String) throws {
        let trash = root + "/.trash-" + randomHex(6)
        guard rename(root + "/" + folder, trash) == 0 else {
            throw HubError.io(path: root + "/" + folder, reason: "cannot remove: \(systemError())")
        }
        removeTree(trash)
        removeTree(root + "/.locks/" + folder)
    }

    /// Finds blobs no snapshot links to and partial downloads nobody is writing; removes them unless `dryRun`.
    public func collectGarbage(dryRun: Bool) -> GarbageReport {
        var report = GarbageReport()
        for name in directoryEntries(root) where name.hasPrefix(".trash-") {
            if !dryRun { removeTree(root + "/" + name) }  // left by an interrupted hub rm
        }
        for repo in scan() {
            let blobs = root + "/" + repo.folder + "/blobs"
            let used = Set(repo.snapshots.flatMap { $0.files.map(\.blobID) })
            for name in directoryEntries(blobs).sorted() {
                let path = blobs + "/" + name
                guard let info = linkStatus(path), (info.st_mode & S_IFMT) == S_IFREG else { continue }
                if name.hasSuffix(".incomplete") {
                    let etag = String(name.prefix { $0 != "." })
                    let lockPath = root + "/.locks/" + repo.folder + "/" + etag + ".lock"
                    guard CachePath.isEtag(etag) else { continue }
                    if let lock = FileLock.tryLock(path: lockPath) {
                        withExtendedLifetime(lock) {
                            report.staleDownloads.append(path)
                            report.freedBytes += Int64(info.st_size)
                            if !dryRun { unlink(path) }
                        }
                    }
                } else if !used.contains(name) {
                    report.unreferencedBlobs.append(path)
                    report.freedBytes += Int64(info.st_size)
                    if !dryRun { unlink(path) }
                }
            }
        }
        return report
    }
}

extension Substring {
    fileprivate func replacingDoubleDashes() -> String {
        split(separator: "--", omittingEmptySubsequences: false).joined(separator: "/")
    }
}

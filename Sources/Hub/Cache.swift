import Support

#if canImport(Glibc)
    import Glibc
#endif

/// The Hugging Face cache as the Python client lays it out, read without the network.
///
/// `models--ORG--NAME/refs/<revision>` holds a commit hash; `snapshots/<commit>/<path>` are relative symlinks to
/// `blobs/<etag>` (the SHA-256 for LFS files, the git blob hash for small ones). The folder is named after the id as
/// it was requested, so a legacy name (`gpt2`) and its canonical id (`openai-community/gpt2`) are two folders.
///
/// ```swift
/// let cache = HubCache(root: HubEnvironment.current().cacheDirectory)
/// let snapshot = cache.snapshot(of: ["google-bert/bert-base-uncased"])   // the main revision's folder, if cached
/// ```
public struct HubCache: Sendable {
    /// The cache root (`HubEnvironment.cacheDirectory`).
    public let root: String

    public init(root: String) { self.root = root }

    /// One revision of a repo as it sits in the cache.
    public struct Snapshot: Sendable, Equatable {
        /// The repo id the folder is named after.
        public let repo: String
        /// The revision asked for (a branch, tag or commit).
        public let revision: String
        /// The commit the revision points to.
        public let commit: String
        /// `…/snapshots/<commit>`.
        public let folder: String
        /// Relative paths of the files present, sorted.
        public let files: [String]
    }

    /// `models--ORG--NAME` for `ORG/NAME` (`models--NAME` for a legacy id without organisation).
    public static func folderName(for repo: String) -> String {
        (["models"] + repo.split(separator: "/").map(String.init)).joined(separator: "--")
    }

    /// The cached snapshot of the first of `repos` that has `revision`, or nil when none has it.
    public func snapshot(of repos: [String], revision: String = "main") -> Snapshot? {
        for repo in repos {
            let base = root + "/" + Self.folderName(for: repo)
            guard let commit = Self.isCommit(revision) ? revision : Self.readRef(base + "/refs/" + revision) else {
                continue
            }
            let folder = base + "/snapshots/" + commit
            var isDirectory = false
            guard fileExists(folder, isDirectory: &isDirectory), isDirectory else { continue }
            return Snapshot(
                repo: repo, revision: revision, commit: commit, folder: folder, files: Self.listFiles(folder))
        }
        return nil
    }

    /// `root/models--ORG--NAME`: where `repo` is cached.
    public func folder(of repo: String) -> String { root + "/" + Self.folderName(for: repo) }

    /// The commit `revision` names in `repo`'s cached folder, or nil.
    ///
    /// A branch or tag through `refs/`, a full commit hash with its snapshot folder, or a short one (7 to 39 hex
    /// digits) that starts exactly one snapshot's name. A revision with `/`, `..` or other characters outside a ref
    /// name's never reaches the filesystem.
    public func commit(repo: String, revision: String) -> String? {
        let base = folder(of: repo)
        let bytes = Array(revision.utf8)
        guard !bytes.isEmpty, bytes.count <= 255, revision != ".", revision != "..",
            bytes.allSatisfy({ $0 > 0x20 && $0 != 0x7F && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "\\") })
        else { return nil }
        if Self.isCommit(revision) {
            var isDirectory = false
            return fileExists(base + "/snapshots/" + revision, isDirectory: &isDirectory) && isDirectory
                ? revision : nil
        }
        if let commit = Self.readRef(base + "/refs/" + revision) { return commit }
        let hex = bytes.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
        guard hex, bytes.count >= 7 else { return nil }
        let matches = directoryEntries(base + "/snapshots").filter { Self.isCommit($0) && $0.hasPrefix(revision) }
        return matches.count == 1 ? matches[0] : nil
    }

    /// The cached snapshot for what a name resolved to: a catalog model is looked for under the name as typed,
    /// its canonical repo id and its aliases (the Python client names the folder after the id it was given).
    public func snapshot(
        for resolution: Registry.Resolution, typed name: String, revision: String = "main"
    ) -> Snapshot? {
        switch resolution {
        case .local: return nil
        case .repo(let repo): return snapshot(of: [repo], revision: revision)
        case .catalog(let entry):
            var candidates: [String] = []
            for id in [name, entry.repo, entry.name] + entry.aliases where !candidates.contains(id) {
                candidates.append(id)
            }
            return snapshot(of: candidates, revision: revision)
        }
    }

    /// A cached file as a listing entry: its size, and the blob name its snapshot link points to (the SHA-256 for
    /// LFS files, else the git blob id); nil when it cannot be read.
    static func describeCachedFile(_ file: String, path: String) -> RemoteFile? {
        var info = stat()
        guard stat(file, &info) == 0 else { return nil }
        let blob = linkTarget(file).map { String($0.split(separator: "/").last ?? "") } ?? ""
        let lfs = blob.utf8.count == 64 && CachePath.isEtag(blob) ? blob : nil
        return RemoteFile(path: path, size: Int64(info.st_size), blobID: blob, lfsSHA256: lfs)
    }

    /// Whether `text` is a full 40-digit lowercase hex commit hash.
    static func isCommit(_ text: String) -> Bool {
        text.utf8.count == 40 && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// A ref file's commit (one line, 40 hex digits); nil when missing or malformed.
    ///
    /// A revision name with `..` never leaves the refs folder.
    static func readRef(_ path: String) -> String? {
        guard !path.contains("/../"), let bytes = readSmallFile(path, limit: 64) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).trimmed
        return isCommit(text) ? text : nil
    }

    /// Files under `folder` (following the snapshot's symlinks to blobs), as sorted relative paths.
    static func listFiles(_ folder: String, prefix: String = "") -> [String] {
        var found: [String] = []
        for name in directoryEntries(folder) {
            var isDirectory = false
            guard fileExists(folder + "/" + name, isDirectory: &isDirectory) else { continue }  // dangling link
            if isDirectory {
                found += listFiles(folder + "/" + name, prefix: prefix + name + "/")
            } else {
                found.append(prefix + name)
            }
        }
        return found.sorted()
    }
}

import CCurl
import Dispatch
import Support
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What a pull did.
///
/// ```swift
/// let resolved = try client.resolve("gpt2", registry: Registry.builtIn())
/// let result = try client.pull(resolved) { progress in print(progress.done, progress.total) }
/// print(result.snapshot, result.downloaded)
/// ```
public struct PullResult: Sendable {
    /// The resolved model that was fetched.
    public let model: ResolvedModel
    /// `…/snapshots/<commit>`: the folder to load from.
    public let snapshot: String
    /// Files whose blobs were downloaded now.
    public let downloaded: [String]
    /// Files whose blobs were already in the cache.
    public let reused: [String]
    /// Bytes received over the network (resumed bytes not counted twice).
    public let bytesReceived: Int64

    public init(model: ResolvedModel, snapshot: String, downloaded: [String], reused: [String], bytesReceived: Int64) {
        self.model = model
        self.snapshot = snapshot
        self.downloaded = downloaded
        self.reused = reused
        self.bytesReceived = bytesReceived
    }
}

/// Progress of a pull across its files, reported from the download threads.
///
/// ```swift
/// _ = try client.locate("gpt2") { progress in print(progress.done, "of", progress.total, "bytes") }
/// ```
public struct PullProgress: Sendable {
    /// Bytes in the cache so far among those the pull must fetch (resumed partial files count as done).
    public let done: Int64
    /// Bytes the pull must fetch (files already cached not counted).
    public let total: Int64
}

/// Where one repo lives in the cache: `<root>/models--ORG--NAME/{blobs,snapshots,refs,trees}` and its lock folder.
struct RepoLayout {
    let root: String
    let folder: String
    let locks: String

    init(root: String, repo: String) {
        self.root = root
        folder = root + "/" + HubCache.folderName(for: repo)
        locks = root + "/.locks/" + HubCache.folderName(for: repo)
    }

    var blobs: String { folder + "/blobs" }
    func blob(_ etag: String) -> String { blobs + "/" + etag }
    func snapshot(_ commit: String) -> String { folder + "/snapshots/" + commit }
    func lock(_ etag: String) -> String { locks + "/" + etag + ".lock" }
}

extension HubClient {
    /// Downloads what `model` lists into the cache, several files at once, and links them into its snapshot.
    ///
    /// Per blob: hold its lock; if another process finished it meanwhile, reuse it; else append to a partial
    /// download (a leftover `<etag>.*.incomplete` is taken over and resumed with a byte range), hash while
    /// streaming, and only when size and digest match the listing rename it into place. On a transient failure the
    /// partial file stays for the next run; on a mismatch it is deleted.
    public func pull(_ model: ResolvedModel, progress: (@Sendable (PullProgress) -> Void)? = nil) throws -> PullResult {
        guard HubCache.isCommit(model.commit) else {
            throw HubError.badAnswer(url: environment.endpoint, reason: "commit '\(model.commit)' is not a hash")
        }
        for file in model.files where !CachePath.isSafeRelative(file.path) || !CachePath.isEtag(file.etag) {
            throw HubError.badAnswer(url: environment.endpoint, reason: "unsafe file name or etag for '\(file.path)'")
        }
        let layout = RepoLayout(root: environment.cacheDirectory, repo: model.repo)
        do {
            try makeDirectories(layout.blobs)
            try makeDirectories(layout.snapshot(model.commit))
        } catch { throw HubError.io(path: layout.folder, reason: "\(error)") }
        Self.tagCacheFolder(environment.cacheDirectory)

        let pending = model.files.filter { !Self.isComplete(layout.blob($0.etag), size: $0.size) }
        let tracker = TransferTracker(total: pending.reduce(0) { $0 + $1.size }, report: progress)
        let work = WorkList(model.files)
        let workers = max(1, min(parallelDownloads, model.files.count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let file = work.next() {
                do {
                    let fetched = try fetchBlob(file, of: model, into: layout, tracker: tracker)
                    try Self.link(file, commit: model.commit, layout: layout)
                    work.finish(file.path, downloaded: fetched)
                } catch {
                    work.fail(error)
                }
            }
        }
        let outcome = work.outcome()
        if let error = outcome.error { throw error }

        if model.revision != model.commit {
            guard CachePath.isSafeRelative(model.revision) else {
                throw HubError.io(path: model.revision, reason: "not a revision name that can be stored in refs/")
            }
            let ref = layout.folder + "/refs/" + model.revision
            if readSmallFile(ref, limit: 128).map({ String(decoding: $0, as: UTF8.self).trimmed }) != model.commit {
                try writeAtomically(Array(model.commit.utf8), to: ref)
            }
        }
        if !model.allFiles.isEmpty, TreeListing.read(folder: layout.folder, commit: model.commit) == nil {
            try? TreeListing.write(folder: layout.folder, commit: model.commit, files: model.allFiles)
        }
        return PullResult(
            model: model, snapshot: layout.snapshot(model.commit), downloaded: outcome.downloaded.sorted(),
            reused: outcome.reused.sorted(), bytesReceived: tracker.received)
    }

    /// Whether a blob is in place with the listed size.
    static func isComplete(_ path: String, size: Int64) -> Bool {
        guard let info = linkStatus(path) else { return false }
        return (info.st_mode & S_IFMT) == S_IFREG && Int64(info.st_size) == size
    }

    /// Fetches one blob unless it is already there; true when bytes were downloaded.
    func fetchBlob(
        _ file: RemoteFile, of model: ResolvedModel, into layout: RepoLayout, tracker: TransferTracker
    ) throws -> Bool {
        let blob = layout.blob(file.etag)
        if Self.isComplete(blob, size: file.size) { return false }
        let lock = try FileLock(path: layout.lock(file.etag))
        defer { withExtendedLifetime(lock) {} }
        if Self.isComplete(blob, size: file.size) {  // another process fetched it while we waited
            tracker.add(file.size)
            return false
        }
        let temp = layout.blobs + "/" + file.etag + "." + randomHex(4) + ".incomplete"
        let adopted = Self.adoptPartial(
            of: file.etag, in: layout.blobs, as: temp, idleFor: Double(environment.downloadTimeout))
        let flags = O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC | (adopted ? 0 : O_EXCL)
        let fd = open(temp, flags, 0o644)
        guard fd >= 0 else { throw HubError.io(path: temp, reason: "cannot create: \(systemError())") }
        var closed = false
        defer {
            if !closed {
                // A failed download keeps its bytes for the next run to resume; an empty one is not worth keeping.
                if lseek(fd, 0, SEEK_END) == 0 { unlink(temp) }
                close(fd)
            }
        }

        let digest = DigestState(file, descriptor: fd)
        var written = Int64(lseek(fd, 0, SEEK_END))
        if written > file.size || !digest.absorb(count: written) {
            guard ftruncate(fd, 0) == 0 else {
                throw HubError.io(path: temp, reason: "cannot truncate: \(systemError())")
            }
            digest.reset()
            written = 0
        }
        tracker.add(written)
        var space = statvfs()
        if statvfs(layout.blobs, &space) == 0 {
            let free = Int64(space.f_bavail) * Int64(space.f_frsize)
            guard free >= file.size - written else {
                throw HubError.io(
                    path: layout.blobs, reason: "\(file.path) needs \(file.size - written) bytes, \(free) are free")
            }
        }
        let url = fileURL(repo: model.repo, revision: model.commit, path: file.path)
        var attempt = 0
        while written < file.size {
            let sink = BodySink(descriptor: fd, alreadyWritten: written, limit: file.size) { chunk in
                digest.update(chunk)
                tracker.add(Int64(chunk.count), received: true)
            }
            var retryAfter: Int?
            do {
                let (response, hubHeaders) = try send(
                    url, resumeFrom: written, timeout: environment.downloadTimeout, sink: sink)
                written = sink.written
                switch response.status {
                case 200..<300:
                    do {
                        try Self.checkHeaders(hubHeaders, file: file, commit: model.commit, url: url)
                    } catch {
                        unlink(temp)  // these bytes belong to another file than the listing's
                        throw error
                    }
                    if written == file.size { continue }
                case 416:  // the range no longer fits: start over
                    tracker.add(-written)
                    guard ftruncate(fd, 0) == 0 else { throw HubError.io(path: temp, reason: systemError()) }
                    digest.reset()
                    written = 0
                case let status where Self.isRetryable(status):
                    retryAfter = response.retryAfter
                    guard attempt + 1 < maxAttempts else {
                        throw failure(response, url: url, repo: model.repo, revision: model.revision, path: file.path)
                    }
                default:
                    throw failure(response, url: url, repo: model.repo, revision: model.revision, path: file.path)
                }
            } catch let error as HTTPExchange.TransportError {
                written = sink.written
                if error.isRangeError {  // a 200 or a wrong 206 to a resume: libcurl refused it; start over
                    tracker.add(-written)
                    guard ftruncate(fd, 0) == 0 else { throw HubError.io(path: temp, reason: systemError()) }
                    digest.reset()
                    written = 0
                } else if error.code == Int(CURLE_WRITE_ERROR.rawValue) {
                    // Our sink refused: a local write failed (disk full) or the server sent more than the file.
                    unlink(temp)
                    throw error.message.hasPrefix("cannot write")
                        ? HubError.io(path: temp, reason: error.message)
                        : HubError.transfer(url: url, reason: error.message)
                } else if !error.isTransient || attempt + 1 >= maxAttempts {
                    throw HubError.transfer(url: url, reason: error.message)
                }
            }
            attempt += 1
            guard attempt < maxAttempts else {
                throw HubError.transfer(url: url, reason: "gave up after \(maxAttempts) tries")
            }
            if written < file.size { pause(attempt: attempt - 1, retryAfter: retryAfter) }
        }
        let actual = digest.finalizeHex()
        guard actual == file.etag else {
            unlink(temp)
            let kind = file.lfsSHA256 == nil ? "git blob id" : "sha256"
            throw HubError.corruptDownload(path: file.path, reason: "\(kind) \(actual), but the Hub lists \(file.etag)")
        }
        let synced = fsync(fd) == 0
        closed = true
        close(fd)
        guard synced, rename(temp, blob) == 0 else {
            let reason = systemError()
            unlink(temp)
            throw HubError.io(path: blob, reason: "cannot store the download: \(reason)")
        }
        let directory = open(layout.blobs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
        return true
    }

    /// Takes over the largest partial download of `etag` left by an earlier run (killed, or out of tries) by
    /// renaming it to `temp`.
    ///
    /// The caller holds the blob's lock, but a lock may silently not exclude (network file systems), so only a file
    /// untouched for longer than the download timeout counts as abandoned: a live download writes more often or
    /// gives up itself.
    static func adoptPartial(of etag: String, in blobs: String, as temp: String, idleFor seconds: Double) -> Bool {
        let candidates = directoryEntries(blobs).filter { $0.hasPrefix(etag + ".") && $0.hasSuffix(".incomplete") }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let sized: [(String, Int)] = candidates.compactMap { name in
            guard let info = linkStatus(blobs + "/" + name), (info.st_mode & S_IFMT) == S_IFREG,
                Double(now.tv_sec - info.st_mtim.tv_sec) > seconds
            else { return nil }
            return (name, Int(info.st_size))
        }
        guard let best = sized.max(by: { $0.1 < $1.1 }) else { return false }
        return rename(blobs + "/" + best.0, temp) == 0
    }

    /// The Hub's headers must describe the file the listing promised (the commit asked for, the same etag).
    static func checkHeaders(_ headers: [String: String], file: RemoteFile, commit: String, url: String) throws {
        if let served = headers["x-repo-commit"], served != commit {
            throw HubError.badAnswer(url: url, reason: "served commit \(served), asked for \(commit)")
        }
        if let size = headers["x-linked-size"].flatMap({ Int64($0) }), size != file.size {
            throw HubError.badAnswer(url: url, reason: "size \(size), but the listing says \(file.size)")
        }
        if let etag = (headers["x-linked-etag"] ?? headers["etag"]).map(CachePath.normalizeEtag),
            CachePath.isEtag(etag), etag != file.etag
        {
            throw HubError.badAnswer(url: url, reason: "etag \(etag), but the listing says \(file.etag)")
        }
    }

    /// Points `snapshots/<commit>/<path>` at `../../blobs/<etag>` (relative, as the Python client links),
    /// replacing any other link atomically.
    static func link(_ file: RemoteFile, commit: String, layout: RepoLayout) throws {
        let path = layout.snapshot(commit) + "/" + file.path
        let depth = file.path.split(separator: "/").count
        let target = String(repeating: "../", count: depth + 1) + "blobs/" + file.etag
        if linkTarget(path) == target { return }
        let parent = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        do { try makeDirectories(parent) } catch { throw HubError.io(path: parent, reason: "\(error)") }
        let temp = path + "." + randomHex(4) + ".tmp"
        guard symlink(target, temp) == 0 else { throw HubError.io(path: temp, reason: "cannot link: \(systemError())") }
        guard rename(temp, path) == 0 else {
            let reason = systemError()
            unlink(temp)
            throw HubError.io(path: path, reason: "cannot link: \(reason)")
        }
    }

    /// Marks the cache root for backup tools, as huggingface_hub does (`CACHEDIR.TAG`).
    static func tagCacheFolder(_ root: String) {
        let path = root + "/CACHEDIR.TAG"
        guard linkStatus(path) == nil else { return }
        let text = """
            Signature: 8a477f597d28d172789f06886806bc55
            # This file is a cache directory tag created by huggingface_hub.
            # For information about cache directory tags, see:
            #\thttps://bford.info/cachedir/

            """
        try? writeAtomically(Array(text.utf8), to: path)
    }
}

/// The running digest of one download: SHA-256 for LFS files, the git blob SHA-1 (`blob SIZE\0` + bytes) otherwise.
///
/// Hashing runs on its own serial queue, behind the network (a copy of each chunk, at most 16 in flight), so
/// receiving and hashing overlap: SHA-256 runs at about 0.4 GB/s on a CPU without SHA extensions, slower than
/// loopback. (Starting the kernel's writeback from here, as the .mhub writer does, made pulls slower: measured.)
final class DigestState: @unchecked Sendable {
    private let file: RemoteFile
    private var digest: MessageDigest
    private let queue = DispatchQueue(label: "modelhub.digest")
    private let inFlight = DispatchSemaphore(value: 16)
    private let descriptor: Int32

    init(_ file: RemoteFile, descriptor: Int32) {
        self.file = file
        self.descriptor = descriptor
        digest = Self.fresh(file)
    }

    private static func fresh(_ file: RemoteFile) -> MessageDigest {
        guard file.lfsSHA256 == nil else { return SHA256() }
        let digest = SHA1()
        Array("blob \(file.size)\0".utf8).withUnsafeBytes { digest.update($0) }
        return digest
    }

    /// Starts over (the partial file was truncated); waits for queued chunks first.
    func reset() {
        queue.sync { digest = Self.fresh(file) }
    }

    /// Queues a chunk that was just written to the file.
    func update(_ bytes: UnsafeRawBufferPointer) {
        let copy = [UInt8](bytes)
        inFlight.wait()
        queue.async { [self] in
            copy.withUnsafeBytes { digest.update($0) }
            inFlight.signal()
        }
    }

    /// The digest of everything queued, as hex.
    func finalizeHex() -> String { queue.sync { digest.finalizeHex() } }

    /// Hashes the first `count` bytes already in a partial file; false when they cannot be read.
    func absorb(count: Int64) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset: Int64 = 0
        while offset < count {
            let want = Int(min(Int64(buffer.count), count - offset))
            let got = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, want, off_t(offset)) }
            guard got > 0 else { return false }
            buffer.withUnsafeBytes { update(UnsafeRawBufferPointer(rebasing: $0[0..<got])) }
            offset += Int64(got)
        }
        return true
    }
}

/// Bytes done across a pull's files, shared by the download threads.
final class TransferTracker: Sendable {
    private struct State {
        var done: Int64 = 0
        var received: Int64 = 0
    }
    private let state = Mutex(State())
    private let total: Int64
    private let report: (@Sendable (PullProgress) -> Void)?

    init(total: Int64, report: (@Sendable (PullProgress) -> Void)?) {
        self.total = total
        self.report = report
    }

    /// Adds bytes now in the cache (negative when a partial file is discarded); `received` when they came over
    /// the network.
    func add(_ count: Int64, received: Bool = false) {
        let done = state.withLock { state in
            state.done += count
            if received { state.received += count }
            return state.done
        }
        report?(PullProgress(done: min(done, total), total: total))
    }

    var received: Int64 { state.withLock { $0.received } }
}

/// The files of a pull handed out to the download threads; the first failure stops the hand-out.
final class WorkList: Sendable {
    private struct State {
        var files: [RemoteFile]
        var next = 0
        var downloaded: [String] = []
        var reused: [String] = []
        var error: (any Error)?
    }
    private let state: Mutex<State>

    init(_ files: [RemoteFile]) { state = Mutex(State(files: files)) }

    func next() -> RemoteFile? {
        state.withLock { state in
            guard state.error == nil, state.next < state.files.count else { return nil }
            state.next += 1
            return state.files[state.next - 1]
        }
    }

    func finish(_ path: String, downloaded: Bool) {
        state.withLock { state in
            if downloaded { state.downloaded.append(path) } else { state.reused.append(path) }
        }
    }

    func fail(_ error: any Error) {
        state.withLock { state in
            if state.error == nil { state.error = error }
        }
    }

    func outcome() -> (downloaded: [String], reused: [String], error: (any Error)?) {
        state.withLock { ($0.downloaded, $0.reused, $0.error) }
    }
}

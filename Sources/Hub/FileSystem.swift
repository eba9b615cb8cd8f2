import Support

#if canImport(Glibc)
    import Glibc
#endif

/// The whole of a small file (refs, tokens, tree listings), or nil when it is missing, unreadable or over `limit`.
func readSmallFile(_ path: String, limit: Int) -> [UInt8]? {
    try? readWholeFile(path, limit: limit).get()
}

/// `lstat` of a path: nil when it does not exist.
func linkStatus(_ path: String) -> stat? {
    var info = stat()
    return lstat(path, &info) == 0 ? info : nil
}

/// The target of a symbolic link, or nil when `path` is not one.
func linkTarget(_ path: String) -> String? {
    var buffer = [CChar](repeating: 0, count: 4097)
    let count = readlink(path, &buffer, 4096)
    guard count > 0 else { return nil }
    return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// `count` random bytes as lowercase hex (temporary file names unique to this process and call).
func randomHex(_ count: Int) -> String {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in
        let byte = UInt8.random(in: 0...255, using: &generator)
        return (byte < 16 ? "0" : "") + String(byte, radix: 16)
    }.joined()
}

/// The current `errno` as text.
func systemError() -> String { String(cString: strerror(errno)) }

/// Checks for names that come from a server or a user and become paths in the cache (defence K7).
enum CachePath {
    /// A repo-relative file path: non-empty components, none `.` or `..`, no backslash, NUL or leading `/`.
    static func isSafeRelative(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.contains("\\"), !path.contains("\0"),
            path.utf8.count <= 4096
        else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy {
            !$0.isEmpty && $0 != "." && $0 != ".."
        }
    }

    /// A blob name: the 40-digit git SHA-1 or the 64-digit SHA-256, lowercase hex.
    static func isEtag(_ text: String) -> Bool {
        (text.utf8.count == 40 || text.utf8.count == 64)
            && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// The Hub's spelling of an etag: quotes and a weak `W/` prefix removed, lowercased.
    static func normalizeEtag(_ header: String) -> String {
        var text = header.trimmed
        if text.hasPrefix("W/") { text.removeFirst(2) }
        return text.replacingQuotes().lowercased()
    }
}

extension String {
    fileprivate func replacingQuotes() -> String { String(unicodeScalars.filter { $0 != "\"" }) }
}

/// An exclusive `flock` on `<cache>/.locks/<repo folder>/<etag>.lock`, the file the Python client locks.
///
/// So the two never write one blob at once. Correctness never rests on it (a lock on a network file system may silently
/// not exclude): every download goes to its own temporary file and is verified before the rename.
final class FileLock {
    private let descriptor: Int32

    /// Blocks until the lock is held.
    init(path: String) throws(HubError) {
        let folder = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        do { try makeDirectories(folder) } catch { throw HubError.io(path: folder, reason: "\(error)") }
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw HubError.io(path: path, reason: "cannot open lock file: \(systemError())") }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                let reason = systemError()
                close(fd)
                throw HubError.io(path: path, reason: "cannot lock: \(reason)")
            }
        }
        descriptor = fd
    }

    /// Takes the lock only when nobody holds it; nil otherwise (gc uses it to tell live downloads from dead ones).
    static func tryLock(path: String) -> FileLock? {
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return nil }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        return FileLock(holding: fd)
    }

    private init(holding fd: Int32) { descriptor = fd }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}

/// A path made absolute and free of `.`/`..` (`realpath`), as given when it cannot be resolved.
func absolutePath(_ path: String) -> String {
    guard let resolved = realpath(path, nil) else { return path }
    defer { free(resolved) }
    return String(cString: resolved)
}

/// The size of a file, following links; nil when it cannot be read.
func fileSize(_ path: String) -> Int64? {
    var info = stat()
    return stat(path, &info) == 0 ? Int64(info.st_size) : nil
}

/// Whether a file or folder exists at `path` (following links).
func pathExists(_ path: String) -> Bool {
    var isDirectory = false
    return fileExists(path, isDirectory: &isDirectory)
}

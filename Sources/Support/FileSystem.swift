#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Whether `path` exists (following links); `isDirectory` says whether it is a folder.
package func fileExists(_ path: String, isDirectory: inout Bool) -> Bool {
    var info = stat()
    guard stat(path, &info) == 0 else { return false }
    isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
    return true
}

/// Whether a regular file (or a link to one) exists at `path`.
package func fileExists(_ path: String) -> Bool {
    var isDirectory = false
    return fileExists(path, isDirectory: &isDirectory) && !isDirectory
}

/// Creates `path` and missing parents with mode 0755.
package func makeDirectories(_ path: String) throws {
    var current = path.hasPrefix("/") ? "/" : ""
    for part in path.split(separator: "/") {
        current += part + "/"
        if mkdir(current, 0o755) != 0, errno != EEXIST {
            throw FileError.io(path: path, reason: "cannot create folder: \(errnoText())")
        }
    }
}

/// Removes a folder tree that this process created (no links are followed).
package func removeTree(_ path: String) {
    guard let dir = opendir(path) else {
        unlink(path)
        return
    }
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            raw.bindMemory(to: CChar.self).baseAddress.map { String(cString: $0) } ?? ""
        }
        if name == "." || name == ".." { continue }
        let child = path + "/" + name
        var info = stat()
        if lstat(child, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { removeTree(child) } else { unlink(child) }
    }
    closedir(dir)
    rmdir(path)
}

/// Entry names of a folder (without `.` and `..`), unsorted; empty when it cannot be read.
package func directoryEntries(_ path: String) -> [String] {
    guard let directory = opendir(path) else { return [] }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            raw.bindMemory(to: CChar.self).baseAddress.map { String(cString: $0) } ?? ""
        }
        if !name.isEmpty, name != ".", name != ".." { names.append(name) }
    }
    return names
}

/// Whether the folder at `path` has no entries.
package func isEmptyDirectory(_ path: String) -> Bool {
    guard let dir = opendir(path) else { return false }
    defer { closedir(dir) }
    var count = 0
    while readdir(dir) != nil { count += 1 }
    return count <= 2
}

/// Whether two paths name the same existing file (same device and inode), however they are spelled.
public func isSameFile(_ a: String, _ b: String) -> Bool {
    var first = stat(), second = stat()
    guard stat(a, &first) == 0, stat(b, &second) == 0 else { return false }
    return first.st_dev == second.st_dev && first.st_ino == second.st_ino
}

/// The whole of a regular file of at most `limit` bytes (config, token and tokenizer files), or why not, in words.
package func readWholeFile(_ path: String, limit: Int) -> Result<[UInt8], FileReadFailure> {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return .failure(FileReadFailure(reason: errnoText())) }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
        return .failure(FileReadFailure(reason: "not a regular file"))
    }
    guard info.st_size <= limit else {
        return .failure(FileReadFailure(reason: "\(info.st_size) bytes is more than such a file holds (\(limit))"))
    }
    var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
    var done = 0
    while done < bytes.count {
        let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress.map { $0 + done }, $0.count - done) }
        if count < 0, errno == EINTR { continue }
        guard count > 0 else { return .failure(FileReadFailure(reason: "short read")) }
        done += count
    }
    return .success(bytes)
}

/// Why `readWholeFile` failed.
package struct FileReadFailure: Error {
    package let reason: String
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

#if os(Linux)
    /// glibc's `sync_file_range`, which the Glibc module does not import (it needs _GNU_SOURCE).
    @_silgen_name("sync_file_range")
    private func linuxSyncFileRange(_ fd: Int32, _ offset: Int64, _ count: Int64, _ flags: UInt32) -> Int32
#endif

/// Writes a file under a temporary name beside the target and renames it into place only when complete,
/// so a failure or a crash never leaves a half-written output, and an input still mapped is never overwritten.
///
/// ```swift
/// try AtomicFile.write(to: "out.bin") { writer in
///     try [UInt8](repeating: 0, count: 16).withUnsafeBytes { try writer.write($0) }
/// }                                                   // out.bin appears whole, or not at all
/// ```
public enum AtomicFile {
    /// A sequential writer over the temporary file, buffered for small writes.
    public final class Writer {
        fileprivate let fd: Int32
        fileprivate let path: String
        private var buffer: UnsafeMutableRawPointer
        private var buffered = 0
        private static let capacity = 1 << 20
        /// Bytes written so far (the next write's file offset).
        public private(set) var offset = 0

        fileprivate init(fd: Int32, path: String) {
            self.fd = fd
            self.path = path
            buffer = UnsafeMutableRawPointer.allocate(byteCount: Self.capacity, alignment: 64)
        }

        deinit { buffer.deallocate() }

        /// Appends bytes.
        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            guard bytes.count > 0, let base = bytes.baseAddress else { return }
            if buffered + bytes.count <= Self.capacity {
                (buffer + buffered).copyMemory(from: base, byteCount: bytes.count)
                buffered += bytes.count
            } else {
                try flush()
                if bytes.count >= Self.capacity {
                    try Self.writeAll(fd, base, bytes.count, path: path)
                    startWriteback(through: offset + bytes.count)
                } else {
                    buffer.copyMemory(from: base, byteCount: bytes.count)
                    buffered = bytes.count
                }
            }
            offset += bytes.count
        }

        /// Appends `count` zero bytes (alignment padding).
        public func writeZeros(_ count: Int) throws {
            guard count > 0 else { return }
            let zeros = [UInt8](repeating: 0, count: count)
            try zeros.withUnsafeBytes { try write($0) }
        }

        /// Overwrites bytes already written at `position` (used to fill in a header last).
        public func patch(_ bytes: UnsafeRawBufferPointer, at position: Int) throws {
            try flush()
            guard let base = bytes.baseAddress else { return }
            var done = 0
            while done < bytes.count {
                let result = pwrite(fd, base + done, bytes.count - done, off_t(position + done))
                if result < 0 {
                    if errno == EINTR { continue }
                    throw FileError.io(path: path, reason: "cannot write: \(errnoText())")
                }
                done += result
            }
        }

        fileprivate func flush() throws {
            guard buffered > 0 else { return }
            try Self.writeAll(fd, buffer, buffered, path: path)
            buffered = 0
            startWriteback(through: offset)
        }

        /// Asks the kernel to start writing out what has been written so far, so the disk works while we compute and
        /// the final fsync has little left to wait for.
        ///
        /// Advisory: errors are ignored (fsync reports real ones).
        private var writebackStart = 0
        private func startWriteback(through end: Int) {
            guard end - writebackStart >= 8 << 20 else { return }
            #if os(Linux)
                let syncFileRangeWrite: UInt32 = 2  // SYNC_FILE_RANGE_WRITE
                _ = linuxSyncFileRange(fd, Int64(writebackStart), Int64(end - writebackStart), syncFileRangeWrite)
            #endif
            writebackStart = end
        }

        private static func writeAll(_ fd: Int32, _ base: UnsafeRawPointer, _ count: Int, path: String) throws {
            var done = 0
            while done < count {
                let result = Glibc.write(fd, base + done, count - done)
                if result < 0 {
                    if errno == EINTR { continue }
                    throw FileError.io(path: path, reason: "cannot write: \(errnoText())")
                }
                done += result
            }
        }
    }

    /// Calls `body` with a writer on a fresh temporary file beside `path`, then syncs and renames it to `path`.
    ///
    /// On any error the temporary file is removed and the error rethrown; `path` is untouched.
    public static func write(to path: String, _ body: (Writer) throws -> Void) throws {
        let temporary = temporaryPath(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError.io(path: path, reason: "cannot create \(temporary): \(errnoText())") }
        var finished = false
        defer {
            if !finished {
                close(fd)
                unlink(temporary)
            }
        }
        let writer = Writer(fd: fd, path: path)
        try body(writer)
        try writer.flush()
        guard fsync(fd) == 0 else { throw FileError.io(path: path, reason: "cannot sync: \(errnoText())") }
        finished = true
        close(fd)
        guard rename(temporary, path) == 0 else {
            let reason = errnoText()
            unlink(temporary)
            throw FileError.io(path: path, reason: "cannot rename into place: \(reason)")
        }
    }

    /// `dir/.name.tmp-PID-RANDOM`: hidden, unique to this process and call, in the target's folder so rename is atomic.
    package static func temporaryPath(for path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return "\(directory).\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }
}

import CSQLite
import Support

#if canImport(Glibc)
    import Glibc
#endif

/// The SQLite index of a cache (`<cache>/.locks/modelhub.sqlite`): what is cached (repos, revisions, files, sizes,
/// sha256), when each repo was last used, and which `.mhub` files were converted from it.
///
/// The folder is the truth and the index is derived from it: `refresh()` rescans the folder (so what the Python
/// client added or removed shows up), and a missing, corrupt or foreign-version file is deleted and rebuilt. Only
/// last use and conversions live nowhere else. WAL, a busy timeout and `BEGIN IMMEDIATE` for every write let
/// several processes share it (defence K9).
///
/// ```swift
/// let index = try HubIndex(root: HubEnvironment.current().cacheDirectory)
/// let lastUsed = try index.lastUsed()            // folder → seconds since 1970
/// ```
public final class HubIndex {
    /// `<cache>/.locks/modelhub.sqlite`: inside the cache, but in the one folder huggingface_hub's cache scan
    /// skips (any other file at the cache root makes `hf cache scan` report the cache as corrupted).
    public static func path(in root: String) -> String { root + "/.locks/modelhub.sqlite" }

    private var db: OpaquePointer?
    private let root: String
    /// Whether the file was missing or unreadable and had to be created afresh.
    public private(set) var rebuilt = false

    private static let schemaVersion = 1
    private static let schema = """
        CREATE TABLE IF NOT EXISTS repos(folder TEXT PRIMARY KEY, repo TEXT NOT NULL, size INTEGER NOT NULL,
            files INTEGER NOT NULL, last_used REAL);
        CREATE TABLE IF NOT EXISTS revisions(folder TEXT NOT NULL, revision TEXT NOT NULL, commit_hash TEXT NOT NULL,
            PRIMARY KEY(folder, revision));
        CREATE TABLE IF NOT EXISTS files(folder TEXT NOT NULL, commit_hash TEXT NOT NULL, path TEXT NOT NULL,
            blob TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT, PRIMARY KEY(folder, commit_hash, path));
        CREATE TABLE IF NOT EXISTS converted(path TEXT PRIMARY KEY, folder TEXT NOT NULL, commit_hash TEXT NOT NULL,
            bytes INTEGER NOT NULL, created REAL NOT NULL);
        PRAGMA user_version = 1;
        """

    /// Opens (or creates, or rebuilds) the index of the cache at `root`.
    public init(root: String) throws {
        self.root = root
        let path = Self.path(in: root)
        let existed = linkStatus(path) != nil
        do {
            try open(path)
        } catch {
            close()
            for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
            rebuilt = true
            try open(path)
        }
        if !existed { rebuilt = true }
    }

    deinit { close() }

    private func close() {
        if let db { sqlite3_close_v2(db) }
        db = nil
    }

    private func open(_ path: String) throws {
        do { try makeDirectories(root + "/.locks") } catch { throw HubError.io(path: root, reason: "\(error)") }
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_FULLMUTEX
        guard sqlite3_open_v2(path, &handle, flags, nil) == SQLITE_OK, let handle else {
            if let handle { sqlite3_close_v2(handle) }
            throw HubError.io(path: path, reason: "cannot open the index")
        }
        db = handle
        sqlite3_busy_timeout(handle, 10_000)
        try execute("PRAGMA journal_mode=WAL")
        guard try scalar("PRAGMA quick_check") == "ok" else {
            throw HubError.io(path: path, reason: "the index is corrupt")
        }
        let version = Int(try scalar("PRAGMA user_version") ?? "0") ?? 0
        guard version == 0 || version == Self.schemaVersion else {
            throw HubError.io(path: path, reason: "index version \(version) is not \(Self.schemaVersion)")
        }
        if version == 0 { try execute(Self.schema) }
    }

    // MARK: - Writes

    /// Rescans the cache folder and replaces what the index says about it (keeping last use and conversions).
    public func refresh(_ repos: [CachedRepo]) throws {
        try transaction {
            try execute("CREATE TEMP TABLE IF NOT EXISTS seen(folder TEXT PRIMARY KEY); DELETE FROM seen;")
            for repo in repos {
                try run("INSERT INTO seen(folder) VALUES(?)", [.text(repo.folder)])
                try run(
                    """
                    INSERT INTO repos(folder, repo, size, files) VALUES(?, ?, ?, ?)
                    ON CONFLICT(folder) DO UPDATE SET repo = excluded.repo, size = excluded.size, files = excluded.files
                    """, [.text(repo.folder), .text(repo.repo), .integer(repo.size), .integer(Int64(repo.fileCount))])
                try run("DELETE FROM revisions WHERE folder = ?", [.text(repo.folder)])
                for (revision, commit) in repo.refs {
                    try run(
                        "INSERT INTO revisions(folder, revision, commit_hash) VALUES(?, ?, ?)",
                        [.text(repo.folder), .text(revision), .text(commit)])
                }
                try run("DELETE FROM files WHERE folder = ?", [.text(repo.folder)])
                for snapshot in repo.snapshots {
                    for file in snapshot.files {
                        try run(
                            "INSERT INTO files(folder, commit_hash, path, blob, size, sha256) VALUES(?, ?, ?, ?, ?, ?)",
                            [
                                .text(repo.folder), .text(snapshot.commit), .text(file.path), .text(file.blobID),
                                .integer(file.size), file.lfsSHA256.map(SQLValue.text) ?? .null,
                            ])
                    }
                }
            }
            for table in ["repos", "revisions", "files"] {
                try execute("DELETE FROM \(table) WHERE folder NOT IN (SELECT folder FROM seen)")
            }
        }
    }

    /// Records that a repo folder was used now (pulled, converted, loaded).
    public func touch(folder: String, repo: String) throws {
        try transaction {
            try run(
                """
                INSERT INTO repos(folder, repo, size, files, last_used) VALUES(?, ?, 0, 0, ?)
                ON CONFLICT(folder) DO UPDATE SET last_used = excluded.last_used
                """, [.text(folder), .text(repo), .real(Self.now())])
        }
    }

    /// Records a `.mhub` file converted from a cached repo at a commit.
    public func recordConversion(output: String, folder: String, commit: String, bytes: Int64) throws {
        try transaction {
            try run(
                "INSERT OR REPLACE INTO converted(path, folder, commit_hash, bytes, created) VALUES(?, ?, ?, ?, ?)",
                [.text(output), .text(folder), .text(commit), .integer(bytes), .real(Self.now())])
        }
    }

    /// Forgets a repo folder (after `hub rm`).
    public func forget(folder: String) throws {
        try transaction {
            for table in ["repos", "revisions", "files", "converted"] {
                try run("DELETE FROM \(table) WHERE folder = ?", [.text(folder)])
            }
        }
    }

    /// Drops conversion records whose file is gone; returns how many.
    public func pruneConversions() throws -> Int {
        let paths = try rows("SELECT path FROM converted", []).compactMap { $0.first ?? nil }
        let gone = paths.filter { linkStatus($0) == nil }
        try transaction {
            for path in gone { try run("DELETE FROM converted WHERE path = ?", [.text(path)]) }
        }
        return gone.count
    }

    // MARK: - Reads

    /// Last use (seconds since 1970) per repo folder.
    public func lastUsed() throws -> [String: Double] {
        var out: [String: Double] = [:]
        for row in try rows("SELECT folder, last_used FROM repos WHERE last_used IS NOT NULL", []) {
            if let folder = row[0], let value = row[1].flatMap(Double.init) { out[folder] = value }
        }
        return out
    }

    /// Converted files per repo folder: (path, commit, bytes).
    public func conversions() throws -> [String: [(path: String, commit: String, bytes: Int64)]] {
        var out: [String: [(path: String, commit: String, bytes: Int64)]] = [:]
        for row in try rows("SELECT folder, path, commit_hash, bytes FROM converted ORDER BY path", []) {
            guard let folder = row[0], let path = row[1], let commit = row[2], let bytes = row[3].flatMap(Int64.init)
            else { continue }
            out[folder, default: []].append((path, commit, bytes))
        }
        return out
    }

    /// Rows of files recorded for a folder (for tests and `hub ls --json`): (commit, path, blob, size, sha256).
    public func files(folder: String) throws -> [[String?]] {
        try rows(
            "SELECT commit_hash, path, blob, size, sha256 FROM files WHERE folder = ? ORDER BY commit_hash, path",
            [.text(folder)])
    }

    // MARK: - SQLite

    enum SQLValue {
        case text(String), integer(Int64), real(Double), null
    }

    private static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    private var errorMessage: String { db.map { String(cString: sqlite3_errmsg($0)) } ?? "no database" }

    private func failure(_ what: String) -> HubError {
        HubError.io(path: Self.path(in: root), reason: "\(what): \(errorMessage)")
    }

    private func execute(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw failure("index") }
    }

    /// `BEGIN IMMEDIATE` (the write lock up front, so a busy timeout applies), the body, then commit or roll back.
    private func transaction(_ body: () throws -> Void) throws {
        try execute("BEGIN IMMEDIATE")
        do {
            try body()
            try execute("COMMIT")
        } catch {
            sqlite3_exec(db, "ROLLBACK", nil, nil, nil)
            throw error
        }
    }

    private func scalar(_ sql: String) throws -> String? {
        try rows(sql, []).first?.first ?? nil
    }

    private func run(_ sql: String, _ values: [SQLValue]) throws {
        _ = try rows(sql, values)
    }

    /// Runs a statement with bound values and returns its rows as text columns.
    private func rows(_ sql: String, _ values: [SQLValue]) throws -> [[String?]] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw failure("index query")
        }
        defer { sqlite3_finalize(statement) }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (index, value) in values.enumerated() {
            let position = Int32(index + 1)
            switch value {
            case .text(let text): sqlite3_bind_text(statement, position, text, -1, transient)
            case .integer(let number): sqlite3_bind_int64(statement, position, number)
            case .real(let number): sqlite3_bind_double(statement, position, number)
            case .null: sqlite3_bind_null(statement, position)
            }
        }
        var out: [[String?]] = []
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { return out }
            guard status == SQLITE_ROW else { throw failure("index query") }
            out.append(
                (0..<sqlite3_column_count(statement)).map { column in
                    sqlite3_column_text(statement, column).map { String(cString: $0) }
                })
        }
    }
}

import Foundation
import HTTPTypes
import Hub
import Hummingbird
import NIOCore
import Support
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `hub mirror`'s settings.
public struct MirrorOptions: Sendable {
    /// Loopback unless told otherwise.
    public var host = "127.0.0.1"
    public var port = 8090
    /// A connection that sends nothing for this long is closed.
    public var idleTimeoutSeconds = 30
    /// After SIGTERM or SIGINT, how long downloads in flight may take to finish.
    public var shutdownTimeoutSeconds = 30
    /// A Hub (or another mirror) to fetch what the cache lacks from, through the downloader; nil: the cache alone.
    public var upstream: String?
    /// The token for `upstream` (never a client's, and never sent to a client).
    public var upstreamToken: String?
    /// Never contact `upstream`.
    public var offline = false
    /// Entries per page of a tree listing; more pages are linked with `Link: <…>; rel="next"`, as the Hub does.
    public var treePageSize = 1000

    public init() {}
}

/// The local Hugging Face cache served read-only over the Hub's protocol, so `HF_ENDPOINT=http://HOST:PORT` works
/// for `huggingface_hub`, `transformers` and `hub pull` on other machines.
///
/// Answers what the clients ask: `GET /api/models/{repo}[/revision/{revision}]` (`id`, `sha`, `siblings`),
/// `HEAD`/`GET /{repo}/resolve/{revision}/{path}` with the Hub's headers (`X-Repo-Commit`, `ETag`, `X-Linked-Etag`,
/// `X-Linked-Size`) and byte ranges, files streamed from their blobs a megabyte at a time. Nothing a request says can
/// reach a path outside a `models--*` folder's snapshots and blobs.
///
/// ```swift
/// let mirror = CacheMirror(cacheRoot: HubEnvironment.current().cacheDirectory, options: MirrorOptions())
/// try await mirror.run { host, port in print("mirroring on http://\(host):\(port)") }
/// ```
public final class CacheMirror: Sendable {
    let cache: HubCache
    let options: MirrorOptions
    private let service = HTTPService()
    /// Upstream fetches in flight, by repo, revision and path: a second request for the same missing file waits
    /// for the first one's download instead of starting its own.
    private let fetches = Mutex<[String: Task<Void, any Error>]>([:])
    /// Bytes per read and write of a streamed file.
    static let chunk = 1 << 20

    public init(cacheRoot: String, options: MirrorOptions) {
        cache = HubCache(root: cacheRoot)
        self.options = options
    }

    /// Serves until SIGTERM or SIGINT (or `shutdown()`); `onListening` gets the bound address.
    public func run(onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }) async throws {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: MirrorResponder(mirror: self))
        try await service.run(
            router: router, host: options.host, port: options.port, idleTimeoutSeconds: options.idleTimeoutSeconds,
            shutdownTimeoutSeconds: options.shutdownTimeoutSeconds, label: "hub-mirror", onListening: onListening)
    }

    /// Stops as SIGTERM does.
    public func shutdown() async { await service.stop() }

    /// The client for `upstream` (its endpoint, this cache, the mirror's own token), or nil when there is none or
    /// the mirror is offline.
    var upstream: HubClient? {
        guard let endpoint = options.upstream, !options.offline else { return nil }
        var environment = HubEnvironment(["HF_ENDPOINT": endpoint, "HF_HUB_CACHE": cache.root, "HOME": cache.root])
        environment.offline = false
        return HubClient(environment: environment, token: options.upstreamToken)
    }

    /// A catalog that maps no names: a mirror's repo ids are taken literally.
    static let literal: Registry? = try? Registry(json: Array(#"{"version": 1, "weights": ["x"], "models": []}"#.utf8))

    /// Runs blocking libcurl work on a dispatch thread, off the event loop and the cooperative pool.
    static func blocking<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }

    /// The Hub's error as this mirror answers it.
    static func refusal(_ error: any Error) -> Refusal {
        switch error as? HubError {
        case .repoNotFound(let repo)?:
            return Refusal(status: .notFound, code: "RepoNotFound", message: "Repository Not Found for url: \(repo).")
        case .revisionNotFound(_, let revision)?:
            return Refusal(status: .notFound, code: "RevisionNotFound", message: "Invalid rev id: \(revision)")
        case .fileNotFound(_, let revision, let path)?:
            return Refusal(status: .notFound, code: "EntryNotFound", message: "\(path) does not exist at \(revision)")
        case .unauthorized(let repo, _)?:
            // A private or gated repo upstream that the mirror's token (--token-file) does not open.
            return Refusal(
                status: .unauthorized, code: "GatedRepo", message: "upstream refused \(repo) to this mirror's token")
        case .forbidden(let repo)?:
            return Refusal(status: .forbidden, code: "GatedRepo", message: "upstream forbids \(repo) to this mirror")
        default:
            return Refusal(status: .badGateway, code: nil, message: "upstream: \(error)")
        }
    }

    /// Downloads `path` of `repo` at `revision` from upstream into the cache (checksums, resume, locks: the
    /// downloader's), once however many requests ask for it at the same time.
    func fetch(_ client: HubClient, _ repo: String, _ revision: String, _ path: String) async throws {
        let key = repo + "\u{0}" + revision + "\u{0}" + path
        let task = fetches.withLock { running -> Task<Void, any Error> in
            if let task = running[key] { return task }
            let task = Task {
                try await Self.blocking {
                    guard let registry = Self.literal else { throw HubError.badCatalog(reason: "mirror catalog") }
                    let model = try client.resolve(
                        repo, revision: revision, selection: FileSelection(include: [path]), registry: registry)
                    guard model.files.contains(where: { $0.path == path }) else {
                        throw HubError.fileNotFound(repo: repo, revision: revision, path: path)
                    }
                    _ = try client.pull(model)
                }
            }
            running[key] = task
            return task
        }
        defer { _ = fetches.withLock { $0.removeValue(forKey: key) } }
        try await task.value
    }

    /// The listing upstream gives for `repo` at `revision` (commit and every file), or nil without upstream.
    func upstreamListing(_ repo: String, _ revision: String) async throws(Refusal) -> (String, [RemoteFile])? {
        guard let client = upstream else { return nil }
        do {
            return try await Self.blocking { try client.listing(repo: repo, revision: revision) }
        } catch {
            throw Self.refusal(error)
        }
    }

    /// The LFS pointer file git stores for an LFS file (the Hub's `oid` is its git blob id).
    static func lfsPointer(_ sha256: String, _ size: Int) -> [UInt8] {
        Array("version https://git-lfs.github.com/spec/v1\noid sha256:\(sha256)\nsize \(size)\n".utf8)
    }

    /// A listed upstream file as the tree gives it.
    static func entry(_ file: RemoteFile) -> JSONValue {
        var object = JSONObject([
            ("type", .string("file")), ("path", .string(file.path)), ("size", .int(Int(file.size))),
            ("oid", .string(file.blobID)),
        ])
        if let sha = file.lfsSHA256 {
            let pointer = lfsPointer(sha, Int(file.size)).count
            object.append(
                "lfs",
                .object(
                    JSONObject([("oid", .string(sha)), ("size", .int(Int(file.size))), ("pointerSize", .int(pointer))]))
            )
        }
        return .object(object)
    }

    /// A refusal in the Hub's shape: the status, `X-Error-Code`, and `{"error": message}`.
    struct Refusal: Error {
        let status: HTTPResponse.Status
        let code: String?
        let message: String
        var headers: HTTPFields = [:]

        var response: Response {
            var headers = headers
            headers[.contentType] = "application/json"
            if let code, let name = HTTPField.Name("X-Error-Code") { headers[name] = code }
            let body = JSONValue.object(JSONObject([("error", .string(message))])).serialized()
            return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        }
    }

    /// A request path split into percent-decoded segments; `..`, `.`, NUL and backslashes are refused and empty
    /// segments dropped (defence K7: nothing a request says names a path outside the cache); nil when refused.
    ///
    /// ```swift
    /// CacheMirror.pathSegments("/org/name/resolve/main/a%2Fb")   // ["org", "name", "resolve", "main", "a", "b"]
    /// ```
    public static func pathSegments(_ path: String) -> [String]? { try? segments(of: path) }

    static func segments(of path: String) throws(Refusal) -> [String] {
        var segments: [String] = []
        for raw in path.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            guard let decoded = String(raw).removingPercentEncoding else {
                throw Refusal(status: .badRequest, code: nil, message: "malformed percent-encoding in \(path)")
            }
            // An encoded slash splits as a plain one would, so `..%2F..` is caught like `../..`.
            for segment in decoded.split(separator: "/", omittingEmptySubsequences: true).map(String.init) {
                guard segment != "..", segment != ".", !segment.contains("\0"), !segment.contains("\\") else {
                    throw Refusal(status: .badRequest, code: nil, message: "the path \(path) is not allowed")
                }
                segments.append(segment)
            }
        }
        return segments
    }

    /// The repo id of `segments`: one or two name-shaped segments (letters, digits, `-`, `_`, `.`).
    func repoID(_ parts: ArraySlice<String>) throws(Refusal) -> String {
        let repo = parts.joined(separator: "/")
        let valid =
            (1...2).contains(parts.count)
            && parts.allSatisfy { part in
                part.utf8.count <= 96 && !part.hasPrefix("-") && part != "." && part != ".."
                    && part.utf8.allSatisfy { byte in
                        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A)
                            || (byte >= 0x61 && byte <= 0x7A)
                            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
                    }
            }
        guard valid else {
            throw Refusal(status: .notFound, code: "RepoNotFound", message: "Repository Not Found for url: \(repo).")
        }
        return repo
    }

    /// The repo id of `segments`, present in the cache.
    func repo(_ parts: ArraySlice<String>) throws(Refusal) -> String {
        let repo = try repoID(parts)
        var isDirectory = false
        guard fileExists(cache.folder(of: repo), isDirectory: &isDirectory), isDirectory else {
            throw Refusal(status: .notFound, code: "RepoNotFound", message: "Repository Not Found for url: \(repo).")
        }
        return repo
    }

    func commit(_ repo: String, _ revision: String) throws(Refusal) -> String {
        guard let commit = cache.commit(repo: repo, revision: revision) else {
            throw Refusal(status: .notFound, code: "RevisionNotFound", message: "Invalid rev id: \(revision)")
        }
        return commit
    }

    /// A repo's commit at `revision` and its files as the tree lists them, by path: upstream's listing when there
    /// is an upstream (a file is then fetched when asked for), else the cache's files whose blobs are present (a
    /// link that leaves the cache is not listed).
    func listing(
        _ parts: ArraySlice<String>, _ revision: String
    ) async throws(Refusal)
        -> (repo: String, commit: String, files: [(String, JSONValue)])
    {
        let repo = try repoID(parts)
        do {
            if let (commit, files) = try await upstreamListing(repo, revision) {
                return (repo, commit, files.map { ($0.path, Self.entry($0)) })
            }
        } catch  where error.status != .notFound {
            // Upstream unreachable or failing: the cache answers what it can.
        }
        _ = try self.repo(parts)
        let commit = try commit(repo, revision)
        let paths = cache.snapshot(of: [repo], revision: commit)?.files ?? []
        return (repo, commit, paths.compactMap { path in entry(repo, commit, path).map { (path, $0) } })
    }

    /// `GET /api/models/{repo}[/revision/{revision}]`: the model's info as the Hub gives it; `…/tree/{revision}
    /// [/{path}]` lists files (and folders), recursively when asked.
    func info(_ parts: [String], query: String?, link: String) async throws(Refusal) -> Response {
        if let treeAt = parts.prefix(3).firstIndex(of: "tree"), treeAt >= 1 {
            let fields = (query ?? "").split(separator: "&").map { $0.split(separator: "=", maxSplits: 1) }
            let recursive = fields.contains { $0.first == "recursive" && ($0.last == "true" || $0.last == "1") }
            let cursor = fields.first { $0.first == "cursor" }.flatMap { $0.count == 2 ? Int($0[1]) : nil } ?? 0
            return try await tree(parts, at: treeAt, recursive: recursive, cursor: cursor, link: link)
        }
        let revisionAt = parts.firstIndex(of: "revision")
        var revision = "main"
        if let revisionAt {
            guard revisionAt + 2 == parts.count else {
                throw Refusal(
                    status: .notFound, code: nil, message: "no route for /api/models/\(parts.joined(separator: "/"))")
            }
            revision = parts[revisionAt + 1]
        }
        let (repo, commit, files) = try await listing(revisionAt.map { parts[..<$0] } ?? parts[...], revision)
        let siblings = files.map { JSONValue.object(JSONObject([("rfilename", .string($0.0))])) }
        let body = JSONObject([
            ("_id", .string(repo)), ("id", .string(repo)), ("modelId", .string(repo)), ("sha", .string(commit)),
            ("private", .bool(false)), ("disabled", .bool(false)), ("gated", .bool(false)), ("tags", .array([])),
            ("siblings", .array(siblings)),
        ])
        return .json(.object(body))
    }

    /// A cached file as the Hub lists it: size, the blob's name as `oid` — or, for an LFS file (its blob named by
    /// its SHA-256), `lfs` with that hash and `oid` the git id of the pointer file the Hub stores instead.
    func entry(_ repo: String, _ commit: String, _ path: String) -> JSONValue? {
        guard let (etag, size, _) = try? blob(repo, commit, path) else { return nil }
        var object = JSONObject([("type", .string("file")), ("path", .string(path)), ("size", .int(size))])
        if etag.utf8.count == 64 {
            let pointer = Self.lfsPointer(etag, size)
            let digest = SHA1()
            let header = Array("blob \(pointer.count)\0".utf8)
            header.withUnsafeBytes { digest.update($0) }
            pointer.withUnsafeBytes { digest.update($0) }
            object.append("oid", .string(digest.finalizeHex()))
            object.append(
                "lfs",
                .object(
                    JSONObject([("oid", .string(etag)), ("size", .int(size)), ("pointerSize", .int(pointer.count))])))
        } else {
            object.append("oid", .string(etag))
        }
        return .object(object)
    }

    static func directory(_ path: String) -> JSONValue {
        .object(
            JSONObject([
                ("type", .string("directory")), ("oid", .string("")), ("size", .int(0)), ("path", .string(path)),
            ]))
    }

    /// `GET /api/models/{repo}/tree/{revision}[/{path}][?recursive=true]`: one page holding every entry.
    ///
    /// Pages hold `treePageSize` entries from `cursor`; `link` is this listing's URL (without a cursor) for the
    /// next page's `Link` header.
    func tree(
        _ parts: [String], at index: Int, recursive: Bool, cursor: Int, link: String
    ) async throws(Refusal)
        -> Response
    {
        guard index + 1 < parts.count else {
            throw Refusal(status: .notFound, code: "RevisionNotFound", message: "no revision in the path")
        }
        let (_, commit, files) = try await listing(parts[..<index], parts[index + 1])
        let prefix = parts[(index + 2)...].joined(separator: "/")
        let under = prefix.isEmpty ? files : files.filter { $0.0.hasPrefix(prefix + "/") }
        guard prefix.isEmpty || !under.isEmpty else {
            throw Refusal(status: .notFound, code: "EntryNotFound", message: "\(prefix) does not exist at \(commit)")
        }
        var entries: [JSONValue] = []
        var folders = Set<String>()
        for (file, entry) in under.sorted(by: { $0.0 < $1.0 }) {
            let rest = prefix.isEmpty ? file : String(file.dropFirst(prefix.count + 1))
            let components = rest.split(separator: "/").map(String.init)
            // Folders on the way: every one when recursive, else the first level only.
            for depth in 1..<components.count where recursive || depth == 1 {
                let path = ((prefix.isEmpty ? [] : [prefix]) + components[..<depth]).joined(separator: "/")
                if folders.insert(path).inserted { entries.append(Self.directory(path)) }
            }
            if recursive || components.count == 1 { entries.append(entry) }
        }
        guard cursor >= 0, cursor <= entries.count else {
            throw Refusal(status: .badRequest, code: nil, message: "cursor \(cursor) is past the listing's end")
        }
        let end = Swift.min(entries.count, cursor + Swift.max(1, options.treePageSize))
        var response = Response.json(.array(Array(entries[cursor..<end])))
        if end < entries.count {
            let separator = link.contains("?") ? "&" : "?"
            if let name = HTTPField.Name("Link") {
                response.headers[name] = "<\(link)\(separator)cursor=\(end)>; rel=\"next\""
            }
        }
        return response
    }

    /// `POST /api/models/{repo}/paths-info/{revision}` with form fields `paths` (repeated): the entries of those
    /// paths that exist, as the tree lists them (folders as `directory`).
    func pathsInfo(_ parts: [String], at index: Int, form: String) async throws(Refusal) -> Response {
        guard index + 2 == parts.count else {
            throw Refusal(status: .notFound, code: "RevisionNotFound", message: "no revision in the path")
        }
        let (_, _, files) = try await listing(parts[..<index], parts[index + 1])
        let byPath = Dictionary(files, uniquingKeysWith: { first, _ in first })
        var entries: [JSONValue] = []
        for field in form.split(separator: "&") {
            let pair = field.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            guard pair.count == 2, pair[0] == "paths" || pair[0] == "paths[]" else { continue }
            let path = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            if let entry = byPath[path] {
                entries.append(entry)
            } else if !path.isEmpty, files.contains(where: { $0.0.hasPrefix(path + "/") }) {
                entries.append(Self.directory(path))
            }
        }
        return .json(.array(entries))
    }

    /// The blob behind `path` at `commit`: its name (the ETag), size and absolute path; the snapshot entry must
    /// resolve into this repo's blobs (a link that leaves them is not followed).
    func blob(_ repo: String, _ commit: String, _ relative: String) throws(Refusal) -> (String, Int, String) {
        let base = cache.folder(of: repo)
        let notFound = Refusal(
            status: .notFound, code: "EntryNotFound", message: "\(relative) does not exist at revision \(commit)")
        guard let resolved = realpath(base + "/snapshots/" + commit + "/" + relative, nil) else { throw notFound }
        let target = String(cString: resolved)
        free(resolved)
        guard let blobs = realpath(base + "/blobs", nil) else { throw notFound }
        let blobFolder = String(cString: blobs)
        free(blobs)
        guard target.hasPrefix(blobFolder + "/"), !target.dropFirst(blobFolder.count + 1).contains("/") else {
            throw notFound
        }
        var info = stat()
        guard stat(target, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { throw notFound }
        return (String(target.dropFirst(blobFolder.count + 1)), Int(info.st_size), target)
    }

    /// `HEAD`/`GET /{repo}/resolve/{revision}/{path}`.
    func resolve(_ parts: [String], at index: Int, head: Bool, range: String?) async throws(Refusal) -> Response {
        do {
            return try serve(parts, at: index, head: head, range: range)
        } catch  where error.status == .notFound && error.code != nil {
            // Not cached: fetched from upstream when there is one, then served from the cache like the rest.
            guard let client = upstream, index + 2 < parts.count else { throw error }
            let repo = try repoID(parts[..<index])
            do {
                try await fetch(client, repo, parts[index + 1], parts[(index + 2)...].joined(separator: "/"))
            } catch {
                throw Self.refusal(error)
            }
            return try serve(parts, at: index, head: head, range: range)
        }
    }

    /// A cached file, whole or a byte range.
    func serve(_ parts: [String], at index: Int, head: Bool, range: String?) throws(Refusal) -> Response {
        let repo = try repo(parts[..<index])
        guard index + 2 < parts.count else {
            throw Refusal(status: .notFound, code: "EntryNotFound", message: "no file named in the path")
        }
        let commit = try commit(repo, parts[index + 1])
        let (etag, size, target) = try blob(repo, commit, parts[(index + 2)...].joined(separator: "/"))
        var headers: HTTPFields = [
            .contentType: "application/octet-stream", .acceptRanges: "bytes", .eTag: "\"\(etag)\"",
        ]
        for (name, value) in [
            ("X-Repo-Commit", commit), ("X-Linked-Etag", "\"\(etag)\""), ("X-Linked-Size", String(size)),
        ] {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        var status = HTTPResponse.Status.ok
        var span = 0..<size
        if let range {
            guard let asked = Self.byteRange(range, size: size) else {
                throw Refusal(
                    status: .rangeNotSatisfiable, code: nil, message: "range \(range) of \(size) bytes",
                    headers: [.contentRange: "bytes */\(size)"])
            }
            span = asked
            status = .partialContent
            headers[.contentRange] = "bytes \(span.lowerBound)-\(span.upperBound - 1)/\(size)"
        }
        headers[.contentLength] = String(span.count)
        if head { return Response(status: status, headers: headers, body: ResponseBody()) }
        let (path, first, end) = (target, span.lowerBound, span.upperBound)
        let body = ResponseBody(contentLength: span.count) { writer in
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw Refusal(status: .notFound, code: nil, message: "cannot open the blob") }
            defer { close(descriptor) }
            var offset = first
            while offset < end {
                let count = Swift.min(Self.chunk, end - offset)
                var buffer = ByteBuffer()
                buffer.reserveCapacity(count)
                let read = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
                    Swift.max(0, pread(descriptor, raw.baseAddress, count, off_t(offset)))
                }
                guard read > 0 else { throw Refusal(status: .internalServerError, code: nil, message: "short read") }
                offset += read
                try await writer.write(buffer)
            }
            try await writer.finish(nil)
        }
        return Response(status: status, headers: headers, body: body)
    }

    /// One `bytes=` range of a file of `size` bytes (`a-b`, `a-`, `-n`), or nil when unsatisfiable or malformed.
    ///
    /// ```swift
    /// CacheMirror.byteRange("bytes=-10", size: 100)   // 90..<100
    /// ```
    public static func byteRange(_ header: String, size: Int) -> Range<Int>? {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return nil }
        let spec = header.dropFirst(6).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard spec.count == 2 else { return nil }
        let (first, last) = (Int(spec[0]), Int(spec[1]))
        if spec[0].isEmpty {
            guard let suffix = last, suffix > 0, size > 0 else { return nil }
            return Swift.max(0, size - suffix)..<size
        }
        guard let start = first, start >= 0, start < size else { return nil }
        if spec[1].isEmpty { return start..<size }
        guard let end = last, end >= start else { return nil }
        return start..<Swift.min(end, size - 1) + 1
    }
}

/// Every request of the mirror: route by path, answer or refuse in the Hub's shape.
struct MirrorResponder: RouterMiddleware {
    typealias Context = BasicRequestContext
    let mirror: CacheMirror

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    )
        async throws -> Response
    {
        do throws(CacheMirror.Refusal) {
            let head = request.method == .head
            let parts = try CacheMirror.segments(of: request.uri.path)
            if request.method == .post, parts.count >= 5, parts[0] == "api", parts[1] == "models",
                let index = parts.dropFirst(3).prefix(2).firstIndex(of: "paths-info")
            {
                // A form of paths: small, read whole up to 1 MiB.
                var request = request
                let body: ByteBuffer
                do {
                    body = try await request.collectBody(upTo: 1 << 20)
                } catch {
                    throw CacheMirror.Refusal(
                        status: .contentTooLarge, code: nil, message: "a paths-info form over 1 MiB")
                }
                return try await mirror.pathsInfo(
                    Array(parts.dropFirst(2)), at: index - 2, form: String(buffer: body))
            }
            guard head || request.method == .get else {
                throw CacheMirror.Refusal(
                    status: .methodNotAllowed, code: nil, message: "this mirror is read-only: \(request.method)")
            }
            if parts.count >= 3, parts[0] == "api", parts[1] == "models" {
                // The next page's URL: this one's, on the host the client used, without its cursor.
                let host = request.head.authority ?? mirror.options.host
                let query = (request.uri.query ?? "").split(separator: "&").filter { !$0.hasPrefix("cursor=") }
                let link =
                    "http://\(host)\(request.uri.path)" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
                return try await mirror.info(Array(parts.dropFirst(2)), query: request.uri.query, link: link)
            }
            if let index = parts.prefix(3).firstIndex(of: "resolve"), index >= 1 {
                return try await mirror.resolve(parts, at: index, head: head, range: request.headers[.range])
            }
            throw CacheMirror.Refusal(status: .notFound, code: nil, message: "no route \(request.uri.path)")
        } catch {
            return error.response
        }
    }
}

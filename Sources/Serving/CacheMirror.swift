import Foundation
import HTTPTypes
import Hub
import Hummingbird
import NIOCore
import Support

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

    /// A request path split into percent-decoded segments; `..`, `.`, empty inner segments, NUL and backslashes
    /// are refused (defence K7: nothing a request says names a path outside the cache).
    static func segments(of path: String) throws(Refusal) -> [String] {
        var segments: [String] = []
        for raw in path.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            guard let segment = String(raw).removingPercentEncoding else {
                throw Refusal(status: .badRequest, code: nil, message: "malformed percent-encoding in \(path)")
            }
            if segment.isEmpty { continue }
            guard segment != "..", segment != ".", !segment.contains("\0"), !segment.contains("\\") else {
                throw Refusal(status: .badRequest, code: nil, message: "the path \(path) is not allowed")
            }
            segments.append(segment)
        }
        return segments
    }

    /// The repo id of `segments` (one or two of them), checked and present in the cache.
    func repo(_ parts: ArraySlice<String>) throws(Refusal) -> String {
        let repo = parts.joined(separator: "/")
        let valid =
            (1...2).contains(parts.count)
            && parts.allSatisfy { part in
                part.utf8.count <= 96 && !part.hasPrefix("-")
                    && part.utf8.allSatisfy { byte in
                        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A)
                            || (byte >= 0x61 && byte <= 0x7A)
                            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
                    }
            }
        var isDirectory = false
        guard valid, fileExists(cache.folder(of: repo), isDirectory: &isDirectory), isDirectory else {
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

    /// `GET /api/models/{repo}[/revision/{revision}]`: the model's info as the Hub gives it, from the snapshot;
    /// `…/tree/{revision}[/{path}]` lists files (and folders), recursively when asked.
    func info(_ parts: [String], query: String?) throws(Refusal) -> Response {
        if let treeAt = parts.prefix(3).firstIndex(of: "tree"), treeAt >= 1 {
            return try tree(parts, at: treeAt, recursive: query?.contains("recursive=true") ?? false)
        }
        let revisionAt = parts.firstIndex(of: "revision")
        let repoParts = revisionAt.map { parts[..<$0] } ?? parts[...]
        let repo = try repo(repoParts)
        var revision = "main"
        if let revisionAt {
            guard revisionAt + 2 == parts.count else {
                throw Refusal(
                    status: .notFound, code: nil, message: "no route for /api/models/\(parts.joined(separator: "/"))")
            }
            revision = parts[revisionAt + 1]
        }
        let commit = try commit(repo, revision)
        // Only files whose blobs are in the cache (a link that leaves it is not listed either).
        let files = (cache.snapshot(of: [repo], revision: commit)?.files ?? []).filter {
            (try? blob(repo, commit, $0)) != nil
        }
        let siblings = files.map { JSONValue.object(JSONObject([("rfilename", .string($0))])) }
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
            let pointer = Array("version https://git-lfs.github.com/spec/v1\noid sha256:\(etag)\nsize \(size)\n".utf8)
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

    /// `GET /api/models/{repo}/tree/{revision}[/{path}][?recursive=true]`: one page holding every entry.
    func tree(_ parts: [String], at index: Int, recursive: Bool) throws(Refusal) -> Response {
        let repo = try repo(parts[..<index])
        guard index + 1 < parts.count else {
            throw Refusal(status: .notFound, code: "RevisionNotFound", message: "no revision in the path")
        }
        let commit = try commit(repo, parts[index + 1])
        let prefix = parts[(index + 2)...].joined(separator: "/")
        let files = cache.snapshot(of: [repo], revision: commit)?.files ?? []
        let under = prefix.isEmpty ? files : files.filter { $0.hasPrefix(prefix + "/") }
        guard prefix.isEmpty || !under.isEmpty else {
            throw Refusal(status: .notFound, code: "EntryNotFound", message: "\(prefix) does not exist at \(commit)")
        }
        var entries: [JSONValue] = []
        var folders = Set<String>()
        for file in under {
            let rest = prefix.isEmpty ? file : String(file.dropFirst(prefix.count + 1))
            let components = rest.split(separator: "/").map(String.init)
            // Folders on the way: every one when recursive, else the first level only.
            for depth in 1..<components.count where recursive || depth == 1 {
                let folder = (prefix.isEmpty ? [] : [prefix]) + components[..<depth]
                let path = folder.joined(separator: "/")
                if folders.insert(path).inserted {
                    entries.append(
                        .object(
                            JSONObject([
                                ("type", .string("directory")), ("oid", .string("")), ("size", .int(0)),
                                ("path", .string(path)),
                            ])))
                }
            }
            if recursive || components.count == 1, let entry = entry(repo, commit, file) { entries.append(entry) }
        }
        return .json(.array(entries))
    }

    /// `POST /api/models/{repo}/paths-info/{revision}` with form fields `paths` (repeated): the entries of those
    /// paths that exist, as the tree lists them (folders as `directory`).
    func pathsInfo(_ parts: [String], at index: Int, form: String) throws(Refusal) -> Response {
        let repo = try repo(parts[..<index])
        guard index + 2 == parts.count else {
            throw Refusal(status: .notFound, code: "RevisionNotFound", message: "no revision in the path")
        }
        let commit = try commit(repo, parts[index + 1])
        let files = cache.snapshot(of: [repo], revision: commit)?.files ?? []
        var entries: [JSONValue] = []
        for field in form.split(separator: "&") {
            let pair = field.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            guard pair.count == 2, pair[0] == "paths" || pair[0] == "paths[]" else { continue }
            let path = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            if files.contains(path), let entry = entry(repo, commit, path) {
                entries.append(entry)
            } else if !path.isEmpty, files.contains(where: { $0.hasPrefix(path + "/") }) {
                entries.append(
                    .object(
                        JSONObject([
                            ("type", .string("directory")), ("oid", .string("")), ("size", .int(0)),
                            ("path", .string(path)),
                        ])))
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
    func resolve(_ parts: [String], at index: Int, head: Bool, range: String?) throws(Refusal) -> Response {
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
    static func byteRange(_ header: String, size: Int) -> Range<Int>? {
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
                return try mirror.pathsInfo(
                    Array(parts.dropFirst(2)), at: index - 2, form: String(buffer: body))
            }
            guard head || request.method == .get else {
                throw CacheMirror.Refusal(
                    status: .methodNotAllowed, code: nil, message: "this mirror is read-only: \(request.method)")
            }
            if parts.count >= 3, parts[0] == "api", parts[1] == "models" {
                return try mirror.info(Array(parts.dropFirst(2)), query: request.uri.query)
            }
            if let index = parts.prefix(3).firstIndex(of: "resolve"), index >= 1 {
                return try mirror.resolve(parts, at: index, head: head, range: request.headers[.range])
            }
            throw CacheMirror.Refusal(status: .notFound, code: nil, message: "no route \(request.uri.path)")
        } catch {
            return error.response
        }
    }
}

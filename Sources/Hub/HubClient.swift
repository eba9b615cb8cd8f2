import Support

#if canImport(Glibc)
    import Glibc
#endif

/// A file of a repo at a commit, as the Hub's tree listing gives it.
///
/// ```swift
/// let (commit, files) = try client.listing(repo: "google-bert/bert-base-uncased", revision: "main")
/// files.map { ($0.path, $0.size, $0.etag) }
/// ```
public struct RemoteFile: Sendable, Equatable {
    /// Path inside the repo.
    public let path: String
    /// Size in bytes.
    public let size: Int64
    /// The git blob id (SHA-1 of `blob SIZE\0` followed by the bytes).
    public let blobID: String
    /// The SHA-256 of an LFS file (weights); nil for small files kept in git.
    public let lfsSHA256: String?

    public init(path: String, size: Int64, blobID: String, lfsSHA256: String?) {
        self.path = path
        self.size = size
        self.blobID = blobID
        self.lfsSHA256 = lfsSHA256
    }

    /// The name of its blob in the cache: the SHA-256 for LFS files, else the git blob id.
    public var etag: String { lfsSHA256 ?? blobID }
}

/// Talks to a Hugging Face Hub (or anything speaking its protocol) over libcurl.
///
/// Every request goes through `send`, which blocks them all in offline mode, follows redirects itself (at most 10;
/// only https, or http on loopback) and attaches the token only to the configured endpoint's origin.
///
/// ```swift
/// let client = HubClient(environment: .current())              // HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE, offline mode
/// let located = try client.locate("bert-base-uncased")         // cached, else pulled
/// print(located.path)
/// ```
public struct HubClient: Sendable {
    /// Endpoint, cache folder, offline flag and timeouts.
    public var environment: HubEnvironment
    /// Sent as `Authorization: Bearer` to the endpoint's origin only.
    public var token: String?
    /// Tries per request for 408, 429, 5xx and dropped connections (the Python client's 5).
    public var maxAttempts = 5
    /// First wait between tries in seconds, doubled each time up to `maxBackoff` (`Retry-After` wins when given).
    public var firstBackoff = 1.0
    /// The longest wait between tries, and the most of a `Retry-After` we honour.
    public var maxBackoff = 8.0
    /// Files downloaded at once.
    public var parallelDownloads = 4

    /// A client for `environment`, with `token` or else the environment's (`HF_TOKEN`, the token file).
    public init(environment: HubEnvironment, token: String? = nil) {
        self.environment = environment
        self.token = environment.token(explicit: token)
    }

    /// Whether requests may be sent to `url`, and with the token: only the endpoint's own scheme, host and port.
    func mayAuthorize(_ url: String) -> Bool {
        guard let target = URLOrigin(url), let endpoint = URLOrigin(environment.endpoint) else { return false }
        return target == endpoint
    }

    /// Sends one request and follows its redirects.
    ///
    /// `prepare` makes the exchange for each hop (the resume offset
    /// and sink belong to the caller). Returns the final response and the first hop's headers (the Hub's own:
    /// `X-Repo-Commit`, `X-Linked-Etag`, before any CDN).
    func send(
        _ url: String, head: Bool = false, resumeFrom: Int64 = 0, timeout: Int? = nil, sink: BodySink? = nil
    ) throws -> (response: HTTPExchange.Response, hubHeaders: [String: String]) {
        guard !environment.offline else { throw HubError.offline(url: url) }
        guard HTTPGlobal.isRecentEnough else {
            throw HubError.transfer(url: url, reason: "libcurl 7.83 or newer is needed (it keeps tokens on redirects)")
        }
        var current = url
        var hubHeaders: [String: String]?
        for _ in 0..<10 {
            guard let origin = URLOrigin(current), origin.isAllowed else {
                throw HubError.redirectRefused(url: current)
            }
            var exchange = HTTPExchange(url: current, head: head)
            exchange.connectTimeout = environment.metadataTimeout
            exchange.lowSpeedTime = timeout ?? environment.metadataTimeout
            exchange.resumeFrom = resumeFrom
            if let token, mayAuthorize(current) { exchange.headers.append("Authorization: Bearer " + token) }
            let response: HTTPExchange.Response
            do { response = try exchange.perform(sink: sink) } catch { throw error }
            if hubHeaders == nil { hubHeaders = response.headers }
            guard [301, 302, 303, 307, 308].contains(response.status), let next = response.redirectURL else {
                return (response, hubHeaders ?? [:])
            }
            current = next
        }
        throw HubError.http(url: url, status: 310, message: "more than 10 redirects")
    }

    /// Waits before another try: `Retry-After` when the server gave one (capped), else exponential backoff.
    func pause(attempt: Int, retryAfter: Int?) {
        let wait =
            retryAfter.map { min(Double($0), maxBackoff * 8) } ?? min(firstBackoff * Double(1 << attempt), maxBackoff)
        guard wait > 0 else { return }
        var spec = timespec(tv_sec: Int(wait), tv_nsec: Int((wait - wait.rounded(.down)) * 1e9))
        var left = timespec()
        while nanosleep(&spec, &left) != 0, errno == EINTR { spec = left }
    }

    /// Statuses worth another try.
    static func isRetryable(_ status: Int) -> Bool { [408, 429, 500, 502, 503, 504].contains(status) }

    /// The typed error for a failed answer about `repo` (the Hub's `X-Error-Code` first, then the status).
    func failure(
        _ response: HTTPExchange.Response, url: String, repo: String, revision: String, path: String? = nil
    ) -> HubError {
        switch (response.headers["x-error-code"], response.status) {
        case ("RepoNotFound", _) where response.status == 401: return .unauthorized(repo: repo, hadToken: token != nil)
        case ("RepoNotFound", _): return .repoNotFound(repo: repo)
        case ("RevisionNotFound", _): return .revisionNotFound(repo: repo, revision: revision)
        case ("EntryNotFound", _): return .fileNotFound(repo: repo, revision: revision, path: path ?? "")
        case (_, 401): return .unauthorized(repo: repo, hadToken: token != nil)
        case (_, 403): return .forbidden(repo: repo)
        case (_, 404):
            return path.map { .fileNotFound(repo: repo, revision: revision, path: $0) } ?? .repoNotFound(repo: repo)
        default:
            let text = String(decoding: response.body.prefix(200), as: UTF8.self)
            let message = (try? JSONParser.parse(response.body, maxDepth: 4).object?["error"]?.string) ?? text
            return .http(url: url, status: response.status, message: message.trimmed)
        }
    }

    /// A JSON answer from the API, retried like downloads.
    func getJSON(_ url: String, repo: String, revision: String) throws -> (JSONValue, [String: String]) {
        var attempt = 0
        while true {
            do {
                let (response, _) = try send(url)
                if response.status == 200 {
                    do {
                        return (try JSONParser.parse(response.body, maxDepth: 16), response.headers)
                    } catch {
                        throw HubError.badAnswer(url: url, reason: "\(error)")
                    }
                }
                guard Self.isRetryable(response.status), attempt + 1 < maxAttempts else {
                    throw failure(response, url: url, repo: repo, revision: revision)
                }
                pause(attempt: attempt, retryAfter: response.retryAfter)
            } catch let error as HTTPExchange.TransportError {
                guard error.isTransient, attempt + 1 < maxAttempts else {
                    throw HubError.transfer(url: url, reason: error.message)
                }
                pause(attempt: attempt, retryAfter: nil)
            }
            attempt += 1
        }
    }

    /// The commit a revision points to and every file of the repo there (the API's revision and tree answers).
    public func listing(repo: String, revision: String) throws -> (commit: String, files: [RemoteFile]) {
        let base = environment.endpoint + "/api/models/" + repo
        let infoURL = base + "/revision/" + Self.percentEncoded(revision, keepSlash: false)
        let (info, _) = try getJSON(infoURL, repo: repo, revision: revision)
        guard let commit = info.object?["sha"]?.string, HubCache.isCommit(commit) else {
            throw HubError.badAnswer(url: infoURL, reason: "no commit hash (\"sha\")")
        }
        var files: [RemoteFile] = []
        var next: String? = base + "/tree/" + commit + "?recursive=true&expand=false"
        var pages = 0
        while let url = next, pages < 1000 {
            pages += 1
            let (page, headers) = try getJSON(url, repo: repo, revision: revision)
            guard let entries = page.array else { throw HubError.badAnswer(url: url, reason: "not a JSON array") }
            for entry in entries {
                guard let object = entry.object, object["type"]?.string == "file" else { continue }
                guard let path = object["path"]?.string, CachePath.isSafeRelative(path),
                    let size = object["size"]?.integer, size >= 0, let oid = object["oid"]?.string,
                    CachePath.isEtag(oid)
                else { throw HubError.badAnswer(url: url, reason: "a file entry with a bad path, size or oid") }
                var sha256: String?
                if let lfs = object["lfs"]?.object {
                    guard let oid = lfs["oid"]?.string, oid.utf8.count == 64, CachePath.isEtag(oid),
                        lfs["size"]?.integer == size
                    else { throw HubError.badAnswer(url: url, reason: "\(path): a bad LFS oid or size") }
                    sha256 = oid
                }
                files.append(RemoteFile(path: path, size: Int64(size), blobID: oid, lfsSHA256: sha256))
            }
            next = headers["link"].flatMap(Self.nextLink).flatMap { mayAuthorize($0) ? $0 : nil }
        }
        return (commit, files.sorted { $0.path < $1.path })
    }

    /// The `rel="next"` target of a `Link` header (the tree API pages long listings).
    static func nextLink(_ header: String) -> String? {
        for part in header.split(separator: ",") where part.contains("rel=\"next\"") {
            guard let open = part.firstIndex(of: "<"), let close = part.firstIndex(of: ">"), open < close else {
                continue
            }
            return String(part[part.index(after: open)..<close])
        }
        return nil
    }

    /// Percent-encodes all but unreserved characters (and `/` in file paths), as the Python client quotes.
    static func percentEncoded(_ text: String, keepSlash: Bool) -> String {
        var out = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            if (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || "-._~".unicodeScalars.contains(scalar) || (keepSlash && byte == 0x2F)
            {
                out.unicodeScalars.append(scalar)
            } else {
                out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }

    /// `{endpoint}/{repo}/resolve/{revision}/{path}`.
    func fileURL(repo: String, revision: String, path: String) -> String {
        environment.endpoint + "/" + repo + "/resolve/" + Self.percentEncoded(revision, keepSlash: false) + "/"
            + Self.percentEncoded(path, keepSlash: true)
    }
}

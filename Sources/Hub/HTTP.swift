import CCurl

#if canImport(Glibc)
    import Glibc
#endif

/// One HTTP exchange over libcurl, with the policy docs/ARCHITECTURE.md (defences) asks for: no redirect followed by
/// libcurl (the caller decides, so the token goes only to the Hub's origin), http and https only, identity
/// encoding, connect and low-speed timeouts, resume through `CURLOPT_RESUME_FROM_LARGE` (which refuses a 200 or a
/// 206 starting elsewhere), and a body that is either kept (bounded) or streamed into a file descriptor.
struct HTTPExchange {
    /// The request.
    var url: String
    var head = false
    var headers: [String] = []
    /// Seconds to wait for a connection.
    var connectTimeout = 10
    /// Seconds without a byte arriving before the transfer is abandoned.
    ///
    /// Measured by us: libcurl's own low-speed
    /// check averages over a window of several seconds, so a burst followed by silence took 6 s longer to notice.
    var lowSpeedTime = 10
    /// Byte offset to resume from (streamed bodies only).
    var resumeFrom: Int64 = 0

    /// What came back: the status, headers of the last response (lowercased names), the kept body.
    struct Response {
        var status = 0
        var headers: [String: String] = [:]
        var body: [UInt8] = []
        /// The absolute target of a redirect, as libcurl resolved `Location`.
        var redirectURL: String?
        /// `Retry-After` in seconds (libcurl parses both forms: seconds and HTTP date).
        var retryAfter: Int?
    }

    /// A transfer that did not complete: libcurl's error code and message.
    struct TransportError: Error {
        let code: Int
        let message: String

        /// Failures worth another try: refused or reset connections, truncated bodies, timeouts, empty replies.
        var isTransient: Bool { [7, 18, 28, 52, 55, 56, 16, 92].contains(code) }
        /// The server did not honour the byte range asked for (CURLE_RANGE_ERROR).
        var isRangeError: Bool { code == 33 }
    }

    /// Performs the exchange.
    ///
    /// With a `sink`, a 2xx body is written there (and passed to `sink.consume`);
    /// other bodies are kept (at most 64 kB) for error messages.
    func perform(sink: BodySink? = nil) throws(TransportError) -> Response {
        HTTPGlobal.initialize()
        guard let handle = curl_easy_init() else { throw TransportError(code: 2, message: "curl_easy_init failed") }
        defer { curl_easy_cleanup(handle) }
        let state = TransferState(sink: sink, idleLimit: Double(lowSpeedTime))
        let context = Unmanaged.passUnretained(state).toOpaque()
        var list: UnsafeMutablePointer<curl_slist>?
        for header in headers + ["Accept-Encoding: identity", "Expect:"] { list = curl_slist_append(list, header) }
        defer { curl_slist_free_all(list) }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errors in
            mh_curl_setopt_string(handle, CURLOPT_URL, url)
            mh_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errors.baseAddress)
            mh_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
            mh_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
            mh_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
            mh_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, connectTimeout)
            mh_curl_setopt_long(handle, CURLOPT_NOPROGRESS, 0)
            mh_curl_setopt_xferinfo(handle, idleCallback)
            mh_curl_setopt_pointer(handle, CURLOPT_XFERINFODATA, context)
            mh_curl_setopt_long(handle, CURLOPT_BUFFERSIZE, 512 * 1024)
            mh_curl_setopt_string(handle, CURLOPT_USERAGENT, HTTPGlobal.userAgent)
            mh_curl_setopt_pointer(handle, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(list))
            mh_curl_setopt_header(handle, headerCallback)
            mh_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context)
            mh_curl_setopt_write(handle, writeCallback)
            mh_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
            if head { mh_curl_setopt_long(handle, CURLOPT_NOBODY, 1) }
            if resumeFrom > 0 { mh_curl_setopt_off(handle, CURLOPT_RESUME_FROM_LARGE, curl_off_t(resumeFrom)) }
            return withExtendedLifetime(state) { curl_easy_perform(handle) }
        }
        var response = Response()
        var status = 0
        mh_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        response.status = status
        response.headers = state.headers
        response.body = state.kept
        var location: UnsafeMutablePointer<CChar>?
        if mh_curl_getinfo_string(handle, CURLINFO_REDIRECT_URL, &location) == CURLE_OK, let location {
            response.redirectURL = String(cString: location)
        }
        var retryAfter: curl_off_t = 0
        if mh_curl_getinfo_off(handle, CURLINFO_RETRY_AFTER, &retryAfter) == CURLE_OK, retryAfter > 0 {
            response.retryAfter = Int(retryAfter)
        }
        if state.stalled {
            throw TransportError(
                code: Int(CURLE_OPERATION_TIMEDOUT.rawValue),
                message: "no data for \(lowSpeedTime) s (HF_HUB_DOWNLOAD_TIMEOUT)")
        }
        if let failure = state.failure { throw TransportError(code: Int(CURLE_WRITE_ERROR.rawValue), message: failure) }
        guard code == CURLE_OK else {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw TransportError(
                code: Int(code.rawValue), message: detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
        }
        return response
    }
}

/// Where a streamed body goes: a file descriptor, with a callback for hashing and progress.
final class BodySink {
    let descriptor: Int32
    /// Bytes beyond this total abort the transfer (a server sending more than the file's size).
    let limit: Int64
    /// Bytes written so far (including what was there before a resume).
    var written: Int64
    /// Called with every chunk after it is written.
    let consume: (UnsafeRawBufferPointer) -> Void

    init(descriptor: Int32, alreadyWritten: Int64, limit: Int64, consume: @escaping (UnsafeRawBufferPointer) -> Void) {
        self.descriptor = descriptor
        written = alreadyWritten
        self.limit = limit
        self.consume = consume
    }
}

/// libcurl's callbacks write into this (one per transfer, used from the thread that runs it).
private final class TransferState {
    let sink: BodySink?
    var status = 0
    var headers: [String: String] = [:]
    var kept: [UInt8] = []
    var failure: String?
    /// When the last byte (header or body) arrived, and how long silence may last.
    var lastActivity = monotonicSeconds()
    let idleLimit: Double
    var stalled = false

    init(sink: BodySink?, idleLimit: Double) {
        self.sink = sink
        self.idleLimit = idleLimit
    }

    /// Called by libcurl at least once a second: false (abort) after `idleLimit` seconds without a byte.
    func checkIdle() -> Bool {
        guard monotonicSeconds() - lastActivity > idleLimit else { return true }
        stalled = true
        return false
    }

    /// A body chunk: into the sink for a 2xx answer, else kept for the error message.
    func receive(_ chunk: UnsafeRawBufferPointer) -> Bool {
        lastActivity = monotonicSeconds()
        guard let sink, (200..<300).contains(status) else {
            kept.append(contentsOf: chunk.prefix(max(0, 65536 - kept.count)))
            return true
        }
        guard sink.written + Int64(chunk.count) <= sink.limit else {
            failure = "the server sent more than the \(sink.limit) bytes the file has"
            return false
        }
        var offset = 0
        while offset < chunk.count {
            let count = write(sink.descriptor, chunk.baseAddress.map { $0 + offset }, chunk.count - offset)
            if count < 0 {
                if errno == EINTR { continue }
                failure = "cannot write the download: " + String(cString: strerror(errno))
                return false
            }
            offset += count
        }
        sink.written += Int64(chunk.count)
        sink.consume(chunk)
        return true
    }

    /// A header line: a status line starts a new response (after a 100 Continue or a proxy's answer).
    func header(_ line: UnsafeRawBufferPointer) {
        lastActivity = monotonicSeconds()
        let text = String(decoding: line, as: UTF8.self).trimmed
        if text.hasPrefix("HTTP/") {
            headers = [:]
            status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
            return
        }
        guard let colon = text.firstIndex(of: ":") else { return }
        headers[text[..<colon].lowercased()] = String(text[text.index(after: colon)...]).trimmed
    }
}

// libcurl always passes back the context pointer it was given; without one the transfer is aborted.
private let writeCallback: curl_write_callback = { data, size, count, context in
    guard let context else { return 0 }
    let state = Unmanaged<TransferState>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    return state.receive(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
}

private let headerCallback: curl_write_callback = { data, size, count, context in
    guard let context else { return 0 }
    let state = Unmanaged<TransferState>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    state.header(UnsafeRawBufferPointer(start: data, count: length))
    return length
}

private let idleCallback: curl_xferinfo_callback = { context, _, _, _, _ in
    guard let context else { return 1 }
    let state = Unmanaged<TransferState>.fromOpaque(context).takeUnretainedValue()
    return state.checkIdle() ? 0 : 1
}

/// Seconds on the monotonic clock.
func monotonicSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

/// libcurl's process-wide setup, done once before the first transfer.
enum HTTPGlobal {
    private static let once: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    static func initialize() { _ = once }

    static let userAgent = "modelhub/0.1; " + (String(cString: curl_version()).split(separator: " ").first ?? "libcurl")

    /// libcurl drops a custom `Authorization` on a redirect to another host since 7.58 and to another port or
    /// scheme since 7.83; we follow redirects ourselves, but refuse older libraries all the same.
    static var isRecentEnough: Bool { curl_version_info(CURLVERSION_FIRST).pointee.version_num >= 0x07_53_00 }
}

/// The parts of a URL that decide where a token may go, parsed by libcurl's own URL parser (one parser for the
/// request and the check: defence H13).
struct URLOrigin: Equatable {
    let scheme: String
    let host: String
    let port: String

    init?(_ url: String) {
        guard let handle = curl_url() else { return nil }
        defer { curl_url_cleanup(handle) }
        guard curl_url_set(handle, CURLUPART_URL, url, 0) == CURLUE_OK else { return nil }
        func part(_ which: CURLUPart, _ flags: UInt32 = 0) -> String? {
            var value: UnsafeMutablePointer<CChar>?
            guard curl_url_get(handle, which, &value, flags) == CURLUE_OK, let value else { return nil }
            defer { curl_free(value) }
            return String(cString: value)
        }
        guard let scheme = part(CURLUPART_SCHEME), let host = part(CURLUPART_HOST),
            let port = part(CURLUPART_PORT, UInt32(CURLU_DEFAULT_PORT))
        else { return nil }
        self.scheme = scheme.lowercased()
        self.host = host.lowercased()
        self.port = port
    }

    /// Loopback hosts, where plain http is allowed (the tests' and demo's local Hub).
    var isLoopback: Bool { host == "localhost" || host.hasPrefix("127.") || host == "[::1]" }

    /// Whether a request may go there at all: https, or http to loopback.
    var isAllowed: Bool { scheme == "https" || (scheme == "http" && isLoopback) }
}

extension String {
    /// Without leading and trailing spaces, tabs, CR and LF (by scalar: "\r\n" is one Character).
    var trimmed: String {
        let blank: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !blank($0) }),
            let last = scalars.lastIndex(where: { !blank($0) })
        else { return "" }
        return String(scalars[first...last])
    }
}

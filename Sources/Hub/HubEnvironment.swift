import Support

#if canImport(Glibc)
    import Glibc
#endif

/// Where the Hub is and where its cache lives, read from the same environment variables as the Python client
/// (huggingface_hub/constants.py), so both use one cache.
///
/// ```swift
/// let environment = HubEnvironment(["HF_ENDPOINT": "http://127.0.0.1:8080", "HF_HUB_CACHE": "/tmp/hub"])
/// environment.cacheDirectory      // "/tmp/hub"
/// ```
public struct HubEnvironment: Sendable, Equatable {
    /// `HF_ENDPOINT`, default `https://huggingface.co`.
    public var endpoint: String
    /// `HF_HUB_CACHE`, else `HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`; `HF_HOME` defaults to
    /// `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`.
    public var cacheDirectory: String
    /// `HF_HOME` as resolved (the token file lives there).
    public var home: String
    /// `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE`) set to 1/ON/YES/TRUE: answer from the cache alone.
    public var offline: Bool
    /// `HF_TOKEN` (or the legacy `HUGGING_FACE_HUB_TOKEN`), when set and not empty.
    public var tokenVariable: String?
    /// `HF_TOKEN_PATH`, default `$HF_HOME/token` (what `huggingface-cli login` writes).
    public var tokenPath: String
    /// `HF_HUB_DOWNLOAD_TIMEOUT`: seconds without a byte before a download is abandoned (and retried); default 10.
    public var downloadTimeout: Int
    /// `HF_HUB_ETAG_TIMEOUT`: seconds to wait for a connection and for metadata answers; default 10.
    public var metadataTimeout: Int

    /// The values for an environment (normally `ProcessInfo.processInfo.environment`).
    public init(_ variables: [String: String]) {
        let user = variables["HOME"] ?? "/root"
        func path(_ value: String) -> String { value.hasPrefix("~/") ? user + value.dropFirst(1) : value }
        let home = path(variables["HF_HOME"] ?? ((variables["XDG_CACHE_HOME"] ?? user + "/.cache") + "/huggingface"))
        self.home = home
        cacheDirectory = path(variables["HF_HUB_CACHE"] ?? variables["HUGGINGFACE_HUB_CACHE"] ?? home + "/hub")
        endpoint = (variables["HF_ENDPOINT"] ?? "https://huggingface.co").trimmingTrailingSlashes
        let flag = (variables["HF_HUB_OFFLINE"] ?? variables["TRANSFORMERS_OFFLINE"] ?? "").uppercased()
        offline = ["1", "ON", "YES", "TRUE"].contains(flag)
        tokenVariable = [variables["HF_TOKEN"], variables["HUGGING_FACE_HUB_TOKEN"]].compactMap { $0 }
            .map(\.trimmed).first { !$0.isEmpty }
        tokenPath = path(variables["HF_TOKEN_PATH"] ?? home + "/token")
        downloadTimeout = variables["HF_HUB_DOWNLOAD_TIMEOUT"].flatMap { Int($0) }.map { max(1, $0) } ?? 10
        metadataTimeout = variables["HF_HUB_ETAG_TIMEOUT"].flatMap { Int($0) }.map { max(1, $0) } ?? 10
    }

    /// The values for this process's environment.
    public static func current() -> HubEnvironment { HubEnvironment(ProcessEnvironment.current) }

    /// The token to send to the Hub, in the Python client's order: `explicit` (`--token`), `HF_TOKEN`, then the
    /// token file; nil when there is none.
    public func token(explicit: String? = nil) -> String? {
        if let explicit, !explicit.trimmed.isEmpty { return explicit.trimmed }
        if let tokenVariable { return tokenVariable }
        guard let bytes = readSmallFile(tokenPath, limit: 4096) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).trimmed
        return text.isEmpty ? nil : text
    }
}

extension String {
    fileprivate var trimmingTrailingSlashes: String {
        var text = self
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }
}

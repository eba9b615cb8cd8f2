/// Where the Hub is and where its cache lives, read from the same environment variables as the Python client
/// (huggingface_hub/constants.py), so both use one cache.
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
    }
}

extension String {
    fileprivate var trimmingTrailingSlashes: String {
        var text = self
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }
}

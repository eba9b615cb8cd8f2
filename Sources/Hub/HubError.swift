/// Why a hub operation failed, printable as one line naming the model or file.
///
/// ```swift
/// do { _ = try client.locate("bert-base-uncase") } catch { print(error) }   // "… did you mean bert-base-uncased"
/// ```
public enum HubError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A name that is no local path, catalog name or alias, nor a valid `org/name` repo id.
    case unknownModel(name: String, suggestions: [String])
    /// A model that is not in the local Hugging Face cache (and nothing may be downloaded).
    case notCached(name: String, repo: String, revision: String, cache: String)
    /// `hub rm` of a name with nothing in the cache.
    case notInCache(name: String, cache: String)
    /// Offline mode found the snapshot but not every file a pull would fetch.
    case missingFiles(repo: String, commit: String, files: [String], cache: String)
    /// The embedded catalog does not parse (a build defect, caught by the tests).
    case badCatalog(reason: String)
    /// A request was about to be sent while `HF_HUB_OFFLINE` or `--offline` forbids the network.
    case offline(url: String)
    /// 401: no token, or the repo is private or gated.
    case unauthorized(repo: String, hadToken: Bool)
    /// 403: the token has no access (a gated repo whose terms are not accepted, a token without read access).
    case forbidden(repo: String)
    /// 404 for the repo itself.
    case repoNotFound(repo: String)
    /// 404 for a branch, tag or commit.
    case revisionNotFound(repo: String, revision: String)
    /// 404 for one file of an existing repo.
    case fileNotFound(repo: String, revision: String, path: String)
    /// Another HTTP status after the retries ran out.
    case http(url: String, status: Int, message: String)
    /// The transfer itself failed (connection, timeout, TLS) after the retries ran out.
    case transfer(url: String, reason: String)
    /// A redirect to a scheme or host that is not allowed (only https, or http on loopback).
    case redirectRefused(url: String)
    /// The downloaded bytes are not the file the Hub lists (wrong size or digest); nothing was kept.
    case corruptDownload(path: String, reason: String)
    /// A server answer that does not make sense (bad JSON, unsafe file names, a commit that is no hash).
    case badAnswer(url: String, reason: String)
    /// A file system operation in the cache failed.
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .unknownModel(let name, let suggestions):
            let hint = suggestions.isEmpty ? "" : "; did you mean " + suggestions.joined(separator: ", ") + "?"
            return "\(name): not a local path, a catalog name (hub search) or an org/name repo id\(hint)"
        case .notCached(let name, let repo, let revision, let cache):
            return "\(name): \(repo) at revision \(revision) is not in the Hugging Face cache \(cache); "
                + "download it first (hub pull \(name))"
        case .notInCache(let name, let cache):
            return "\(name): nothing cached under this name in \(cache) (hub ls lists what is)"
        case .missingFiles(let repo, let commit, let files, let cache):
            return "\(repo)@\(commit.prefix(7)): offline, and the cache \(cache) lacks "
                + files.joined(separator: ", ")
        case .badCatalog(let reason):
            return "registry/models.json: \(reason)"
        case .offline(let url):
            return "offline mode (HF_HUB_OFFLINE or --offline): not fetching \(url)"
        case .unauthorized(let repo, let hadToken):
            return hadToken
                ? "\(repo): the Hub refused the token (HTTP 401); check HF_TOKEN, --token or the token file"
                : "\(repo): the Hub asks for a token (HTTP 401): the repo is private or gated, or does not exist; "
                    + "set HF_TOKEN or pass --token"
        case .forbidden(let repo):
            return "\(repo): access denied (HTTP 403): the token has no access to this gated or private repo; "
                + "accept its terms on the Hub and check the token's permissions"
        case .repoNotFound(let repo):
            return "\(repo): no such repo on the Hub (HTTP 404)"
        case .revisionNotFound(let repo, let revision):
            return "\(repo): no revision '\(revision)' (HTTP 404)"
        case .fileNotFound(let repo, let revision, let path):
            return "\(repo)@\(revision): no file '\(path)' (HTTP 404)"
        case .http(let url, let status, let message):
            return "\(url): HTTP \(status)" + (message.isEmpty ? "" : ": " + message)
        case .transfer(let url, let reason):
            return "\(url): \(reason)"
        case .redirectRefused(let url):
            return "refused a redirect to \(url) (only https, or http on loopback, is followed)"
        case .corruptDownload(let path, let reason):
            return "\(path): \(reason); the download was discarded"
        case .badAnswer(let url, let reason):
            return "\(url): unexpected answer: \(reason)"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}

/// Why a hub operation failed, printable as one line naming the model or file.
public enum HubError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A name that is no local path, catalog name or alias, nor a valid `org/name` repo id.
    case unknownModel(name: String, suggestions: [String])
    /// A model that is not in the local Hugging Face cache (and nothing may be downloaded).
    case notCached(name: String, repo: String, revision: String, cache: String)
    /// The embedded catalog does not parse (a build defect, caught by the tests).
    case badCatalog(reason: String)

    public var description: String {
        switch self {
        case .unknownModel(let name, let suggestions):
            let hint = suggestions.isEmpty ? "" : "; did you mean " + suggestions.joined(separator: ", ") + "?"
            return "\(name): not a local path, a catalog name (hub search) or an org/name repo id\(hint)"
        case .notCached(let name, let repo, let revision, let cache):
            return "\(name): \(repo) at revision \(revision) is not in the Hugging Face cache \(cache); "
                + "download it first (e.g. huggingface-cli download \(repo))"
        case .badCatalog(let reason):
            return "registry/models.json: \(reason)"
        }
    }
}

import Support

/// A model the catalog knows by a short name: where it lives on the Hub and what ModelHub does with it.
///
/// ```swift
/// let entry = try Registry.builtIn().entry(named: "minilm")
/// entry?.repo                    // "sentence-transformers/all-MiniLM-L6-v2"
/// ```
public struct CatalogEntry: Sendable, Equatable {
    /// The short name users type (`bert-base-uncased`).
    public let name: String
    /// The canonical Hub repo id (`google-bert/bert-base-uncased`).
    public let repo: String
    /// Other names that resolve to it.
    public let aliases: [String]
    /// The transformers `model_type` (`bert`, `gpt2`, `roberta`, `distilbert`).
    public let architecture: String
    /// Whether ModelHub runs this architecture.
    public let supported: Bool
    /// `hub run` / `hub generate` tasks it suits.
    public let tasks: [String]
    public let license: String
    /// Approximate size, as model cards state it (`110M`).
    public let parameters: String
    /// Files fetched besides the weights (config, tokenizer, sentence-transformers files).
    public let files: [String]
    public let description: String
}

/// The model catalog (registry/models.json, embedded): short names, aliases and what to fetch.
///
/// Resolution order for what a user types: an existing local path, a catalog name or alias, an `org/name` repo id;
/// anything else is an error listing the closest names.
///
/// ```swift
/// let registry = try Registry.builtIn()
/// registry.search("roberta").map(\.name)    // ["roberta-base", "roberta-large", "distilroberta-base"]
/// ```
public struct Registry: Sendable {
    /// What a model name resolved to.
    public enum Resolution: Equatable, Sendable {
        /// A file or folder on disk, used as is.
        case local(path: String)
        /// A catalog model.
        case catalog(CatalogEntry)
        /// A Hub repo id not in the catalog.
        case repo(String)
    }

    /// The catalog's models, in catalog order.
    public let entries: [CatalogEntry]
    /// Weight files in order of preference (the first one a repo has is fetched).
    public let weightPreference: [String]

    /// The catalog built into this binary (the tests parse the same text, so it does not fail in a release).
    public static func builtIn() throws -> Registry {
        try Registry(json: Array(catalogJSON.utf8))
    }

    /// Parses a catalog in the registry/models.json format.
    public init(json: [UInt8]) throws {
        let root: JSONObject
        do {
            guard let object = try JSONParser.parse(json, maxDepth: 8).object else {
                throw HubError.badCatalog(reason: "not a JSON object")
            }
            root = object
        } catch let error as JSONParser.Failure {
            throw HubError.badCatalog(reason: error.description)
        }
        guard let weights = root["weights"]?.array?.compactMap(\.string), !weights.isEmpty,
            let models = root["models"]?.array
        else { throw HubError.badCatalog(reason: "needs \"weights\" and \"models\" arrays") }
        var entries: [CatalogEntry] = []
        var names = Set<String>()
        for model in models {
            guard let object = model.object, let name = object["name"]?.string, let repo = object["repo"]?.string,
                Self.isRepoID(repo), let architecture = object["architecture"]?.string,
                case .bool(let supported) = object["supported"], let license = object["license"]?.string
            else {
                throw HubError.badCatalog(
                    reason: "an entry lacks name, a valid repo, architecture, supported or license")
            }
            let strings = { (key: String) in object[key]?.array?.compactMap(\.string) ?? [] }
            let entry = CatalogEntry(
                name: name, repo: repo, aliases: strings("aliases"), architecture: architecture, supported: supported,
                tasks: strings("tasks"), license: license, parameters: object["parameters"]?.string ?? "",
                files: strings("files"), description: object["description"]?.string ?? "")
            for key in [name, repo] + entry.aliases where !names.insert(key.lowercased()).inserted {
                throw HubError.badCatalog(reason: "'\(key)' names two models")
            }
            entries.append(entry)
        }
        self.entries = entries
        weightPreference = weights
    }

    /// The entry whose name, alias or repo id is `name` (ignoring case, as the Hub does).
    public func entry(named name: String) -> CatalogEntry? {
        let key = name.lowercased()
        return entries.first { entry in
            ([entry.name, entry.repo] + entry.aliases).contains { $0.lowercased() == key }
        }
    }

    /// Resolves what a user typed; `pathExists` decides whether it names something on disk.
    public func resolve(_ name: String, pathExists: (String) -> Bool) throws -> Resolution {
        if pathExists(name) { return .local(path: name) }
        if let entry = entry(named: name) { return .catalog(entry) }
        if Self.isRepoID(name) { return .repo(name) }
        throw HubError.unknownModel(name: name, suggestions: closestNames(to: name))
    }

    /// Catalog models matching every word of `query` in their name, repo, aliases, architecture, tasks or
    /// description (ignoring case); name matches first.
    public func search(_ query: String) -> [CatalogEntry] {
        let words = query.lowercased().split(whereSeparator: { $0 == " " }).map(String.init)
        let matches = entries.filter { entry in
            let text = ([entry.name, entry.repo, entry.architecture, entry.description] + entry.aliases + entry.tasks)
                .joined(separator: " ").lowercased()
            return words.allSatisfy { text.contains($0) }
        }
        let inName = matches.filter { entry in words.allSatisfy { entry.name.lowercased().contains($0) } }
        return inName + matches.filter { !inName.contains($0) }
    }

    /// Up to `limit` catalog names closest to `name` by edit distance (only reasonably close ones).
    public func closestNames(to name: String, limit: Int = 3) -> [String] {
        let key = Array(name.lowercased().unicodeScalars)
        let scored = entries.flatMap { entry in [entry.name, entry.repo] + entry.aliases }.map { candidate in
            (candidate, Self.editDistance(key, Array(candidate.lowercased().unicodeScalars)))
        }
        let threshold = max(2, key.count / 3)
        var seen = Set<String>()
        return scored.filter { $0.1 <= threshold }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.map(\.0)
            .filter { seen.insert($0).inserted }.prefix(limit).map { $0 }
    }

    /// Whether `text` is a valid `org/name` repo id (the Hub's rules: letters, digits, `-`, `_`, `.`; no `--` or
    /// `..`; no leading or trailing `-` or `.`; at most 96 characters).
    public static func isRepoID(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, text.utf8.count <= 96 else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && !part.contains("--") && !part.contains("..")
                && !["-", "."].contains(where: { part.hasPrefix($0) || part.hasSuffix($0) })
                && part.unicodeScalars.allSatisfy {
                    $0.isASCII
                        && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0))
                }
        }
    }

    /// Levenshtein distance over Unicode scalars.
    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        guard !a.isEmpty else { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

import Formats
import Hub
import Tokenizers

extension AutoTokenizer {
    /// The tokenizer of a model folder or an `.mhub` file (the tokenizer files it carries).
    ///
    /// ```swift
    /// let tokenizer = try AutoTokenizer.fromPretrained("bert.mhub")
    /// tokenizer.encode("Hello there!").ids
    /// ```
    public static func fromPretrained(_ path: String) throws -> Tokenizer {
        guard path.hasSuffix(".mhub") else { return try fromFolder(path) }
        let file = try MHubFile(path: path)
        return try fromFiles(path: path) { name in try file.fileBytes(name)?.array }
    }

    /// The tokenizer of a model folder, `.mhub` file, or model name (`bert-base-uncased`, `org/name`): a name is
    /// read from the Hugging Face cache, its tokenizer files downloaded first when missing (not offline).
    public static func fromPretrained(
        _ model: String, revision: String = "main", client: HubClient = HubClient(environment: .current())
    ) async throws -> Tokenizer {
        let load: (String) throws -> Tokenizer = fromPretrained  // the synchronous one, for folders and files
        return try load(
            try client.locate(model, revision: revision, selection: .tokenizer).path)
    }
}

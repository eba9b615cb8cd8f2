import Support

/// Finds and builds the tokenizer of a model folder, as transformers' AutoTokenizer does.
///
/// (An `.mhub` file's tokenizer, and tokenizers by model name, come through Models' `AutoTokenizer.fromPretrained`,
/// which reads those and then calls `fromFiles`.)
///
/// ```swift
/// let tokenizer = try AutoTokenizer.fromFolder("Tests/Fixtures/models/tiny-gpt2")   // tokenizer.json, vocab.json…
/// ```
public enum AutoTokenizer {
    /// The tokenizer of a model folder: `tokenizer.json` when present, else `vocab.json` + `merges.txt`, else
    /// `vocab.txt` with `tokenizer_config.json`'s `do_lower_case`, `strip_accents` and `tokenize_chinese_chars`.
    public static func fromFolder(_ path: String) throws -> Tokenizer {
        var isFolder = false
        guard fileExists(path, isDirectory: &isFolder), isFolder else {
            throw TokenizerError.file(path: path, reason: "not a model folder or an .mhub file")
        }
        return try fromFiles(path: path) { name in
            fileExists(path + "/" + name) ? try Tokenizer.readFile(path + "/" + name) : nil
        }
    }

    /// The tokenizer of the files `read` gives by name (nil for a file there is not), in the order `fromFolder`
    /// looks for them; `path` names the folder or file they come from in errors.
    public static func fromFiles(path: String, read: (String) throws -> [UInt8]?) throws -> Tokenizer {
        if let json = try read("tokenizer.json") {
            return try Tokenizer.load(json: json, path: path + "/tokenizer.json")
        }
        let config = try read("tokenizer_config.json").flatMap { try? JSONParser.parse($0, maxDepth: 32).object }
        if let merges = try read("merges.txt"), let vocabulary = try read("vocab.json") {
            let model = try read("config.json").flatMap { try? JSONParser.parse($0, maxDepth: 32).object }
            let family = (config?["tokenizer_class"]?.string ?? model?["model_type"]?.string ?? "").lowercased()
            var prefixSpace = false
            if case .bool(let flag) = config?["add_prefix_space"] { prefixSpace = flag }
            return try Tokenizer.byteLevelBPE(
                vocabulary: vocabulary, merges: merges, paths: (path + "/vocab.json", path + "/merges.txt"),
                style: family.contains("roberta") ? .roberta : .gpt2, addPrefixSpace: prefixSpace)
        }
        guard let vocabulary = try read("vocab.txt") else {
            throw TokenizerError.file(path: path, reason: "no tokenizer.json, vocab.txt, or vocab.json with merges.txt")
        }
        var lowercase = true
        var stripAccents: Bool?
        var chinese = true
        if let bytes = try read("tokenizer_config.json") {
            let configPath = path + "/tokenizer_config.json"
            guard let config = (try? JSONParser.parse(bytes, maxDepth: 32))?.object else {
                throw TokenizerError.file(path: configPath, reason: "not a JSON object")
            }
            if case .bool(let flag) = config["do_lower_case"] { lowercase = flag }
            if case .bool(let flag) = config["strip_accents"] { stripAccents = flag }
            if case .bool(let flag) = config["tokenize_chinese_chars"] { chinese = flag }
        }
        return try Tokenizer.bert(
            vocabulary: vocabulary, path: path + "/vocab.txt", lowercase: lowercase, stripAccents: stripAccents,
            handleChineseChars: chinese)
    }
}

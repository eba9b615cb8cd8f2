import Foundation
import Support

extension Tokenizer {
    /// The most a tokenizer file may hold (the largest multilingual tokenizer.json files are about 20 MB).
    static let maxFileBytes = 256 << 20

    /// Reads a `tokenizer.json` (the Hugging Face tokenizers format).
    ///
    /// The WordPiece, BPE, WordLevel and Unigram models with the normalizers, pre-tokenizers, post-processors and
    /// decoders README.md lists (BERT's, GPT-2's and RoBERTa's, and the SentencePiece family's); any other part is
    /// refused by name.
    public static func load(file path: String) throws(TokenizerError) -> Tokenizer {
        try load(json: try readFile(path), path: path)
    }

    /// Reads `tokenizer.json` bytes; `path` names them in errors.
    public static func load(json bytes: [UInt8], path: String) throws(TokenizerError) -> Tokenizer {
        let document = try TokenizerDocument(bytes, path: path)
        let root = document.root
        let reader = JSONReader(path: path)
        guard let model = document.model else { throw TokenizerError.file(path: path, reason: "no \"model\"") }
        let hasVocabulary = document.vocabulary != nil || model["vocab"]?.object != nil
        let hasMerges = document.merges != nil || model["merges"] != nil
        let type =
            model["type"]?.string
            ?? (document.pieces != nil ? "Unigram" : hasVocabulary ? (hasMerges ? "BPE" : "WordPiece") : "?")
        guard ["WordPiece", "BPE", "WordLevel", "Unigram"].contains(type) else {
            throw TokenizerError.unsupported(path: path, what: "the \(type) model")
        }
        let subwords: Tokenizer.Model
        do throws(TokenizerError) {
            if type == "Unigram" {
                subwords = .unigram(try reader.unigram(model, pieces: document.pieces))
            } else {
                guard let table = document.vocabulary else {
                    throw TokenizerError.file(path: path, reason: "model.vocab is not an object")
                }
                if type == "BPE" {
                    subwords = .bpe(try reader.bpe(model, vocabulary: table, merges: document.merges))
                } else if type == "WordLevel" {
                    subwords = .wordLevel(
                        try WordLevel(
                            table: table, unknownToken: try reader.string(model, "unk_token", default: "<unk>")))
                } else {
                    let unknown = try reader.string(model, "unk_token", default: "[UNK]")
                    let prefix = try reader.string(model, "continuing_subword_prefix", default: "##")
                    let maxChars = try reader.integer(model, "max_input_chars_per_word", default: 100)
                    subwords = .wordPiece(
                        try WordPiece(
                            table: table, unknownToken: unknown, continuingPrefix: prefix,
                            maxInputCharsPerWord: maxChars))
                }
            }
        } catch {
            throw error.description.hasPrefix(path) ? error : TokenizerError.file(path: path, reason: error.description)
        }
        let added = try (root["added_tokens"]?.array ?? []).map { value throws(TokenizerError) -> AddedToken in
            guard let object = value.object, let content = object["content"]?.string,
                let id = object["id"]?.nonNegativeInteger(limit: Int(Int32.max))
            else { throw TokenizerError.file(path: path, reason: "added_tokens: an entry lacks content or a valid id") }
            return AddedToken(
                content: content, id: Int32(id), special: try reader.bool(object, "special", default: false),
                singleWord: try reader.bool(object, "single_word", default: false),
                lstrip: try reader.bool(object, "lstrip", default: false),
                rstrip: try reader.bool(object, "rstrip", default: false),
                normalized: try reader.bool(object, "normalized", default: false))
        }
        let normalizer = try reader.normalizer(root["normalizer"])
        let preTokenizer = try reader.preTokenizer(root["pre_tokenizer"])
        let (template, trim) = try reader.postProcessor(root["post_processor"])
        let decoder = try reader.decoder(root["decoder"])
        var tokenizer: Tokenizer
        do {
            tokenizer = try Tokenizer(
                normalizer: normalizer, preTokenizer: preTokenizer, model: subwords, addedTokens: added,
                template: template, trimOffsets: trim, decoder: decoder)
        } catch {
            throw TokenizerError.file(path: path, reason: error.description)
        }
        tokenizer.truncation = try reader.truncation(root["truncation"])
        tokenizer.padding = try reader.padding(root["padding"])
        return tokenizer
    }

    /// A BERT tokenizer from `vocab.txt`, as transformers' BertTokenizerFast builds one: BertNormalizer, BertPreTokenizer,
    /// WordPiece, `[CLS] A [SEP] (B [SEP])`, the WordPiece decoder, and `[PAD] [UNK] [CLS] [SEP] [MASK]` as special tokens.
    public static func bert(
        vocabulary path: String, lowercase: Bool = true, stripAccents: Bool? = nil, handleChineseChars: Bool = true
    ) throws(TokenizerError) -> Tokenizer {
        try bert(
            vocabulary: try readFile(path), path: path, lowercase: lowercase, stripAccents: stripAccents,
            handleChineseChars: handleChineseChars)
    }

    /// A BERT tokenizer from `vocab.txt` bytes; `path` names them in errors.
    public static func bert(
        vocabulary bytes: [UInt8], path: String, lowercase: Bool = true, stripAccents: Bool? = nil,
        handleChineseChars: Bool = true
    ) throws(TokenizerError) -> Tokenizer {
        let table = try WordPiece.readTable(bytes, path: path)
        var added: [AddedToken] = []
        for name in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] {
            guard let id = table.id(name) else { continue }
            added.append(AddedToken(content: name, id: id, special: true))
        }
        guard let cls = table.id("[CLS]"), let sep = table.id("[SEP]") else {
            throw TokenizerError.file(path: path, reason: "the vocabulary lacks [CLS] or [SEP]")
        }
        do {
            let model = try WordPiece(
                table: table, unknownToken: "[UNK]", continuingPrefix: "##", maxInputCharsPerWord: 100)
            return try Tokenizer(
                normalizer: .bert(
                    BertNormalizer(
                        handleChineseChars: handleChineseChars, stripAccents: stripAccents, lowercase: lowercase)),
                model: .wordPiece(model), addedTokens: added, template: .bert(cls: ("[CLS]", cls), sep: ("[SEP]", sep)))
        } catch {
            throw TokenizerError.file(path: path, reason: error.description)
        }
    }

    /// The bytes of a file, refusing more than `maxFileBytes`.
    static func readFile(_ path: String) throws(TokenizerError) -> [UInt8] {
        switch readWholeFile(path, limit: maxFileBytes) {
        case .success(let bytes): return bytes
        case .failure(let failure): throw TokenizerError.file(path: path, reason: failure.reason)
        }
    }
}

/// Typed access to tokenizer.json fields, with errors naming the file and the field.
private struct JSONReader {
    let path: String

    func string(_ object: JSONObject, _ key: String, default value: String) throws(TokenizerError) -> String {
        guard let field = object[key], field != .null else { return value }
        guard let text = field.string else { throw TokenizerError.file(path: path, reason: "\(key) is not a string") }
        return text
    }

    func integer(_ object: JSONObject, _ key: String, default value: Int) throws(TokenizerError) -> Int {
        guard let field = object[key], field != .null else { return value }
        guard let number = field.nonNegativeInteger(limit: 1 << 30) else {
            throw TokenizerError.file(path: path, reason: "\(key) is not a non-negative integer")
        }
        return number
    }

    func bool(_ object: JSONObject, _ key: String, default value: Bool) throws(TokenizerError) -> Bool {
        guard let field = object[key], field != .null else { return value }
        guard case .bool(let flag) = field else {
            throw TokenizerError.file(path: path, reason: "\(key) is not a boolean")
        }
        return flag
    }

    func truncation(_ value: JSONValue?) throws(TokenizerError) -> Truncation? {
        guard let value, value != .null else { return nil }
        guard let object = value.object else {
            throw TokenizerError.file(path: path, reason: "truncation is not an object")
        }
        let strategy: Truncation.Strategy
        switch try string(object, "strategy", default: "LongestFirst") {
        case "LongestFirst": strategy = .longestFirst
        case "OnlyFirst": strategy = .onlyFirst
        case "OnlySecond": strategy = .onlySecond
        case let other: throw TokenizerError.file(path: path, reason: "truncation.strategy \(other) is unknown")
        }
        return Truncation(
            maxLength: try integer(object, "max_length", default: 512), strategy: strategy,
            direction: try string(object, "direction", default: "Right") == "Left" ? .left : .right,
            stride: try integer(object, "stride", default: 0))
    }

    func padding(_ value: JSONValue?) throws(TokenizerError) -> Padding? {
        guard let value, value != .null else { return nil }
        guard let object = value.object else {
            throw TokenizerError.file(path: path, reason: "padding is not an object")
        }
        var length = Padding.Length.longest
        if let fixed = object["strategy"]?.object?["Fixed"] {
            guard let size = fixed.nonNegativeInteger(limit: 1 << 30) else {
                throw TokenizerError.file(path: path, reason: "padding.strategy.Fixed is not a non-negative integer")
            }
            length = .fixed(size)
        }
        let multiple = try integer(object, "pad_to_multiple_of", default: 0)
        return Padding(
            length: length, left: try string(object, "direction", default: "Right") == "Left",
            multipleOf: multiple > 0 ? multiple : nil,
            padID: Int32(try integer(object, "pad_id", default: 0)),
            padTypeID: Int32(try integer(object, "pad_type_id", default: 0)),
            padToken: try string(object, "pad_token", default: "[PAD]"))
    }

    func normalizer(_ value: JSONValue?) throws(TokenizerError) -> Normalizer? {
        guard let value, value != .null else { return nil }
        guard let object = value.object, let type = object["type"]?.string else {
            throw TokenizerError.file(path: path, reason: "normalizer has no type")
        }
        switch type {
        case "BertNormalizer":
            var strip: Bool?
            if let field = object["strip_accents"], field != .null {
                strip = try bool(object, "strip_accents", default: false)
            }
            return .bert(
                BertNormalizer(
                    cleanText: try bool(object, "clean_text", default: true),
                    handleChineseChars: try bool(object, "handle_chinese_chars", default: true), stripAccents: strip,
                    lowercase: try bool(object, "lowercase", default: true)))
        case "Sequence":
            guard let list = object["normalizers"]?.array else {
                throw TokenizerError.file(path: path, reason: "normalizer Sequence has no normalizers list")
            }
            var steps: [Normalizer] = []
            for item in list {
                guard let step = try normalizer(item) else { continue }
                steps.append(step)
            }
            return .sequence(steps)
        case "Precompiled":
            guard let field = object["precompiled_charsmap"], field != .null else {
                return .precompiled(try charsmap([]))
            }
            guard let text = field.string, let bytes = Data(base64Encoded: text) else {
                throw TokenizerError.file(path: path, reason: "precompiled_charsmap is not base64")
            }
            return .precompiled(try charsmap(Array(bytes)))
        case "Replace":
            return .replace(
                try pattern(object, "normalizer Replace"), content: try string(object, "content", default: ""))
        case "Strip":
            return .strip(
                left: try bool(object, "strip_left", default: true),
                right: try bool(object, "strip_right", default: true))
        case "Prepend":
            return .prepend(try string(object, "prepend", default: ""))
        case "Lowercase": return .lowercase
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        default:
            throw TokenizerError.unsupported(path: path, what: "normalizer \(type)")
        }
    }

    func charsmap(_ bytes: [UInt8]) throws(TokenizerError) -> PrecompiledCharsmap {
        do { return try PrecompiledCharsmap(bytes) } catch {
            throw TokenizerError.file(path: path, reason: error.description)
        }
    }

    /// A Replace's `pattern`: `{"String": …}` or `{"Regex": …}`.
    func pattern(_ object: JSONObject, _ what: String) throws(TokenizerError) -> ReplacePattern {
        let field = object["pattern"]?.object
        if let literal = field?["String"]?.string { return ReplacePattern(literal: literal) }
        guard let regex = field?["Regex"]?.string else {
            throw TokenizerError.file(path: path, reason: "\(what) has no String or Regex pattern")
        }
        do { return try ReplacePattern(regex: regex) } catch {
            throw TokenizerError.unsupported(path: path, what: "\(what) pattern '\(regex)' (\(error))")
        }
    }

    /// A Metaspace pre-tokenizer or decoder: `replacement`, `prepend_scheme` (or the older `add_prefix_space`),
    /// `split`.
    func metaspace(_ object: JSONObject) throws(TokenizerError) -> Metaspace {
        let replacement = try string(object, "replacement", default: "\u{2581}").unicodeScalars
        guard replacement.count == 1, let scalar = replacement.first else {
            throw TokenizerError.file(path: path, reason: "Metaspace replacement is not one character")
        }
        var scheme = Metaspace.PrependScheme.always
        if let field = object["prepend_scheme"], field != .null {
            guard let named = field.string.flatMap(Metaspace.PrependScheme.init(rawValue:)) else {
                throw TokenizerError.file(path: path, reason: "Metaspace prepend_scheme is not first, always or never")
            }
            scheme = named
        }
        if let field = object["add_prefix_space"], field != .null, try !bool(object, "add_prefix_space", default: true)
        {
            guard scheme == .never || object["prepend_scheme"] == nil || object["prepend_scheme"] == .null else {
                throw TokenizerError.file(
                    path: path, reason: "Metaspace add_prefix_space does not match prepend_scheme")
            }
            scheme = .never
        }
        return Metaspace(replacement: scalar, prependScheme: scheme, split: try bool(object, "split", default: true))
    }

    func preTokenizer(_ value: JSONValue?) throws(TokenizerError) -> Tokenizer.PreTokenizer {
        let object = value?.object
        switch object?["type"]?.string {
        case "BertPreTokenizer":
            return .bert
        case "WhitespaceSplit":
            return .whitespaceSplit
        case "Metaspace":
            guard let object else { return .bert }
            return .metaspace(try metaspace(object))
        case "Sequence":
            guard let list = object?["pretokenizers"]?.array else {
                throw TokenizerError.file(path: path, reason: "pre_tokenizer Sequence has no pretokenizers list")
            }
            var steps: [Tokenizer.PreTokenizer] = []
            for item in list {
                let step = try preTokenizer(item)
                if case .byteLevel = step {
                    throw TokenizerError.unsupported(path: path, what: "ByteLevel inside a pre_tokenizer Sequence")
                }
                steps.append(step)
            }
            return .sequence(steps)
        case "ByteLevel":
            guard let object else { return .bert }
            return .byteLevel(
                ByteLevel(
                    addPrefixSpace: try bool(object, "add_prefix_space", default: true),
                    useRegex: try bool(object, "use_regex", default: true)))
        default:
            throw TokenizerError.unsupported(path: path, what: "pre_tokenizer \(object?["type"]?.string ?? "null")")
        }
    }

    func decoder(_ value: JSONValue?) throws(TokenizerError) -> Tokenizer.Decoder {
        guard let value, value != .null else { return .plain }
        guard let object = value.object else {
            throw TokenizerError.file(path: path, reason: "decoder is not an object")
        }
        switch object["type"]?.string {
        case "WordPiece":
            return .wordPiece(
                WordPieceDecoder(
                    prefix: try string(object, "prefix", default: "##"),
                    cleanup: try bool(object, "cleanup", default: true)))
        case "ByteLevel":
            return .byteLevel
        case "Metaspace":
            return .metaspace(try metaspace(object))
        case "ByteFallback":
            return .byteFallback
        case "Fuse":
            return .fuse
        case "Strip":
            let content = try string(object, "content", default: " ").unicodeScalars
            guard content.count == 1, let scalar = content.first else {
                throw TokenizerError.file(path: path, reason: "decoder Strip content is not one character")
            }
            return .strip(
                content: scalar.value, start: try integer(object, "start", default: 0),
                stop: try integer(object, "stop", default: 0))
        case "Replace":
            return .replace(try pattern(object, "decoder Replace"), content: try string(object, "content", default: ""))
        case "Sequence":
            guard let list = object["decoders"]?.array else {
                throw TokenizerError.file(path: path, reason: "decoder Sequence has no decoders list")
            }
            var steps: [Tokenizer.Decoder] = []
            for item in list { steps.append(try decoder(item)) }
            return .sequence(steps)
        default:
            throw TokenizerError.unsupported(path: path, what: "decoder \(object["type"]?.string ?? "?")")
        }
    }

    /// The Unigram model: `vocab` ([token, score] pairs), `unk_id` (or null), `byte_fallback`.
    func unigram(_ model: JSONObject, pieces: [(token: String, score: Double)]?) throws(TokenizerError) -> Unigram {
        guard let pieces else {
            throw TokenizerError.file(path: path, reason: "model.vocab is not a list of [token, score] pairs")
        }
        var unknown: Int?
        if let field = model["unk_id"], field != .null {
            guard let id = field.nonNegativeInteger(limit: 1 << 30) else {
                throw TokenizerError.file(path: path, reason: "model.unk_id is not a non-negative integer")
            }
            unknown = id
        }
        do {
            return try Unigram(
                pieces: pieces, unknownID: unknown, byteFallback: try bool(model, "byte_fallback", default: false))
        } catch {
            throw TokenizerError.file(path: path, reason: error.description)
        }
    }

    /// The BPE model: merges as "a b" strings or ["a", "b"] pairs; options tokenizers has that change results
    /// (dropout, byte fallback, subword prefixes and suffixes, ignore_merges) are refused unless off.
    func bpe(_ model: JSONObject, vocabulary: VocabularyTable, merges: MergeList?) throws(TokenizerError) -> BPE {
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let text = model[key]?.string, !text.isEmpty {
                throw TokenizerError.unsupported(path: path, what: "BPE \(key) '\(text)'")
            }
        }
        if let dropout = model["dropout"], dropout != .null {
            throw TokenizerError.unsupported(path: path, what: "BPE dropout")
        }
        for key in ["byte_fallback", "ignore_merges"] where try bool(model, key, default: false) {
            throw TokenizerError.unsupported(path: path, what: "BPE \(key)")
        }
        guard let merges else { throw TokenizerError.file(path: path, reason: "model.merges is not a list") }
        var unknown: String?
        if let field = model["unk_token"], field != .null { unknown = try string(model, "unk_token", default: "") }
        do {
            return try BPE(table: vocabulary, merges: merges, unknownToken: unknown)
        } catch {
            throw TokenizerError.file(path: path, reason: error.description)
        }
    }

    /// The template and offset trimming of a post-processor.
    func postProcessor(_ value: JSONValue?) throws(TokenizerError) -> (Template?, (addPrefixSpace: Bool, enabled: Bool))
    {
        guard let object = value?.object else { return (try template(value), (false, false)) }
        switch object["type"]?.string {
        case "ByteLevel":
            let trim = try bool(object, "trim_offsets", default: true)
            return (nil, (try bool(object, "add_prefix_space", default: true), trim))
        case "RobertaProcessing":
            guard let sep = object["sep"]?.array, let cls = object["cls"]?.array, sep.count == 2, cls.count == 2,
                let sepToken = sep[0].string, let sepID = sep[1].nonNegativeInteger(limit: Int(Int32.max)),
                let clsToken = cls[0].string, let clsID = cls[1].nonNegativeInteger(limit: Int(Int32.max))
            else { throw TokenizerError.file(path: path, reason: "RobertaProcessing needs sep and cls as [token, id]") }
            let trim = try bool(object, "trim_offsets", default: true)
            return (
                .roberta(cls: (clsToken, Int32(clsID)), sep: (sepToken, Int32(sepID))),
                (try bool(object, "add_prefix_space", default: true), trim)
            )
        default:
            return (try template(value), (false, false))
        }
    }

    func template(_ value: JSONValue?) throws(TokenizerError) -> Template? {
        guard let value, value != .null else { return nil }
        guard let object = value.object, let type = object["type"]?.string else {
            throw TokenizerError.file(path: path, reason: "post_processor has no type")
        }
        switch type {
        case "BertProcessing":
            guard let sep = object["sep"]?.array, let cls = object["cls"]?.array, sep.count == 2, cls.count == 2,
                let sepToken = sep[0].string, let sepID = sep[1].nonNegativeInteger(limit: Int(Int32.max)),
                let clsToken = cls[0].string, let clsID = cls[1].nonNegativeInteger(limit: Int(Int32.max))
            else { throw TokenizerError.file(path: path, reason: "BertProcessing needs sep and cls as [token, id]") }
            return .bert(cls: (clsToken, Int32(clsID)), sep: (sepToken, Int32(sepID)))
        case "TemplateProcessing":
            var specials: [String: [(String, Int32)]] = [:]
            for (name, entry) in object["special_tokens"]?.object?.entries ?? [] {
                guard let ids = entry.object?["ids"]?.array, let tokens = entry.object?["tokens"]?.array,
                    ids.count == tokens.count
                else { throw TokenizerError.file(path: path, reason: "special_tokens.\(name) needs ids and tokens") }
                specials[name] = try zip(tokens, ids).map { token, id throws(TokenizerError) in
                    guard let text = token.string, let number = id.nonNegativeInteger(limit: Int(Int32.max)) else {
                        throw TokenizerError.file(path: path, reason: "special_tokens.\(name): a bad token or id")
                    }
                    return (text, Int32(number))
                }
            }
            func pieces(_ key: String) throws(TokenizerError) -> [Template.Piece] {
                guard let list = object[key]?.array else {
                    throw TokenizerError.file(path: path, reason: "TemplateProcessing.\(key) is not a list")
                }
                var out: [Template.Piece] = []
                for item in list {
                    if let special = item.object?["SpecialToken"]?.object, let name = special["id"]?.string {
                        guard let tokens = specials[name] else {
                            throw TokenizerError.file(path: path, reason: "TemplateProcessing names unknown '\(name)'")
                        }
                        let typeID = Int32(try integer(special, "type_id", default: 0))
                        out += tokens.map { .special(token: $0.0, id: $0.1, typeID: typeID) }
                    } else if let sequence = item.object?["Sequence"]?.object, let name = sequence["id"]?.string,
                        name == "A" || name == "B"
                    {
                        out.append(
                            .sequence(second: name == "B", typeID: Int32(try integer(sequence, "type_id", default: 0))))
                    } else {
                        throw TokenizerError.file(path: path, reason: "TemplateProcessing.\(key) has a bad element")
                    }
                }
                return out
            }
            return Template(single: try pieces("single"), pair: try pieces("pair"))
        default:
            throw TokenizerError.unsupported(path: path, what: "post_processor \(type)")
        }
    }
}

extension Tokenizer {
    /// Which family's conventions a byte-level BPE from `vocab.json` + `merges.txt` follows.
    public enum ByteLevelStyle: Sendable {
        /// No special tokens added; `<|endoftext|>` is special; offsets untrimmed.
        case gpt2
        /// `<s> A </s></s> B </s>`, offsets trimmed, `<mask>` takes the space before it.
        case roberta
    }

    /// A byte-level BPE tokenizer from GPT-2-style `vocab.json` and `merges.txt`, set up as transformers' converter
    /// sets up the fast tokenizer for that family.
    public static func byteLevelBPE(
        vocabulary vocabularyPath: String, merges mergesPath: String, style: ByteLevelStyle,
        addPrefixSpace: Bool = false
    ) throws(TokenizerError) -> Tokenizer {
        try byteLevelBPE(
            vocabulary: try readFile(vocabularyPath), merges: try readFile(mergesPath),
            paths: (vocabularyPath, mergesPath),
            style: style, addPrefixSpace: addPrefixSpace)
    }

    /// The same from the files' bytes; `paths` name them in errors.
    public static func byteLevelBPE(
        vocabulary vocabBytes: [UInt8], merges mergeBytes: [UInt8], paths: (vocabulary: String, merges: String),
        style: ByteLevelStyle, addPrefixSpace: Bool = false
    ) throws(TokenizerError) -> Tokenizer {
        let (vocabularyPath, mergesPath) = paths
        let table: VocabularyTable
        do {
            table = try vocabBytes.withUnsafeBytes { raw in
                var parser = JSONParser(raw, maxDepth: 4)
                guard parser.next == UInt8(ascii: "{") else {
                    throw TokenizerError.file(path: vocabularyPath, reason: "not a JSON object of token → id")
                }
                let table = try TokenizerDocument.readVocabulary(&parser, label: nil) {
                    TokenizerError.file(path: vocabularyPath, reason: $0)
                }
                try parser.end()
                return table
            }
        } catch let error as TokenizerError {
            throw error
        } catch {
            throw TokenizerError.file(path: vocabularyPath, reason: "not valid JSON: \(error)")
        }
        let merges = try readMerges(mergeBytes, path: mergesPath)
        func special(_ name: String, lstrip: Bool = false) -> AddedToken? {
            table.id(name).map { AddedToken(content: name, id: $0, special: true, lstrip: lstrip) }
        }
        let model: BPE
        do { model = try BPE(table: table, merges: merges, unknownToken: nil) } catch {
            throw TokenizerError.file(path: mergesPath, reason: error.description)
        }
        let template: Template?
        let added: [AddedToken]
        switch style {
        case .gpt2:
            template = nil
            added = [special("<|endoftext|>")].compactMap { $0 }
        case .roberta:
            guard let cls = table.id("<s>"), let sep = table.id("</s>") else {
                throw TokenizerError.file(path: vocabularyPath, reason: "a RoBERTa vocabulary needs <s> and </s>")
            }
            template = .roberta(cls: ("<s>", cls), sep: ("</s>", sep))
            added = [
                special("<s>"), special("<pad>"), special("</s>"), special("<unk>"), special("<mask>", lstrip: true),
            ]
            .compactMap { $0 }
        }
        do {
            return try Tokenizer(
                normalizer: nil, preTokenizer: .byteLevel(ByteLevel(addPrefixSpace: addPrefixSpace)),
                model: .bpe(model), addedTokens: added, template: template,
                trimOffsets: (addPrefixSpace, style == .roberta), decoder: .byteLevel)
        } catch {
            throw TokenizerError.file(path: vocabularyPath, reason: error.description)
        }
    }

    /// `merges.txt`: a `#version` first line is skipped, then one merge per line as exactly two tokens separated by
    /// one space; empty lines (the last one) are skipped; CRLF accepted.
    static func readMerges(_ bytes: [UInt8], path: String) throws(TokenizerError) -> MergeList {
        var merges = MergeList()
        var lineStart = 0
        var number = 0
        // Lines split on bytes: as Characters, "\r\n" is one and would never equal "\n".
        while lineStart <= bytes.count {
            number += 1
            var end = lineStart
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            defer { lineStart = end + 1 }
            let line = bytes[lineStart..<(end > lineStart && bytes[end - 1] == 0x0D ? end - 1 : end)]
            let valid = line.withUnsafeBufferPointer { isValidUTF8($0) }
            guard valid else { throw TokenizerError.file(path: path, reason: "line \(number) is not UTF-8") }
            if line.isEmpty || (number == 1 && line.starts(with: "#version".utf8)) { continue }
            guard let space = line.firstIndex(of: 0x20), line.lastIndex(of: 0x20) == space, space > line.startIndex,
                space < line.endIndex - 1
            else {
                throw TokenizerError.file(
                    path: path,
                    reason: "line \(number) is not two tokens: '\(String(decoding: line.prefix(80), as: UTF8.self))'")
            }
            merges.append(line[..<space], line[(space + 1)...])
        }
        return merges
    }
}

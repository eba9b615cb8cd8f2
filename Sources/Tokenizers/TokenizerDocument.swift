import Support

/// A `tokenizer.json` read in one pass with the strict JSON parser: the model's vocabulary and merges go straight
/// into their tables — no String, no JSON value per entry, which for GPT-2's 50,257 tokens and 50,000 merges cost
/// more time and memory than the finished tokenizer — and everything else becomes small JSON values.
struct TokenizerDocument {
    /// The top-level keys other than "model".
    var root = JSONObject()
    /// The model's keys, but for a vocabulary object and a merge list (`vocabulary`, `merges`).
    var model: JSONObject?
    var vocabulary: VocabularyTable?
    var merges: MergeList?
    /// A Unigram model's `vocab`: [token, score] pairs in id order.
    var pieces: [(token: String, score: Double)]?

    /// Reads `bytes`; `path` names the file in errors.
    init(_ bytes: [UInt8], path: String) throws(TokenizerError) {
        do {
            try bytes.withUnsafeBytes { raw in
                var parser = JSONParser(raw, maxDepth: 64)
                try read(&parser, path: path)
            }
        } catch let error as TokenizerError {
            throw error
        } catch let failure as JSONParser.Failure {
            throw TokenizerError.file(path: path, reason: "not valid JSON: \(failure)")
        } catch {
            throw TokenizerError.file(path: path, reason: "\(error)")
        }
    }

    private mutating func read(_ parser: inout JSONParser, path: String) throws {
        guard parser.next == UInt8(ascii: "{") else {
            throw TokenizerError.file(path: path, reason: "not a JSON object")
        }
        try parser.beginObject()
        while let key = try parser.nextKey() {
            if key == "model", parser.next == UInt8(ascii: "{") {
                try readModel(&parser, path: path)
            } else {
                root.append(key, try parser.value())
            }
        }
        try parser.end()
    }

    private mutating func readModel(_ parser: inout JSONParser, path: String) throws {
        func fail(_ reason: String) -> TokenizerError { .file(path: path, reason: reason) }
        var model = JSONObject()
        try parser.beginObject()
        while let key = try parser.nextKey() {
            if key == "vocab", parser.next == UInt8(ascii: "{") {
                vocabulary = try Self.readVocabulary(&parser, label: "model.vocab", fail)
            } else if key == "vocab", parser.next == UInt8(ascii: "[") {
                pieces = try Self.readPieces(&parser, fail)
            } else if key == "merges", parser.next == UInt8(ascii: "[") {
                merges = try Self.readMerges(&parser, fail)
            } else {
                model.append(key, try parser.value())
            }
        }
        self.model = model
    }

    /// A vocabulary object, `{"token": id, …}`, read into a table.
    ///
    /// Ids are non-negative integers within Int32, each given once; tokens are unique by their bytes. `label` starts
    /// the errors' messages (the field, or nil for a file that is only this object).
    static func readVocabulary(
        _ parser: inout JSONParser, label: String?, _ fail: (String) -> TokenizerError
    ) throws -> VocabularyTable {
        let prefix = label.map { $0 + ": " } ?? ""
        // Sized once from a quick count: tables grown by doubling leave their old buffers behind in the heap.
        let size = parser.members() ?? (0, 0)
        var table = VocabularyTable(capacity: min(size.count, 1 << 22), bytes: size.bytes / 2)
        var ids = IDSet()
        var key: [UInt8] = []
        try parser.beginObject()
        while try parser.nextKey(into: &key) {
            func token() -> String { String(decoding: key, as: UTF8.self) }
            guard let first = parser.next, first >= 48, first <= 57,
                let id = try? parser.nonNegativeInteger(limit: Int(Int32.max))
            else { throw fail(prefix + "'\(token())' has no valid id") }
            guard key.withUnsafeBufferPointer({ table.insert($0, id: Int32(id)) }) else {
                throw fail(prefix + "duplicate key '\(token())'")
            }
            guard ids.insert(Int32(id)) else { throw fail(prefix + "id \(id) is given twice") }
        }
        table.compact()
        return table
    }

    /// A Unigram vocabulary: an array of [token, score] pairs, read one pair at a time.
    static func readPieces(
        _ parser: inout JSONParser, _ fail: (String) -> TokenizerError
    ) throws -> [(token: String, score: Double)] {
        var pieces: [(token: String, score: Double)] = []
        pieces.reserveCapacity(min(parser.members()?.count ?? 0, 1 << 22))
        try parser.beginArray()
        while try parser.nextElement() {
            guard pieces.count < 1 << 22 else { throw fail("model.vocab has more than \(1 << 22) pieces") }
            let pair = try parser.value().array
            guard let pair, pair.count == 2, let token = pair[0].string, let score = pair[1].double else {
                throw fail("model.vocab[\(pieces.count)] is not a [token, score] pair")
            }
            pieces.append((token, score))
        }
        return pieces
    }

    /// `["a b", …]` or `[["a", "b"], …]`: two tokens each (in the first form, split at the one space).
    static func readMerges(_ parser: inout JSONParser, _ fail: (String) -> TokenizerError) throws -> MergeList {
        let size = parser.members() ?? (0, 0)
        var merges = MergeList(capacity: min(size.count, 1 << 22), bytes: size.bytes / 2)
        var left: [UInt8] = []
        var right: [UInt8] = []
        try parser.beginArray()
        while try parser.nextElement() {
            let number = merges.count + 1
            left.removeAll(keepingCapacity: true)
            right.removeAll(keepingCapacity: true)
            if parser.next == UInt8(ascii: "\"") {
                try parser.string(into: &left)
                guard let space = left.firstIndex(of: 0x20), left.lastIndex(of: 0x20) == space else {
                    throw fail(
                        "merge \(number) is not two tokens: '\(String(decoding: left.prefix(80), as: UTF8.self))'")
                }
                merges.append(left[..<space], left[(space + 1)...])
            } else if parser.next == UInt8(ascii: "[") {
                try parser.beginArray()
                guard try parser.nextElement(), parser.next == UInt8(ascii: "\"") else {
                    throw fail("merge \(number) is not two tokens")
                }
                try parser.string(into: &left)
                guard try parser.nextElement(), parser.next == UInt8(ascii: "\"") else {
                    throw fail("merge \(number) is not two tokens")
                }
                try parser.string(into: &right)
                guard try !parser.nextElement() else { throw fail("merge \(number) is not two tokens") }
                merges.append(left[...], right[...])
            } else {
                throw fail("merge \(number) is not two tokens")
            }
        }
        return merges
    }
}

/// A set of token ids: a bit per id for the dense ids real vocabularies have, a Set for the rest (an id of
/// 2,147,483,647 costs one entry, not 256 MB).
struct IDSet {
    private var bits: [UInt64] = []
    private var others = Set<Int32>()
    private static let denseLimit: Int32 = 1 << 22

    /// Adds `id`; false when it was there.
    mutating func insert(_ id: Int32) -> Bool {
        guard id >= 0, id < Self.denseLimit else { return others.insert(id).inserted }
        let word = Int(id) >> 6
        if word >= bits.count { bits += [UInt64](repeating: 0, count: max(word + 1 - bits.count, bits.count)) }
        let mask: UInt64 = 1 << UInt64(id & 63)
        guard bits[word] & mask == 0 else { return false }
        bits[word] |= mask
        return true
    }
}

import Support

/// A request's JSON body, with typed reads that fail with an `APIError` naming the field.
struct Fields {
    let object: JSONObject
    /// OpenAI's routes answer validation errors with 400, TEI's with 422.
    let openAI: Bool

    /// Parses `bytes` as one JSON object (strict: no duplicate keys, nesting at most 16 deep).
    init(_ bytes: [UInt8], openAI: Bool) throws(APIError) {
        self.openAI = openAI
        guard !bytes.isEmpty else { throw APIError(.badRequest, "the request has no body (a JSON object is expected)") }
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes, maxDepth: 16)
        } catch {
            throw APIError(.badRequest, "the body is not valid JSON: \(error)")
        }
        guard let object = value.object else {
            throw APIError.invalid("the body must be a JSON object", field: nil, openAI: openAI)
        }
        self.object = object
    }

    func invalid(_ message: String, _ field: String) -> APIError {
        APIError.invalid(message, field: field, openAI: openAI)
    }

    /// The value at `key`, nil when absent or JSON null.
    func value(_ key: String) -> JSONValue? {
        guard let value = object[key], value != .null else { return nil }
        return value
    }

    func string(_ key: String) throws(APIError) -> String? {
        guard let value = value(key) else { return nil }
        guard let string = value.string else { throw invalid("`\(key)` must be a string", key) }
        return string
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let flag) = value else { throw invalid("`\(key)` must be true or false", key) }
        return flag
    }

    func integer(_ key: String, in range: ClosedRange<Int>) throws(APIError) -> Int? {
        guard let value = value(key) else { return nil }
        guard let number = value.integer ?? value.double.flatMap({ $0 == $0.rounded() ? Int(exactly: $0) : nil })
        else { throw invalid("`\(key)` must be an integer", key) }
        guard range.contains(number) else {
            throw invalid("`\(key)` must be between \(range.lowerBound) and \(range.upperBound), got \(number)", key)
        }
        return number
    }

    func number(_ key: String, in range: ClosedRange<Double>) throws(APIError) -> Double? {
        guard let value = value(key) else { return nil }
        guard let number = value.double, number.isFinite else { throw invalid("`\(key)` must be a number", key) }
        guard range.contains(number) else {
            throw invalid("`\(key)` must be between \(range.lowerBound) and \(range.upperBound), got \(number)", key)
        }
        return number
    }

    /// A string or an array of at most `limit` strings, as a list (the strings must not be empty).
    func strings(_ key: String, limit: Int, required: Bool) throws(APIError) -> [String]? {
        guard let value = value(key) else {
            if required { throw invalid("`\(key)` is required", key) }
            return nil
        }
        let items: [JSONValue]
        switch value {
        case .string: items = [value]
        case .array(let array): items = array
        default: throw invalid("`\(key)` must be a string or an array of strings", key)
        }
        guard !items.isEmpty else { throw invalid("`\(key)` must not be empty", key) }
        guard items.count <= limit else {
            throw invalid("`\(key)` has \(items.count) items; at most \(limit) are accepted in one request", key)
        }
        var strings: [String] = []
        for (index, item) in items.enumerated() {
            guard let string = item.string else { throw invalid("`\(key)[\(index)]` must be a string", key) }
            guard !string.isEmpty else { throw invalid("`\(key)[\(index)]` must not be empty", key) }
            strings.append(string)
        }
        return strings
    }
}

/// One input of an embedding or completion request: text, or token ids as OpenAI's API allows.
enum TextInput {
    case text(String)
    case tokens([Int32])

    /// `input` / `prompt` as OpenAI's API takes it: a string, an array of strings, an array of token ids (one
    /// input), or an array of such arrays; `vocabulary` bounds the ids.
    static func list(_ fields: Fields, key: String, limit: Int, vocabulary: Int) throws(APIError) -> [TextInput] {
        guard let value = fields.value(key) else { throw fields.invalid("`\(key)` is required", key) }
        func tokens(_ items: [JSONValue], _ path: String) throws(APIError) -> [Int32] {
            guard !items.isEmpty else { throw fields.invalid("`\(path)` must not be empty", key) }
            var ids: [Int32] = []
            ids.reserveCapacity(items.count)
            for (index, item) in items.enumerated() {
                guard let id = item.nonNegativeInteger(limit: Int(Int32.max)), id < vocabulary else {
                    throw fields.invalid(
                        "`\(path)[\(index)]` must be a token id between 0 and \(vocabulary - 1)", key)
                }
                ids.append(Int32(id))
            }
            return ids
        }
        switch value {
        case .string(let text):
            guard !text.isEmpty else { throw fields.invalid("`\(key)` must not be empty", key) }
            return [.text(text)]
        case .array(let items):
            guard !items.isEmpty else { throw fields.invalid("`\(key)` must not be empty", key) }
            if case .number = items[0] { return [.tokens(try tokens(items, key))] }
            guard items.count <= limit else {
                throw fields.invalid(
                    "`\(key)` has \(items.count) inputs; at most \(limit) are accepted in one request", key)
            }
            var inputs: [TextInput] = []
            for (index, item) in items.enumerated() {
                switch item {
                case .string(let text):
                    guard !text.isEmpty else { throw fields.invalid("`\(key)[\(index)]` must not be empty", key) }
                    inputs.append(.text(text))
                case .array(let ids):
                    inputs.append(.tokens(try tokens(ids, "\(key)[\(index)]")))
                default:
                    throw fields.invalid("`\(key)[\(index)]` must be a string or an array of token ids", key)
                }
            }
            return inputs
        default:
            throw fields.invalid("`\(key)` must be a string, an array of strings or an array of token ids", key)
        }
    }
}

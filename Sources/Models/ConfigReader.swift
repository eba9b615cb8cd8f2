import Formats
import Support

/// Typed, bounded reads of config keys; a wrong type is an error naming the key (defence C1–C3).
struct ConfigReader {
    let json: JSONObject
    let path: String

    func fail(_ key: String, _ reason: String) -> ModelError {
        ModelError.config(path: path, reason: "\(key): \(reason)")
    }

    func string(_ key: String) throws -> String? {
        switch json[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        default: throw fail(key, "expected a string")
        }
    }

    func strings(_ key: String) throws -> [String]? {
        switch json[key] {
        case nil, .null?: return nil
        case .array(let items)?:
            return try items.map { item in
                guard let text = item.string else { throw fail(key, "expected an array of strings") }
                return text
            }
        default: throw fail(key, "expected an array of strings")
        }
    }

    func bool(_ key: String) throws -> Bool? {
        switch json[key] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        default: throw fail(key, "expected true or false")
        }
    }

    /// A size that must be present.
    func requiredSize(_ key: String) throws -> Int {
        guard let value = try size(key, required: true) else { throw fail(key, "missing") }
        return value
    }

    /// A positive integer (or zero where allowed) no larger than `ModelConfig.maxDimension`.
    func size(_ key: String, required: Bool, allowZero: Bool = false) throws -> Int? {
        guard let value = json[key], value != .null else {
            if required { throw fail(key, "missing (the size cannot be guessed)") }
            return nil
        }
        guard case .number = value else { throw fail(key, "expected an integer") }
        guard let number = value.integer else { throw fail(key, "expected an integer, found \(value.serialized())") }
        guard number >= (allowZero ? 0 : 1), number <= ModelConfig.maxDimension else {
            throw fail(key, "\(number) is out of range (\(allowZero ? 0 : 1)…\(ModelConfig.maxDimension))")
        }
        return number
    }

    func number(_ key: String, in range: ClosedRange<Double>) throws -> Double? {
        switch json[key] {
        case nil, .null?: return nil
        case .number?:
            guard let value = json[key]?.double, range.contains(value) else {
                throw fail(key, "out of range (\(range.lowerBound)…\(range.upperBound))")
            }
            return value
        default: throw fail(key, "expected a number")
        }
    }

    func tokenID(_ key: String, below limit: Int) throws -> Int? {
        switch json[key] {
        case nil, .null?: return nil
        case .number(let text)?:
            guard let value = Int(text) else { throw fail(key, "expected an integer, found \(text)") }
            // transformers accepts ids outside the vocabulary (some configs carry them); they are ignored here.
            return (0..<limit).contains(value) ? value : nil
        case .array(let items)?:  // newer configs list several end tokens: the first is used
            return items.first?.integer.flatMap { (0..<limit).contains($0) ? $0 : nil }
        default: throw fail(key, "expected an integer")
        }
    }

    /// `id2label` (keys "0"… in any order, each id once), else `num_labels` names `LABEL_i`, else 2 labels.
    func labels() throws -> [String] {
        if let value = json["id2label"], value != .null {
            guard let object = value.object else { throw fail("id2label", "expected an object") }
            guard object.count <= ModelConfig.maxDimension else { throw fail("id2label", "too many labels") }
            var names = [String?](repeating: nil, count: object.count)
            for (key, name) in object.entries {
                guard let id = Int(key), names.indices.contains(id), names[id] == nil, let text = name.string else {
                    throw fail("id2label", "ids must be 0…\(object.count - 1), each once, with string names")
                }
                names[id] = text
            }
            return names.compactMap { $0 }
        }
        let count = try size("num_labels", required: false) ?? 2
        return (0..<count).map { "LABEL_\($0)" }
    }

    /// `initializer_range`: the standard deviation of fresh weights (transformers' default 0.02).
    func initializerRange() throws -> Double { try number("initializer_range", in: 0...10) ?? 0.02 }
}

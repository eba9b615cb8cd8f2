import Formats
import Models
import Support
import Tensors

/// One training example: a text (or a pair), with a label for classification or word tags for token
/// classification (`words` then holds the text's words).
///
/// ```swift
/// let example = TextExample(text: "a fine tool", label: 1)
/// ```
public struct TextExample: Sendable, Equatable {
    public var text: String
    public var pair: String?
    public var label: Int?
    public var words: [String]?
    public var tags: [Int]?

    public init(text: String, pair: String? = nil, label: Int? = nil, words: [String]? = nil, tags: [Int]? = nil) {
        self.text = text
        self.pair = pair
        self.label = label
        self.words = words
        self.tags = tags
    }
}

/// Examples read from CSV, TSV or JSONL, with their label names (ids are positions in `labels`).
///
/// ```swift
/// let dataset = try TextDataset.load("reviews.csv")                    // text,label (CSV, TSV or JSONL)
/// let (train, validation) = dataset.split(validationFraction: 0.1, seed: 1)
/// dataset.labels                                                        // label names, sorted
/// ```
public struct TextDataset: Sendable {
    public var examples: [TextExample]
    /// Label (or tag) names by id: string labels sorted, as `datasets`' `class_encode_column` numbers them.
    public var labels: [String]

    public init(examples: [TextExample], labels: [String]) {
        self.examples = examples
        self.labels = labels
    }

    /// Which columns hold what; JSONL token classification reads `tokens` and `tags` (or `ner_tags`).
    public struct Columns: Sendable {
        public var text = "text"
        public var pair: String?
        public var label: String? = "label"
        public var words = "tokens"
        public var tags = "tags"

        public init(text: String = "text", pair: String? = nil, label: String? = "label") {
            self.text = text
            self.pair = pair
            self.label = label
        }
    }

    /// Largest file read (a few hundred MB of text).
    static let maxFileSize = 1 << 30

    /// Reads `path` (`.csv`, `.tsv` or `.jsonl`/`.json` lines); `labels` fixes the label names and their order
    /// (a validation file must use the training file's), else they are the sorted distinct values.
    public static func load(
        _ path: String, columns: Columns = Columns(), labels known: [String]? = nil
    ) throws
        -> TextDataset
    {
        let bytes: [UInt8]
        switch readWholeFile(path, limit: maxFileSize) {
        case .success(let read): bytes = read
        case .failure(let failure): throw ModelError.input("\(path): \(failure.reason)")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        var records: [[String: RecordValue]] = []
        if path.hasSuffix(".jsonl") || path.hasSuffix(".json") {
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                guard !line.allSatisfy(\.isWhitespace) else { continue }
                guard let object = (try? JSONParser.parse(Array(line.utf8), maxDepth: 16))?.object else {
                    throw ModelError.input("\(path):\(number + 1): not a JSON object")
                }
                var record: [String: RecordValue] = [:]
                for (key, value) in object.entries {
                    switch value {
                    case .string(let string): record[key] = .text(string)
                    case .number(let number): record[key] = .text(number)
                    case .bool(let flag): record[key] = .text(flag ? "true" : "false")
                    case .array(let items):
                        record[key] = .list(items.map { $0.string ?? $0.integer.map(String.init) ?? "" })
                    default: break
                    }
                }
                records.append(record)
            }
        } else {
            let rows = try CSV.parse(text, delimiter: path.hasSuffix(".tsv") ? "\t" : ",", path: path)
            guard let header = rows.first else { throw ModelError.input("\(path): empty file") }
            for (number, row) in rows.dropFirst().enumerated() {
                guard row.count == header.count else {
                    throw ModelError.input(
                        "\(path): row \(number + 2) has \(row.count) fields, the header \(header.count)")
                }
                records.append(Dictionary(zip(header, row.map(RecordValue.text)), uniquingKeysWith: { a, _ in a }))
            }
        }
        guard !records.isEmpty else { throw ModelError.input("\(path): no examples") }
        return try build(records, columns: columns, labels: known, path: path)
    }

    enum RecordValue {
        case text(String)
        case list([String])
        var text: String? { if case .text(let value) = self { value } else { nil } }
        var list: [String]? { if case .list(let value) = self { value } else { nil } }
    }

    private static func build(
        _ records: [[String: RecordValue]], columns: Columns, labels known: [String]?, path: String
    ) throws -> TextDataset {
        // Token classification: word lists with tags.
        if records[0][columns.words]?.list != nil {
            let tagKey = records[0][columns.tags] != nil ? columns.tags : "ner_tags"
            var examples: [(words: [String], tags: [String])] = []
            for (number, record) in records.enumerated() {
                guard let words = record[columns.words]?.list, let tags = record[tagKey]?.list,
                    words.count == tags.count
                else {
                    throw ModelError.input(
                        "\(path):\(number + 1): needs '\(columns.words)' and '\(tagKey)' of one length")
                }
                examples.append((words, tags))
            }
            let names = known ?? Array(Set(examples.flatMap(\.tags))).sorted()
            let ids = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.element, $0.offset) })
            return TextDataset(
                examples: try examples.enumerated().map { number, example in
                    TextExample(
                        text: example.words.joined(separator: " "), words: example.words,
                        tags: try example.tags.map { tag in
                            guard let id = ids[tag] else {
                                throw ModelError.input("\(path):\(number + 1): tag '\(tag)' is not among \(names)")
                            }
                            return id
                        })
                }, labels: names)
        }
        var texts: [(String, String?, String?)] = []
        for (number, record) in records.enumerated() {
            guard let text = record[columns.text]?.text else {
                throw ModelError.input("\(path): example \(number + 1) has no '\(columns.text)' column")
            }
            let pair = try columns.pair.map { key in
                guard let value = record[key]?.text else {
                    throw ModelError.input("\(path): example \(number + 1) has no '\(key)' column")
                }
                return value
            }
            let label = try columns.label.map { key in
                guard let value = record[key]?.text, !value.isEmpty else {
                    throw ModelError.input("\(path): example \(number + 1) has no '\(key)' value")
                }
                return value
            }
            texts.append((text, pair, label))
        }
        let values = texts.compactMap(\.2)
        var names = known ?? Array(Set(values)).sorted()
        // Integer labels 0…n-1 keep their numbers.
        if known == nil, !values.isEmpty, let numbers = Optional(values.compactMap { Int($0) }),
            numbers.count == values.count,
            let largest = numbers.max(), numbers.min() ?? -1 >= 0, largest < 100_000
        {
            names = (0...largest).map(String.init)
        }
        let ids = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.element, $0.offset) })
        return TextDataset(
            examples: try texts.enumerated().map { number, example in
                var label: Int?
                if let value = example.2 {
                    guard let id = ids[value] else {
                        throw ModelError.input(
                            "\(path): example \(number + 1)'s label '\(value)' is not among \(names)")
                    }
                    label = id
                }
                return TextExample(text: example.0, pair: example.1, label: label)
            }, labels: names)
    }

    /// A seeded split: `validationFraction` of the examples (shuffled by `seed`) for validation, the rest for training.
    public func split(validationFraction: Double, seed: UInt64) -> (train: TextDataset, validation: TextDataset) {
        var generator = RandomGenerator(seed: seed)
        let order = shuffled(Array(examples.indices), &generator)
        let count = Swift.min(
            examples.count - 1, Swift.max(1, Int((Double(examples.count) * validationFraction).rounded())))
        return (
            TextDataset(examples: order.dropFirst(count).map { examples[$0] }, labels: labels),
            TextDataset(examples: order.prefix(count).map { examples[$0] }, labels: labels)
        )
    }

    /// The most frequent label's share (the accuracy of always answering it).
    public var majorityShare: Double {
        var counts: [Int: Int] = [:]
        for label in examples.compactMap(\.label) { counts[label, default: 0] += 1 }
        return Double(counts.values.max() ?? 0) / Double(Swift.max(examples.count, 1))
    }
}

/// Fisher–Yates with our generator (the same order for a seed on every machine).
func shuffled<T>(_ items: [T], _ generator: inout RandomGenerator) -> [T] {
    var items = items
    guard items.count > 1 else { return items }
    for index in stride(from: items.count - 1, to: 0, by: -1) {
        let other = Int(generator.next() % UInt64(index + 1))
        items.swapAt(index, other)
    }
    return items
}

/// RFC 4180 fields: quoted fields may hold the delimiter, newlines and doubled quotes; CRLF or LF line ends.
enum CSV {
    static func parse(_ text: String, delimiter: Character, path: String) throws -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var atFieldStart = true
        var iterator = text.makeIterator()
        var pending: Character?
        func next() -> Character? {
            if let character = pending {
                pending = nil
                return character
            }
            return iterator.next()
        }
        while let character = next() {
            if quoted {
                if character == "\"" {
                    if let following = next() {
                        if following == "\"" {
                            field.append("\"")
                        } else {
                            quoted = false
                            pending = following
                        }
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(character)
                }
                continue
            }
            switch character {
            case "\"" where atFieldStart:
                quoted = true
                atFieldStart = false
            case delimiter:
                row.append(field)
                field = ""
                atFieldStart = true
            case "\n", "\r\n", "\r":
                row.append(field)
                if !(row.count == 1 && row[0].isEmpty) { rows.append(row) }
                row = []
                field = ""
                atFieldStart = true
            default:
                field.append(character)
                atFieldStart = false
            }
        }
        if quoted { throw ModelError.input("\(path): a quoted field is not closed") }
        if !field.isEmpty || !row.isEmpty {
            row.append(field)
            rows.append(row)
        }
        return rows
    }
}

/// Text being tokenized: Unicode scalars, each remembering the original scalar it came from, so every token can
/// report its offsets in the input (in code points, as Python's `tokenizers` reports them).
struct NormalizedText: Sendable {
    /// The scalars after normalization.
    var scalars: [UInt32] = []
    /// For each scalar, the index of the original scalar it came from.
    var origins: [Int32] = []

    /// The text as given: each scalar its own origin, offset by `start`.
    init(_ original: ArraySlice<UInt32>, start: Int) {
        scalars = Array(original)
        origins = (0..<original.count).map { Int32(start + $0) }
    }

    init() {}

    mutating func append(_ scalar: UInt32, origin: Int32) {
        scalars.append(scalar)
        origins.append(origin)
    }
}

/// BertNormalizer, as `tokenizers` applies it: clean the text, space out CJK ideographs, strip accents, lowercase
/// — one code point at a time, through tables read off the library (`BertUnicodeTables`).
///
/// ```swift
/// let normalizer = BertNormalizer(lowercase: true)     // BERT's cleanup, CJK spacing, accents, lowercase
/// ```
public struct BertNormalizer: Sendable, Equatable {
    /// Drop control and unassigned characters, U+0000 and U+FFFD; turn whitespace into a space.
    public var cleanText = true
    /// Put spaces around CJK ideographs so each becomes a word.
    public var handleChineseChars = true
    /// Decompose (NFD) and drop combining marks; nil follows `lowercase`, as in `tokenizers`.
    public var stripAccents: Bool? = nil
    /// Lowercase.
    public var lowercase = true

    public init(
        cleanText: Bool = true, handleChineseChars: Bool = true, stripAccents: Bool? = nil, lowercase: Bool = true
    ) {
        self.cleanText = cleanText
        self.handleChineseChars = handleChineseChars
        self.stripAccents = stripAccents
        self.lowercase = lowercase
    }

    /// Normalizes `text` into `out` (emptied first); each scalar's origin is its index in the slice's array.
    func normalize(_ text: ArraySlice<UInt32>, into out: inout NormalizedText) {
        typealias Tables = BertUnicodeTables
        let strip = stripAccents ?? lowercase
        out.scalars.removeAll(keepingCapacity: true)
        out.origins.removeAll(keepingCapacity: true)
        out.scalars.reserveCapacity(text.count + 8)
        out.origins.reserveCapacity(text.count + 8)
        var stripped: [UInt32] = []
        for index in text.indices {
            var scalar = text[index]
            let origin = Int32(truncatingIfNeeded: index)
            if scalar < 0x80 {  // ASCII: no accents to strip; only A-Z lowercase
                let kind = ScalarKind.of(scalar)
                if cleanText {
                    if kind.contains(.removed) { continue }
                    if kind.contains(.space) { scalar = 0x20 }
                }
                if lowercase, scalar >= 0x41, scalar <= 0x5A { scalar += 0x20 }
                out.append(scalar, origin: origin)
                continue
            }
            let kind = ScalarKind.of(scalar)
            if cleanText {
                if kind.contains(.removed) { continue }
                if kind.contains(.space) { scalar = 0x20 }
            }
            let chinese = handleChineseChars && kind.contains(.chinese)
            if chinese { out.append(0x20, origin: origin) }
            guard (strip && kind.contains(.stripMapped)) || (lowercase && kind.contains(.lowerMapped))
            else {
                out.append(scalar, origin: origin)
                if chinese { out.append(0x20, origin: origin) }
                continue
            }
            stripped.removeAll(keepingCapacity: true)
            if strip, let jamo = UnicodeClasses.hangulJamo(scalar) {
                stripped += jamo
            } else if strip, kind.contains(.stripMapped),
                let replacement = UnicodeClasses.lookup(
                    Tables.stripKeys, Tables.stripOffsets, Tables.stripValues, scalar)
            {
                stripped += replacement
            } else {
                stripped.append(scalar)
            }
            for piece in stripped {
                if lowercase, ScalarKind.of(piece).contains(.lowerMapped),
                    let lower = UnicodeClasses.lookup(Tables.lowerKeys, Tables.lowerOffsets, Tables.lowerValues, piece)
                {
                    for value in lower { out.append(value, origin: origin) }
                } else {
                    out.append(piece, origin: origin)
                }
            }
            if chinese { out.append(0x20, origin: origin) }
        }
    }
}

/// WhitespaceSplit: words are the runs between whitespace, which is dropped.
enum WhitespaceSplit {
    /// The words of `scalars[span]` as ranges of `scalars`, appended to `words`.
    static func split(_ scalars: [UInt32], _ span: Range<Int>, into words: inout [Range<Int>]) {
        var start = span.lowerBound
        for index in span where ScalarKind.of(scalars[index]).contains(.whitespace) {
            if start < index { words.append(start..<index) }
            start = index + 1
        }
        if start < span.upperBound { words.append(start..<span.upperBound) }
    }
}

/// BertPreTokenizer: words are split at whitespace (dropped) and at punctuation (kept as one-character words).
enum BertPreTokenizer {
    /// The words of `scalars[span]` as ranges of `scalars`, appended to `words`.
    static func split(_ scalars: [UInt32], _ span: Range<Int>, into words: inout [Range<Int>]) {
        var start = span.lowerBound
        for index in span {
            let kind = ScalarKind.of(scalars[index])
            if kind.contains(.whitespace) {
                if start < index { words.append(start..<index) }
                start = index + 1
            } else if kind.contains(.punctuation) {
                if start < index { words.append(start..<index) }
                words.append(index..<index + 1)
                start = index + 1
            }
        }
        if start < span.upperBound { words.append(start..<span.upperBound) }
    }
}

/// The classes of a scalar the BERT pipeline asks about, from the tables; the Basic Multilingual Plane is answered
/// from a 64 kB table built once from the ranges, other planes by binary search.
struct ScalarKind: OptionSet {
    let rawValue: UInt8
    static let removed = ScalarKind(rawValue: 1)
    static let space = ScalarKind(rawValue: 2)
    static let chinese = ScalarKind(rawValue: 4)
    static let punctuation = ScalarKind(rawValue: 8)
    static let whitespace = ScalarKind(rawValue: 16)
    /// strip_accents changes it (a decomposition or a mark), including Hangul syllables.
    static let stripMapped = ScalarKind(rawValue: 32)
    /// lowercase changes it.
    static let lowerMapped = ScalarKind(rawValue: 64)

    private static let basicPlane: [UInt8] = {
        typealias Tables = BertUnicodeTables
        var table = [UInt8](repeating: 0, count: 0x10000)
        func mark(_ ranges: [UInt32], _ kind: ScalarKind) {
            for pair in stride(from: 0, to: ranges.count, by: 2) where ranges[pair] < 0x10000 {
                for scalar in ranges[pair]...min(ranges[pair + 1], 0xFFFF) { table[Int(scalar)] |= kind.rawValue }
            }
        }
        mark(Tables.removed, .removed)
        mark(Tables.spaces, .space)
        mark(Tables.chinese, .chinese)
        mark(Tables.punctuation, .punctuation)
        mark(Tables.whitespace + [0x20, 0x20], .whitespace)
        mark([0xAC00, 0xD7A3], .stripMapped)
        for key in Tables.stripKeys where key < 0x10000 { table[Int(key)] |= ScalarKind.stripMapped.rawValue }
        for key in Tables.lowerKeys where key < 0x10000 { table[Int(key)] |= ScalarKind.lowerMapped.rawValue }
        return table
    }()

    @inline(__always) static func of(_ scalar: UInt32) -> ScalarKind {
        scalar < 0x10000 ? ScalarKind(rawValue: basicPlane[Int(scalar)]) : lookUp(scalar)
    }

    private static func lookUp(_ scalar: UInt32) -> ScalarKind {
        typealias Tables = BertUnicodeTables
        var kind: ScalarKind = []
        if UnicodeClasses.contains(Tables.removed, scalar) { kind.insert(.removed) }
        if UnicodeClasses.contains(Tables.spaces, scalar) { kind.insert(.space) }
        if UnicodeClasses.contains(Tables.chinese, scalar) { kind.insert(.chinese) }
        if UnicodeClasses.contains(Tables.punctuation, scalar) { kind.insert(.punctuation) }
        if UnicodeClasses.contains(Tables.whitespace, scalar) { kind.insert(.whitespace) }
        if UnicodeClasses.lookup(Tables.stripKeys, Tables.stripOffsets, Tables.stripValues, scalar) != nil {
            kind.insert(.stripMapped)
        }
        if UnicodeClasses.lookup(Tables.lowerKeys, Tables.lowerOffsets, Tables.lowerValues, scalar) != nil {
            kind.insert(.lowerMapped)
        }
        return kind
    }
}

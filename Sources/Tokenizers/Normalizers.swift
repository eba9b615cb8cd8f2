import Foundation

// The normalizers of tokenizer.json beyond BertNormalizer, each producing what `tokenizers` produces: the same
// characters, and each one's origin in the input by the library's own rule (`NormalizedString::transform_range`).

extension NormalizedText {
    /// Replaces the text by `changes` — each new scalar with its change in length, as `tokenizers`' normalizers
    /// emit them (`(char, isize)`) — after dropping the first `removed` scalars.
    ///
    /// Origins follow `transform_range`: a scalar with change ≤ 0 takes the origin of the next unconsumed old
    /// scalar and then consumes −change more; an inserted one (change > 0) takes the origin of the last consumed.
    mutating func transform(_ changes: [(scalar: UInt32, change: Int)], removed: Int = 0) {
        var newScalars: [UInt32] = []
        var newOrigins: [Int32] = []
        newScalars.reserveCapacity(changes.count)
        newOrigins.reserveCapacity(changes.count)
        var position = removed
        for (scalar, change) in changes {
            let origin: Int32
            if change > 0 {
                origin = position >= 1 ? origins[Swift.min(position, origins.count) - 1] : (origins.first ?? 0)
            } else {
                origin = position < origins.count ? origins[position] : (origins.last ?? 0)
                position += 1 - change
            }
            newScalars.append(scalar)
            newOrigins.append(origin)
        }
        scalars = newScalars
        origins = newOrigins
    }
}

/// A normalizer of tokenizer.json: the text's characters rewritten before pre-tokenization, offsets kept.
///
/// ```swift
/// let normalizer = Normalizer.sequence([.nfkc, .lowercase, .strip(left: true, right: true)])
/// ```
public indirect enum Normalizer: Sendable {
    /// BERT's cleanup, CJK spacing, accents, lowercase.
    case bert(BertNormalizer)
    /// Each in turn.
    case sequence([Normalizer])
    /// SentencePiece's `precompiled_charsmap` (nmt_nfkc and the like).
    case precompiled(PrecompiledCharsmap)
    /// Every match of a pattern replaced by `content`.
    case replace(ReplacePattern, content: String)
    /// Leading and/or trailing whitespace removed.
    case strip(left: Bool, right: Bool)
    /// `prefix` put before non-empty text.
    case prepend(String)
    /// Unicode's full lowercase mapping, one character at a time.
    case lowercase
    /// Unicode normalization forms.
    case nfc, nfd, nfkc, nfkd

    /// Rewrites `text` in place.
    func apply(_ text: inout NormalizedText) {
        switch self {
        case .bert(let bert):
            var out = NormalizedText()
            bert.normalize(text.scalars[...], into: &out)
            out.origins = out.origins.map { text.origins[Int($0)] }
            text = out
        case .sequence(let normalizers):
            for normalizer in normalizers { normalizer.apply(&text) }
        case .precompiled(let charsmap):
            charsmap.normalize(&text)
        case .replace(let pattern, let content):
            let matches = pattern.matches(in: text.scalars)
            guard !matches.isEmpty else { return }
            let replacement = content.unicodeScalars.map(\.value)
            var changes: [(scalar: UInt32, change: Int)] = []
            changes.reserveCapacity(text.scalars.count)
            var last = 0
            var removed = 0
            for match in matches {
                // Before a match: kept as they are. The match: removed (its length folded into the change of the
                // last scalar kept before it, or counted as removed at the start), then `content` inserted.
                for index in last..<match.lowerBound { changes.append((text.scalars[index], 0)) }
                if changes.isEmpty {
                    removed += match.count
                } else {
                    changes[changes.count - 1].change -= match.count
                }
                for scalar in replacement { changes.append((scalar, 1)) }
                last = match.upperBound
            }
            for index in last..<text.scalars.count { changes.append((text.scalars[index], 0)) }
            text.transform(changes, removed: removed)
        case .strip(let left, let right):
            let isSpace = { (value: UInt32) in Unicode.Scalar(value)?.properties.isWhitespace ?? false }
            let leading = left ? (text.scalars.firstIndex { !isSpace($0) } ?? text.scalars.count) : 0
            let trailing =
                right ? text.scalars.count - 1 - (text.scalars.lastIndex { !isSpace($0) } ?? -1) : 0
            guard leading > 0 || trailing > 0 else { return }
            let end = text.scalars.count - trailing
            guard leading < end else {
                text = NormalizedText()
                return
            }
            var changes = (leading..<end).map { (scalar: text.scalars[$0], change: 0) }
            changes[changes.count - 1].change = -trailing
            text.transform(changes, removed: leading)
        case .prepend(let prefix):
            guard let first = text.scalars.first, !prefix.isEmpty else { return }
            let added = prefix.unicodeScalars.map(\.value)
            var changes = added.enumerated().map { (scalar: $0.element, change: $0.offset == 0 ? 0 : 1) }
            changes.append((first, 1))
            changes += text.scalars.dropFirst().map { (scalar: $0, change: 0) }
            text.transform(changes)
        case .lowercase:
            guard text.scalars.contains(where: { $0 >= 0x41 }) else { return }
            if !text.scalars.contains(where: { $0 >= 0x80 }) {
                // ASCII: one scalar for one, in place (the origins stay).
                for index in text.scalars.indices where text.scalars[index] >= 0x41 && text.scalars[index] <= 0x5A {
                    text.scalars[index] += 0x20
                }
                return
            }
            var changes: [(scalar: UInt32, change: Int)] = []
            changes.reserveCapacity(text.scalars.count)
            for scalar in text.scalars {
                if scalar < 0x80 {
                    changes.append((scalar >= 0x41 && scalar <= 0x5A ? scalar + 0x20 : scalar, 0))
                    continue
                }
                let lower = Unicode.Scalar(scalar).map { $0.properties.lowercaseMapping.unicodeScalars.map(\.value) }
                for (index, value) in (lower ?? [scalar]).enumerated() { changes.append((value, index > 0 ? 1 : 0)) }
            }
            text.transform(changes)
        case .nfc: Self.unicodeNormalize(&text, compatible: false, composed: true)
        case .nfd: Self.unicodeNormalize(&text, compatible: false, composed: false)
        case .nfkc: Self.unicodeNormalize(&text, compatible: true, composed: true)
        case .nfkd: Self.unicodeNormalize(&text, compatible: true, composed: false)
        }
    }

    /// NFC, NFD, NFKC or NFKD with tokenizers' alignment.
    ///
    /// Below U+00A0 nothing decomposes or composes, so such a text (most text is ASCII) is its own normal form in all
    /// four and is left as it is.
    private static func unicodeNormalize(_ text: inout NormalizedText, compatible: Bool, composed: Bool) {
        guard text.scalars.contains(where: { $0 >= 0xA0 }) else { return }
        text.transform(UnicodeNormalization.changes(text.scalars, compatible: compatible, composed: composed))
    }
}

/// The pattern of a `Replace` normalizer or decoder: a literal string, or a regular expression.
///
/// A regular expression of the form `X{n,}` or `X+` (one literal character repeated, as in the converters'
/// `" {2,}"`) is matched directly; any other goes through Swift's `Regex` on Unicode scalars.
public struct ReplacePattern: @unchecked Sendable {
    enum Kind {
        case literal([UInt32])
        case run(UInt32, minimum: Int)
        case regex(Regex<AnyRegexOutput>)
    }

    let kind: Kind
    /// The pattern as tokenizer.json spells it.
    public let source: String

    /// A literal pattern.
    public init(literal: String) {
        kind = .literal(literal.unicodeScalars.map(\.value))
        source = literal
    }

    /// A regular expression; throws when Swift's `Regex` cannot compile it.
    public init(regex: String) throws {
        source = regex
        let scalars = Array(regex.unicodeScalars)
        if scalars.count >= 2, !"\\.[](){}*+?|^$".unicodeScalars.contains(scalars[0]) {
            let rest = String(String.UnicodeScalarView(scalars.dropFirst()))
            if rest == "+" {
                kind = .run(scalars[0].value, minimum: 1)
                return
            }
            if rest.hasPrefix("{"), rest.hasSuffix(",}"), let n = Int(rest.dropFirst().dropLast(2)), n >= 1 {
                kind = .run(scalars[0].value, minimum: n)
                return
            }
        }
        kind = .regex(try Regex(regex).matchingSemantics(.unicodeScalar))
    }

    /// The non-overlapping matches in `scalars`, leftmost first, as scalar ranges (empty matches skipped).
    func matches(in scalars: [UInt32]) -> [Range<Int>] {
        var found: [Range<Int>] = []
        switch kind {
        case .literal(let pattern):
            guard let head = pattern.first else { return [] }
            var index = 0
            while index + pattern.count <= scalars.count {
                if scalars[index] == head, scalars[index..<index + pattern.count].elementsEqual(pattern) {
                    found.append(index..<index + pattern.count)
                    index += pattern.count
                } else {
                    index += 1
                }
            }
        case .run(let scalar, let minimum):
            var index = 0
            while index < scalars.count {
                guard scalars[index] == scalar else {
                    index += 1
                    continue
                }
                var end = index
                while end < scalars.count, scalars[end] == scalar { end += 1 }
                if end - index >= minimum { found.append(index..<end) }
                index = end
            }
        case .regex(let regex):
            let string = String(String.UnicodeScalarView(scalars.compactMap(Unicode.Scalar.init)))
            let view = string.unicodeScalars
            for match in string.matches(of: regex) where !match.range.isEmpty {
                let start = view.distance(from: view.startIndex, to: match.range.lowerBound)
                found.append(start..<start + view.distance(from: match.range.lowerBound, to: match.range.upperBound))
            }
        }
        return found
    }

    /// `text` with every match replaced by `content` (the `Replace` decoder).
    func replacing(in text: String, with content: String) -> String {
        let scalars = text.unicodeScalars.map(\.value)
        let matches = matches(in: scalars)
        guard !matches.isEmpty else { return text }
        var out = String.UnicodeScalarView()
        var last = 0
        for match in matches {
            out.append(contentsOf: scalars[last..<match.lowerBound].compactMap(Unicode.Scalar.init))
            out.append(contentsOf: content.unicodeScalars)
            last = match.upperBound
        }
        out.append(contentsOf: scalars[last...].compactMap(Unicode.Scalar.init))
        return String(out)
    }
}

/// SentencePiece's Metaspace pre-tokenizer and decoder: spaces become `replacement` (`▁`), one is put before the
/// text as `prependScheme` says, and words start at each (with `split`).
///
/// ```swift
/// let metaspace = Metaspace(replacement: "▁", prependScheme: .always, split: true)
/// ```
public struct Metaspace: Sendable, Equatable {
    /// When a `replacement` is put before the text.
    public enum PrependScheme: String, Sendable {
        /// Before every piece the pre-tokenizer is given that does not start with one.
        case always
        /// Only before the piece that starts the text.
        case first
        /// Never.
        case never
    }

    public var replacement: UInt32
    public var prependScheme: PrependScheme
    public var split: Bool

    public init(replacement: Unicode.Scalar = "\u{2581}", prependScheme: PrependScheme = .always, split: Bool = true) {
        self.replacement = replacement.value
        self.prependScheme = prependScheme
        self.split = split
    }

    /// `word` with spaces replaced and the prefix put before it, cut into words (each starting at a replacement).
    func apply(_ word: PreTokenizedWord, into out: inout [PreTokenizedWord]) {
        var word = word
        for index in word.scalars.indices where word.scalars[index] == 0x20 { word.scalars[index] = replacement }
        if let first = word.scalars.first, first != replacement,
            prependScheme == .always || (prependScheme == .first && word.originalStart == 0)
        {
            word.scalars.insert(replacement, at: 0)
            word.origins.insert(word.origins[0], at: 0)
        }
        guard split else {
            out.append(word)
            return
        }
        var start = 0
        for index in word.scalars.indices where word.scalars[index] == replacement && index > start {
            out.append(word.slice(start..<index))
            start = index
        }
        if start < word.scalars.count { out.append(word.slice(start..<word.scalars.count)) }
    }

    /// What `apply` does to one piece before cutting it, into reused buffers.
    ///
    /// Spaces replaced, the prefix put before it as the scheme says; `forEachWord` then gives the words, without
    /// an array per word.
    func rewrite(
        _ piece: UnsafeBufferPointer<UInt32>, origins pieceOrigins: UnsafeBufferPointer<Int32>, originalStart: Int,
        into scalars: inout [UInt32], origins: inout [Int32]
    ) {
        scalars.removeAll(keepingCapacity: true)
        origins.removeAll(keepingCapacity: true)
        guard let first = piece.first else { return }
        let firstRewritten = first == 0x20 ? replacement : first
        if firstRewritten != replacement, prependScheme == .always || (prependScheme == .first && originalStart == 0) {
            scalars.append(replacement)
            origins.append(pieceOrigins[0])
        }
        for scalar in piece { scalars.append(scalar == 0x20 ? replacement : scalar) }
        origins.append(contentsOf: pieceOrigins)
    }

    /// The words of a rewritten piece, as `apply` cuts them: each starts at a replacement (with `split`).
    func forEachWord(in scalars: UnsafeBufferPointer<UInt32>, _ body: (Range<Int>) -> Void) {
        guard split else { return scalars.isEmpty ? () : body(0..<scalars.count) }
        var start = 0
        for index in scalars.indices where scalars[index] == replacement && index > start {
            body(start..<index)
            start = index
        }
        if start < scalars.count { body(start..<scalars.count) }
    }

    /// The decoder: each token's replacements become spaces, but the first token's are dropped unless the scheme
    /// is `never`.
    func decode(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { index, token in
            var out = String.UnicodeScalarView()
            for scalar in token.unicodeScalars {
                if scalar.value == replacement {
                    if index == 0 && prependScheme != .never { continue }
                    out.append(" ")
                } else {
                    out.append(scalar)
                }
            }
            return String(out)
        }
    }
}

/// A word while pre-tokenizers that rewrite text cut it: its scalars, each one's origin in the input, and where
/// the piece it came from starts in the input (tokenizers' `offsets_original().0`).
struct PreTokenizedWord {
    var scalars: [UInt32]
    var origins: [Int32]
    var originalStart: Int

    func slice(_ range: Range<Int>) -> PreTokenizedWord {
        PreTokenizedWord(
            scalars: Array(scalars[range]), origins: Array(origins[range]),
            originalStart: range.lowerBound == 0 ? originalStart : Int(origins[range.lowerBound]))
    }
}

extension Tokenizer.PreTokenizer {
    /// Replaces `words` by the words this pre-tokenizer cuts them into.
    func split(_ words: inout [PreTokenizedWord]) {
        var out: [PreTokenizedWord] = []
        out.reserveCapacity(words.count)
        switch self {
        case .sequence(let steps):
            for step in steps { step.split(&words) }
            return
        case .metaspace(let metaspace):
            for word in words { metaspace.apply(word, into: &out) }
        case .whitespaceSplit, .bert:
            for word in words {
                var ranges: [Range<Int>] = []
                if self == .bert {
                    BertPreTokenizer.split(word.scalars, 0..<word.scalars.count, into: &ranges)
                } else {
                    WhitespaceSplit.split(word.scalars, 0..<word.scalars.count, into: &ranges)
                }
                for range in ranges {
                    // A cut piece starts where its first character came from (tokenizers slices the original).
                    var piece = word.slice(range)
                    piece.originalStart = Int(word.origins[range.lowerBound])
                    out.append(piece)
                }
            }
        case .byteLevel:
            out = words  // refused inside a sequence when the file is read
        }
        words = out
    }
}

extension Tokenizer.Decoder {
    /// The decoded text of `tokens`: the decoder's chain, then the pieces joined.
    func decode(_ tokens: [String]) -> String { chain(tokens).joined() }

    /// tokenizers' `decode_chain`.
    func chain(_ tokens: [String]) -> [String] {
        switch self {
        case .wordPiece(let wordPiece): return [wordPiece.decode(tokens)]
        case .byteLevel: return [ByteLevel.decode(tokens)]
        case .plain: return [tokens.joined(separator: " ")]
        case .metaspace(let metaspace): return metaspace.decode(tokens)
        case .fuse: return [tokens.joined()]
        case .sequence(let decoders): return decoders.reduce(tokens) { $1.chain($0) }
        case .replace(let pattern, let content): return tokens.map { pattern.replacing(in: $0, with: content) }
        case .strip(let content, let start, let stop):
            return tokens.map { token in
                let scalars = Array(token.unicodeScalars)
                var from = 0
                while from < Swift.min(start, scalars.count), scalars[from].value == content { from += 1 }
                var to = scalars.count
                while scalars.count - to < stop, to > from, scalars[to - 1].value == content { to -= 1 }
                return String(String.UnicodeScalarView(scalars[from..<to]))
            }
        case .byteFallback:
            var out: [String] = []
            var bytes: [UInt8] = []
            func flush() {
                guard !bytes.isEmpty else { return }
                if let text = String(validating: bytes, as: UTF8.self) {
                    out.append(text)
                } else {
                    out += Array(repeating: "\u{FFFD}", count: bytes.count)
                }
                bytes.removeAll()
            }
            for token in tokens {
                let utf8 = Array(token.utf8)
                if utf8.count == 6, token.hasPrefix("<0x"), token.hasSuffix(">"),
                    let byte = UInt8(String(decoding: utf8[3..<5], as: UTF8.self), radix: 16)
                {
                    bytes.append(byte)
                } else {
                    flush()
                    out.append(token)
                }
            }
            flush()
            return out
        }
    }
}

extension ReplacePattern: Equatable {
    public static func == (a: ReplacePattern, b: ReplacePattern) -> Bool {
        a.source == b.source && a.isRegex == b.isRegex
    }

    var isRegex: Bool {
        if case .literal = kind { return false }
        return true
    }
}

/// Where special tokens go around one text or a pair (tokenizers' TemplateProcessing; BertProcessing and
/// RobertaProcessing are fixed templates of it): `[CLS] A [SEP]`, `[CLS] A [SEP] B [SEP]`.
///
/// ```swift
/// let template = Template.bert(cls: ("[CLS]", 101), sep: ("[SEP]", 102))
/// template.addedCount(pair: true)           // 3
/// ```
public struct Template: Sendable, Equatable {
    /// One element of a template: a special token, or the first (`A`) or second (`B`) text, with its type id.
    public enum Piece: Sendable, Equatable {
        case special(token: String, id: Int32, typeID: Int32)
        case sequence(second: Bool, typeID: Int32)
    }

    public var single: [Piece]
    public var pair: [Piece]

    public init(single: [Piece], pair: [Piece]) {
        self.single = single
        self.pair = pair
    }

    /// BERT's: `[CLS] A [SEP]` and `[CLS] A [SEP] B [SEP]`, B and its `[SEP]` with type id 1.
    public static func bert(cls: (String, Int32), sep: (String, Int32)) -> Template {
        let (open, close) = (
            Piece.special(token: cls.0, id: cls.1, typeID: 0), Piece.special(token: sep.0, id: sep.1, typeID: 0)
        )
        let first = [open, .sequence(second: false, typeID: 0), close]
        return Template(
            single: first,
            pair: first + [.sequence(second: true, typeID: 1), .special(token: sep.0, id: sep.1, typeID: 1)])
    }

    /// RoBERTa's: `<s> A </s>` and `<s> A </s></s> B </s>`, every type id 0.
    public static func roberta(cls: (String, Int32), sep: (String, Int32)) -> Template {
        let (open, close) = (
            Piece.special(token: cls.0, id: cls.1, typeID: 0), Piece.special(token: sep.0, id: sep.1, typeID: 0)
        )
        let first = [open, .sequence(second: false, typeID: 0), close]
        return Template(single: first, pair: first + [close, .sequence(second: true, typeID: 0), close])
    }

    /// How many tokens the template adds around one text or a pair (for truncation).
    public func addedCount(pair isPair: Bool) -> Int {
        (isPair ? pair : single).filter { if case .special = $0 { return true } else { return false } }.count
    }

    /// The type ids the template gives the first and the second text.
    func sequenceTypeIDs(pair isPair: Bool) -> (first: Int32, second: Int32) {
        var types: (first: Int32, second: Int32) = (0, 1)
        for case .sequence(let isSecond, let typeID) in isPair ? pair : single {
            if isSecond { types.second = typeID } else { types.first = typeID }
        }
        return types
    }

    /// Joins the encodings of the texts with the template's special tokens.
    func apply(_ first: Encoding, _ second: Encoding?) -> Encoding {
        if !first.overflowing.isEmpty || second?.overflowing.isEmpty == false {
            return applyMerging(first, second)
        }
        var out = Encoding()
        for piece in second == nil ? single : pair {
            switch piece {
            case .special(let token, let id, let typeID):
                out.append(id: id, token: token, typeID: typeID, offsets: 0..<0, special: true, sequence: nil)
            case .sequence(let isSecond, let typeID):
                guard let part = isSecond ? second : first else { continue }
                for index in 0..<part.count {
                    out.append(
                        id: part.ids[index], token: part.tokens[index], typeID: typeID, offsets: part.offsets[index],
                        special: false, sequence: isSecond ? 1 : 0)
                }
            }
        }
        return out
    }

    /// The template applied piece by piece with `Encoding.merge`, as tokenizers does: what gives truncated texts'
    /// overflowing windows their special tokens, in tokenizers' order.
    private func applyMerging(_ first: Encoding, _ second: Encoding?) -> Encoding {
        var out = Encoding()
        for piece in second == nil ? single : pair {
            switch piece {
            case .special(let token, let id, let typeID):
                var special = Encoding()
                special.append(id: id, token: token, typeID: typeID, offsets: 0..<0, special: true, sequence: nil)
                out.merge(special)
            case .sequence(let isSecond, let typeID):
                guard var part = isSecond ? second : first else { continue }
                part.assign(typeID: typeID, sequence: isSecond ? 1 : 0)
                out.merge(part)
            }
        }
        return out
    }
}

/// tokenizers' WordPiece decoder: pieces joined, `##` pieces glued to the previous one, and (with `cleanup`) the
/// spaces before punctuation and in English contractions removed, token by token as the library does.
///
/// ```swift
/// WordPieceDecoder().decode(["hug", "##ging", "face"])    // "hugging face"
/// ```
public struct WordPieceDecoder: Sendable, Equatable {
    public var prefix = "##"
    public var cleanup = true

    public init(prefix: String = "##", cleanup: Bool = true) {
        self.prefix = prefix
        self.cleanup = cleanup
    }

    public func decode(_ tokens: [String]) -> String {
        var out = ""
        for (index, token) in tokens.enumerated() {
            var piece = token
            if index != 0 {
                if piece.utf8.starts(with: prefix.utf8) {
                    piece = String(decoding: piece.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
                } else {
                    piece = " " + piece
                }
            }
            out += cleanup ? Self.cleanup(piece) : piece
        }
        return out
    }

    /// The replacements of tokenizers' `cleanup`, in its order.
    static func cleanup(_ text: String) -> String {
        var text = text
        for (from, to) in [
            (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
            (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
        ] {
            text = text.replacingBytes(from, with: to)
        }
        return text
    }
}

extension String {
    /// Every occurrence of `target` replaced, comparing UTF-8 bytes (no Unicode equivalence).
    func replacingBytes(_ target: String, with replacement: String) -> String {
        let bytes = Array(utf8)
        let pattern = Array(target.utf8)
        guard !pattern.isEmpty, bytes.count >= pattern.count else { return self }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if index + pattern.count <= bytes.count, bytes[index..<index + pattern.count].elementsEqual(pattern) {
                out += replacement.utf8
                index += pattern.count
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

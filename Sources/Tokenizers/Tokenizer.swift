import Formats

/// A tokenizer assembled as Hugging Face `tokenizers` assembles one — added tokens, normalizer, pre-tokenizer,
/// model, post-processor, decoder — giving the same ids, type ids and offsets.
///
/// Built from a `tokenizer.json` (`load(file:)`) or from a BERT `vocab.txt` (`bert(vocabulary:)`).
public struct Tokenizer: Sendable {
    /// The subword model.
    public enum Model: Sendable {
        case wordPiece(WordPiece)
        case bpe(BPE)
    }

    /// How a text is cut into words before the model sees them.
    public enum PreTokenizer: Sendable, Equatable {
        case bert
        case byteLevel(ByteLevel)
    }

    /// How ids become text again.
    public enum Decoder: Sendable, Equatable {
        case wordPiece(WordPieceDecoder)
        case byteLevel
    }

    public let normalizer: BertNormalizer?
    public let preTokenizer: PreTokenizer
    public let model: Model
    public let addedTokens: [AddedToken]
    /// Special tokens around one text or a pair; nil adds none.
    public let template: Template?
    /// ByteLevel and RobertaProcessing's `trim_offsets` (with their `add_prefix_space`): offsets lose the spaces.
    public let trimOffsets: (addPrefixSpace: Bool, enabled: Bool)
    public let decoder: Decoder
    /// The truncation tokenizer.json sets, which `encode` does not apply (transformers does not unless asked):
    /// pass it to `encode(_:truncation:)` or `encodeBatch` for what the tokenizers library's `encode` gives.
    public var truncation: Truncation?
    /// The padding tokenizer.json sets; applied only when passed to `encodeBatch`, like `truncation`.
    public var padding: Padding?
    private let rawMatcher: AddedTokenMatcher
    private let normalizedMatcher: AddedTokenMatcher
    private let tokensByID: [Int32: String]
    /// The same, as an array when ids are dense enough (they are in real vocabularies): no hashing per token.
    private let tokenArray: [String?]
    private let idsByToken: [[UInt8]: Int32]
    private let specialIDs: Set<Int32>

    /// A tokenizer from its parts; `vocabulary` lists the model's (token, id) pairs.
    public init(
        normalizer: BertNormalizer?, preTokenizer: PreTokenizer = .bert, model: Model, vocabulary: [(String, Int32)],
        addedTokens: [AddedToken], template: Template?,
        trimOffsets: (addPrefixSpace: Bool, enabled: Bool) = (false, false),
        decoder: Decoder = .wordPiece(WordPieceDecoder())
    ) throws(TokenizerError) {
        var tokensByID: [Int32: String] = [:]
        for (token, id) in vocabulary { tokensByID[id] = token }
        for token in addedTokens {
            guard token.id >= 0 else {
                throw TokenizerError.invalid("added token '\(token.content)' has id \(token.id)")
            }
            if let existing = tokensByID[token.id], existing.utf8.elementsEqual(token.content.utf8) == false {
                throw TokenizerError.invalid(
                    "added token '\(token.content)' takes id \(token.id), which the vocabulary gives to '\(existing)'")
            }
            tokensByID[token.id] = token.content
        }
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.trimOffsets = trimOffsets
        self.model = model
        self.addedTokens = addedTokens
        self.template = template
        self.decoder = decoder
        self.tokensByID = tokensByID
        let maxID = Int(tokensByID.keys.max() ?? -1)
        var array = [String?](repeating: nil, count: maxID < 2 * tokensByID.count + 1024 ? maxID + 1 : 0)
        if !array.isEmpty { for (id, token) in tokensByID { array[Int(id)] = token } }
        tokenArray = array
        idsByToken = Dictionary(tokensByID.map { (Array($1.utf8), $0) }, uniquingKeysWith: min)
        rawMatcher = AddedTokenMatcher(addedTokens.filter { !$0.normalized })
        normalizedMatcher = AddedTokenMatcher(addedTokens.filter(\.normalized))
        specialIDs = Set(addedTokens.filter(\.special).map(\.id))
    }

    /// The token string of an id (vocabulary or added token).
    public func token(for id: Int32) -> String? {
        id >= 0 && Int(id) < tokenArray.count ? tokenArray[Int(id)] : tokensByID[id]
    }

    /// The id of a token string.
    public func id(for token: String) -> Int32? { idsByToken[Array(token.utf8)] }

    /// Encodes one text, or a pair, as `tokenizer(text, pair)` does in Python (no truncation, no padding).
    public func encode(_ text: String, pair: String? = nil, addSpecialTokens: Bool = true) -> Encoding {
        combine(
            encodeSequence(text, sequence: 0), pair.map { encodeSequence($0, sequence: 1) },
            addSpecialTokens: addSpecialTokens)
    }

    /// One encoding from the encoded texts: the template's special tokens around them, or just the two in a row.
    func combine(_ first: Encoding, _ second: Encoding?, addSpecialTokens: Bool) -> Encoding {
        var first = first
        var second = second
        if trimOffsets.enabled {
            func trim(_ encoding: inout Encoding) {
                ByteLevel.trimOffsets(&encoding, addPrefixSpace: trimOffsets.addPrefixSpace)
                for index in encoding.overflowing.indices { trim(&encoding.overflowing[index]) }
            }
            trim(&first)
            if var other = second {
                trim(&other)
                second = other
            }
        }
        if addSpecialTokens, let template { return template.apply(first, second) }
        // Without special tokens a template still gives each text its type id (RoBERTa's: 0 for both); without a
        // template the texts get 0 and 1, as tokenizers' default post-processing does.
        let types = template?.sequenceTypeIDs(pair: second != nil) ?? (first: 0, second: 1)
        if first.typeIDs.contains(where: { $0 != types.first }) { first.assign(typeID: types.first, sequence: 0) }
        guard var second else { return first }
        second.assign(typeID: types.second, sequence: 1)
        first.merge(second)
        return first
    }

    /// The tokens of one text, with offsets into it and no special tokens added.
    func encodeSequence(_ text: String, sequence: Int) -> Encoding {
        let scalars = text.unicodeScalars.map(\.value)
        var encoding = Encoding()
        for piece in rawMatcher.split(scalars, 0..<scalars.count) {
            switch piece {
            case .token(let token, let range):
                encoding.append(
                    id: token.id, token: token.content, typeID: 0, offsets: range, special: false, sequence: sequence)
            case .text(let range):
                var text = NormalizedText(scalars[range], start: range.lowerBound)
                if let normalizer { text = normalizer.normalize(text) }
                for part in normalizedMatcher.split(text.scalars, 0..<text.scalars.count) {
                    switch part {
                    case .token(let token, let span):
                        let offsets = Int(text.origins[span.lowerBound])..<Int(text.origins[span.upperBound - 1]) + 1
                        encoding.append(
                            id: token.id, token: token.content, typeID: 0, offsets: offsets, special: false,
                            sequence: sequence)
                    case .text(let span):
                        appendWords(of: text, in: span, to: &encoding, sequence: sequence)
                    }
                }
            }
        }
        return encoding
    }

    private func appendWords(of text: NormalizedText, in span: Range<Int>, to encoding: inout Encoding, sequence: Int) {
        var pieces: [(id: Int32, range: Range<Int>)] = []
        var scratch = WordPiece.Scratch()
        func emit(_ scalars: ArraySlice<UInt32>, _ origins: ArraySlice<Int32>) {
            pieces.removeAll(keepingCapacity: true)
            switch model {
            case .wordPiece(let wordPiece): wordPiece.tokenize(scalars, into: &pieces, scratch: &scratch)
            case .bpe(let bpe): bpe.tokenize(scalars, into: &pieces)
            }
            let base = origins.startIndex
            for piece in pieces {
                encoding.append(
                    id: piece.id, token: token(for: piece.id) ?? "", typeID: 0,
                    offsets: Int(origins[base + piece.range.lowerBound])..<Int(
                        origins[base + piece.range.upperBound - 1]) + 1,
                    special: false, sequence: sequence)
            }
        }
        switch preTokenizer {
        case .bert:
            var words: [Range<Int>] = []
            BertPreTokenizer.split(text.scalars, span, into: &words)
            for word in words { emit(text.scalars[word], text.origins[word]) }
        case .byteLevel(let byteLevel):
            var part = NormalizedText()
            part.scalars = Array(text.scalars[span])
            part.origins = Array(text.origins[span])
            for word in byteLevel.words(part) { emit(word.scalars[...], word.origins[...]) }
        }
    }

    /// Text from ids, as `tokenizer.decode(ids, skip_special_tokens=…)` gives it.
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool = true) -> String {
        let tokens = ids.compactMap { id -> String? in
            if skipSpecialTokens, specialIDs.contains(id) { return nil }
            return token(for: id)
        }
        switch decoder {
        case .wordPiece(let wordPiece): return wordPiece.decode(tokens)
        case .byteLevel: return ByteLevel.decode(tokens)
        }
    }
}

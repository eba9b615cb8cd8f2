/// A tokenizer assembled as Hugging Face `tokenizers` assembles one — added tokens, normalizer, pre-tokenizer,
/// model, post-processor, decoder — giving the same ids, type ids and offsets.
///
/// Built from a `tokenizer.json` (`load(file:)`) or from a BERT `vocab.txt` (`bert(vocabulary:)`).
///
/// ```swift
/// let tokenizer = try AutoTokenizer.fromFolder("Tests/Fixtures/models/tiny-bert")
/// let encoding = tokenizer.encode("Hello there!", pair: "General Kenobi.")
/// print(encoding.ids, encoding.tokens, tokenizer.decode(encoding.ids))
/// ```
public struct Tokenizer: Sendable {
    /// The subword model.
    public enum Model: Sendable {
        case wordPiece(WordPiece)
        case bpe(BPE)
        case wordLevel(WordLevel)
        case unigram(Unigram)

        /// The model's token → id table.
        var vocabulary: VocabularyTable {
            switch self {
            case .wordPiece(let model): model.vocabulary
            case .bpe(let model): model.vocabulary
            case .wordLevel(let model): model.vocabulary
            case .unigram(let model): model.vocabulary
            }
        }
    }

    /// How a text is cut into words before the model sees them.
    public enum PreTokenizer: Sendable, Equatable {
        case bert
        case byteLevel(ByteLevel)
        /// Words split at whitespace only (tokenizers' WhitespaceSplit).
        case whitespaceSplit
        /// Spaces as `▁`, one prepended, words starting at each (SentencePiece's).
        case metaspace(Metaspace)
        /// Each in turn on the words of the one before.
        case sequence([PreTokenizer])
    }

    /// How ids become text again.
    public indirect enum Decoder: Sendable, Equatable {
        case wordPiece(WordPieceDecoder)
        case byteLevel
        /// Tokens joined with spaces: what tokenizers does without a decoder.
        case plain
        /// `▁` back to spaces, the first token's dropped unless the scheme is `never`.
        case metaspace(Metaspace)
        /// Runs of `<0xXX>` tokens back to their UTF-8 text (one U+FFFD per byte when it is not UTF-8).
        case byteFallback
        /// All tokens joined into one.
        case fuse
        /// Up to `start` leading and `stop` trailing `content` characters removed from each token.
        case strip(content: UInt32, start: Int, stop: Int)
        /// Each token's matches of a pattern replaced by `content`.
        case replace(ReplacePattern, content: String)
        /// Each in turn on the tokens of the one before.
        case sequence([Decoder])
    }

    public let normalizer: Normalizer?
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
    /// Token strings by id, when ids are dense enough (they are in real vocabularies): no hashing per token.
    private let tokenArray: [String?]
    /// The same when they are not.
    private let sparseTokens: [Int32: String]
    /// The added tokens' ids by their bytes (the model's vocabulary has the rest).
    private let addedIDs: VocabularyTable
    /// The special added tokens' strings: decoding skips every id whose token is one of them, as tokenizers does
    /// (XLM-R's vocabulary has `<unk>` at 3, and the special `<unk>` at 4).
    private let specialTokens: Set<String>
    /// Per id (when offsets are trimmed): the space characters its token starts with (high byte) and ends with.
    private let spaceEdges: [UInt16]

    /// A tokenizer from its parts; the model carries the vocabulary.
    public init(
        normalizer: Normalizer?, preTokenizer: PreTokenizer = .bert, model: Model, addedTokens: [AddedToken],
        template: Template?, trimOffsets: (addPrefixSpace: Bool, enabled: Bool) = (false, false),
        decoder: Decoder = .wordPiece(WordPieceDecoder())
    ) throws(TokenizerError) {
        let vocabulary = model.vocabulary
        var maxID: Int32 = -1
        for entry in vocabulary.entries { maxID = max(maxID, entry.id) }
        for token in addedTokens {
            guard token.id >= 0 else {
                throw TokenizerError.invalid("added token '\(token.content)' has id \(token.id)")
            }
            maxID = max(maxID, token.id)
        }
        let dense = Int(maxID) < 2 * (vocabulary.entries.count + addedTokens.count) + 1024
        var array = [String?](repeating: nil, count: dense ? Int(maxID) + 1 : 0)
        var sparse: [Int32: String] = [:]
        vocabulary.forEachEntry { bytes, id in
            let token = String(decoding: bytes, as: UTF8.self)  // the files' UTF-8 was checked when read
            if dense { array[Int(id)] = token } else { sparse[id] = token }
        }
        for token in addedTokens {
            if let existing = dense ? array[Int(token.id)] : sparse[token.id],
                existing.utf8.elementsEqual(token.content.utf8) == false
            {
                throw TokenizerError.invalid(
                    "added token '\(token.content)' takes id \(token.id), which the vocabulary gives to '\(existing)'")
            }
            if dense { array[Int(token.id)] = token.content } else { sparse[token.id] = token.content }
        }
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.trimOffsets = trimOffsets
        self.model = model
        self.addedTokens = addedTokens
        self.template = template
        self.decoder = decoder
        tokenArray = array
        sparseTokens = sparse
        addedIDs = VocabularyTable(addedTokens.map { ($0.content, $0.id) })
        rawMatcher = AddedTokenMatcher(addedTokens.filter { !$0.normalized })
        normalizedMatcher = AddedTokenMatcher(addedTokens.filter(\.normalized))
        specialTokens = Set(addedTokens.filter(\.special).map(\.content))
        spaceEdges = trimOffsets.enabled ? array.map { ByteLevel.spaceEdges($0 ?? "") } : []
    }

    /// The token string of an id (vocabulary or added token).
    public func token(for id: Int32) -> String? {
        id >= 0 && Int(id) < tokenArray.count ? tokenArray[Int(id)] : sparseTokens[id]
    }

    /// The id of a token string (the smaller, when an added token and the vocabulary both have it).
    public func id(for token: String) -> Int32? {
        switch (addedIDs.id(token), model.vocabulary.id(token)) {
        case (let added?, let vocabulary?): return min(added, vocabulary)
        case (let added, let vocabulary): return added ?? vocabulary
        }
    }

    /// Encodes one text, or a pair, as `tokenizer(text, pair)` does in Python (no truncation, no padding).
    public func encode(_ text: String, pair: String? = nil, addSpecialTokens: Bool = true) -> Encoding {
        let scratch = ThreadScratch.acquire()
        defer { scratch.release() }
        collect(text, into: &scratch.first, buffers: &scratch.buffers)
        if let pair { collect(pair, into: &scratch.second, buffers: &scratch.buffers) }
        if trimOffsets.enabled {
            trim(scratch.first.ids, &scratch.first.offsets)
            if pair != nil { trim(scratch.second.ids, &scratch.second.offsets) }
        }
        return assemble(scratch.first, pair == nil ? nil : scratch.second, addSpecialTokens: addSpecialTokens)
    }

    /// One text's tokens while it is encoded: ids and their offsets in the text.
    struct Pieces {
        var ids: [Int32] = []
        var offsets: [Range<Int>] = []
    }

    /// Buffers reused across the words and texts a thread encodes (`ThreadScratch`), so a word costs no allocation.
    struct Buffers {
        var scalars: [UInt32] = []
        var text = NormalizedText()
        var split: [AddedTokenMatcher.Piece] = []
        var normalizedSplit: [AddedTokenMatcher.Piece] = []
        var words: [Range<Int>] = []
        var pieces: [(id: Int32, range: Range<Int>)] = []
        var wordPiece = WordPiece.Scratch()
        var byteLevel = ByteLevel.Scratch()
        var unigram = Unigram.Scratch()
        /// A Metaspace piece rewritten (`metaspaceWords`), taken out while words are emitted.
        var metaspaceBuffers: ([UInt32], [Int32]) = ([], [])

        mutating func takeMetaspaceBuffers() -> ([UInt32], [Int32]) {
            defer { metaspaceBuffers = ([], []) }
            return metaspaceBuffers
        }
        /// The word cache of the BPE or Unigram model at work (`selectWordCache(for:)`), and this thread's others by
        /// model.
        var wordCache = WordCache()
        var wordCacheModel: UInt64 = 0
        var wordCaches: [(model: UInt64, cache: WordCache)] = []
    }

    /// The final encoding, built once at its full size: the template's special tokens around the texts, or (without
    /// special tokens) the texts in a row with the type ids the template gives them (without a template, 0 and 1,
    /// as tokenizers' default post-processing).
    private func assemble(_ first: Pieces, _ second: Pieces?, addSpecialTokens: Bool) -> Encoding {
        let layout: [Template.Piece]
        if addSpecialTokens, let template {
            layout = second == nil ? template.single : template.pair
        } else {
            let types = template?.sequenceTypeIDs(pair: second != nil) ?? (first: 0, second: 1)
            layout =
                [.sequence(second: false, typeID: types.first)]
                + (second == nil ? [] : [.sequence(second: true, typeID: types.second)])
        }
        var total = 0
        for piece in layout {
            switch piece {
            case .special: total += 1
            case .sequence(let isSecond, _): total += (isSecond ? second?.ids.count : first.ids.count) ?? 0
            }
        }
        var out = Encoding()
        out.reserveCapacity(total)
        for piece in layout {
            switch piece {
            case .special(let token, let id, let typeID):
                out.append(id: id, token: token, typeID: typeID, offsets: 0..<0, special: true, sequence: nil)
            case .sequence(let isSecond, let typeID):
                guard let part = isSecond ? second : first else { continue }
                for index in part.ids.indices {
                    let id = part.ids[index]
                    out.append(
                        id: id, token: token(for: id) ?? "", typeID: typeID, offsets: part.offsets[index],
                        special: false, sequence: isSecond ? 1 : 0)
                }
            }
        }
        return out
    }

    /// One encoding from the encoded texts (after truncation): the template's special tokens around them, or just
    /// the two in a row.
    func combine(_ first: Encoding, _ second: Encoding?, addSpecialTokens: Bool) -> Encoding {
        var first = first
        var second = second
        if trimOffsets.enabled {
            func trim(_ encoding: inout Encoding) {
                self.trim(encoding.ids, &encoding.offsets)
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

    /// tokenizers' `process_offsets` (ByteLevel and RobertaProcessing with `trim_offsets`): offsets lose the spaces
    /// (`Ġ` or whitespace) a token starts or ends with, except the one space `add_prefix_space` put before the first
    /// word.
    private func trim(_ ids: [Int32], _ offsets: inout [Range<Int>]) {
        for index in ids.indices {
            let id = ids[index]
            let edges =
                id >= 0 && Int(id) < spaceEdges.count
                ? spaceEdges[Int(id)] : ByteLevel.spaceEdges(token(for: id) ?? "")
            guard edges != 0 else { continue }
            var leading = Int(edges >> 8)
            let trailing = Int(edges & 0xFF)
            var range = offsets[index]
            if leading > 0 {
                if (index == 0 || range.lowerBound == 0) && trimOffsets.addPrefixSpace && leading == 1 { leading = 0 }
                range = min(range.lowerBound + leading, range.upperBound)..<range.upperBound
            }
            if trailing > 0, range.upperBound >= trailing {
                range = range.lowerBound..<max(range.upperBound - trailing, range.lowerBound)
            }
            offsets[index] = range
        }
    }

    /// The tokens of one text, with offsets into it and no special tokens added.
    func encodeSequence(_ text: String, sequence: Int) -> Encoding {
        let scratch = ThreadScratch.acquire()
        defer { scratch.release() }
        collect(text, into: &scratch.first, buffers: &scratch.buffers)
        var encoding = Encoding()
        encoding.reserveCapacity(scratch.first.ids.count)
        for (id, offsets) in zip(scratch.first.ids, scratch.first.offsets) {
            encoding.append(
                id: id, token: token(for: id) ?? "", typeID: 0, offsets: offsets, special: false, sequence: sequence)
        }
        return encoding
    }

    /// The tokens of `text` (added tokens, then normalizer, pre-tokenizer and model on the rest), in place of what
    /// `out` held.
    private func collect(_ text: String, into out: inout Pieces, buffers: inout Buffers) {
        out.ids.removeAll(keepingCapacity: true)
        out.offsets.removeAll(keepingCapacity: true)
        var scalars: [UInt32] = []
        swap(&scalars, &buffers.scalars)  // out of `buffers`, which the calls below also take
        defer { swap(&scalars, &buffers.scalars) }
        Self.scalarValues(text, into: &scalars)
        guard !rawMatcher.isEmpty else {
            collectSegment(scalars[...], into: &out, buffers: &buffers)
            return
        }
        var split: [AddedTokenMatcher.Piece] = []
        swap(&split, &buffers.split)
        defer { swap(&split, &buffers.split) }
        rawMatcher.split(scalars, 0..<scalars.count, into: &split)
        for piece in split {
            switch piece {
            case .token(let token, let range):
                out.ids.append(token.id)
                out.offsets.append(range)
            case .text(let range):
                collectSegment(scalars[range], into: &out, buffers: &buffers)
            }
        }
    }

    /// The text's code points, in place of what `values` held; ASCII bytes are taken straight from the UTF-8 (most
    /// text is mostly ASCII).
    static func scalarValues(_ text: String, into values: inout [UInt32]) {
        values.removeAll(keepingCapacity: true)
        var text = text
        text.withUTF8 { bytes in
            values.reserveCapacity(bytes.count)
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte < 0x80 {
                    values.append(UInt32(byte))
                    index += 1
                    continue
                }
                // Valid UTF-8 (a Swift string): the lead byte gives the length.
                let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2
                var value = UInt32(byte) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
                for offset in 1..<length { value = value << 6 | UInt32(bytes[index + offset] & 0x3F) }
                values.append(value)
                index += length
            }
        }
    }

    /// A stretch of text between added tokens that are matched before normalization.
    private func collectSegment(_ scalars: ArraySlice<UInt32>, into out: inout Pieces, buffers: inout Buffers) {
        var text = NormalizedText()
        swap(&text, &buffers.text)
        defer { swap(&text, &buffers.text) }
        if case .bert(let bert)? = normalizer {
            bert.normalize(scalars, into: &text)
        } else if let normalizer {
            text.scalars.removeAll(keepingCapacity: true)
            text.scalars += scalars
            text.origins.removeAll(keepingCapacity: true)
            for index in scalars.indices { text.origins.append(Int32(truncatingIfNeeded: index)) }
            normalizer.apply(&text)
        } else {
            text.scalars.removeAll(keepingCapacity: true)
            text.scalars += scalars
            text.origins.removeAll(keepingCapacity: true)
            for index in scalars.indices { text.origins.append(Int32(truncatingIfNeeded: index)) }
        }
        guard !normalizedMatcher.isEmpty else {
            appendWords(of: text, in: 0..<text.scalars.count, to: &out, buffers: &buffers)
            return
        }
        var split: [AddedTokenMatcher.Piece] = []
        swap(&split, &buffers.normalizedSplit)
        defer { swap(&split, &buffers.normalizedSplit) }
        normalizedMatcher.split(text.scalars, 0..<text.scalars.count, into: &split)
        for part in split {
            switch part {
            case .token(let token, let span):
                out.ids.append(token.id)
                out.offsets.append(Int(text.origins[span.lowerBound])..<Int(text.origins[span.upperBound - 1]) + 1)
            case .text(let span):
                appendWords(of: text, in: span, to: &out, buffers: &buffers)
            }
        }
    }

    private func appendWords(
        of text: NormalizedText, in span: Range<Int>, to out: inout Pieces, buffers: inout Buffers
    ) {
        // The model is taken out of its enum once per segment and passed on as a generic argument, not captured by
        // a closure: a capture would retain it, an atomic write to memory every thread reads.
        switch model {
        case .wordPiece(let wordPiece):
            appendWords(of: text, in: span, to: &out, buffers: &buffers, with: wordPiece)
        case .bpe(let bpe):
            buffers.selectWordCache(for: bpe.identity)
            appendWords(of: text, in: span, to: &out, buffers: &buffers, with: bpe)
        case .wordLevel(let wordLevel):
            appendWords(of: text, in: span, to: &out, buffers: &buffers, with: wordLevel)
        case .unigram(let unigram):
            buffers.selectWordCache(for: unigram.identity)
            appendWords(of: text, in: span, to: &out, buffers: &buffers, with: unigram)
        }
    }

    private func appendWords<Model: WordModel>(
        of text: NormalizedText, in span: Range<Int>, to out: inout Pieces, buffers: inout Buffers,
        with model: Model
    ) {
        func emit(_ scalars: UnsafeBufferPointer<UInt32>, _ origins: UnsafeBufferPointer<Int32>) {
            buffers.pieces.removeAll(keepingCapacity: true)
            model.tokenize(scalars, buffers: &buffers)
            for piece in buffers.pieces {
                out.ids.append(piece.id)
                out.offsets.append(Int(origins[piece.range.lowerBound])..<Int(origins[piece.range.upperBound - 1]) + 1)
            }
        }
        func emitWords() {
            let words = buffers.words
            text.scalars.withUnsafeBufferPointer { scalars in
                text.origins.withUnsafeBufferPointer { origins in
                    for word in words {
                        emit(UnsafeBufferPointer(rebasing: scalars[word]), UnsafeBufferPointer(rebasing: origins[word]))
                    }
                }
            }
        }
        switch preTokenizer {
        case .bert:
            buffers.words.removeAll(keepingCapacity: true)
            BertPreTokenizer.split(text.scalars, span, into: &buffers.words)
            emitWords()
        case .whitespaceSplit:
            buffers.words.removeAll(keepingCapacity: true)
            WhitespaceSplit.split(text.scalars, span, into: &buffers.words)
            emitWords()
        case .byteLevel(let byteLevel):
            var scratch = ByteLevel.Scratch()
            swap(&scratch, &buffers.byteLevel)
            byteLevel.forEachWord(text, span, scratch: &scratch) { scalars, origins in emit(scalars, origins) }
            swap(&scratch, &buffers.byteLevel)
        case .metaspace(let metaspace):
            guard !span.isEmpty else { return }
            var (scalars, origins) = buffers.takeMetaspaceBuffers()
            metaspaceWords(metaspace, of: text, in: [span], scalars: &scalars, origins: &origins, emit: emit)
            buffers.metaspaceBuffers = (scalars, origins)
        case .sequence(let steps) where steps.count == 2 && steps[0] == .whitespaceSplit:
            // transformers 5's SentencePiece layout, WhitespaceSplit then Metaspace, streamed as the one above.
            guard case .metaspace(let metaspace) = steps[1] else { fallthrough }
            buffers.words.removeAll(keepingCapacity: true)
            WhitespaceSplit.split(text.scalars, span, into: &buffers.words)
            let pieces = buffers.words
            var (scalars, origins) = buffers.takeMetaspaceBuffers()
            metaspaceWords(metaspace, of: text, in: pieces, scalars: &scalars, origins: &origins, emit: emit)
            buffers.metaspaceBuffers = (scalars, origins)
        case .sequence:
            // Pre-tokenizers that rewrite the words they cut: each word is its own scalars and origins.
            guard !span.isEmpty else { return }
            // tokenizers slices the normalized segment before pre-tokenizing it, so the piece starts where its first
            // normalized character came from.
            let start = Int(text.origins[span.lowerBound])
            var words = [
                PreTokenizedWord(
                    scalars: Array(text.scalars[span]), origins: Array(text.origins[span]), originalStart: start)
            ]
            preTokenizer.split(&words)
            for word in words where !word.scalars.isEmpty {
                word.scalars.withUnsafeBufferPointer { scalars in
                    word.origins.withUnsafeBufferPointer { origins in emit(scalars, origins) }
                }
            }
        }
    }

    /// Metaspace over each piece of `text` (a piece starts where its first character came from, as tokenizers
    /// slices the original), each word passed to `emit` from the reused buffers `scalars` and `origins`: what
    /// `PreTokenizer.split` gives, without its arrays per word.
    private func metaspaceWords(
        _ metaspace: Metaspace, of text: NormalizedText, in pieces: [Range<Int>], scalars: inout [UInt32],
        origins: inout [Int32], emit: (UnsafeBufferPointer<UInt32>, UnsafeBufferPointer<Int32>) -> Void
    ) {
        for piece in pieces {
            text.scalars.withUnsafeBufferPointer { textScalars in
                text.origins.withUnsafeBufferPointer { textOrigins in
                    metaspace.rewrite(
                        UnsafeBufferPointer(rebasing: textScalars[piece]),
                        origins: UnsafeBufferPointer(rebasing: textOrigins[piece]),
                        originalStart: Int(textOrigins[piece.lowerBound]), into: &scalars, origins: &origins)
                }
            }
            scalars.withUnsafeBufferPointer { scalars in
                origins.withUnsafeBufferPointer { origins in
                    metaspace.forEachWord(in: scalars) { word in
                        emit(UnsafeBufferPointer(rebasing: scalars[word]), UnsafeBufferPointer(rebasing: origins[word]))
                    }
                }
            }
        }
    }

    /// Text from ids, as `tokenizer.decode(ids, skip_special_tokens=…)` gives it.
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool = true) -> String {
        let tokens = ids.compactMap { id -> String? in
            guard let token = token(for: id) else { return nil }
            return skipSpecialTokens && specialTokens.contains(token) ? nil : token
        }
        return decoder.decode(tokens)
    }
}

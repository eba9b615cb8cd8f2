import Dispatch

#if canImport(Glibc)
    import Glibc
#endif

/// How long inputs are cut, as tokenizers' `enable_truncation` sets it.
public struct Truncation: Sendable, Equatable {
    /// Which text loses tokens when a pair is too long.
    public enum Strategy: Sendable, Equatable {
        /// Tokens come off the longer text first, until both fit (then evenly).
        case longestFirst
        case onlyFirst
        case onlySecond
    }

    /// Which end of a text loses tokens.
    public enum Direction: Sendable, Equatable {
        case right, left
    }

    /// The longest result, special tokens included.
    public var maxLength: Int
    public var strategy: Strategy
    public var direction: Direction

    public init(maxLength: Int, strategy: Strategy = .longestFirst, direction: Direction = .right) {
        self.maxLength = maxLength
        self.strategy = strategy
        self.direction = direction
    }
}

/// How a batch is padded, as tokenizers' `enable_padding` sets it.
public struct Padding: Sendable, Equatable {
    /// To the longest encoding of the batch, or to a fixed length.
    public enum Length: Sendable, Equatable {
        case longest
        case fixed(Int)
    }

    public var length: Length
    /// Padding before the tokens (`left`) or after them (`right`).
    public var left: Bool
    /// Round the length up to a multiple of this.
    public var multipleOf: Int?
    public var padID: Int32
    public var padTypeID: Int32
    public var padToken: String

    public init(
        length: Length = .longest, left: Bool = false, multipleOf: Int? = nil, padID: Int32 = 0, padTypeID: Int32 = 0,
        padToken: String = "[PAD]"
    ) {
        self.length = length
        self.left = left
        self.multipleOf = multipleOf
        self.padID = padID
        self.padTypeID = padTypeID
        self.padToken = padToken
    }
}

extension Encoding {
    /// Keeps `length` tokens, dropping from the right or the left end.
    mutating func truncate(to length: Int, direction: Truncation.Direction) {
        guard count > length else { return }
        let keep = direction == .right ? 0..<length : (count - length)..<count
        ids = Array(ids[keep])
        tokens = Array(tokens[keep])
        typeIDs = Array(typeIDs[keep])
        offsets = Array(offsets[keep])
        specialTokensMask = Array(specialTokensMask[keep])
        attentionMask = Array(attentionMask[keep])
        sequenceIDs = Array(sequenceIDs[keep])
    }

    /// Pads to `length` tokens (pad tokens: special, no attention, empty offsets).
    mutating func pad(to length: Int, with padding: Padding) {
        let missing = length - count
        guard missing > 0 else { return }
        func extend<T>(_ array: inout [T], _ value: T) {
            let filler = [T](repeating: value, count: missing)
            array = padding.left ? filler + array : array + filler
        }
        extend(&ids, padding.padID)
        extend(&tokens, padding.padToken)
        extend(&typeIDs, padding.padTypeID)
        extend(&offsets, 0..<0)
        extend(&specialTokensMask, 1)
        extend(&attentionMask, 0)
        extend(&sequenceIDs, nil)
    }
}

extension Tokenizer {
    /// Encodes one text or a pair with truncation: the texts are cut to fit `maxLength` with the special tokens
    /// the template adds, then the template is applied (tokenizers' order).
    public func encode(
        _ text: String, pair: String? = nil, addSpecialTokens: Bool = true, truncation: Truncation?
    ) throws(TokenizerError) -> Encoding {
        guard let truncation else { return encode(text, pair: pair, addSpecialTokens: addSpecialTokens) }
        var first = encodeSequence(text, sequence: 0)
        var second = pair.map { encodeSequence($0, sequence: 1) }
        let added = addSpecialTokens ? (template?.addedCount(pair: pair != nil) ?? 0) : 0
        try Self.truncate(&first, &second, to: max(0, truncation.maxLength - added), truncation)
        return combine(first, second, addSpecialTokens: addSpecialTokens)
    }

    /// Cuts a text or a pair to `limit` tokens in all, as tokenizers' `truncate_encodings` decides.
    static func truncate(
        _ first: inout Encoding, _ second: inout Encoding?, to limit: Int, _ truncation: Truncation
    ) throws(TokenizerError) {
        let total = first.count + (second?.count ?? 0)
        guard total > limit else { return }
        let excess = total - limit
        switch truncation.strategy {
        case .longestFirst:
            guard var other = second else {
                first.truncate(to: limit, direction: truncation.direction)
                return
            }
            // The shorter text keeps its length if the longer one can absorb the cut; else both get half.
            var short = min(first.count, other.count)
            var long = short > limit ? short : max(short, limit - short)
            if short + long > limit {
                short = limit / 2
                long = short + limit % 2
            }
            let firstIsShorter = first.count <= other.count
            first.truncate(to: firstIsShorter ? short : long, direction: truncation.direction)
            other.truncate(to: firstIsShorter ? long : short, direction: truncation.direction)
            second = other
        case .onlyFirst, .onlySecond:
            if truncation.strategy == .onlySecond {
                guard var other = second else { throw TokenizerError.invalid("only_second truncation needs a pair") }
                guard other.count > excess else {
                    throw TokenizerError.invalid("the second text is too short to truncate to \(truncation.maxLength)")
                }
                other.truncate(to: other.count - excess, direction: truncation.direction)
                second = other
            } else {
                guard first.count > excess else {
                    throw TokenizerError.invalid("the first text is too short to truncate to \(truncation.maxLength)")
                }
                first.truncate(to: first.count - excess, direction: truncation.direction)
            }
        }
    }

    /// Encodes many texts (or pairs) on all cores, truncated and padded as asked; `pairs` is nil or as long as
    /// `texts`.
    public func encodeBatch(
        _ texts: [String], pairs: [String]? = nil, addSpecialTokens: Bool = true, truncation: Truncation? = nil,
        padding: Padding? = nil
    ) throws(TokenizerError) -> [Encoding] {
        if let pairs, pairs.count != texts.count {
            throw TokenizerError.invalid("\(texts.count) texts but \(pairs.count) pairs")
        }
        var results = [Result<Encoding, TokenizerError>](repeating: .success(Encoding()), count: texts.count)
        let workers = min(texts.count, max(1, activeProcessorCount()))
        results.withUnsafeMutableBufferPointer { slots in
            nonisolated(unsafe) let slots = slots  // each index is written by exactly one worker
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                for index in stride(from: worker, to: texts.count, by: workers) {
                    do throws(TokenizerError) {
                        slots[index] = .success(
                            try encode(
                                texts[index], pair: pairs?[index], addSpecialTokens: addSpecialTokens,
                                truncation: truncation))
                    } catch {
                        slots[index] = .failure(error)
                    }
                }
            }
        }
        var encodings: [Encoding] = []
        encodings.reserveCapacity(texts.count)
        for result in results { encodings.append(try result.get()) }
        guard let padding else { return encodings }
        var length: Int
        switch padding.length {
        case .longest: length = encodings.map(\.count).max() ?? 0
        case .fixed(let fixed): length = fixed
        }
        if let multiple = padding.multipleOf, multiple > 0, length % multiple != 0 {
            length += multiple - length % multiple
        }
        for index in encodings.indices { encodings[index].pad(to: length, with: padding) }
        return encodings
    }
}

/// The number of cores this process may use.
func activeProcessorCount() -> Int {
    #if canImport(Glibc)
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    #else
        return 1
    #endif
}

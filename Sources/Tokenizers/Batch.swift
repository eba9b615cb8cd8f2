import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How long inputs are cut, as tokenizers' `enable_truncation` sets it.
///
/// ```swift
/// let encodings = try tokenizer.encodeBatch(texts, truncation: Truncation(maxLength: 128, stride: 32))
/// encodings[0].overflowing        // the windows past the first 128 tokens
/// ```
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
    /// What is cut off is kept in `Encoding.overflowing` as windows of the same length; each window repeats the
    /// last `stride` tokens of the one before it (question answering over long contexts).
    public var stride: Int
    /// Keep what is cut off in `Encoding.overflowing` (tokenizers always does); false drops it, which saves the
    /// windows' memory and time when only the first window is wanted (a model's inputs, a server's).
    public var keepsOverflow = true

    public init(
        maxLength: Int, strategy: Strategy = .longestFirst, direction: Direction = .right, stride: Int = 0,
        keepsOverflow: Bool = true
    ) {
        self.maxLength = maxLength
        self.strategy = strategy
        self.direction = direction
        self.stride = stride
        self.keepsOverflow = keepsOverflow
    }
}

/// How a batch is padded, as tokenizers' `enable_padding` sets it.
///
/// ```swift
/// let batch = try tokenizer.encodeBatch(texts, padding: Padding(padID: 0))   // to the longest, on the right
/// ```
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
    /// Keeps `length` tokens, dropping from the right or the left end; what is dropped becomes the overflowing
    /// windows of `length` tokens overlapping by `stride` (tokenizers' `Encoding::truncate`).
    mutating func truncate(
        to length: Int, stride: Int, direction: Truncation.Direction, keepingOverflow: Bool = true
    ) throws(TokenizerError) {
        guard count > length else { return }
        guard length > 0 else {
            let whole = self
            self = Encoding()
            if keepingOverflow { overflowing = [whole] }
            return
        }
        guard keepingOverflow else {
            self = slice(direction == .right ? 0..<length : count - length..<count)
            return
        }
        guard stride < length else {
            throw TokenizerError.invalid(
                "the stride (\(stride)) must be shorter than the \(length) tokens a text is cut to")
        }
        let step = length - stride
        var windows: [Range<Int>] = []
        switch direction {
        case .right:
            for start in Swift.stride(from: 0, to: count, by: step) {
                let end = Swift.min(start + length, count)
                windows.append(start..<end)
                if end == count { break }
            }
        case .left:
            for last in Swift.stride(from: count - 1, through: 0, by: -step) {
                let start = Swift.max(0, last + 1 - length)
                windows.append(start..<(last + 1))
                if start == 0 { break }
            }
        }
        let whole = self
        self = whole.slice(windows[0])
        overflowing = windows.dropFirst().map { whole.slice($0) }
    }

    /// Pads to `length` tokens (pad tokens: special, no attention, empty offsets); a longer encoding is left as it is.
    public mutating func pad(to length: Int, with padding: Padding) {
        for index in overflowing.indices { overflowing[index].pad(to: length, with: padding) }
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
        guard limit > 0 else {  // everything overflows, both texts
            try first.truncate(
                to: 0, stride: truncation.stride, direction: truncation.direction,
                keepingOverflow: truncation.keepsOverflow)
            try second?.truncate(
                to: 0, stride: truncation.stride, direction: truncation.direction,
                keepingOverflow: truncation.keepsOverflow)
            return
        }
        let excess = total - limit
        switch truncation.strategy {
        case .longestFirst:
            guard var other = second else {
                try first.truncate(
                    to: limit, stride: truncation.stride, direction: truncation.direction,
                    keepingOverflow: truncation.keepsOverflow)
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
            try first.truncate(
                to: firstIsShorter ? short : long, stride: truncation.stride, direction: truncation.direction,
                keepingOverflow: truncation.keepsOverflow)
            try other.truncate(
                to: firstIsShorter ? long : short, stride: truncation.stride, direction: truncation.direction,
                keepingOverflow: truncation.keepsOverflow)
            second = other
        case .onlyFirst, .onlySecond:
            if truncation.strategy == .onlySecond {
                guard var other = second else { throw TokenizerError.invalid("only_second truncation needs a pair") }
                guard other.count > excess else {
                    throw TokenizerError.invalid("the second text is too short to truncate to \(truncation.maxLength)")
                }
                try other.truncate(
                    to: other.count - excess, stride: truncation.stride, direction: truncation.direction,
                    keepingOverflow: truncation.keepsOverflow)
                second = other
            } else {
                guard first.count > excess else {
                    throw TokenizerError.invalid("the first text is too short to truncate to \(truncation.maxLength)")
                }
                try first.truncate(
                    to: first.count - excess, stride: truncation.stride, direction: truncation.direction,
                    keepingOverflow: truncation.keepsOverflow)
            }
        }
    }

    /// Encodes many texts (or pairs) on all cores (or on `threads`), truncated and padded as asked; `pairs` is nil
    /// or as long as `texts`.
    public func encodeBatch(
        _ texts: [String], pairs: [String]? = nil, addSpecialTokens: Bool = true, truncation: Truncation? = nil,
        padding: Padding? = nil, threads: Int? = nil
    ) throws(TokenizerError) -> [Encoding] {
        if let pairs, pairs.count != texts.count {
            throw TokenizerError.invalid("\(texts.count) texts but \(pairs.count) pairs")
        }
        var encodings = [Encoding](repeating: Encoding(), count: texts.count)
        var failures = [TokenizerError?](repeating: nil, count: texts.count)
        let workers = min(texts.count, max(1, threads ?? activeProcessorCount()))
        // Runs of consecutive texts taken from a shared counter: the cores balance themselves, and each writes its
        // own stretch of the results (one text at a time in turn would have them write the same cache lines).
        let run = max(1, min(256, texts.count / (4 * workers)))
        let next = Atomic<Int>(0)
        encodings.withUnsafeMutableBufferPointer { slots in
            failures.withUnsafeMutableBufferPointer { errors in
                nonisolated(unsafe) let (slots, errors) = (slots, errors)  // each index is written by one worker
                DispatchQueue.concurrentPerform(iterations: workers) { _ in
                    while true {
                        let start = next.add(run, ordering: .relaxed).oldValue
                        guard start < texts.count else { return }
                        for index in start..<min(start + run, texts.count) {
                            do throws(TokenizerError) {
                                slots[index] = try encode(
                                    texts[index], pair: pairs?[index], addSpecialTokens: addSpecialTokens,
                                    truncation: truncation)
                            } catch {
                                errors[index] = error
                            }
                        }
                    }
                }
            }
        }
        if let failure = failures.first(where: { $0 != nil }) ?? nil { throw failure }
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

import Tensors
import Tokenizers

/// The inputs of a forward pass, as transformers names them; ids and masks are [batch, length] integer tensors.
///
/// ```swift
/// let encodings = try tokenizer.encodeBatch(["a short text", "and a longer second text"], padding: Padding())
/// let inputs = try ModelInputs(encodings)      // ids, attention mask and type ids [2, T]
/// let output = try model(inputs)
/// ```
public struct ModelInputs {
    public var inputIDs: Tensor
    /// 1 for tokens, 0 for padding; for GPT-2 with a cache it covers the cached positions too.
    public var attentionMask: Tensor?
    /// Segment ids (BERT); zeros when nil.
    public var tokenTypeIDs: Tensor?
    /// Positions (GPT-2 with left padding); 0… (after the cache) when nil, RoBERTa's from the padding when nil.
    public var positionIDs: Tensor?
    /// Targets for a loss: token ids (-100 ignored) for language models and token classification, one label per
    /// row for sequence classification (float for regression or multi-label).
    public var labels: Tensor?
    /// Question answering targets: the answer's first and last token.
    public var startPositions: Tensor?
    public var endPositions: Tensor?
    /// GPT-2's keys and values of the positions before these ids; extended in place by the pass.
    public var cache: KeyValueCache?

    public init(
        inputIDs: Tensor, attentionMask: Tensor? = nil, tokenTypeIDs: Tensor? = nil, positionIDs: Tensor? = nil,
        labels: Tensor? = nil, cache: KeyValueCache? = nil
    ) {
        self.inputIDs = inputIDs
        self.attentionMask = attentionMask
        self.tokenTypeIDs = tokenTypeIDs
        self.positionIDs = positionIDs
        self.labels = labels
        self.cache = cache
    }

    /// A batch of encodings of one length (`Tokenizer.encodeBatch` with padding).
    public init(_ encodings: [Encoding]) throws {
        let length = encodings.first?.count ?? 0
        guard !encodings.isEmpty, encodings.allSatisfy({ $0.count == length }) else {
            throw ModelError.input("a batch needs encodings of one length (pad them), got \(encodings.map(\.count))")
        }
        let shape = [encodings.count, length]
        self.init(
            inputIDs: Tensor(encodings.flatMap(\.ids), shape: shape),
            attentionMask: Tensor(encodings.flatMap(\.attentionMask), shape: shape),
            tokenTypeIDs: Tensor(encodings.flatMap(\.typeIDs), shape: shape))
    }
}

/// What a forward pass returns; which fields are set depends on the model (transformers' `ModelOutput`s).
///
/// ```swift
/// let output = try model(inputs)
/// output.lastHiddenState?.shape    // [B, T, hidden]
/// output.logits?.shape             // [B, labels] or [B, T, vocabulary], by head
/// ```
public struct ModelOutput {
    /// [batch, length, hidden]: the base model's last layer.
    public var lastHiddenState: Tensor?
    /// [batch, hidden]: BERT's pooler (tanh(dense(h[:, 0]))).
    public var poolerOutput: Tensor?
    /// Head outputs: [batch, length, vocabulary] for language models, [batch, labels] or [batch, length, labels]
    /// for classifiers.
    public var logits: Tensor?
    /// Question answering: [batch, length] each.
    public var startLogits: Tensor?
    public var endLogits: Tensor?
    /// The loss, when labels were given.
    public var loss: Tensor?
    /// The cache the pass extended (GPT-2).
    public var cache: KeyValueCache?

    public init() {}

    /// The last hidden state, which every base model sets.
    package func hidden() throws -> Tensor {
        guard let lastHiddenState else { throw ModelError.input("the base model returned no hidden state") }
        return lastHiddenState
    }

    /// The logits, which every head sets.
    package func requiredLogits() throws -> Tensor {
        guard let logits else { throw ModelError.input("the model returned no logits") }
        return logits
    }
}

/// GPT-2's attention keys and values of the positions seen so far, per layer: [batch, heads, positions, head size].
///
/// ```swift
/// let cache = KeyValueCache(layers: gpt2.config.layerCount)
/// _ = try gpt2(ModelInputs(inputIDs: prompt, cache: cache))          // fills the cache
/// let next = try gpt2(ModelInputs(inputIDs: lastToken, attentionMask: mask, cache: cache))   // reads only the new token
/// ```
public final class KeyValueCache: @unchecked Sendable {
    public internal(set) var keys: [Tensor?]
    public internal(set) var values: [Tensor?]

    public init(layers: Int) {
        keys = Array(repeating: nil, count: layers)
        values = Array(repeating: nil, count: layers)
    }

    /// How many positions are cached.
    public var length: Int { keys.first??.size(2) ?? 0 }

    /// How many rows (sequences) are cached.
    public var rows: Int { keys.first??.size(0) ?? 0 }

    /// Keeps only `rows`, in that order: a server's running batch drops the sequences that finished.
    public func keepRows(_ rows: [Int]) {
        func select(_ tensor: Tensor?) -> Tensor? {
            guard let tensor, !rows.isEmpty else { return nil }
            return Tensor.concatenate(rows.map { tensor.sliced(0, $0..<$0 + 1) }, axis: 0)
        }
        keys = keys.map(select)
        values = values.map(select)
    }

    /// Adds `other`'s rows after these, the shorter side left-padded with zero positions to the longer length (the
    /// caller masks them out): a sequence joins a running batch between two decoding steps.
    public func append(_ other: KeyValueCache) {
        precondition(other.keys.count == keys.count, "caches of \(other.keys.count) and \(keys.count) layers")
        let width = Swift.max(length, other.length)
        func leftPadded(_ tensor: Tensor) -> Tensor {
            let missing = width - tensor.size(2)
            guard missing > 0 else { return tensor }
            var shape = tensor.shape
            shape[2] = missing
            return Tensor.concatenate([Tensor.zeros(shape, dtype: tensor.dtype), tensor], axis: 2)
        }
        func joined(_ mine: Tensor?, _ theirs: Tensor?) -> Tensor? {
            guard let theirs else { return mine }
            guard let mine else { return theirs }
            return Tensor.concatenate([leftPadded(mine), leftPadded(theirs)], axis: 0)
        }
        keys = zip(keys, other.keys).map(joined)
        values = zip(values, other.values).map(joined)
    }

    /// Drops the first `count` positions of every row (positions every row masks out, once the rows that needed
    /// them have left).
    public func dropFirst(_ count: Int) {
        guard count > 0 else { return }
        keys = keys.map { $0.map { $0.sliced(2, count..<$0.size(2)).contiguous() } }
        values = values.map { $0.map { $0.sliced(2, count..<$0.size(2)).contiguous() } }
    }
}

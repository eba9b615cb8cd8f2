import Models
import Tensors
import Tokenizers

/// Examples encoded once for a task, and the batches a trainer draws from them: seeded shuffling, length
/// bucketing, padding to each batch's longest, and the labels each head needs (masked-LM masking included).
///
/// ```swift
/// let data = try TaskData(
///     dataset, task: .sequenceClassification, tokenizer: tokenizer, maxLength: 64, padID: 0, vocabularySize: 30522)
/// let inputs = data.inputs(data.batches(size: 16, epoch: 0, seed: 1, shuffle: true, bucketing: true)[0])
/// ```
public struct TaskData: Sendable {
    public let task: ModelTask
    /// Token ids, type ids and per-token labels (-100 where none) of each example, unpadded.
    let ids: [[Int32]]
    let typeIDs: [[Int32]]
    let tokenLabels: [[Int]]
    let specialMasks: [[Int32]]
    /// One label per example (sequence classification).
    let labels: [Int]
    let padID: Int32
    /// Masked LM: the mask token and the vocabulary size (random replacements).
    let maskID: Int32?
    let vocabularySize: Int

    /// Number of examples.
    public var count: Int { ids.count }

    /// Encodes `dataset` for `task` (classification, token classification or masked LM), cut at `maxLength`.
    ///
    /// Token classification labels the first token of each word with its tag,
    /// the other tokens -100 (as transformers' examples align them).
    public init(
        _ dataset: TextDataset, task: ModelTask, tokenizer: Tokenizer, maxLength: Int, padID: Int32,
        vocabularySize: Int
    ) throws {
        self.task = task
        self.padID = padID
        self.vocabularySize = vocabularySize
        maskID = ["[MASK]", "<mask>"].lazy.compactMap { tokenizer.id(for: $0) }.first
        if task == .maskedLM, maskID == nil { throw ModelError.input("the tokenizer has no mask token") }
        let encodings = try tokenizer.encodeBatch(
            dataset.examples.map(\.text),
            pairs: dataset.examples.first?.pair == nil ? nil : dataset.examples.map { $0.pair ?? "" },
            truncation: Truncation(maxLength: maxLength))
        ids = encodings.map(\.ids)
        typeIDs = encodings.map(\.typeIDs)
        specialMasks = encodings.map(\.specialTokensMask)
        switch task {
        case .sequenceClassification:
            labels = try dataset.examples.enumerated().map { index, example in
                guard let label = example.label else { throw ModelError.input("example \(index + 1) has no label") }
                return label
            }
            tokenLabels = []
        case .tokenClassification:
            labels = []
            tokenLabels = try zip(dataset.examples, encodings).enumerated().map { index, pair in
                let (example, encoding) = pair
                guard let words = example.words, let tags = example.tags else {
                    throw ModelError.input("example \(index + 1) has no words and tags")
                }
                return TaskData.alignTags(words: words, tags: tags, encoding: encoding)
            }
        default:
            labels = []
            tokenLabels = []
        }
    }

    /// Causal LM blocks: every text tokenized, joined (EOS between texts when the tokenizer has one) and cut into
    /// blocks of `blockSize` tokens, the remainder dropped (transformers' `group_texts`).
    public init(languageModeling texts: [String], tokenizer: Tokenizer, blockSize: Int, eosID: Int32?) throws {
        guard blockSize > 1 else { throw ModelError.input("the block size must be at least 2") }
        task = .causalLM
        var stream: [Int32] = []
        for encoding in try tokenizer.encodeBatch(texts) {
            stream += encoding.ids
            if let eosID { stream.append(eosID) }
        }
        let blocks = stream.count / blockSize
        guard blocks > 0 else {
            throw ModelError.input("\(stream.count) tokens make no block of \(blockSize); give more text")
        }
        ids = (0..<blocks).map { Array(stream[($0 * blockSize)..<(($0 + 1) * blockSize)]) }
        typeIDs = ids.map { [Int32](repeating: 0, count: $0.count) }
        specialMasks = typeIDs
        tokenLabels = []
        labels = []
        padID = eosID ?? 0
        maskID = nil
        vocabularySize = 0
    }

    /// Word tags on the first token of each word; -100 on the others, on special tokens and on padding.
    static func alignTags(words: [String], tags: [Int], encoding: Encoding) -> [Int] {
        // Words were joined by single spaces: each word's first code point.
        var starts: [Int] = []
        var position = 0
        for word in words {
            starts.append(position)
            position += word.unicodeScalars.count + 1
        }
        var labels = [Int](repeating: -100, count: encoding.count)
        var lastWord = -1
        for index in 0..<encoding.count where encoding.specialTokensMask[index] == 0 {
            let offset = encoding.offsets[index].lowerBound
            var word = 0
            while word + 1 < starts.count, starts[word + 1] <= offset { word += 1 }
            if word != lastWord, word < tags.count {
                labels[index] = tags[word]
                lastWord = word
            }
        }
        return labels
    }

    /// The batches of one epoch, as example indices: shuffled by (`seed`, `epoch`) when `shuffle`; with
    /// `bucketing`, examples of similar length are batched together (sorted by length within windows of 50
    /// batches, the batches then shuffled), so padding stays short.
    public func batches(size: Int, epoch: Int, seed: UInt64, shuffle: Bool, bucketing: Bool) -> [[Int]] {
        var order = Array(0..<count)
        var generator = RandomGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)
        if shuffle { order = shuffled(order, &generator) }
        if bucketing {
            let window = size * 50
            order = stride(from: 0, to: order.count, by: window).flatMap { start in
                order[start..<Swift.min(start + window, order.count)].sorted { ids[$0].count < ids[$1].count }
            }
        }
        var batches = stride(from: 0, to: order.count, by: size).map {
            Array(order[$0..<Swift.min($0 + size, order.count)])
        }
        if shuffle, bucketing { batches = shuffled(batches, &generator) }
        return batches
    }

    /// The padded inputs and labels of a batch; masked LM draws each example's masks from (`maskSeed`, the example's
    /// index), so a resumed run, or a rank holding part of the batch, masks the same tokens.
    public func inputs(_ batch: [Int], maskSeed: UInt64 = 0) -> ModelInputs {
        let length = batch.map { ids[$0].count }.max() ?? 0
        var flatIDs: [Int32] = [], types: [Int32] = [], mask: [Int32] = [], targets: [Int] = []
        for index in batch {
            let padding = length - ids[index].count
            var row = ids[index]
            switch task {
            case .tokenClassification:
                targets += tokenLabels[index] + [Int](repeating: -100, count: padding)
            case .causalLM:
                targets += row.map(Int.init) + [Int](repeating: -100, count: padding)
            case .maskedLM:
                let labels: [Int]
                (row, labels) = masked(index, maskSeed: maskSeed)
                targets += labels + [Int](repeating: -100, count: padding)
            default:
                break
            }
            flatIDs += row + [Int32](repeating: padID, count: padding)
            types += typeIDs[index] + [Int32](repeating: 0, count: padding)
            mask += [Int32](repeating: 1, count: row.count) + [Int32](repeating: 0, count: padding)
        }
        let shape = [batch.count, length]
        var inputs = ModelInputs(
            inputIDs: Tensor(flatIDs, shape: shape), attentionMask: Tensor(mask, shape: shape),
            tokenTypeIDs: task == .causalLM ? nil : Tensor(types, shape: shape))
        switch task {
        case .sequenceClassification: inputs.labels = Tensor(batch.map { labels[$0] }, shape: [batch.count])
        case .tokenClassification, .causalLM, .maskedLM: inputs.labels = Tensor(targets, shape: shape)
        default: break
        }
        return inputs
    }

    /// Example `index` as masked LM sees it.
    ///
    /// Its ids with the predicted tokens replaced, and the labels (-100 where nothing is predicted). Each example
    /// draws from the seed and its index alone: the same masks whichever batch, shard or rank it falls in.
    private func masked(_ index: Int, maskSeed: UInt64) -> (ids: [Int32], labels: [Int]) {
        var generator = RandomGenerator(seed: maskSeed ^ (UInt64(index) &+ 1) &* 0xD1B5_4A32_D192_ED03)
        var row = ids[index]
        // DataCollatorForLanguageModeling: 15% of the ordinary tokens are predicted; of those 80% become the mask
        // token, 10% a random token, 10% stay.
        var labels = [Int](repeating: -100, count: row.count)
        for position in row.indices where specialMasks[index][position] == 0 {
            guard generator.nextUnit() < 0.15 else { continue }
            labels[position] = Int(row[position])
            let draw = generator.nextUnit()
            if draw < 0.8, let maskID {
                row[position] = maskID
            } else if draw < 0.9 {
                row[position] = Int32(generator.next() % UInt64(vocabularySize))
            }
        }
        return (row, labels)
    }

    /// What the loss of a batch averages over.
    ///
    /// Examples for sequence classification, else the labelled tokens (masked LM: those its masks, drawn from
    /// `maskSeed` as `inputs` draws them, predict). Batches — micro-batches, ranks' shards — weighted by it add up
    /// to one large batch.
    func weight(_ batch: [Int], maskSeed: UInt64 = 0) -> Int {
        switch task {
        case .sequenceClassification: return batch.count
        case .tokenClassification: return batch.reduce(0) { $0 + tokenLabels[$1].filter { $0 != -100 }.count }
        case .causalLM: return batch.reduce(0) { $0 + ids[$1].count - 1 }
        case .maskedLM:
            return batch.reduce(0) { $0 + masked($1, maskSeed: maskSeed).labels.filter { $0 != -100 }.count }
        default: return batch.reduce(0) { $0 + ids[$1].count }
        }
    }
}

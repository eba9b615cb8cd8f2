import Tensors

extension CausalLM {
    /// Continues each prompt (token ids), greedy or sampled, until every row has produced EOS or `maxNewTokens`.
    ///
    /// Prompts of different lengths are left-padded (positions counted from
    /// each prompt's first token, as transformers does). Returns the new tokens of each row (finished rows padded
    /// to the longest, as transformers pads them); `onToken` sees each step's tokens as they come.
    public func generate(
        _ prompts: [[Int]], config settings: GenerationConfig = GenerationConfig(),
        onToken: (([Int]) -> Void)? = nil
    ) throws -> [[Int]] {
        try settings.validate()
        guard !prompts.isEmpty, prompts.allSatisfy({ !$0.isEmpty }) else {
            throw ModelError.input("every prompt needs at least one token")
        }
        let eos = settings.eosTokenIDs.isEmpty ? (config.eosTokenID.map { [$0] } ?? []) : settings.eosTokenIDs
        let pad = settings.padTokenID ?? config.padTokenID ?? eos.first ?? 0
        let width = prompts.map(\.count).max() ?? 0
        guard width + settings.maxNewTokens <= config.maxPositions else {
            throw ModelError.input(
                "\(width) prompt tokens + \(settings.maxNewTokens) new ones exceed the model's \(config.maxPositions) "
                    + "positions")
        }
        let batch = prompts.count
        var sequences = prompts.map { [Int](repeating: pad, count: width - $0.count) + $0 }
        var mask = prompts.map { [Int](repeating: 0, count: width - $0.count) + [Int](repeating: 1, count: $0.count) }
        var positions = mask.map { row in
            var count = 0
            return row.map { keep in
                count += keep
                return keep == 1 ? count - 1 : 0
            }
        }
        var generated = [[Int]](repeating: [], count: batch)
        var finished = [Bool](repeating: false, count: batch)
        var generator = RandomGenerator(seed: settings.seed)
        let picker = TokenPicker(settings: settings, eos: eos)
        let cache = settings.useCache ? KeyValueCache(layers: config.layerCount) : nil
        for step in 0..<settings.maxNewTokens {
            let fed = cache != nil && step > 0 ? 1 : sequences[0].count
            let start = sequences[0].count - fed
            let inputs = ModelInputs(
                inputIDs: Tensor(sequences.flatMap { $0[start...] }, shape: [batch, fed]),
                attentionMask: Tensor(mask.flatMap { $0 }, shape: [batch, mask[0].count]),
                positionIDs: Tensor(positions.flatMap { $0[start...] }, shape: [batch, fed]), cache: cache)
            let logits = try Tensor.withoutGradient { try forward(inputs).requiredLogits() }
            let last = logits.sliced(1, fed - 1..<fed).contiguous().floats
            let vocabulary = config.vocabularySize
            var chosen = [Int](repeating: pad, count: batch)
            for row in 0..<batch where !finished[row] {
                var scores = Array(last[row * vocabulary..<(row + 1) * vocabulary])
                chosen[row] = picker.pick(&scores, history: sequences[row], step: step, generator: &generator)
            }
            for row in 0..<batch {
                sequences[row].append(chosen[row])
                mask[row].append(1)
                positions[row].append((positions[row].last ?? -1) + 1)
                generated[row].append(chosen[row])
                if eos.contains(chosen[row]) { finished[row] = true }
            }
            onToken?(chosen)
            if finished.allSatisfy({ $0 }) { break }
        }
        return generated
    }

    /// Continues `prompt` (text) with the model's tokenizer; `onText` receives the text as it grows, piece by piece.
    public func generate(
        _ prompt: String, config settings: GenerationConfig = GenerationConfig(), onText: ((String) -> Void)? = nil
    ) throws -> (promptIDs: [Int], generatedIDs: [Int], text: String) {
        guard let tokenizer else { throw ModelError.input("the model has no tokenizer to encode the prompt") }
        let promptIDs = tokenizer.encode(prompt).ids.map(Int.init)
        var produced: [Int32] = []
        var shown = ""
        let generated = try generate([promptIDs], config: settings) { tokens in
            guard let onText else { return }
            produced.append(Int32(tokens[0]))
            let text = tokenizer.decode(produced)
            // A byte-level token may end inside a character: wait until the decoded text extends what was shown.
            if text.hasPrefix(shown), !text.hasSuffix("\u{FFFD}") {
                onText(String(text.dropFirst(shown.count)))
                shown = text
            }
        }
        let ids = generated[0]
        let text = tokenizer.decode(ids.map { Int32($0) })
        if let onText, text.count > shown.count, text.hasPrefix(shown) { onText(String(text.dropFirst(shown.count))) }
        return (promptIDs, ids, text)
    }
}

/// Picks a sequence's next token from its scores as `generate` does: the repetition penalty, EOS held back before
/// `minNewTokens`, then argmax, or temperature, top-k and top-p and a draw from `generator`.
///
/// ```swift
/// let picker = TokenPicker(settings: GenerationConfig(sampling: true, temperature: 0.7), eos: [50256])
/// var generator = RandomGenerator(seed: 7)
/// let token = picker.pick(&scores, history: promptIDs, step: 0, generator: &generator)
/// ```
public struct TokenPicker: Sendable {
    public let settings: GenerationConfig
    /// The tokens that end a sequence.
    public let eos: [Int]

    public init(settings: GenerationConfig, eos: [Int]) {
        self.settings = settings
        self.eos = eos
    }

    /// The next token, from `scores` (one row of logits over the vocabulary, processed in place).
    ///
    /// `history` is the sequence so far, prompt included; `step` counts the new tokens before this one.
    public func pick(_ scores: inout [Float], history: [Int], step: Int, generator: inout RandomGenerator) -> Int {
        if settings.repetitionPenalty != 1 {
            LogitsProcessing.repetitionPenalty(&scores, history: history, penalty: Float(settings.repetitionPenalty))
        }
        if step < settings.minNewTokens {
            for token in eos where scores.indices.contains(token) { scores[token] = -.infinity }
        }
        return settings.sampling ? sample(&scores, &generator) : argmax(scores)
    }

    private func argmax(_ scores: [Float]) -> Int {
        var best = 0
        for index in scores.indices where scores[index] > scores[best] { best = index }
        return best
    }

    private func sample(_ scores: inout [Float], _ generator: inout RandomGenerator) -> Int {
        if settings.temperature != 1 { LogitsProcessing.temperature(&scores, Float(settings.temperature)) }
        LogitsProcessing.topK(&scores, settings.topK)
        LogitsProcessing.topP(&scores, Float(settings.topP))
        let probabilities = LogitsProcessing.softmax(scores)
        var draw = Float(generator.nextUnit())
        for (index, probability) in probabilities.enumerated() where probability > 0 {
            draw -= probability
            if draw < 0 { return index }
        }
        return probabilities.lastIndex(where: { $0 > 0 }) ?? 0
    }
}

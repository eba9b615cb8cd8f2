import Models
import Tokenizers

/// A model the server answers for: its names, what it can do, and the worker that runs it.
final class ServedModel: Sendable {
    /// The name as given on the command line; requests address the model by it or by an alias.
    let name: String
    /// Other names it answers to (its repo id).
    let aliases: [String]
    let model: PretrainedModel
    let tokenizer: Tokenizer
    /// Inputs longer than this (in tokens, special ones included) are refused, or cut when the request asks.
    let maxInputTokens: Int
    /// The precision its weights are held in, as `/info` reports it.
    let precision: String
    let worker: ModelWorker

    /// Wraps `entry.model`; `maxInputTokens` defaults to its sentence length (sentence-transformers'
    /// `max_seq_length`), else its maximum positions, and can only be lowered from there.
    init(
        _ entry: ModelServer.Entry, maxInputTokens: Int?, limits: ModelWorker.Limits, metrics: ServerMetrics,
        arrivals: Arrivals
    ) throws {
        let model = entry.model
        guard let tokenizer = model.tokenizer else {
            throw ModelError.input("\(entry.name) has no tokenizer (tokenizer.json or a vocabulary) to serve with")
        }
        name = entry.name
        aliases = entry.aliases.filter { $0 != entry.name }
        self.model = model
        self.tokenizer = tokenizer
        precision = entry.precision
        let natural = (model as? any SentenceEncoder)?.sentenceLength ?? model.maxInputLength
        self.maxInputTokens = Swift.max(1, Swift.min(maxInputTokens ?? natural, model.maxInputLength))
        worker = ModelWorker(model: model, limits: limits, metrics: metrics, arrivals: arrivals)
    }

    /// Sentence embeddings (a base encoder).
    var embeds: Bool { model is any SentenceEncoder }
    /// Label scores (a sequence-classification head).
    var classifies: Bool { model is any SequenceClassifier }
    /// Re-ranking scores (a one-label classifier: a cross-encoder).
    var reranks: Bool { classifies && model.config.labelCount == 1 }
    /// Completions (a causal language model).
    var generates: Bool { model is any CausalLM }

    /// What it does, in a word, for the startup line.
    var role: String {
        embeds ? "embeddings" : classifies ? "classification" : generates ? "completions" : "none"
    }

    func answers(to requested: String) -> Bool { requested == name || aliases.contains(requested) }

    /// Tokenizes one input for an encoder (special tokens added); longer than `maxInputTokens` is an error
    /// naming `field`, unless `truncate` (then it is cut, as `hub run` cuts).
    ///
    /// A text is cut while it is tokenized (one token past the limit when not truncating, to tell), so a long
    /// text never holds more than the limit's worth of tokens.
    func encode(
        _ input: TextInput, pair: String? = nil, truncate: Bool, direction: Truncation.Direction = .right,
        field: String, openAI: Bool
    ) throws(APIError) -> Encoding {
        var encoding: Encoding
        switch input {
        case .text(let text):
            let limit = truncate ? maxInputTokens : maxInputTokens + 1
            do {
                encoding = try tokenizer.encode(
                    text, pair: pair,
                    truncation: Truncation(maxLength: limit, direction: direction, keepsOverflow: false))
            } catch {
                throw APIError.invalid("`\(field)`: \(error)", field: field, openAI: openAI)
            }
        case .tokens(let ids):
            encoding = Encoding()
            encoding.ids = ids
            encoding.typeIDs = [Int32](repeating: 0, count: ids.count)
            encoding.attentionMask = [Int32](repeating: 1, count: ids.count)
        }
        guard encoding.count > maxInputTokens else { return encoding }
        let length: String
        if case .tokens(let ids) = input {
            length = "\(ids.count) tokens long"
        } else {
            length = "over \(maxInputTokens) tokens long"
        }
        throw APIError(
            .payloadTooLarge,
            "`\(field)` is \(length); \(name) takes at most \(maxInputTokens)"
                + (openAI ? "" : " (or send `truncate: true`)"), field: field)
    }
}

/// How `generate` picks tokens: transformers' `GenerationConfig` fields, with its defaults (greedy unless sampling).
///
/// ```swift
/// var settings = GenerationConfig(maxNewTokens: 40, sampling: true, temperature: 0.8, topP: 0.95, seed: 42)
/// settings.eosTokenIDs = [50256]
/// let result = try gpt2.generate("Once upon a time", config: settings) { print($0, terminator: "") }
/// ```
public struct GenerationConfig: Sendable {
    public var maxNewTokens = 20
    /// EOS is not allowed before this many new tokens (`min_new_tokens`).
    public var minNewTokens = 0
    /// Sample from the processed distribution; greedy (argmax) when false.
    public var sampling = false
    public var temperature = 1.0
    /// Keep the k most likely tokens when sampling (0: all); transformers' default is 50.
    public var topK = 50
    /// Keep the smallest set of tokens whose probability reaches p when sampling (1: all).
    public var topP = 1.0
    /// > 1 discourages tokens already in the sequence (prompt included), as CTRL's penalty.
    public var repetitionPenalty = 1.0
    /// Tokens that end a sequence; the model's `eos_token_id` when empty.
    public var eosTokenIDs: [Int] = []
    /// The token after a sequence's end and before a shorter prompt; the config's pad token, else EOS.
    public var padTokenID: Int?
    /// The seed of sampling (the same seed gives the same tokens).
    public var seed: UInt64 = 0
    /// Keep keys and values of earlier positions (a pass per token reads only the new one).
    public var useCache = true

    public init(
        maxNewTokens: Int = 20, sampling: Bool = false, temperature: Double = 1, topK: Int = 50, topP: Double = 1,
        repetitionPenalty: Double = 1, seed: UInt64 = 0
    ) {
        self.maxNewTokens = maxNewTokens
        self.sampling = sampling
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.repetitionPenalty = repetitionPenalty
        self.seed = seed
    }

    /// Checks the values as transformers' `GenerationConfig.validate` does.
    public func validate() throws {
        guard maxNewTokens >= 0, minNewTokens >= 0 else { throw ModelError.input("token counts must be ≥ 0") }
        guard temperature > 0, temperature.isFinite else { throw ModelError.input("temperature must be > 0") }
        guard topK >= 0 else { throw ModelError.input("top-k must be ≥ 0") }
        guard topP > 0, topP <= 1 else { throw ModelError.input("top-p must be in (0, 1]") }
        guard repetitionPenalty > 0, repetitionPenalty.isFinite else {
            throw ModelError.input("the repetition penalty must be > 0")
        }
    }
}

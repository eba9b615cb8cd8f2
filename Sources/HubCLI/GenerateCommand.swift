import ArgumentParser
import Foundation
import ModelHub

/// `hub generate MODEL PROMPT`: GPT-2 text generation, streamed to the terminal.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue a prompt with a causal language model (GPT-2), streaming the text as it is produced.",
        discussion: """
            MODEL is a model folder, an .mhub file or a model name (pulled when missing). Tokens are sampled \
            (temperature, top-k 50, top-p as given; the same --seed gives the same text) unless --greedy picks the \
            most likely token each step. A key/value cache keeps each step to one position.
            --json: {"prompt_ids": […], "generated_ids": […], "text": "…"} (nothing is streamed).
            """
    )

    @Argument(help: "Model folder, .mhub file or model name.")
    var model: String

    @Argument(help: "The text to continue.")
    var prompt: String

    @Option(help: "Tokens to add at most.")
    var maxNewTokens = 40

    @Option(help: "End-of-text is not allowed before this many tokens.")
    var minNewTokens = 0

    @Flag(help: "Pick the most likely token every step (no sampling).")
    var greedy = false

    @Option(help: "Divide the logits by this before sampling (< 1: more conservative).")
    var temperature = 1.0

    @Option(help: "Sample among the k most likely tokens (0: all).")
    var topK = 50

    @Option(help: "Sample among the most likely tokens whose probabilities add up to p.")
    var topP = 1.0

    @Option(help: "> 1 discourages tokens already in the text.")
    var repetitionPenalty = 1.0

    @Option(help: "Seed of the sampling.")
    var seed: UInt64 = 0

    @Flag(help: "Print JSON (and stream nothing).")
    var json = false

    @OptionGroup var precision: InferencePrecision

    @OptionGroup var access: HubAccess

    func validate() throws {
        if maxNewTokens < 0 || minNewTokens < 0 { throw ValidationError("token counts must be ≥ 0") }
        if !(temperature > 0) { throw ValidationError("--temperature must be > 0") }
        if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
        if topK < 0 { throw ValidationError("--top-k must be ≥ 0") }
        if !(repetitionPenalty > 0) { throw ValidationError("--repetition-penalty must be > 0") }
    }

    func run() throws {
        let loaded = try ModelLoading.load(
            model, task: .causalLM, access: access, quiet: json, precision: precision.dtype)
        let lm = try AutoModelForCausalLM.typed(loaded, model)
        var settings = GenerationConfig(
            maxNewTokens: maxNewTokens, sampling: !greedy, temperature: temperature, topK: topK, topP: topP,
            repetitionPenalty: repetitionPenalty, seed: seed)
        settings.minNewTokens = minNewTokens
        if !json { Output.writeStandardOutput(prompt) }
        let result = try lm.generate(prompt, config: settings) { piece in
            if !json { Output.writeStandardOutput(piece) }
        }
        if json {
            Output.printJSON(
                .object(
                    JSONObject([
                        ("prompt_ids", .array(result.promptIDs.map(JSONValue.int))),
                        ("generated_ids", .array(result.generatedIDs.map(JSONValue.int))),
                        ("text", .string(result.text)),
                    ])))
        } else {
            Output.writeStandardOutput("\n")
        }
    }
}

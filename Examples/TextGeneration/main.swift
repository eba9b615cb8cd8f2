// Text generation with GPT-2, streamed as it is produced.
//
//     swift run -c release TextGeneration [MODEL] [PROMPT] [--greedy]
//
// MODEL: a model name (`gpt2`, pulled into the Hugging Face cache when missing), a model folder or an .mhub file.
// Sampling (temperature 0.8, top-k 50, top-p 0.95, seed 42) unless --greedy.
import Foundation
import ModelHub

let arguments = CommandLine.arguments.dropFirst().filter { $0 != "--greedy" }
let model = arguments.first ?? "gpt2"
let prompt = arguments.dropFirst().first ?? "The Swift programming language"
let greedy = CommandLine.arguments.contains("--greedy")

do {
    let gpt2 = try await AutoModelForCausalLM.fromPretrained(model)
    let settings = GenerationConfig(
        maxNewTokens: 50, sampling: !greedy, temperature: 0.8, topK: 50, topP: 0.95, seed: 42)
    // Straight to the terminal, unbuffered, so each piece shows as it comes.
    let show = { (text: String) in FileHandle.standardOutput.write(Data(text.utf8)) }
    show(prompt)
    let start = Date()
    let result = try gpt2.generate(prompt, config: settings) { show($0) }
    let seconds = Date().timeIntervalSince(start)
    show(
        String(
            format: "\n\n%d tokens in %.2f s (%.1f tokens/s)", result.generatedIDs.count, seconds,
            Double(result.generatedIDs.count) / seconds) + "\n")
} catch {
    FileHandle.standardError.write(Data("TextGeneration: \(error)\n".utf8))
    exit(1)
}

import ArgumentParser
import Foundation
import ModelHub

/// `hub bench MODEL --task forward|train-step|generate`: timings on random token ids.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time a model: forward pass, training step, or generation, on random token ids.",
        discussion: """
            MODEL is a model folder, an .mhub file or a model name. One warm-up run, then --runs timed runs; the \
            median and the fastest are printed. forward: the base model without gradients, [batch, seq] ids. \
            train-step: forward, loss (masked LM for BERT/RoBERTa with labels on every token, causal LM for \
            GPT-2), backward and one AdamW step. generate: --new-tokens greedy tokens after a seq-token prompt, \
            with the key/value cache (tokens/s counts new tokens of all rows).
            --dtype int8 quantizes every linear layer first (forward and generate only).
            --json: {"task", "batch", "seq", "runs", "median_s", "min_s", "tokens_per_s", "dtype", "kernel"}.
            """
    )

    enum Task: String, ExpressibleByArgument, CaseIterable {
        case forward, trainStep = "train-step", generate
    }

    @Argument(help: "Model folder, .mhub file or model name.")
    var model: String

    @Option(help: "forward, train-step or generate.")
    var task: Task

    @Option(help: "Rows per batch.")
    var batch = 1

    @Option(help: "Tokens per row (the prompt length for generate).")
    var seq = 128

    @Option(help: "Tokens to generate (generate).")
    var newTokens = 32

    @Option(help: "Timed runs after the warm-up.")
    var runs = 5

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var precision: InferencePrecision

    @OptionGroup var access: HubAccess

    func validate() throws {
        if batch < 1 || seq < 1 || runs < 1 || newTokens < 1 {
            throw ValidationError("--batch, --seq, --runs and --new-tokens must be at least 1")
        }
        if task == .trainStep, precision.dtype != .f32 {
            throw ValidationError("--dtype \(precision.dtype.rawValue) is for inference; train-step runs in f32")
        }
    }

    func run() throws {
        let path = try ModelLoading.locate(model, access: access, quiet: json)
        let type = try ModelConfig.fromPretrained(path).modelType
        let modelTask: ModelTask =
            switch task {
            case .forward: .base
            case .generate: .causalLM
            case .trainStep: type == "gpt2" ? .causalLM : .maskedLM
            }
        let loaded = try ModelLoading.load(model, at: path, task: modelTask, precision: precision.dtype)
        let config = loaded.config
        let length = task == .generate ? seq + newTokens : seq
        guard length <= loaded.maxInputLength else {
            throw ValidationError("\(length) positions; the model has \(loaded.maxInputLength)")
        }
        var generator = RandomGenerator(seed: 1)
        // Ids away from the special tokens at the start of most vocabularies.
        let low = Swift.min(1000, config.vocabularySize / 2)
        let ids = (0..<(batch * seq)).map { _ in low + Int(generator.next() % UInt64(config.vocabularySize - low)) }
        let inputs = ModelInputs(
            inputIDs: Tensor(ids, shape: [batch, seq]), attentionMask: Tensor.ones([batch, seq], dtype: .int64))
        let body: () throws -> Void
        switch task {
        case .forward:
            body = { _ = try Tensor.withoutGradient { try loaded(inputs) } }
        case .trainStep:
            loaded.train()
            let optimizer = Adam.adamW([ParameterGroup(loaded.parameters(), weightDecay: 0.01)], learningRate: 1e-5)
            var labelled = inputs
            labelled.labels = inputs.inputIDs
            body = {
                optimizer.zeroGrad()
                guard let loss = try loaded(labelled).loss else { throw ValidationError("no loss") }
                loss.backward()
                optimizer.step()
            }
        case .generate:
            let lm = try AutoModelForCausalLM.typed(loaded, model)
            var settings = GenerationConfig(maxNewTokens: newTokens)
            settings.eosTokenIDs = [-1]  // every run makes all the tokens
            let prompts = (0..<batch).map { Array(ids[($0 * seq)..<(($0 + 1) * seq)]) }
            body = { _ = try lm.generate(prompts, config: settings) }
        }
        try body()  // warm-up
        var times: [Double] = []
        for run in 0..<runs {
            let start = Output.now()
            try body()
            times.append(Output.now() - start)
            if !json, Output.stderrIsTerminal { Output.writeStandardError("\rrun \(run + 1)/\(runs)") }
        }
        if !json, Output.stderrIsTerminal { Output.writeStandardError("\r\u{1B}[K") }
        times.sort()
        let median =
            times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
        let tokens = Double(batch * (task == .generate ? newTokens : seq))
        if json {
            Output.printJSON(
                .object(
                    JSONObject([
                        ("task", .string(task.rawValue)), ("batch", .int(batch)), ("seq", .int(seq)),
                        ("runs", .int(runs)),
                        ("median_s", ModelLoading.number(median)), ("min_s", ModelLoading.number(times[0])),
                        ("tokens_per_s", ModelLoading.number(tokens / median)),
                        ("dtype", .string(precision.dtype.rawValue)), ("kernel", .string(precision.kernel)),
                    ])))
        } else {
            print(
                "\(task.rawValue) \(batch)×\(seq)\(task == .generate ? " + \(newTokens) new" : ""): median "
                    + String(
                        format: "%.4f s, fastest %.4f s, %.1f tokens/s (%d runs)", median, times[0], tokens / median,
                        runs))
        }
    }
}

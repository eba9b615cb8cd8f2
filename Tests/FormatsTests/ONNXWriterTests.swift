import Foundation
import TestSupport
import Testing

@testable import Formats

/// The hand-written ONNX encoder against bytes worked out from onnx.proto's field numbers and protobuf's wire
/// format (ONNXExportTests runs real exports through onnx's checker and ONNX Runtime).
@Suite struct ONNXWriterTests {
    @Test func encodesTheModelProtoAsTheSpecificationLaysItOut() throws {
        var graph = ONNXGraph(name: "g")
        graph.nodes = [ONNXNode("Identity", name: "n", inputs: ["x"], outputs: ["y"], attributes: [("axis", .int(-1))])]
        graph.inputs = [ONNXValueInfo(name: "x", dataType: .float, shape: [.named("b")])]
        graph.outputs = [ONNXValueInfo(name: "y", dataType: .float, shape: [.fixed(2)])]
        var model = ONNXModel(graph: graph, opsets: [("", 17)])
        model.producerName = "M"
        let attribute: [UInt8] =
            [0x0A, 4] + Array("axis".utf8)  // name
            + [0x18] + [UInt8](repeating: 0xFF, count: 9) + [0x01]  // i = -1: ten bytes of two's complement
            + [0xA0, 0x01, 2]  // type (field 20) = INT
        let node: [UInt8] =
            [0x0A, 1, 0x78, 0x12, 1, 0x79, 0x1A, 1, 0x6E, 0x22, 8] + Array("Identity".utf8)
            + [0x2A, UInt8(attribute.count)] + attribute
        let input: [UInt8] = [0x0A, 1, 0x78, 0x12, 11, 0x0A, 9, 0x08, 1, 0x12, 5, 0x0A, 3, 0x12, 1, 0x62]
        let output: [UInt8] = [0x0A, 1, 0x79, 0x12, 10, 0x0A, 8, 0x08, 1, 0x12, 4, 0x0A, 2, 0x08, 2]
        let graphBytes: [UInt8] =
            [0x0A, UInt8(node.count)] + node + [0x12, 1, 0x67] + [0x5A, UInt8(input.count)] + input
            + [0x62, UInt8(output.count)] + output
        let expected: [UInt8] =
            [0x08, 8, 0x12, 1, 0x4D, 0x3A, UInt8(graphBytes.count)] + graphBytes + [0x42, 2, 0x10, 17]

        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try ONNXWriter.write(model, to: scratch.path + "/model.onnx")
        let written = try [UInt8](Data(contentsOf: URL(fileURLWithPath: scratch.path + "/model.onnx")))
        #expect(written == expected)
    }

    @Test func writesTensorsInlineOrAsAlignedExternalData() throws {
        var graph = ONNXGraph(name: "g")
        let large = (0..<1024).map(Float.init)
        graph.initializers = [
            ONNXTensor(name: "small", values: [Float(1.5)], dims: [1]),
            ONNXTensor(name: "large", values: large, dims: [32, 32]),
        ]
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try ONNXWriter.write(
            ONNXModel(graph: graph, opsets: [("", 17)]), to: scratch.path + "/m.onnx", externalData: "m.data")
        let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: scratch.path + "/m.data")))
        #expect(data == large.withUnsafeBytes { [UInt8]($0) })  // the one tensor of ≥ 1 KiB, at offset 0
        let model = try [UInt8](Data(contentsOf: URL(fileURLWithPath: scratch.path + "/m.onnx")))
        let text = String(decoding: model, as: UTF8.self)
        #expect(text.contains("location") && text.contains("m.data") && text.contains("4096"))
        #expect(model.count < 300)
        #expect(throws: FormatError.self) {
            try ONNXWriter.write(ONNXModel(graph: graph, opsets: []), to: scratch.path + "/x.onnx", externalData: "a/b")
        }
    }

    @Test func aTensorThatWritesTheWrongLengthIsAnError() throws {
        var graph = ONNXGraph(name: "g")
        graph.initializers = [ONNXTensor(name: "w", dataType: .float, dims: [4]) { try $0.writeZeros(12) }]
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let path = scratch.path + "/m.onnx"
        #expect(throws: FormatError.badTensor(path: path, tensor: "w", reason: "wrote 12 bytes, declared 16")) {
            try ONNXWriter.write(ONNXModel(graph: graph, opsets: []), to: path)
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}

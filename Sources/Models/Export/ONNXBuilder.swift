import Formats
import NN
import Support
import Tensors

/// Assembles an ONNX graph from a model's modules: each architecture's `emitONNX` calls these helpers in the order
/// its forward pass runs, so the graph computes what the Swift forward computes.
///
/// Node names follow the module path (`/bert/encoder/layer.0/attention/self/query/MatMul`), as torch.onnx names
/// them; initializers are the checkpoint's names, with `.T` where the stored matrix is the transpose (`MatMul`
/// takes [in, out]). A weight shared by two modules (tied embeddings) is stored once.
struct ONNXBuilder {
    private(set) var graph: ONNXGraph
    let dtype: ONNXExportDType
    /// The checkpoint name of each parameter.
    private let parameterNames: [ObjectIdentifier: String]
    /// Initializers already stored, by parameter and form.
    private var stored: [String: String] = [:]
    private var taken: Set<String> = []

    init(model: PretrainedModel, dtype: ONNXExportDType) {
        graph = ONNXGraph(name: "main_graph")
        self.dtype = dtype
        var names: [ObjectIdentifier: String] = [:]
        for (name, parameter) in model.namedParameters(removingDuplicates: true) {
            names[ObjectIdentifier(parameter)] = name
        }
        parameterNames = names
    }

    // MARK: Graph plumbing

    private mutating func unique(_ name: String) -> String {
        var candidate = name
        var index = 1
        while !taken.insert(candidate).inserted {
            candidate = "\(name)_\(index)"
            index += 1
        }
        return candidate
    }

    /// Adds a node with `outputs` results, named after `path` (a module path and the operator).
    mutating func nodes(
        _ opType: String, _ inputs: [String], path: String, outputs: Int = 1,
        attributes: [(name: String, value: ONNXAttribute)] = [], domain: String = ""
    ) -> [String] {
        let name = unique(path)
        let results = (0..<outputs).map { unique("\(name)_output_\($0)") }
        graph.nodes.append(
            ONNXNode(opType, name: name, inputs: inputs, outputs: results, attributes: attributes, domain: domain))
        return results
    }

    /// Adds a node with one result.
    mutating func node(
        _ opType: String, _ inputs: [String], path: String, attributes: [(name: String, value: ONNXAttribute)] = []
    ) -> String {
        nodes(opType, inputs, path: path, attributes: attributes)[0]
    }

    /// Declares a graph input.
    mutating func input(_ name: String, _ type: ONNXDataType, _ shape: [ONNXDimension]) -> String {
        graph.inputs.append(ONNXValueInfo(name: name, dataType: type, shape: shape))
        taken.insert(name)
        return name
    }

    /// Declares `value` as the graph output `name` (through an `Identity`, which ONNX Runtime removes).
    mutating func output(_ name: String, _ value: String, _ type: ONNXDataType = .float, _ shape: [ONNXDimension]) {
        taken.insert(name)
        graph.nodes.append(ONNXNode("Identity", name: unique("/\(name)/Identity"), inputs: [value], outputs: [name]))
        graph.outputs.append(ONNXValueInfo(name: name, dataType: type, shape: shape))
    }

    /// A float32 constant (an initializer), stored once per value.
    mutating func constant(_ values: [Float], dims: [Int] = []) -> String {
        let key = "f32:\(dims):\(values.map(\.bitPattern))"
        if let name = stored[key] { return name }
        let name = unique("/Constant_float")
        graph.initializers.append(ONNXTensor(name: name, values: values, dims: dims))
        stored[key] = name
        return name
    }

    /// An int64 constant (an initializer), stored once per value.
    mutating func constant(_ values: [Int64], dims: [Int]? = nil) -> String {
        let dims = dims ?? [values.count]
        let key = "i64:\(dims):\(values)"
        if let name = stored[key] { return name }
        let name = unique("/Constant_int64")
        graph.initializers.append(ONNXTensor(name: name, values: values, dims: dims))
        stored[key] = name
        return name
    }

    /// The checkpoint name of `parameter`.
    private func name(of parameter: Parameter) -> String {
        parameterNames[ObjectIdentifier(parameter)] ?? "parameter_\(ObjectIdentifier(parameter).hashValue)"
    }

    /// A parameter as a float32 value of the graph.
    ///
    /// Stored as it is, or with `transposed` its 2-D transpose. With
    /// `--dtype f16`, matrices are stored as float16 and cast to float32 in the graph (ONNX Runtime folds the cast
    /// when it loads the model, so the arithmetic stays float32 as in ModelHub's f16 inference). A transpose of a
    /// parameter already stored as it is becomes a `Transpose` node, so a tied weight is stored once.
    mutating func parameter(_ parameter: Parameter, transposed: Bool = false) -> String {
        let id = ObjectIdentifier(parameter)
        let base = name(of: parameter)
        let form = transposed ? "T" : "as-is"
        if let done = stored["\(id):\(form)"] { return done }
        if transposed, let asIs = stored["\(id):as-is"] {
            let result = node("Transpose", [asIs], path: "/\(base)/Transpose", attributes: [("perm", .ints([1, 0]))])
            stored["\(id):T"] = result
            return result
        }
        let value = parameter.value.detached()
        let half = dtype == .float16 && value.rank == 2
        let dims = transposed ? [value.size(1), value.size(0)] : value.shape
        let name = unique(transposed ? base + ".T" : base)
        graph.initializers.append(
            ONNXTensor(name: name, dataType: half ? .float16 : .float, dims: dims) { out in
                var tensor = value.converted(to: .float32)
                if transposed { tensor = tensor.transposed() }
                if half { tensor = tensor.converted(to: .float16) }
                try tensor.withContiguousBytes { try out.write($0) }
            })
        let result = half ? node("Cast", [name], path: "/\(base)/Cast", attributes: [("to", .int(1))]) : name
        stored["\(id):\(form)"] = result
        return result
    }

    // MARK: Layers

    /// x Wᵀ + b: `MatMul` over the transposed weight, then `Add`; with `--dtype int8` and a quantized layer, the
    /// integer product (see `quantizedProduct`).
    mutating func linear(_ x: String, _ layer: Linear, path: String) -> String {
        let product: String
        if dtype == .int8, case .int8(let weight)? = layer.reduced {
            product = quantizedProduct(x, weight, path: path)
        } else {
            product = node("MatMul", [x, parameter(layer.weight, transposed: true)], path: path + "/MatMul")
        }
        guard let bias = layer.bias else { return product }
        return node("Add", [product, parameter(bias)], path: path + "/Add")
    }

    /// x W + b with GPT-2's `Conv1D` weight, stored [in, out] as `MatMul` takes it.
    mutating func conv1D(_ x: String, _ layer: Conv1D, path: String) -> String {
        let product: String
        if dtype == .int8, case .int8(let weight)? = layer.reduced {
            product = quantizedProduct(x, weight, path: path)
        } else {
            product = node("MatMul", [x, parameter(layer.weight)], path: path + "/MatMul")
        }
        return node("Add", [product, parameter(layer.bias)], path: path + "/Add")
    }

    /// The int8 product as ONNX Runtime's `quantize_dynamic` writes it.
    ///
    /// ONNX Runtime's `MatMulIntegerToFloat` fusion applies to it: `DynamicQuantizeLinear` (activations per tensor, u8), `MatMulInteger`, `Cast`, and one `Mul` by
    /// the activation scale times each output channel's weight scale. The weights are ModelHub's symmetric s8
    /// rows stored as u8 with zero point 128 (the same integers): ONNX Runtime's u8·s8 kernel on AVX2 sums pairs
    /// in int16 and can saturate, its u8·u8 kernel cannot.
    mutating func quantizedProduct(_ x: String, _ weight: QuantizedWeight, path: String) -> String {
        let (values, scales, inputScales) = weight.parts
        let (outputs, inputs) = (weight.outputs, weight.inputs)
        var x = x
        if let inputScales {
            x = node("Mul", [x, constant(inputScales, dims: [inputs])], path: path + "/InputScale")
        }
        let quantized = nodes("DynamicQuantizeLinear", [x], path: path + "/DynamicQuantizeLinear", outputs: 3)
        let weightName = unique("\(path.dropFirst().replacingOccurrences(of: "/", with: ".")).weight_quantized")
        graph.initializers.append(
            ONNXTensor(name: weightName, dataType: .uint8, dims: [inputs, outputs]) { out in
                try values.transposed().withContiguousBytes { signed in
                    // s8 v → u8 v + 128: the same bits with the top one flipped.
                    let shifted = [UInt8](unsafeUninitializedCapacity: signed.count) { buffer, count in
                        for index in 0..<signed.count { buffer[index] = signed[index] ^ 0x80 }
                        count = signed.count
                    }
                    try shifted.withUnsafeBytes { try out.write($0) }
                }
            })
        let integers = node(
            "MatMulInteger", [quantized[0], weightName, quantized[2], weightZeroPoint()],
            path: path + "/MatMulInteger")
        let floats = node("Cast", [integers], path: path + "/Cast", attributes: [("to", .int(1))])
        let scale = node("Mul", [quantized[1], constant(scales, dims: [outputs])], path: path + "/ScaleProduct")
        return node("Mul", [floats, scale], path: path + "/Mul")
    }

    /// The u8 zero point 128 every quantized weight shares (a scalar: the same for each output channel).
    private mutating func weightZeroPoint() -> String {
        if let name = stored["u8:128"] { return name }
        let name = unique("/Constant_uint8")
        graph.initializers.append(
            ONNXTensor(name: name, dataType: .uint8, dims: []) { out in
                try [UInt8(128)].withUnsafeBytes { try out.write($0) }
            })
        stored["u8:128"] = name
        return name
    }

    /// LayerNormalization over the last axis (opset 17).
    mutating func layerNorm(_ x: String, _ layer: LayerNorm, path: String) -> String {
        node(
            "LayerNormalization", [x, parameter(layer.weight), parameter(layer.bias)],
            path: path + "/LayerNormalization",
            attributes: [("axis", .int(-1)), ("epsilon", .float(Float(layer.epsilon)))])
    }

    /// Rows of an embedding table.
    mutating func embedding(_ table: Embedding, _ ids: String, path: String) -> String {
        node("Gather", [parameter(table.weight), ids], path: path + "/Gather")
    }

    /// An activation as transformers defines it: GELU's erf form and tanh form as torch.onnx writes them (the
    /// patterns ONNX Runtime fuses into Gelu and FastGelu).
    mutating func activation(_ x: String, _ activation: Activation, path: String) -> String {
        switch activation {
        case .relu: return node("Relu", [x], path: path + "/Relu")
        case .tanh: return node("Tanh", [x], path: path + "/Tanh")
        case .gelu:
            let scaled = node("Div", [x, constant([Float(2).squareRoot()])], path: path + "/Div")
            let erf = node("Erf", [scaled], path: path + "/Erf")
            let shifted = node("Add", [erf, constant([Float(1)])], path: path + "/Add")
            let product = node("Mul", [x, shifted], path: path + "/Mul")
            return node("Mul", [product, constant([Float(0.5)])], path: path + "/Mul_1")
        case .geluTanh:
            let half = node("Mul", [constant([Float(0.5)]), x], path: path + "/Mul")
            let cube = node("Pow", [x, constant([Float(3)])], path: path + "/Pow")
            let cubic = node("Mul", [constant([Float(0.044715)]), cube], path: path + "/Mul_1")
            let inner = node("Add", [x, cubic], path: path + "/Add")
            let scaled = node(
                "Mul", [constant([Float((2 / Double.pi).squareRoot())]), inner], path: path + "/Mul_2")
            let tanh = node("Tanh", [scaled], path: path + "/Tanh")
            let shifted = node("Add", [constant([Float(1)]), tanh], path: path + "/Add_1")
            return node("Mul", [half, shifted], path: path + "/Mul_3")
        }
    }

    // MARK: Shapes and attention

    /// Dimension `axis` of `x` as a 1-element int64 tensor.
    mutating func dimension(_ x: String, _ axis: Int, path: String) -> String {
        node("Shape", [x], path: path + "/Shape", attributes: [("start", .int(axis)), ("end", .int(axis + 1))])
    }

    /// A 1-element tensor as a scalar.
    mutating func scalar(_ x: String, path: String) -> String {
        node("Squeeze", [x, constant([Int64(0)])], path: path + "/Squeeze")
    }

    /// 0 … n−1 for a scalar int64 `n`.
    mutating func range(from start: String, to end: String, path: String) -> String {
        node("Range", [start, end, constant([Int64(1)], dims: [])], path: path + "/Range")
    }

    /// [B, T] 0/1 mask → the additive bias [B, 1, 1, T] transformers adds to attention scores: 0 where a key may be
    /// seen, float32's lowest value where it is padding.
    mutating func keyPaddingBias(_ mask: String, path: String) -> String {
        let wide = node("Unsqueeze", [mask, constant([Int64(1), 2])], path: path + "/Unsqueeze")
        let floats = node("Cast", [wide], path: path + "/Cast", attributes: [("to", .int(1))])
        let inverted = node("Sub", [constant([Float(1)]), floats], path: path + "/Sub")
        return node("Mul", [inverted, constant([-Float.greatestFiniteMagnitude])], path: path + "/Mul")
    }

    /// [B, T, C] → [B, H, T, C/H] (`keysTransposed`: [B, H, C/H, T], what the score product takes).
    mutating func splitHeads(
        _ x: String, heads: Int, width: Int, keysTransposed: Bool = false, path: String
    )
        -> String
    {
        let shaped = node(
            "Reshape", [x, constant([0, 0, Int64(heads), Int64(width / heads)])], path: path + "/Reshape")
        return node(
            "Transpose", [shaped], path: path + "/Transpose",
            attributes: [("perm", .ints(keysTransposed ? [0, 2, 3, 1] : [0, 2, 1, 3]))])
    }

    /// softmax(q kᵀ · scale + bias) v over heads, merged back to [B, T, C].
    mutating func attention(
        query: String, keyTransposed: String, value: String, bias: String, scale: Float, width: Int, path: String
    ) -> String {
        let scores = node("MatMul", [query, keyTransposed], path: path + "/MatMul")
        let scaled = node("Mul", [scores, constant([scale])], path: path + "/Mul")
        let masked = node("Add", [scaled, bias], path: path + "/Add")
        let probabilities = node("Softmax", [masked], path: path + "/Softmax", attributes: [("axis", .int(-1))])
        let context = node("MatMul", [probabilities, value], path: path + "/MatMul_1")
        let merged = node(
            "Transpose", [context], path: path + "/Transpose", attributes: [("perm", .ints([0, 2, 1, 3]))])
        return node("Reshape", [merged, constant([0, 0, Int64(width)])], path: path + "/Reshape")
    }

    /// An encoder layer's self-attention over `hidden` [B, T, C]: its query, key and value projections (each with
    /// its checkpoint name, for the node paths) split into `heads`, attended under the key mask `bias`, merged back.
    mutating func selfAttention(
        _ hidden: String, projections: [(layer: Linear, name: String)], heads: Int, bias: String, path: String
    ) -> String {
        let width = projections[0].layer.weight.shape[0]
        let split = projections.enumerated().map { index, projection in
            splitHeads(
                linear(hidden, projection.layer, path: path + "/" + projection.name), heads: heads, width: width,
                keysTransposed: index == 1, path: path + "/" + projection.name)
        }
        return attention(
            query: split[0], keyTransposed: split[1], value: split[2], bias: bias,
            scale: 1 / Float(width / heads).squareRoot(), width: width, path: path)
    }

    /// The first position of [B, T, C]: [B, C].
    mutating func firstToken(_ hidden: String, path: String) -> String {
        node(
            "Gather", [hidden, constant([Int64(0)], dims: [])], path: path + "/Gather", attributes: [("axis", .int(1))])
    }

    /// [B, T, 2] → start and end logits [B, T].
    mutating func spanLogits(_ logits: String, path: String) -> (start: String, end: String) {
        let halves = nodes(
            "Split", [logits, constant([Int64(1), 1])], path: path + "/Split", outputs: 2,
            attributes: [("axis", .int(-1))])
        let minusOne = constant([Int64(-1)])
        return (
            node("Squeeze", [halves[0], minusOne], path: path + "/Squeeze"),
            node("Squeeze", [halves[1], minusOne], path: path + "/Squeeze_1")
        )
    }
}

import Formats
import NN

// GPT-2 as ONNX nodes, in GPT2Model.forward's order. The causal LM is written as optimum's
// `text-generation-with-past` export: `position_ids` and `past_key_values.N.key/value` [batch, heads, past, head
// width] in, `logits` and `present.N.key/value` out; its first step takes pasts of length 0.

extension GPT2Model: ONNXExportable {
    var onnxTask: String { "feature-extraction" }

    /// ln_f of the blocks over `ids` [B, T]; `mask` [B, P + T]; with `past`, each layer's cached keys and values
    /// (and the presents are returned); `positions` nil: 0 … T−1.
    func emitHidden(
        _ b: inout ONNXBuilder, ids: String, mask: String, positions: String?, past: [(key: String, value: String)]?,
        path: String
    ) -> (hidden: String, presents: [(key: String, value: String)]) {
        let maskPath = path + "/attention_mask"
        let length = b.dimension(ids, 1, path: maskPath + "/length")
        let pastLength = past.map { b.dimension($0[0].key, 2, path: maskPath + "/past_length") }
        let total = pastLength.map { b.node("Add", [$0, length], path: maskPath + "/Add") } ?? length
        let start = pastLength.map { b.scalar($0, path: maskPath + "/start") } ?? b.constant([Int64(0)], dims: [])
        let end = b.scalar(total, path: maskPath + "/end")
        let keys = b.range(from: b.constant([Int64(0)], dims: []), to: end, path: maskPath + "/keys")
        let queries = b.range(from: start, to: end, path: maskPath + "/queries")
        let causal = b.node(
            "LessOrEqual",
            [
                b.node("Unsqueeze", [keys, b.constant([Int64(0)])], path: maskPath + "/Unsqueeze"),
                b.node("Unsqueeze", [queries, b.constant([Int64(1)])], path: maskPath + "/Unsqueeze_1"),
            ], path: maskPath + "/LessOrEqual")  // [T, P + T]
        let padding = b.node(
            "Unsqueeze",
            [
                b.node("Cast", [mask], path: maskPath + "/Cast", attributes: [("to", .int(9))]),
                b.constant([Int64(1), 2]),
            ],
            path: maskPath + "/Unsqueeze_2")  // [B, 1, 1, P + T]
        let visible = b.node("And", [causal, padding], path: maskPath + "/And")
        let bias = b.node(
            "Where", [visible, b.constant([Float(0)]), b.constant([-Float.greatestFiniteMagnitude])],
            path: maskPath + "/Where")

        let positions = positions ?? b.positions(of: ids, path: path + "/positions")
        var hidden = b.node(
            "Add",
            [b.embedding(wte, ids, path: path + "/wte"), b.embedding(wpe, positions, path: path + "/wpe")],
            path: path + "/Add")
        var presents: [(key: String, value: String)] = []
        for (index, block) in h.enumerated() {
            let path = "\(path)/h.\(index)"
            let attention = block.attn
            let width = attention.cProj.weight.shape[0]
            let normed = b.layerNorm(hidden, block.ln1, path: path + "/ln_1")
            let qkv = b.conv1D(normed, attention.cAttn, path: path + "/attn/c_attn")
            let parts = b.nodes(
                "Split", [qkv, b.constant([Int64(width), Int64(width), Int64(width)])], path: path + "/attn/Split",
                outputs: 3, attributes: [("axis", .int(2))])
            let query = b.splitHeads(parts[0], heads: attention.heads, width: width, path: path + "/attn/query")
            var key = b.splitHeads(parts[1], heads: attention.heads, width: width, path: path + "/attn/key")
            var value = b.splitHeads(parts[2], heads: attention.heads, width: width, path: path + "/attn/value")
            if let past {
                key = b.node(
                    "Concat", [past[index].key, key], path: path + "/attn/Concat", attributes: [("axis", .int(2))])
                value = b.node(
                    "Concat", [past[index].value, value], path: path + "/attn/Concat_1",
                    attributes: [("axis", .int(2))])
                presents.append((key, value))
            }
            let keyTransposed = b.node(
                "Transpose", [key], path: path + "/attn/Transpose", attributes: [("perm", .ints([0, 1, 3, 2]))])
            let context = b.attention(
                query: query, keyTransposed: keyTransposed, value: value, bias: bias, scale: Float(attention.scale),
                width: width, path: path + "/attn")
            hidden = b.node(
                "Add", [hidden, b.conv1D(context, attention.cProj, path: path + "/attn/c_proj")], path: path + "/Add")
            let mlp = block.mlp
            let inner = b.activation(
                b.conv1D(b.layerNorm(hidden, block.ln2, path: path + "/ln_2"), mlp.cFc, path: path + "/mlp/c_fc"),
                mlp.activation, path: path + "/mlp/act")
            hidden = b.node(
                "Add", [hidden, b.conv1D(inner, mlp.cProj, path: path + "/mlp/c_proj")], path: path + "/Add_1")
        }
        return (b.layerNorm(hidden, lnF, path: path + "/ln_f"), presents)
    }

    func emitONNX(_ b: inout ONNXBuilder, options: ONNXExportOptions) throws {
        let inputs = ONNXEncoderInputs(&b, tokenTypes: false)
        let (hidden, _) = emitHidden(&b, ids: inputs.ids, mask: inputs.mask, positions: nil, past: nil, path: "")
        b.output("last_hidden_state", hidden, .float, ONNXEncoderInputs.axes + [.fixed(config.hiddenSize)])
    }
}

extension GPT2LMHeadModel: ONNXExportable {
    var onnxTask: String { "text-generation-with-past" }

    func emitONNX(_ b: inout ONNXBuilder, options: ONNXExportOptions) throws {
        let batch = ONNXDimension.named("batch_size")
        let total = ONNXDimension.named("past_sequence_length + sequence_length")
        let ids = b.input("input_ids", .int64, ONNXEncoderInputs.axes)
        let mask = b.input("attention_mask", .int64, [batch, total])
        let positions = b.input("position_ids", .int64, ONNXEncoderInputs.axes)
        let heads = transformer.h.first?.attn.heads ?? 1
        let cacheShape: [ONNXDimension] = [
            batch, .fixed(heads), .named("past_sequence_length"), .fixed(config.hiddenSize / heads),
        ]
        let past = (0..<transformer.h.count).map { layer in
            (
                key: b.input("past_key_values.\(layer).key", .float, cacheShape),
                value: b.input("past_key_values.\(layer).value", .float, cacheShape)
            )
        }
        let (hidden, presents) = transformer.emitHidden(
            &b, ids: ids, mask: mask, positions: positions, past: past, path: "/transformer")
        let logits = b.linear(hidden, lmHead, path: "/lm_head")
        b.output("logits", logits, .float, ONNXEncoderInputs.axes + [.fixed(config.vocabularySize)])
        let presentShape: [ONNXDimension] = [batch, .fixed(heads), total, .fixed(config.hiddenSize / heads)]
        for (layer, present) in presents.enumerated() {
            b.output("present.\(layer).key", present.key, .float, presentShape)
            b.output("present.\(layer).value", present.value, .float, presentShape)
        }
    }
}

extension GPT2ForSequenceClassification: ONNXExportable {
    var onnxTask: String { "text-classification" }

    /// The score of each row's last token that is not padding (transformers: the largest position whose id is not
    /// `pad_token_id`; without one, the last position), picked by a one-hot product.
    func emitONNX(_ b: inout ONNXBuilder, options: ONNXExportOptions) throws {
        let inputs = ONNXEncoderInputs(&b, tokenTypes: false)
        let (hidden, _) = transformer.emitHidden(
            &b, ids: inputs.ids, mask: inputs.mask, positions: nil, past: nil, path: "/transformer")
        let path = "/pooling"
        let last: String
        if let pad = config.padTokenID {
            let isToken = b.node(
                "Not", [b.node("Equal", [inputs.ids, b.constant([Int64(pad)], dims: [])], path: path + "/Equal")],
                path: path + "/Not")
            let positions = b.positions(of: inputs.ids, path: path)  // [1, T]
            let kept = b.node(
                "Mul", [positions, b.node("Cast", [isToken], path: path + "/Cast", attributes: [("to", .int(7))])],
                path: path + "/Mul")
            last = b.node(
                "ArgMax", [kept], path: path + "/ArgMax", attributes: [("axis", .int(-1)), ("keepdims", .int(1))])
        } else {
            let length = b.dimension(inputs.ids, 1, path: path)
            last = b.node("Sub", [length, b.constant([Int64(1)])], path: path + "/Sub")  // [1], broadcast
        }
        let positions = b.positions(of: inputs.ids, path: path + "/onehot")
        let onehot = b.node(
            "Cast", [b.node("Equal", [positions, last], path: path + "/onehot/Equal")], path: path + "/onehot/Cast",
            attributes: [("to", .int(1))])  // [B, T]
        let picked = b.node(
            "MatMul",
            [b.node("Unsqueeze", [onehot, b.constant([Int64(1)])], path: path + "/Unsqueeze"), hidden],
            path: path + "/MatMul")  // [B, 1, C]
        let pooled = b.node("Squeeze", [picked, b.constant([Int64(1)])], path: path + "/Squeeze")
        b.sequenceLogits(b.linear(pooled, score, path: "/score"), labels: config.labelCount)
    }
}

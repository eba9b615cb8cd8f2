import Formats
import NN

// BERT as ONNX nodes, in the order BertModel.forward runs (RoBERTa reuses the encoder and the pooler). Inputs and
// outputs are named as optimum's BERT export names them.

/// The graph inputs of an encoder: ids and mask [batch_size, sequence_length], and token types where the
/// architecture takes them.
struct ONNXEncoderInputs {
    let ids: String
    let mask: String
    let tokenTypes: String?

    static let axes: [ONNXDimension] = [.named("batch_size"), .named("sequence_length")]

    init(_ builder: inout ONNXBuilder, tokenTypes: Bool) {
        ids = builder.input("input_ids", .int64, Self.axes)
        mask = builder.input("attention_mask", .int64, Self.axes)
        self.tokenTypes = tokenTypes ? builder.input("token_type_ids", .int64, Self.axes) : nil
    }
}

extension ONNXBuilder {
    /// 0 … T−1 as [1, T], T the ids' length: an encoder's default positions.
    mutating func positions(of ids: String, path: String) -> String {
        let length = scalar(dimension(ids, 1, path: path), path: path)
        let positions = range(from: constant([Int64(0)], dims: []), to: length, path: path)
        return node("Unsqueeze", [positions, constant([Int64(0)])], path: path + "/Unsqueeze")
    }

    /// An encoder's last hidden state as the graph's `last_hidden_state` [batch_size, sequence_length, hidden];
    /// with `sentenceEmbedding` also `sentence_embedding` [batch_size, hidden]: the mean over the attention mask,
    /// L2-normalised (norms floored at 1e-12, counts at 1e-9, as `sentenceEmbeddings` and sentence-transformers do).
    mutating func encoderOutputs(hidden: String, mask: String, hiddenSize: Int, sentenceEmbedding: Bool) {
        output("last_hidden_state", hidden, .float, ONNXEncoderInputs.axes + [.fixed(hiddenSize)])
        guard sentenceEmbedding else { return }
        let path = "/pooling"
        let weights = node(
            "Cast", [node("Unsqueeze", [mask, constant([Int64(-1)])], path: path + "/Unsqueeze")],
            path: path + "/Cast", attributes: [("to", .int(1))])
        let axis = constant([Int64(1)])
        let summed = node(
            "ReduceSum", [node("Mul", [hidden, weights], path: path + "/Mul"), axis],
            path: path + "/ReduceSum", attributes: [("keepdims", .int(0))])
        let counts = node(
            "ReduceSum", [weights, axis], path: path + "/ReduceSum_1",
            attributes: [("keepdims", .int(0))])
        let mean = node(
            "Div", [summed, node("Max", [counts, constant([Float(1e-9)])], path: path + "/Max")],
            path: path + "/Div")
        let squares = node(
            "ReduceSum", [node("Mul", [mean, mean], path: "/normalize/Mul"), constant([Int64(-1)])],
            path: "/normalize/ReduceSum", attributes: [("keepdims", .int(1))])
        let norm = node(
            "Max", [node("Sqrt", [squares], path: "/normalize/Sqrt"), constant([Float(1e-12)])],
            path: "/normalize/Max")
        let normalized = node("Div", [mean, norm], path: "/normalize/Div")
        output("sentence_embedding", normalized, .float, [.named("batch_size"), .fixed(hiddenSize)])
    }
}

extension BertEmbeddings {
    /// Word + token type + position rows, then LayerNorm.
    ///
    /// `tokenTypes` nil: type 0 everywhere (RoBERTa).
    func emitONNX(
        _ b: inout ONNXBuilder, ids: String, tokenTypes: String?, positions: String, path: String
    )
        -> String
    {
        let words = b.embedding(wordEmbeddings, ids, path: path + "/word_embeddings")
        let types: String
        if let tokenTypes {
            types = b.embedding(tokenTypeEmbeddings, tokenTypes, path: path + "/token_type_embeddings")
        } else {
            types = b.node(
                "Gather", [b.parameter(tokenTypeEmbeddings.weight), b.constant([Int64(0)], dims: [])],
                path: path + "/token_type_embeddings/Gather")
        }
        let withTypes = b.node("Add", [words, types], path: path + "/Add")
        let placed = b.node(
            "Add", [withTypes, b.embedding(positionEmbeddings, positions, path: path + "/position_embeddings")],
            path: path + "/Add_1")
        return b.layerNorm(placed, layerNorm, path: path + "/LayerNorm")
    }
}

extension BertEncoder {
    /// Every layer over [B, T, C], `bias` the additive key mask [B, 1, 1, T].
    func emitONNX(_ b: inout ONNXBuilder, hidden: String, bias: String, path: String) -> String {
        var hidden = hidden
        for (index, layer) in layer.enumerated() {
            let path = "\(path)/layer.\(index)"
            let attention = layer.attention.selfAttention
            let context = b.selfAttention(
                hidden, projections: [(attention.query, "query"), (attention.key, "key"), (attention.value, "value")],
                heads: attention.heads, bias: bias, path: path + "/attention/self")
            let attended = layer.attention.output.emitONNX(
                &b, context, residual: hidden, path: path + "/attention/output")
            let intermediate = b.activation(
                b.linear(attended, layer.intermediate.dense, path: path + "/intermediate/dense"),
                layer.intermediate.activation, path: path + "/intermediate/intermediate_act_fn")
            hidden = layer.output.emitONNX(&b, intermediate, residual: attended, path: path + "/output")
        }
        return hidden
    }
}

extension BertOutput {
    /// LayerNorm(dense(x) + residual).
    func emitONNX(_ b: inout ONNXBuilder, _ x: String, residual: String, path: String) -> String {
        let projected = b.linear(x, dense, path: path + "/dense")
        return b.layerNorm(
            b.node("Add", [projected, residual], path: path + "/Add"), layerNorm, path: path + "/LayerNorm")
    }
}

extension BertPooler {
    /// tanh(dense(h[:, 0])).
    func emitONNX(_ b: inout ONNXBuilder, hidden: String, path: String) -> String {
        let first = b.firstToken(hidden, path: path)
        return b.activation(b.linear(first, dense, path: path + "/dense"), .tanh, path: path + "/activation")
    }
}

extension BertModel: ONNXExportable {
    var onnxTask: String { "feature-extraction" }
    static var embedsSentences: Bool { true }

    /// The graph's inputs, then the encoder: the last hidden state and the pooled first token (with a pooler).
    func emitHidden(
        _ b: inout ONNXBuilder, path: String
    ) -> (inputs: ONNXEncoderInputs, hidden: String, pooled: String?) {
        let inputs = ONNXEncoderInputs(&b, tokenTypes: true)
        let embedded = embeddings.emitONNX(
            &b, ids: inputs.ids, tokenTypes: inputs.tokenTypes,
            positions: b.positions(of: inputs.ids, path: path + "/embeddings"), path: path + "/embeddings")
        let bias = b.keyPaddingBias(inputs.mask, path: path + "/attention_mask")
        let hidden = encoder.emitONNX(&b, hidden: embedded, bias: bias, path: path + "/encoder")
        return (inputs, hidden, pooler.map { $0.emitONNX(&b, hidden: hidden, path: path + "/pooler") })
    }

    func emitONNX(_ b: inout ONNXBuilder, options: ONNXExportOptions) throws {
        let (inputs, hidden, _) = emitHidden(&b, path: "")
        b.encoderOutputs(
            hidden: hidden, mask: inputs.mask, hiddenSize: config.hiddenSize,
            sentenceEmbedding: options.sentenceEmbedding)
    }
}

extension ONNXBuilder {
    /// A classifier's logits [batch_size, labels].
    mutating func sequenceLogits(_ logits: String, labels: Int) {
        output("logits", logits, .float, [.named("batch_size"), .fixed(labels)])
    }

    /// Logits per token [batch_size, sequence_length, classes].
    mutating func tokenLogits(_ logits: String, classes: Int) {
        output("logits", logits, .float, ONNXEncoderInputs.axes + [.fixed(classes)])
    }

    /// `start_logits` and `end_logits` [batch_size, sequence_length] from [B, T, 2].
    mutating func spanOutputs(_ logits: String, path: String) {
        let (start, end) = spanLogits(logits, path: path)
        output("start_logits", start, .float, ONNXEncoderInputs.axes)
        output("end_logits", end, .float, ONNXEncoderInputs.axes)
    }
}

extension BertForMaskedLM: ONNXExportable {
    var onnxTask: String { "fill-mask" }

    func emitONNX(_ b: inout ONNXBuilder, options: ONNXExportOptions) throws {
        let (_, hidden, _) = bert.emitHidden(&b, path: "/bert")
        let head = cls.predictions
        let path = "/cls/predictions"
        let transformed = b.layerNorm(
            b.activation(
                b.linear(hidden, head.transform.dense, path: path + "/transform/dense"), head.transform.activation,
                path: path + "/transform/transform_act_fn"),
            head.transform.layerNorm, path: path + "/transform/LayerNorm")
        b.tokenLogits(b.linear(transformed, head.decoder, path: path + "/decoder"), classes: config.vocabularySize)
    }
}

extension BertForSequenceClassification: ONNXExportable {
    var onnxTask: String { "text-classification" }

    func emitONNX(_ b: inout ONNXBuilder, options: ONNXExportOptions) throws {
        let (_, _, pooled) = bert.emitHidden(&b, path: "/bert")
        guard let pooled else { throw ModelError.input("\(className) has no pooler") }
        b.sequenceLogits(b.linear(pooled, classifier, path: "/classifier"), labels: config.labelCount)
    }
}

extension BertForTokenClassification: ONNXExportable {
    var onnxTask: String { "token-classification" }

    func emitONNX(_ b: inout ONNXBuilder, options: ONNXExportOptions) throws {
        let (_, hidden, _) = bert.emitHidden(&b, path: "/bert")
        b.tokenLogits(b.linear(hidden, classifier, path: "/classifier"), classes: config.labelCount)
    }
}

extension BertForQuestionAnswering: ONNXExportable {
    var onnxTask: String { "question-answering" }

    func emitONNX(_ b: inout ONNXBuilder, options: ONNXExportOptions) throws {
        let (_, hidden, _) = bert.emitHidden(&b, path: "/bert")
        b.spanOutputs(b.linear(hidden, qaOutputs, path: "/qa_outputs"), path: "/qa_outputs")
    }
}

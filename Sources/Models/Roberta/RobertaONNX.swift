import Formats
import NN

// RoBERTa as ONNX nodes: BERT's encoder (BertONNX.swift) under positions counted from the padding index; inputs
// `input_ids` and `attention_mask` only, as optimum's RoBERTa export takes them.

extension RobertaEmbeddings {
    /// transformers' `create_position_ids_from_input_ids`: cumsum(ids ≠ pad) · (ids ≠ pad) + pad.
    func emitPositions(_ b: inout ONNXBuilder, ids: String, path: String) -> String {
        let padding = b.constant([Int64(paddingIndex)], dims: [])
        let isToken = b.node("Not", [b.node("Equal", [ids, padding], path: path + "/Equal")], path: path + "/Not")
        let counted = b.node("Cast", [isToken], path: path + "/Cast", attributes: [("to", .int(7))])
        let running = b.node("CumSum", [counted, b.constant([Int64(1)], dims: [])], path: path + "/CumSum")
        let kept = b.node("Mul", [running, counted], path: path + "/Mul")
        return b.node("Add", [kept, padding], path: path + "/Add")
    }
}

extension RobertaModel: ONNXExportable {
    var onnxTask: String { "feature-extraction" }
    static var embedsSentences: Bool { true }

    func emitHidden(
        _ b: inout ONNXBuilder, path: String
    ) -> (inputs: ONNXEncoderInputs, hidden: String, pooled: String?) {
        let inputs = ONNXEncoderInputs(&b, tokenTypes: false)
        let positions = embeddings.emitPositions(&b, ids: inputs.ids, path: path + "/embeddings/positions")
        let embedded = embeddings.emitONNX(
            &b, ids: inputs.ids, tokenTypes: nil, positions: positions, path: path + "/embeddings")
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

extension RobertaForMaskedLM: ONNXExportable {
    var onnxTask: String { "fill-mask" }

    func emitONNX(_ b: inout ONNXBuilder, options: ONNXExportOptions) throws {
        let (_, hidden, _) = roberta.emitHidden(&b, path: "/roberta")
        let path = "/lm_head"
        let transformed = b.layerNorm(
            b.activation(b.linear(hidden, lmHead.dense, path: path + "/dense"), lmHead.activation, path: path),
            lmHead.layerNorm, path: path + "/layer_norm")
        b.tokenLogits(b.linear(transformed, lmHead.decoder, path: path + "/decoder"), classes: config.vocabularySize)
    }
}

extension RobertaForSequenceClassification: ONNXExportable {
    var onnxTask: String { "text-classification" }

    func emitONNX(_ b: inout ONNXBuilder, options: ONNXExportOptions) throws {
        let (_, hidden, _) = roberta.emitHidden(&b, path: "/roberta")
        let path = "/classifier"
        let first = b.firstToken(hidden, path: path)
        let dense = b.activation(b.linear(first, classifier.dense, path: path + "/dense"), .tanh, path: path)
        b.sequenceLogits(b.linear(dense, classifier.outProj, path: path + "/out_proj"), labels: config.labelCount)
    }
}

extension RobertaForTokenClassification: ONNXExportable {
    var onnxTask: String { "token-classification" }

    func emitONNX(_ b: inout ONNXBuilder, options: ONNXExportOptions) throws {
        let (_, hidden, _) = roberta.emitHidden(&b, path: "/roberta")
        b.tokenLogits(b.linear(hidden, classifier, path: "/classifier"), classes: config.labelCount)
    }
}

extension RobertaForQuestionAnswering: ONNXExportable {
    var onnxTask: String { "question-answering" }

    func emitONNX(_ b: inout ONNXBuilder, options: ONNXExportOptions) throws {
        let (_, hidden, _) = roberta.emitHidden(&b, path: "/roberta")
        b.spanOutputs(b.linear(hidden, qaOutputs, path: "/qa_outputs"), path: "/qa_outputs")
    }
}

import Formats
import NN

// DistilBERT as ONNX nodes, in DistilBertModel.forward's order; inputs `input_ids` and `attention_mask`, as
// optimum's DistilBERT export takes them.

extension DistilBertModel: ONNXExportable {
    var onnxTask: String { "feature-extraction" }
    static var embedsSentences: Bool { true }

    /// The graph's inputs, then embeddings and every block: the last hidden state.
    func emitHidden(_ b: inout ONNXBuilder, path: String) -> (inputs: ONNXEncoderInputs, hidden: String) {
        let inputs = ONNXEncoderInputs(&b, tokenTypes: false)
        let embeddingsPath = path + "/embeddings"
        let words = b.embedding(embeddings.wordEmbeddings, inputs.ids, path: embeddingsPath + "/word_embeddings")
        let positions = b.embedding(
            embeddings.positionEmbeddings, b.positions(of: inputs.ids, path: embeddingsPath),
            path: embeddingsPath + "/position_embeddings")
        var hidden = b.layerNorm(
            b.node("Add", [words, positions], path: embeddingsPath + "/Add"), embeddings.layerNorm,
            path: embeddingsPath + "/LayerNorm")
        let bias = b.keyPaddingBias(inputs.mask, path: path + "/attention_mask")
        for (index, block) in transformer.layer.enumerated() {
            let path = "\(path)/transformer/layer.\(index)"
            let attention = block.attention
            let attentionPath = path + "/attention"
            let context = b.selfAttention(
                hidden, projections: [(attention.qLin, "q_lin"), (attention.kLin, "k_lin"), (attention.vLin, "v_lin")],
                heads: attention.heads, bias: bias, path: attentionPath)
            let projected = b.linear(context, attention.outLin, path: attentionPath + "/out_lin")
            let attended = b.layerNorm(
                b.node("Add", [projected, hidden], path: path + "/Add"), block.saLayerNorm,
                path: path + "/sa_layer_norm")
            let ffn = block.ffn
            let inner = b.activation(
                b.linear(attended, ffn.lin1, path: path + "/ffn/lin1"), ffn.activation, path: path + "/ffn/activation")
            let outer = b.linear(inner, ffn.lin2, path: path + "/ffn/lin2")
            hidden = b.layerNorm(
                b.node("Add", [outer, attended], path: path + "/Add_1"), block.outputLayerNorm,
                path: path + "/output_layer_norm")
        }
        return (inputs, hidden)
    }

    func emitONNX(_ b: inout ONNXBuilder, options: ONNXExportOptions) throws {
        let (inputs, hidden) = emitHidden(&b, path: "")
        b.encoderOutputs(
            hidden: hidden, mask: inputs.mask, hiddenSize: config.hiddenSize,
            sentenceEmbedding: options.sentenceEmbedding)
    }
}

extension DistilBertForMaskedLM: ONNXExportable {
    var onnxTask: String { "fill-mask" }

    func emitONNX(_ b: inout ONNXBuilder, options: ONNXExportOptions) throws {
        let (_, hidden) = distilbert.emitHidden(&b, path: "/distilbert")
        let transformed = b.layerNorm(
            b.activation(
                b.linear(hidden, vocabTransform, path: "/vocab_transform"), activation, path: "/activation"),
            vocabLayerNorm, path: "/vocab_layer_norm")
        b.tokenLogits(
            b.linear(transformed, vocabProjector, path: "/vocab_projector"), classes: config.vocabularySize)
    }
}

extension DistilBertForSequenceClassification: ONNXExportable {
    var onnxTask: String { "text-classification" }

    func emitONNX(_ b: inout ONNXBuilder, options: ONNXExportOptions) throws {
        let (_, hidden) = distilbert.emitHidden(&b, path: "/distilbert")
        let first = b.firstToken(hidden, path: "/pre_classifier")
        let pre = b.activation(b.linear(first, preClassifier, path: "/pre_classifier"), .relu, path: "/pre_classifier")
        b.sequenceLogits(b.linear(pre, classifier, path: "/classifier"), labels: config.labelCount)
    }
}

extension DistilBertForTokenClassification: ONNXExportable {
    var onnxTask: String { "token-classification" }

    func emitONNX(_ b: inout ONNXBuilder, options: ONNXExportOptions) throws {
        let (_, hidden) = distilbert.emitHidden(&b, path: "/distilbert")
        b.tokenLogits(b.linear(hidden, classifier, path: "/classifier"), classes: config.labelCount)
    }
}

extension DistilBertForQuestionAnswering: ONNXExportable {
    var onnxTask: String { "question-answering" }

    func emitONNX(_ b: inout ONNXBuilder, options: ONNXExportOptions) throws {
        let (_, hidden) = distilbert.emitHidden(&b, path: "/distilbert")
        b.spanOutputs(b.linear(hidden, qaOutputs, path: "/qa_outputs"), path: "/qa_outputs")
    }
}

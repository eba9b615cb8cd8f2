import NN
import Tensors

/// Ids must index their table; an embedding lookup out of range would read past it.
func checkRange(_ ids: Tensor, below limit: Int, what: String) throws {
    if let bad = ids.integers.first(where: { $0 < 0 || $0 >= limit }) {
        throw ModelError.input("\(what) id \(bad) is out of range for a table of \(limit) rows")
    }
}

/// An encoder's inputs checked before anything reads them: ids [batch, length ≥ 1] within the vocabulary, no
/// longer than the position table allows, a mask of the ids' shape.
func checkEncoderInputs(_ inputs: ModelInputs, vocabularySize: Int, maxLength: Int) throws {
    let ids = inputs.inputIDs
    guard ids.rank == 2, ids.size(1) > 0 else {
        throw ModelError.input("input ids must be [batch, length] with length ≥ 1, got \(ids.shape)")
    }
    guard ids.size(1) <= maxLength else {
        throw ModelError.input("\(ids.size(1)) tokens; the model takes at most \(maxLength)")
    }
    try checkRange(ids, below: vocabularySize, what: "token")
    if let mask = inputs.attentionMask, mask.shape != ids.shape {
        throw ModelError.input("attention mask \(mask.shape) for ids \(ids.shape)")
    }
}

/// Scaled dot-product attention of all heads over the projections [B, T, C] of an encoder layer: split into heads,
/// attend (dropout on the probabilities), merge back to [B, T, C].
func attendHeads(query: Tensor, key: Tensor, value: Tensor, heads: Int, mask: Tensor?, dropout: Dropout) -> Tensor {
    let (B, T, C) = (query.size(0), query.size(1), query.size(2))
    func split(_ y: Tensor) -> Tensor { y.reshaped([B, T, heads, C / heads]).transposed(1, 2) }  // [B, H, T, C/H]
    let context = Tensor.scaledDotProductAttention(
        query: split(query), key: split(key), value: split(value), mask: mask, probabilities: { dropout($0) })
    return context.transposed(1, 2).reshaped([B, T, C])
}

/// [B, T] → [B, 1, 1, T]: each query sees the keys that are not padding.
func keyPaddingMask(_ inputs: ModelInputs) -> Tensor? {
    let ids = inputs.inputIDs
    return inputs.attentionMask.map { $0.reshaped([ids.size(0), 1, 1, ids.size(1)]) }
}

/// transformers' `create_position_ids_from_input_ids` (RoBERTa, XLM-R, MPNet): tokens count up from
/// `paddingIndex` + 1 along each row, padding stays at `paddingIndex`.
func positionsFromPadding(_ ids: Tensor, paddingIndex: Int) -> Tensor {
    let (B, T) = (ids.size(0), ids.size(1))
    let values = ids.integers
    var positions = [Int](repeating: paddingIndex, count: values.count)
    for row in 0..<B {
        var count = 0
        for column in 0..<T where values[row * T + column] != paddingIndex {
            count += 1
            positions[row * T + column] = count + paddingIndex
        }
    }
    return Tensor(positions, shape: [B, T])
}

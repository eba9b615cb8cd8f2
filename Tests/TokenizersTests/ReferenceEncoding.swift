import Support

@testable import Tokenizers

/// How an encoding differs from the one Hugging Face tokenizers wrote into a reference file (`ids`, `type_ids`,
/// flat `offsets`, `special`, `decoded`, `decoded_all`): one short phrase per difference, none when they agree.
func differences(_ encoding: Encoding, from want: JSONObject, decodedBy tokenizer: Tokenizer) -> [String] {
    func ints(_ key: String) -> [Int] { want[key]?.array?.compactMap(\.integer) ?? [] }
    let flat = ints("offsets")
    let offsets = stride(from: 0, to: flat.count, by: 2).map { flat[$0]..<flat[$0 + 1] }
    var problems: [String] = []
    if encoding.ids.map(Int.init) != ints("ids") { problems.append("ids \(encoding.ids) != \(ints("ids"))") }
    if encoding.typeIDs.map(Int.init) != ints("type_ids") { problems.append("type ids") }
    if encoding.offsets != offsets { problems.append("offsets \(encoding.offsets) != \(offsets)") }
    if encoding.specialTokensMask.map(Int.init) != ints("special") { problems.append("special mask") }
    if tokenizer.decode(encoding.ids) != want["decoded"]?.string { problems.append("decode") }
    if tokenizer.decode(encoding.ids, skipSpecialTokens: false) != want["decoded_all"]?.string {
        problems.append("decode with specials")
    }
    return problems
}

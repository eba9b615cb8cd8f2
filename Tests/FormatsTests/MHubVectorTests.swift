import Formats
import Support
import TestSupport
import Testing

/// Runs the .mhub conformance vectors of formats/vectors (written by an independent Python writer): valid files
/// open, verify and decode to the listed SHA-256; invalid ones fail at the listed stage with the listed words.
@Suite struct MHubVectorTests {
    static let manifest: JSONObject = try! Fixtures.json(Fixtures.vectors + "/manifest.json").object!

    @Test(arguments: manifest.keys)
    func vector(_ name: String) throws {
        let expectation = Self.manifest[name]!.object!
        let path = Fixtures.vectors + "/" + name
        if expectation["expect"]?.string == "ok" {
            let mhub = try MHubFile(path: path)
            try mhub.verify()
            let tensors = expectation["tensors"]!.object!
            #expect(
                mhub.tensors.map(\.name)
                    == tensors.keys.sorted { a, b in
                        (mhub.tensors.firstIndex { $0.name == a } ?? 0)
                            < (mhub.tensors.firstIndex { $0.name == b } ?? 0)
                    })
            #expect(Set(mhub.tensors.map(\.name)) == Set(tensors.keys))
            for (index, record) in mhub.tensors.enumerated() {
                #expect(
                    try mhub.bytes(at: index).withUnsafeBytes(sha256Hex) == tensors[record.name]?.string,
                    "\(name): \(record.name)")
            }
            return
        }
        let words = expectation["error"]!.string!
        let error: FormatError?
        if expectation["stage"]?.string == "verify" {
            let mhub = try MHubFile(path: path)
            error = #expect(throws: FormatError.self) { try mhub.verify() }
        } else {
            error = #expect(throws: FormatError.self) { _ = try MHubFile(path: path) }
        }
        #expect(error?.description.contains(words) == true, "\(name): \(String(describing: error))")
    }

    @Test func carriedFilesComeBackVerbatim() throws {
        let mhub = try MHubFile(path: Fixtures.vectors + "/zstd-and-files.mhub")
        #expect(mhub.files.map(\.path) == ["config.json", "tokenizer/vocab.txt"])
        let vocab = try #require(try mhub.fileBytes("tokenizer/vocab.txt"))
        #expect(String(decoding: vocab.array, as: UTF8.self) == "[PAD]\n[UNK]\nhello\n")
        #expect(try mhub.config()?["model_type"]?.string == "bert")
        #expect(mhub.provenance?["source"]?.string == "vectors")
    }
}

import Formats
import Support
import TestSupport
import Testing

/// The malformed files of Tests/Fixtures/bad (docs/ARCHITECTURE.md (defences) tables S, Z, P): each is refused, at open or at
/// verify as its manifest says, with an error naming the file and containing the expected words.
@Suite struct BadInputTests {
    static let manifest: JSONObject = try! Fixtures.json(Fixtures.path("bad/manifest.json")).object!

    @Test func manifestCoversAtLeastThirtyFiles() {
        #expect(Self.manifest.count >= 30)
    }

    @Test(arguments: manifest.keys)
    func badFileIsRefused(_ name: String) throws {
        let expectation = Self.manifest[name]!.object!
        let path = Fixtures.path("bad/" + name)
        let error: FormatError?
        if expectation["stage"]?.string == "verify" {
            let archive = try Checkpoint.open(path)
            error = #expect(throws: FormatError.self) { try archive.verify() }
        } else {
            error = #expect(throws: FormatError.self) { _ = try Checkpoint.open(path) }
        }
        let message = error?.description ?? ""
        #expect(message.hasPrefix(path), "error names the file: \(message)")
        #expect(message.contains(expectation["error"]!.string!), "\(name): \(message)")
        #expect(!message.contains("\n"), "one line: \(message)")
    }

    @Test func overlongIndexAndUnsafeShardNamesAreRefused() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let index = scratch.path + "/model.safetensors.index.json"
        for (body, words) in [
            (#"{"weight_map": {"w": "../model.safetensors"}}"#, "not a plain file name"),
            (#"{"weight_map": {}}"#, "empty"),
            (#"{"weight_map": {"w": "missing.safetensors"}}"#, "missing.safetensors"),
            (#"{"weight_map": [1]}"#, "weight_map"),
        ] {
            try writeText(body, to: index)
            let error = #expect(throws: FormatError.self) { _ = try Checkpoint.open(index) }
            #expect(error?.description.contains(words) == true, "\(body): \(String(describing: error))")
        }
    }
}

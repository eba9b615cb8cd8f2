import ArgumentParser
import Foundation
import ModelHub

/// `hub tokenize MODEL TEXT...`: ids, tokens and offsets, as the model's Hugging Face tokenizer gives them.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Tokenize text with a model's tokenizer (ids, tokens, offsets).",
        discussion: """
            MODEL is a folder holding tokenizer.json (or vocab.txt, or vocab.json + merges.txt), an .mhub file \
            carrying them, or a model name (from the Hugging Face cache; pulled when missing: only its tokenizer \
            files). Special tokens are added as tokenizer(text) adds them in Python. Offsets count Unicode code points.
            --json: an array, one object per TEXT: {"text", "ids", "tokens", "offsets": [[start, end], …], \
            "type_ids", "special_tokens_mask"}.
            --file PATH tokenizes every line of PATH and prints lines, tokens and MB/s (a throughput check).

            Supported today: tokenizer.json with WordPiece (BERT and its relatives), byte-level BPE (GPT-2, RoBERTa) \
            or WordLevel; \
            without it, BERT's vocab.txt or GPT-2's and RoBERTa's vocab.json + merges.txt (the family from \
            tokenizer_config.json's tokenizer_class or config.json's model_type).
            """
    )

    @Argument(help: "Model folder, .mhub file or model name.")
    var model: String

    @Argument(help: "Texts to tokenize.")
    var texts: [String] = []

    @Option(help: "A second text, paired with each TEXT ([CLS] A [SEP] B [SEP]).")
    var pair: String?

    @Option(help: "Tokenize every line of this file and report throughput.")
    var file: String?

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var access: HubAccess

    func validate() throws {
        if texts.isEmpty, file == nil { throw ValidationError("give TEXT to tokenize, or --file PATH") }
        if !texts.isEmpty, file != nil { throw ValidationError("give TEXT or --file, not both") }
    }

    func run() throws {
        let tokenizer = try AutoTokenizer.fromPretrained(try locate())
        if let file {
            try throughput(tokenizer, file)
            return
        }
        let encodings = texts.map { tokenizer.encode($0, pair: pair) }
        if json {
            Output.printJSON(
                .array(
                    zip(texts, encodings).map { text, encoding in
                        .object(
                            JSONObject([
                                ("text", .string(text)), ("ids", .array(encoding.ids.map { .int(Int($0)) })),
                                ("tokens", .array(encoding.tokens.map(JSONValue.string))),
                                (
                                    "offsets",
                                    .array(encoding.offsets.map { .array([.int($0.lowerBound), .int($0.upperBound)]) })
                                ),
                                ("type_ids", .array(encoding.typeIDs.map { .int(Int($0)) })),
                                ("special_tokens_mask", .array(encoding.specialTokensMask.map { .int(Int($0)) })),
                            ]))
                    }))
            return
        }
        for (text, encoding) in zip(texts, encodings) {
            print(text)
            print("  tokens: " + encoding.tokens.joined(separator: " "))
            print("  ids:    " + encoding.ids.map(String.init).joined(separator: " "))
        }
    }

    /// The folder or file holding the tokenizer: MODEL itself when it exists, else the cached (or pulled) model.
    private func locate() throws -> String {
        let client = access.client()
        let printer = ProgressPrinter(label: "downloading \(model)", enabled: !json)
        defer { printer.finish() }
        return try client.locate(model, selection: .tokenizer, progress: { printer.show($0) }).path
    }

    /// Tokenizes every line of a file once and prints the rate.
    private func throughput(_ tokenizer: Tokenizer, _ path: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        guard bytes.withUnsafeBufferPointer({ isValidUTF8($0) }) else {
            throw TokenizerError.file(path: path, reason: "not UTF-8 text")
        }
        // Lines cut at the newline byte: splitting a String walks grapheme clusters, slower than the tokenizer.
        var lines: [String] = []
        var start = 0
        for index in 0...bytes.count where index == bytes.count || bytes[index] == 0x0A {
            lines.append(String(decoding: bytes[start..<index], as: UTF8.self))
            start = index + 1
        }
        let begin = Output.now()
        var tokens = 0
        for line in lines { tokens += tokenizer.encode(line).count }
        let seconds = Output.now() - begin
        let megabytes = Double(bytes.count) / 1e6
        if json {
            Output.printJSON(
                .object(
                    JSONObject([
                        ("lines", .int(lines.count)), ("tokens", .int(tokens)), ("bytes", .int(bytes.count)),
                        ("seconds", .number(String(seconds))), ("mb_per_s", .number(String(megabytes / seconds))),
                    ])))
            return
        }
        print(
            "\(lines.count) lines, \(tokens) tokens, \(Output.bytes(bytes.count)) in "
                + String(format: "%.3f s (%.2f MB/s, one thread)", seconds, megabytes / seconds))
    }
}

import ArgumentParser
import ModelHub

/// `hub export FILE.mhub -o DIR`: back to a Hugging Face folder that transformers loads.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write an .mhub back out as a Hugging Face folder (model.safetensors, config.json, tokenizer files).",
        discussion: """
            DIR must not exist or be empty; it appears only once complete. Every checksum is checked on the way. \
            Python loads it with transformers.AutoModel.from_pretrained(DIR); an int8 .mhub is written dequantized.
            """
    )

    @Argument(help: "The .mhub file.")
    var file: String

    @Option(name: .shortAndLong, help: "Folder to create.")
    var output: String

    @Flag(help: "Print {\"output\", \"files\"} as JSON.")
    var json = false

    func run() throws {
        let mhub = try MHubFile(path: file)
        let written = try Exporter.export(mhub, to: output)
        if json {
            Output.printJSON(
                .object(JSONObject([("output", .string(output)), ("files", .array(written.map(JSONValue.string)))])))
        } else {
            print("\(output): " + written.joined(separator: ", "))
        }
    }
}

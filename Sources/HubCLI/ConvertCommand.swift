import ArgumentParser
import Foundation
import ModelHub

/// `hub convert SOURCE`: a checkpoint file or model folder to one `.mhub` file.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a checkpoint (file or Hugging Face folder) into one .mhub file.",
        discussion: """
            SOURCE is a .safetensors, .bin/.pt/.pth (PyTorch zip or legacy), a sharded *.index.json, a folder \
            holding config.json, the weights (sharded or not) and tokenizer files, which are all carried into the \
            .mhub, or a model name (catalog name or org/name): taken from the Hugging Face cache when there (e.g. \
            downloaded by Python; HF_HUB_CACHE, HF_HOME), else pulled first (output NAME.mhub). Prints tensors, parameters, bytes and seconds (--json: {"output", "format", "tensors", \
            "parameters", "source_bytes", "bytes", "files", "seconds"}).

            Examples:
              hub convert ./bert-base-uncased -o bert.mhub
              hub convert bert-base-uncased        (from ~/.cache/huggingface/hub, pulled if missing)
              hub convert pytorch_model.bin --dtype f16 --compress zstd
              hub convert model.safetensors --dtype int8
            """
    )

    enum DTypeChoice: String, ExpressibleByArgument, CaseIterable {
        case f32, f16, bf16, int8

        /// How the writer stores F32 tensors for this choice.
        func options(compress: Bool) -> MHubWriter.Options {
            switch self {
            case .f32: return .init(compress: compress)
            case .f16: return .init(dtype: .f16, compress: compress)
            case .bf16: return .init(dtype: .bf16, compress: compress)
            case .int8: return .init(compress: compress, quantizeInt8: true)
            }
        }
    }

    enum Compression: String, ExpressibleByArgument, CaseIterable {
        case zstd
    }

    @Argument(help: "Checkpoint file, model folder, or the name of a model in the Hugging Face cache.")
    var source: String

    @Option(
        name: .shortAndLong, help: "Output file (default: SOURCE with the extension .mhub; a folder gives FOLDER.mhub)."
    )
    var output: String?

    @Option(
        help: """
            Store F32 tensors as f32 (unchanged), f16 or bf16 (rounded as PyTorch's .to() rounds), or int8 \
            (two-dimensional tensors as int8 rows with F32 scales; biases and LayerNorm stay F32).
            """)
    var dtype: DTypeChoice = .f32

    @Option(help: "Compress each tensor (zstd): smaller files for distribution, no zero-copy loading.")
    var compress: Compression?

    @Option(help: "For a model name: the revision (branch, tag or commit) to take from the Hugging Face cache.")
    var revision = "main"

    @Flag(help: "Print the summary as JSON.")
    var json = false

    @OptionGroup var access: HubAccess

    func validate() throws {
        if let output, output.isEmpty { throw ValidationError("--output must not be empty") }
    }

    /// SOURCE's name with `.mhub`: `x.safetensors` → `x.mhub`; folder `dir/` → `dir.mhub`; `a.index.json` → `a.mhub`.
    static func defaultOutput(for source: String) -> String {
        var base = source
        while base.count > 1, base.hasSuffix("/") { base.removeLast() }
        let name = base.split(separator: "/").last.map(String.init) ?? base
        let folder = String(base.dropLast(name.count))
        var stem = name
        for suffix in [".index.json", ".safetensors", ".bin", ".pth", ".pt"] where stem.hasSuffix(suffix) {
            stem = String(stem.dropLast(suffix.count))
            break
        }
        return folder + stem + ".mhub"
    }

    /// The folder or file to read, and provenance from the cache when SOURCE named a model rather than a path.
    ///
    /// A name not yet cached is pulled first (unless offline).
    private func locate() throws -> (path: String, provenance: [(key: String, value: JSONValue)], output: String) {
        if FileManager.default.fileExists(atPath: source) {
            return (source, [], output ?? Self.defaultOutput(for: source))
        }
        let printer = ProgressPrinter(label: "downloading \(source)", enabled: !json)
        let located = try access.client().locate(source, revision: revision, progress: { printer.show($0) })
        printer.finish()
        guard let resolved = located.resolved else { throw ValidationError("\(source) is not a model name") }
        let snapshot = (folder: located.path, repo: resolved.repo, commit: resolved.commit)
        let provenance: [(key: String, value: JSONValue)] = [
            ("source", .string(source)), ("repo", .string(snapshot.repo)), ("revision", .string(revision)),
            ("commit", .string(snapshot.commit)),
        ]
        let stem = source.split(separator: "/").last.map(String.init) ?? source
        return (snapshot.folder, provenance, output ?? stem + ".mhub")
    }

    func run() throws {
        let located = try locate()
        let model = try ModelSource.open(located.path)
        let target = located.output
        guard !(model.weightFiles + [located.path]).contains(where: { isSameFile($0, target) }) else {
            throw FormatError.invalidArgument("\(target): the output would overwrite the input; choose another -o")
        }
        let options = dtype.options(compress: compress == .zstd)
        let start = Output.now()
        let summary = try Converter.convert(model, to: target, options: options, provenance: located.provenance) {
            done, total in
            Output.progress("converting", done: done, total: total, started: start)
        }
        let seconds = Output.now() - start
        if let repo = located.provenance.first(where: { $0.key == "repo" })?.value.string,
            let commit = located.provenance.first(where: { $0.key == "commit" })?.value.string
        {
            access.client().recordUse(of: repo, conversion: (target, commit))
        }
        if json {
            Output.printJSON(
                .object(
                    JSONObject([
                        ("output", .string(target)), ("format", .string(model.weights.format.rawValue)),
                        ("tensors", .int(summary.tensorCount)),
                        ("parameters", .int(summary.parameterCount)), ("source_bytes", .int(summary.sourceBytes)),
                        ("bytes", .int(summary.outputBytes)),
                        ("files", .array(summary.carriedFiles.map(JSONValue.string))),
                        ("seconds", .number(String(seconds))),
                    ])))
            return
        }
        let rate = seconds > 0 ? Double(summary.sourceBytes) / seconds / 1e9 : 0
        print("\(model.weights.format.rawValue) → \(target)")
        print(
            "  \(summary.tensorCount) tensors, \(Output.count(summary.parameterCount)) parameters, \(Output.bytes(summary.sourceBytes)) of tensors"
        )
        if !summary.carriedFiles.isEmpty { print("  carried: \(summary.carriedFiles.joined(separator: ", "))") }
        print(String(format: "  wrote %@ in %.3f s (%.2f GB/s)", Output.bytes(summary.outputBytes), seconds, rate))
    }
}

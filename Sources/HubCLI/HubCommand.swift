import ArgumentParser
import ModelHub

#if canImport(Glibc)
    import Glibc
#endif

/// The `hub` command: a thin root; each subcommand lives in its own file and calls the library.
@main
struct HubCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub",
        abstract:
            "Pretrained transformers from a name to working Swift code: pull, convert, inspect, export, tokenize, run, "
            + "generate, serve, mirror, finetune, bench.",
        discussion: """
            Models: a catalog name (hub search), an org/name repo id, downloaded into the Hugging Face cache shared \
            with the Python client (HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_TOKEN, HF_HUB_OFFLINE as it reads them). \
            Checkpoints: .safetensors, PyTorch .bin/.pt/.pth (zip and legacy), sharded *.index.json, .mhub, or a \
            Hugging Face model folder. Bad input: one line on stderr and exit status 1; bad usage: exit status 64.
            """,
        version: "0.1.0",
        subcommands: [
            PullCommand.self, ResolveCommand.self, ListCommand.self, RemoveCommand.self, GarbageCommand.self,
            SearchCommand.self, ConvertCommand.self, InspectCommand.self, ExportCommand.self, TokenizeCommand.self,
            RunCommand.self, GenerateCommand.self, ServeCommand.self, MirrorCommand.self, FinetuneCommand.self,
            BenchCommand.self,
        ]
    )

    /// Runs the command; a write past a file-size limit then fails with EFBIG (reported, temporary file removed)
    /// instead of killing the process with SIGXFSZ.
    static func main() {
        signal(SIGXFSZ, SIG_IGN)
        main(nil)
    }
}

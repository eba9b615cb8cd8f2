import ArgumentParser
import Foundation
import ModelHub
import Synchronization

/// Options every command that talks to the Hub shares.
struct HubAccess: ParsableArguments {
    @Flag(help: "Answer from the cache alone, as HF_HUB_OFFLINE=1 does.")
    var offline = false

    @Option(
        help: """
            Hub token (prefer HF_TOKEN: a command line is visible to other users); else HF_TOKEN, else the \
            token file (HF_TOKEN_PATH, default $HF_HOME/token).
            """)
    var token: String?

    /// The client for this environment and these flags.
    func client() -> HubClient {
        var environment = HubEnvironment(ProcessInfo.processInfo.environment)
        if offline { environment.offline = true }
        return HubClient(environment: environment, token: token)
    }
}

/// The model a command fetches or describes: a name and a revision.
struct ModelArguments: ParsableArguments {
    @Argument(help: "Catalog name, alias or org/name repo id.")
    var name: String

    @Option(help: "Branch, tag or commit.")
    var revision = "main"
}

/// Which files to take: the `--include` / `--exclude` globs.
struct FileFilters: ParsableArguments {
    @Option(help: "Only files matching this glob (repeatable; * crosses /, a trailing / takes a folder).")
    var include: [String] = []

    @Option(help: "Leave out files matching this glob (repeatable).")
    var exclude: [String] = []

    var selection: FileSelection { FileSelection(include: include, exclude: exclude) }
}

/// `hub pull NAME`: resolve a name and download its files into the Hugging Face cache.
struct PullCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Download a model into the Hugging Face cache (shared with the Python client).",
        discussion: """
            NAME is a catalog name or alias (hub search), or any org/name repo id. A catalog model gets its preferred \
            weights (model.safetensors, else sharded safetensors, else pytorch_model.bin) plus config and tokenizer \
            files; another repo gets every file. Files already cached are not fetched again; an interrupted download \
            resumes. Every file is checked against the Hub's listing (size, and sha256 or git blob id) before it \
            enters the cache. The last line printed is the snapshot folder.

            Environment: HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_TOKEN, HF_HUB_OFFLINE, HF_HUB_DOWNLOAD_TIMEOUT \
            (seconds without data before a retry, default 10), HF_HUB_ETAG_TIMEOUT (connect and metadata, \
            default 10).
            --json: {"name", "repo", "revision", "commit", "snapshot", "files", "downloaded", "reused", \
            "bytes_received", "seconds"}.

            Examples:
              hub pull bert-base-uncased
              hub pull gpt2 --include '*.json' --include '*.txt'
              HF_HUB_OFFLINE=1 hub pull roberta-base        (checks the cache, names what is missing)
            """
    )

    @OptionGroup var model: ModelArguments
    @OptionGroup var filters: FileFilters
    @OptionGroup var access: HubAccess

    @Flag(help: "Print the outcome as JSON.")
    var json = false

    func run() throws {
        let (name, revision) = (model.name, model.revision)
        let started = Output.now()
        // Online, the Hub is asked even when the cache is complete (a branch may have moved); offline, the cache
        // must have every file a pull would fetch.
        let printer = ProgressPrinter(label: "downloading \(name)", enabled: !json)
        let located = try access.client().locate(
            name, revision: revision, selection: filters.selection, refresh: true, progress: { printer.show($0) })
        printer.finish()
        guard let model = located.resolved else { throw ValidationError("\(name) is not a model name") }
        let seconds = Output.now() - started
        if json {
            Output.printJSON(
                .object(
                    JSONObject([
                        ("name", .string(name)), ("repo", .string(model.repo)),
                        ("revision", .string(revision)), ("commit", .string(model.commit)),
                        ("snapshot", .string(located.path)),
                        ("files", .array(model.files.map { .string($0.path) })),
                        ("downloaded", .array(located.downloaded.map(JSONValue.string))),
                        ("reused", .array(located.reused.map(JSONValue.string))),
                        ("bytes_received", .int(Int(located.bytesReceived))), ("seconds", .number(String(seconds))),
                    ])))
            return
        }
        let total = model.files.reduce(Int64(0)) { $0 + $1.size }
        print(
            "\(model.repo) @ \(revision) (commit \(model.commit.prefix(7))): "
                + "\(model.files.count) files, \(Output.bytes(Int(total)))")
        if !located.downloaded.isEmpty {
            let rate = seconds > 0 ? Double(located.bytesReceived) / seconds : 0
            print(
                "  downloaded \(located.downloaded.count): \(located.downloaded.joined(separator: ", ")) "
                    + "(\(Output.bytes(Int(located.bytesReceived))) in \(Output.format1(seconds)) s, "
                    + "\(Output.bytes(Int(rate)))/s)")
        }
        if !located.reused.isEmpty {
            print("  already cached \(located.reused.count): \(located.reused.joined(separator: ", "))")
        }
        print(located.path)
    }
}

/// Prints download progress on a terminal at most ten times a second (it is reported from several threads).
final class ProgressPrinter: Sendable {
    private let label: String
    private let enabled: Bool
    private let state = Mutex((started: Output.now(), shown: 0.0))

    init(label: String, enabled: Bool) {
        self.label = label
        self.enabled = enabled && Output.stderrIsTerminal
    }

    func show(_ progress: PullProgress) {
        guard enabled else { return }
        state.withLock { state in
            let now = Output.now()
            guard now - state.shown >= 0.1 else { return }
            state.shown = now
            Output.progress(label, done: Int(progress.done), total: Int(progress.total), started: state.started)
        }
    }

    func finish() {
        if enabled { Output.writeStandardError("\r\u{1B}[K") }
    }
}

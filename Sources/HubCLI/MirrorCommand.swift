import ArgumentParser
import Foundation
import ModelHub
import Serving

/// `hub mirror`: the local Hugging Face cache served read-only over the Hub's protocol.
struct MirrorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mirror",
        abstract: "Serve the local Hugging Face cache, read-only, over the Hub's protocol (HF_ENDPOINT for others).",
        discussion: """
            Serves the cache HF_HUB_CACHE / HF_HOME select (the same rules as every command) to huggingface_hub, \
            transformers and hub pull on other machines: set HF_ENDPOINT=http://HOST:PORT there. Answers GET \
            /api/models/REPO[/revision/REV] and HEAD/GET /REPO/resolve/REV/PATH (byte ranges, the Hub's ETag, \
            X-Repo-Commit, X-Linked-Etag and X-Linked-Size headers); revisions are branches and tags the cache has \
            refs for, full commit hashes and unique short ones. Missing repos, revisions and files get 404 with \
            X-Error-Code RepoNotFound, RevisionNotFound or EntryNotFound — or, with --upstream, are fetched from \
            there into the cache (checked, one download however many clients ask) and served. Nothing a request says can write, or read \
            outside the cache's models--* folders. Prints `mirroring CACHE on http://HOST:PORT` and serves until \
            SIGTERM or SIGINT. Binds loopback unless --host says otherwise.
            """
    )

    @Option(help: "Address to bind (127.0.0.1: this machine only; 0.0.0.0: every interface).")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port, printed).")
    var port = 8090

    @Option(help: "A Hub (or another mirror) to fetch what the cache lacks from, into the cache, then serve.")
    var upstream: String?

    @Flag(help: "Never contact --upstream (also with HF_HUB_OFFLINE=1).")
    var offline = false

    @Option(help: "A file whose first line is the token for --upstream (a client's token is never forwarded).")
    var tokenFile: String?

    @Option(help: "Entries per page of a tree listing (more pages are linked, as the Hub links them).")
    var pageSize = 1000

    @Flag(help: "Print the startup line as a JSON object.")
    var json = false

    func validate() throws {
        if !(0...65_535).contains(port) { throw ValidationError("--port must be between 0 and 65535") }
        if pageSize < 1 { throw ValidationError("--page-size must be at least 1") }
    }

    func run() throws {
        var options = MirrorOptions()
        options.host = host
        options.port = port
        options.treePageSize = pageSize
        let environment = HubEnvironment(ProcessInfo.processInfo.environment)
        options.upstream = upstream.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        options.offline = offline || environment.offline
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8),
                let token = text.split(whereSeparator: \.isNewline).first.map({
                    $0.trimmingCharacters(in: .whitespaces)
                }),
                !token.isEmpty
            else { throw ValidationError("cannot read a token from \(tokenFile)") }
            options.upstreamToken = token
        }
        let root = environment.cacheDirectory
        let mirror = CacheMirror(cacheRoot: root, options: options)
        let upstreamNote =
            options.upstream.map {
                options.offline ? " (offline: not fetching from \($0))" : ", fetching what it lacks from \($0)"
            } ?? ""
        let json = json
        try ServerProcess.run {
            try await mirror.run { host, port in
                let url = ServerProcess.url(host, port)
                Output.writeStandardOutput(
                    json
                        ? JSONValue.object(JSONObject([("cache", .string(root)), ("listening", .string(url))]))
                            .serialized() + "\n"
                        : "mirroring \(root) on \(url)" + upstreamNote + "\n")
            }
        }
    }
}

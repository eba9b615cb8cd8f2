import ArgumentParser
import Foundation
import ModelHub

/// `hub resolve NAME`: what a name resolves to (repo, commit, files with sizes and sha256), without downloading.
struct ResolveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "Show what a name resolves to (repo, commit, files), without downloading.",
        discussion: """
            Online it asks the Hub (HF_ENDPOINT); with --offline or HF_HUB_OFFLINE=1 it answers from the cache. \
            The files are those `hub pull` would fetch with the same --include / --exclude.
            --json: {"name", "repo", "revision", "commit", "files": [{"path", "size", "sha256", "etag"}]} \
            (sha256 is null for small files kept in git; etag is then their git blob id).
            """
    )

    @OptionGroup var model: ModelArguments
    @OptionGroup var filters: FileFilters
    @OptionGroup var access: HubAccess

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let (name, revision) = (model.name, model.revision)
        let client = access.client()
        let registry = try Registry.builtIn()
        let resolved =
            client.environment.offline
            ? try client.cached(name, revision: revision, selection: filters.selection, registry: registry).model
            : try client.resolve(name, revision: revision, selection: filters.selection, registry: registry)
        if json {
            Output.printJSON(resolved.json)
            return
        }
        print("\(name) → \(resolved.repo) @ \(revision) = \(resolved.commit)")
        for file in resolved.files {
            let size = Output.bytes(Int(file.size)).padding(toLength: 10, withPad: " ", startingAt: 0)
            print("  \(size) \(file.path)" + (file.lfsSHA256.map { "  sha256 \($0)" } ?? ""))
        }
    }
}

/// `hub ls`: the models in the cache, with revisions, size and last use.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List the models in the Hugging Face cache (revisions, size, last use).",
        discussion: """
            Reads the cache folder (HF_HUB_CACHE, HF_HOME), so models the Python client downloaded show too, and \
            keeps the index .locks/modelhub.sqlite in step with it (rebuilt when missing or corrupt). Last use is when \
            ModelHub last pulled or converted the model (else when its snapshot was written).
            --json: an array of {"repo", "folder", "path", "revisions": [{"revision", "commit"}], "snapshots", \
            "size", "files", "last_used", "converted": [{"path", "commit", "bytes"}]}.
            """
    )

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let cache = HubCache(root: HubEnvironment(ProcessInfo.processInfo.environment).cacheDirectory)
        let repos = cache.scan()
        let index = Maintenance.index(for: cache.root, refreshing: repos)
        let lastUsed = (try? index?.lastUsed()) ?? [:]
        let converted = (try? index?.conversions()) ?? [:]
        if json {
            Output.printJSON(
                .array(
                    repos.map { repo in
                        let used = lastUsed[repo.folder] ?? repo.modified
                        return .object(
                            JSONObject([
                                ("repo", .string(repo.repo)), ("folder", .string(repo.folder)),
                                ("path", .string(cache.root + "/" + repo.folder)),
                                (
                                    "revisions",
                                    .array(
                                        repo.refs.map {
                                            .object(
                                                JSONObject([
                                                    ("revision", .string($0.revision)), ("commit", .string($0.commit)),
                                                ]))
                                        })
                                ),
                                ("snapshots", .array(repo.snapshots.map { .string($0.commit) })),
                                ("size", .int(Int(repo.size))), ("files", .int(repo.fileCount)),
                                ("last_used", .string(Maintenance.iso8601(used))),
                                (
                                    "converted",
                                    .array(
                                        (converted[repo.folder] ?? []).map {
                                            .object(
                                                JSONObject([
                                                    ("path", .string($0.path)), ("commit", .string($0.commit)),
                                                    ("bytes", .int(Int($0.bytes))),
                                                ]))
                                        })
                                ),
                            ]))
                    }))
            return
        }
        guard !repos.isEmpty else {
            print("no models in \(cache.root)")
            return
        }
        let width = max(4, repos.map(\.repo.count).max() ?? 0)
        print(
            "REPO".padding(toLength: width, withPad: " ", startingAt: 0)
                + "  REVISIONS        SIZE      FILES  LAST USED")
        for repo in repos {
            let revisions =
                repo.refs.isEmpty ? repo.snapshots.map { String($0.commit.prefix(7)) } : repo.refs.map(\.revision)
            let used = Maintenance.iso8601(lastUsed[repo.folder] ?? repo.modified).prefix(16).replacingOccurrences(
                of: "T", with: " ")
            print(
                repo.repo.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                    + revisions.joined(separator: ",").padding(toLength: 16, withPad: " ", startingAt: 0) + " "
                    + Output.bytes(Int(repo.size)).padding(toLength: 9, withPad: " ", startingAt: 0) + " "
                    + String(repo.fileCount).padding(toLength: 6, withPad: " ", startingAt: 0) + " " + used)
            for file in converted[repo.folder] ?? [] {
                print("  converted: \(file.path) (\(Output.bytes(Int(file.bytes))))")
            }
        }
        print("\(repos.count) models, \(Output.bytes(Int(repos.reduce(0) { $0 + $1.size }))) in \(cache.root)")
    }
}

/// `hub rm NAME`: remove a model (or one revision of it) from the cache.
struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Remove a model, or one revision of it, from the Hugging Face cache.",
        discussion: """
            Without --revision the whole repo folder goes (every revision, its locks). With it, that snapshot, the \
            refs pointing at it, and the blobs no other snapshot uses. A catalog name removes the folders of the \
            name as typed, its canonical repo id and its aliases. --json: {"removed", "commits", "freed_bytes"}.
            """
    )

    @Argument(help: "Catalog name, alias or org/name repo id.")
    var name: String

    @Option(help: "Only this branch, tag or commit.")
    var revision: String?

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let cache = HubCache(root: HubEnvironment(ProcessInfo.processInfo.environment).cacheDirectory)
        let resolution = (try? Registry.builtIn().resolve(name, pathExists: { _ in false })) ?? .repo(name)
        let folders = cache.folders(for: resolution, typed: name)
        guard !folders.isEmpty else { throw HubError.notInCache(name: name, cache: cache.root) }
        let removal = try cache.remove(folders: folders, revision: revision)
        guard !removal.folders.isEmpty || !removal.commits.isEmpty else {
            throw HubError.notInCache(name: name + "@" + (revision ?? ""), cache: cache.root)
        }
        let index = Maintenance.index(for: cache.root, refreshing: cache.scan())
        for folder in removal.folders { try? index?.forget(folder: folder) }
        if json {
            Output.printJSON(
                .object(
                    JSONObject([
                        ("removed", .array(removal.folders.map(JSONValue.string))),
                        ("commits", .array(removal.commits.map(JSONValue.string))),
                        ("freed_bytes", .int(Int(removal.freedBytes))),
                    ])))
            return
        }
        for folder in removal.folders { print("removed \(cache.root)/\(folder)") }
        for commit in removal.commits { print("removed snapshot \(commit)") }
        print("freed \(Output.bytes(Int(removal.freedBytes)))")
    }
}

/// `hub gc`: delete blobs no snapshot uses and partial downloads nobody is writing.
struct GarbageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Free space: blobs no snapshot uses, stale partial downloads, records of deleted .mhub files.",
        discussion: """
            A partial download (blobs/<etag>.*.incomplete) is stale when nobody holds its blob's lock, so a pull \
            running in another process is never disturbed. --json: {"unreferenced_blobs", "stale_downloads", \
            "forgotten_conversions", "freed_bytes", "dry_run"}.
            """
    )

    @Flag(help: "Only report what would be removed.")
    var dryRun = false

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let cache = HubCache(root: HubEnvironment(ProcessInfo.processInfo.environment).cacheDirectory)
        var report = cache.collectGarbage(dryRun: dryRun)
        let index = Maintenance.index(for: cache.root, refreshing: cache.scan())
        if !dryRun { report.forgottenConversions = (try? index?.pruneConversions()) ?? 0 }
        if json {
            Output.printJSON(
                .object(
                    JSONObject([
                        ("unreferenced_blobs", .array(report.unreferencedBlobs.map(JSONValue.string))),
                        ("stale_downloads", .array(report.staleDownloads.map(JSONValue.string))),
                        ("forgotten_conversions", .int(report.forgottenConversions)),
                        ("freed_bytes", .int(Int(report.freedBytes))), ("dry_run", .bool(dryRun)),
                    ])))
            return
        }
        let verb = dryRun ? "would remove" : "removed"
        for path in report.unreferencedBlobs { print("\(verb) unreferenced blob \(path)") }
        for path in report.staleDownloads { print("\(verb) stale partial download \(path)") }
        print(
            "\(verb) \(report.unreferencedBlobs.count) blobs and \(report.staleDownloads.count) partial downloads; "
                + "\(dryRun ? "would free" : "freed") \(Output.bytes(Int(report.freedBytes)))")
    }
}

/// The index bookkeeping the commands share; the index is derived data, so its failures are warnings.
enum Maintenance {
    /// Opens the index, brings it in step with the folder, and returns it (nil, after a warning, when it cannot).
    static func index(for root: String, refreshing repos: [CachedRepo]) -> HubIndex? {
        guard linkStatusExists(root) else { return nil }
        do {
            let index = try HubIndex(root: root)
            try index.refresh(repos)
            return index
        } catch {
            Output.writeStandardError("warning: \(error); continuing without the index\n")
            return nil
        }
    }

    private static func linkStatusExists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// `2026-11-26T16:40:00Z`.
    static func iso8601(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }
}

import ArgumentParser
import ModelHub

/// `hub search QUERY`: the model catalog, filtered.
struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search the built-in model catalog (names, repos, architectures, tasks).",
        discussion: """
            Every word of QUERY must appear in a model's name, repo id, aliases, architecture, tasks or description \\
            (case-insensitive); with no QUERY, the whole catalog. JSON: an array of {"name", "repo", "aliases", \\
            "architecture", "supported", "tasks", "license", "parameters", "description"}.
            """
    )

    @Argument(help: "Words to look for.")
    var query: [String] = []

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let matches = try Registry.builtIn().search(query.joined(separator: " "))
        if json {
            Output.printJSON(.array(matches.map(\.json)))
            return
        }
        guard !matches.isEmpty else {
            print("no catalog model matches '\(query.joined(separator: " "))'; any org/name repo id also works")
            return
        }
        let nameWidth = matches.map(\.name.count).max() ?? 4
        let repoWidth = matches.map(\.repo.count).max() ?? 4
        for entry in matches {
            let note = entry.supported ? "" : " (not supported yet)"
            print(
                pad(entry.name, nameWidth) + "  " + pad(entry.repo, repoWidth) + "  " + pad(entry.parameters, 6) + "  "
                    + entry.description + note)
        }
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}

extension CatalogEntry {
    /// The `hub search --json` record.
    var json: JSONValue {
        .object(
            JSONObject([
                ("name", .string(name)), ("repo", .string(repo)), ("aliases", .array(aliases.map(JSONValue.string))),
                ("architecture", .string(architecture)), ("supported", .bool(supported)),
                ("tasks", .array(tasks.map(JSONValue.string))), ("license", .string(license)),
                ("parameters", .string(parameters)), ("description", .string(description)),
            ]))
    }
}

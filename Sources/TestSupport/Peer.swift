import Foundation

/// The Python peers the benchmarks run beside ModelHub (`Benchmarks/peer_*.py`, under PEER_PYTHON).
public enum Peer {
    /// The figures `Benchmarks/<script>` prints as `name<TAB>value` lines when run with `arguments` under
    /// PEER_PYTHON (python3 by default), or nil when it cannot run or prints none (no torch there).
    public static func figures(script: String, arguments: [String] = []) -> [String: Double]? {
        let python = ProcessInfo.processInfo.environment["PEER_PYTHON"] ?? "python3"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, Fixtures.repositoryRoot + "/Benchmarks/" + script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = Pipe()
        guard (try? process.run()) != nil else { return nil }
        // Read before waiting: a peer that fills the pipe would otherwise never exit.
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        var figures: [String: Double] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: "\t")
            if fields.count == 2, let value = Double(fields[1]) { figures[String(fields[0])] = value }
        }
        return figures.isEmpty ? nil : figures
    }
}

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
        let figures = parse(text)
        return figures.isEmpty ? nil : figures
    }

    /// The `name<TAB>value` lines of a peer's (or wrk's) output; other lines are ignored.
    public static func parse(_ text: String) -> [String: Double] {
        var figures: [String: Double] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: "\t")
            if fields.count == 2, let value = Double(fields[1]) { figures[String(fields[0])] = value }
        }
        return figures
    }
}

/// The CPU the benchmarks run on, as RESULTS.md records it: /proc/cpuinfo's model name, the logical CPUs, and the
/// flags that pick kernels here (AVX2, FMA, F16C, AVX-512 F/BW/VNNI, AVX-VNNI, SHA).
public enum MachineDescription {
    public static var line: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "CPU: unknown" }
        let lines = text.split(separator: "\n")
        func field(_ name: String) -> String? {
            lines.first { $0.hasPrefix(name) }.flatMap { $0.split(separator: ":", maxSplits: 1).last }
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let count = lines.filter { $0.hasPrefix("processor") }.count
        let flags = Set((field("flags") ?? "").split(separator: " ").map(String.init))
        let wanted = ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "sha_ni"]
        let present = wanted.filter(flags.contains)
        return "CPU: \(field("model name") ?? "unknown"), \(count) logical; \(present.joined(separator: " "))"
            + (flags.contains("avx512f") ? "" : " (no AVX-512)")
    }
}

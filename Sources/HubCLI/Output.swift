import ModelHub

#if canImport(Glibc)
    import Glibc
#endif

/// Formatting shared by the subcommands: sizes, counts and JSON printing.
enum Output {
    /// `1.5 GB`, `90.9 MB`, `512 B` (decimal units, as the Hub shows them).
    static func bytes(_ count: Int) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(count)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format1(value)) + " " + units[unit]
    }

    /// `22.7M`, `4.4k`, `110`.
    static func count(_ value: Int) -> String {
        switch value {
        case 1_000_000_000...: return format1(Double(value) / 1e9) + "B"
        case 1_000_000...: return format1(Double(value) / 1e6) + "M"
        case 1_000...: return format1(Double(value) / 1e3) + "k"
        default: return String(value)
        }
    }

    /// One decimal place.
    static func format1(_ value: Double) -> String {
        let scaled = (value * 10).rounded() / 10
        return scaled == scaled.rounded() ? String(Int(scaled)) + ".0" : String(scaled)
    }

    /// Prints a JSON value, indented, to standard output.
    static func printJSON(_ value: JSONValue) {
        print(value.serialized(indent: 2))
    }

    /// Whether standard error is a terminal (progress is shown only then).
    static var stderrIsTerminal: Bool { isatty(2) != 0 }

    /// A progress line (percent, bytes, rate, time left) rewritten in place on a terminal; silent otherwise.
    ///
    /// `started` is `now()` when the work began; the line is cleared when `done` reaches `total`.
    static func progress(_ label: String, done: Int, total: Int, started: Double) {
        guard stderrIsTerminal, total > 0 else { return }
        if done >= total {
            writeStandardError("\r\u{1B}[K")
            return
        }
        let elapsed = max(now() - started, 1e-6)
        let rate = Double(done) / elapsed
        var line = "\r\(label) \(done * 100 / total)% (\(bytes(done)) of \(bytes(total))"
        if elapsed >= 0.5, done > 0 {  // earlier rates come from a few small tensors and mislead
            let left = Double(total - done) / rate
            line += ", \(bytes(Int(rate)))/s, \(left < 1 ? "<1" : String(Int(left.rounded()))) s left"
        }
        writeStandardError(line + ")\u{1B}[K")
    }

    /// Writes text to file descriptor 2 unbuffered (no shared `FILE *`, which Swift 6 treats as unsafe state).
    static func writeStandardError(_ text: String) {
        var copy = text
        copy.withUTF8 { buffer in _ = write(2, buffer.baseAddress, buffer.count) }
    }

    /// Writes text to file descriptor 1 at once (streamed output; `print` buffers when stdout is a pipe).
    static func writeStandardOutput(_ text: String) {
        var copy = text
        copy.withUTF8 { buffer in _ = write(1, buffer.baseAddress, buffer.count) }
    }

    /// Seconds since an arbitrary start, for timing.
    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

/// The canonical `--json` record of a tensor: `{"name", "dtype", "shape", "bytes"}`.
extension TensorRecord {
    var json: JSONValue {
        .object(
            JSONObject([
                ("name", .string(name)), ("dtype", .string(dtype.rawValue)),
                ("shape", .array(shape.map(JSONValue.int))), ("bytes", .int(byteCount)),
            ]))
    }
}

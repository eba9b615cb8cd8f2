/// Why a tokenizer could not be built, printable as one line naming the file.
///
/// ```swift
/// do { _ = try AutoTokenizer.fromFolder("no-such-folder") } catch { print(error) }   // one line naming the folder
/// ```
public enum TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A tokenizer file that cannot be read or does not make sense.
    case file(path: String, reason: String)
    /// A tokenizer.json part ModelHub does not implement (yet).
    case unsupported(path: String, what: String)
    /// Inconsistent settings (an unknown token missing from the vocabulary…).
    case invalid(String)

    public var description: String {
        switch self {
        case .file(let path, let reason): return "\(path): \(reason)"
        case .unsupported(let path, let what): return "\(path): \(what) is not supported"
        case .invalid(let reason): return reason
        }
    }
}

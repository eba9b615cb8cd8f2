/// Why a file could not be opened, mapped, read, written or renamed; prints as one line naming the file.
///
/// ```swift
/// do { _ = try MappedFile(path: "missing") } catch { print(error) }   // "missing: cannot open: No such file or directory"
/// ```
public enum FileError: Error, CustomStringConvertible, Equatable, Sendable {
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .io(let path, let reason): "\(path): \(reason)"
        }
    }
}

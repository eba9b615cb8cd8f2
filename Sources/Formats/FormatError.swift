import Support

/// Why a checkpoint, tokenizer file or `.mhub` file could not be read or written; prints as one line.
///
/// Every case names the file and, where there is one, the tensor, offset or key involved,
/// so the CLI can print `description` as its single stderr line.
///
/// ```swift
/// do { _ = try Checkpoint.open("corrupt.safetensors") } catch { print(error) }   // one line: file, tensor, reason
/// ```
public enum FormatError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be opened, mapped, read or written.
    case io(path: String, reason: String)
    /// The file ends before a structure it declares.
    case truncated(path: String, what: String)
    /// A header, JSON document or container structure breaks the format's rules.
    case malformed(path: String, reason: String)
    /// One tensor's declaration is inconsistent (dtype, shape, byte range, strides).
    case badTensor(path: String, tensor: String, reason: String)
    /// Valid input that this version does not handle (a newer format version, a compression method).
    case unsupported(path: String, reason: String)
    /// A pickle names a global outside the allowlist; nothing was executed.
    case forbiddenGlobal(path: String, global: String)
    /// A pickle stream breaks the pickle rules or our limits, at a byte offset.
    case badPickle(path: String, offset: Int, reason: String)
    /// Stored bytes do not match their recorded checksum.
    case checksumMismatch(path: String, what: String)
    /// A caller passed something unusable (an unknown name, an output path that is the input).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .io(let path, let reason): return "\(path): \(reason)"
        case .truncated(let path, let what): return "\(path): file is truncated: \(what)"
        case .malformed(let path, let reason): return "\(path): \(reason)"
        case .badTensor(let path, let tensor, let reason): return "\(path): tensor '\(tensor)': \(reason)"
        case .unsupported(let path, let reason): return "\(path): not supported: \(reason)"
        case .forbiddenGlobal(let path, let global):
            return
                "\(path): pickle refers to '\(global)', which is not on the allowlist of globals (nothing was executed)"
        case .badPickle(let path, let offset, let reason): return "\(path): invalid pickle at byte \(offset): \(reason)"
        case .checksumMismatch(let path, let what): return "\(path): checksum mismatch: \(what)"
        case .invalidArgument(let message): return message
        }
    }
}

extension FormatError {
    /// A file that could not be opened, mapped or written, as this module's error.
    init(_ error: FileError) {
        switch error {
        case .io(let path, let reason): self = .io(path: path, reason: reason)
        }
    }
}

/// Maps `path` read-only; a failure is a `FormatError.io` naming the file.
func mapFile(_ path: String) throws -> MappedFile {
    do { return try MappedFile(path: path) } catch let error as FileError { throw FormatError(error) }
}

/// Why a model could not be built, loaded or run; each names the file or the key.
///
/// ```swift
/// do { _ = try PretrainedModel.load("broken") } catch let error as ModelError { print(error) }   // one line, naming the file
/// ```
public enum ModelError: Error, CustomStringConvertible, Equatable {
    /// config.json is malformed or describes an impossible model.
    case config(path: String, reason: String)
    /// An architecture, activation or task ModelHub does not build.
    case unsupported(path: String, reason: String)
    /// A checkpoint tensor has another shape than the config implies.
    case shape(path: String, name: String, expected: [Int], found: [Int])
    /// A checkpoint tensor cannot be read as weights (dtype, size).
    case weights(path: String, reason: String)
    /// Inputs the model cannot take (lengths, ids out of range, missing tokenizer).
    case input(String)

    public var description: String {
        switch self {
        case .config(let path, let reason): "\(path): \(reason)"
        case .unsupported(let path, let reason): "\(path): unsupported: \(reason)"
        case .shape(let path, let name, let expected, let found):
            "\(path): \(name) has shape \(found), the config implies \(expected)"
        case .weights(let path, let reason): "\(path): \(reason)"
        case .input(let reason): reason
        }
    }
}

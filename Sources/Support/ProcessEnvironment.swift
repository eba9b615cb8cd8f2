#if canImport(Glibc)
    import Glibc
#endif

/// This process's environment variables as a dictionary, read from `environ` (no Foundation).
///
/// ```swift
/// let offline = ProcessEnvironment.current["HF_HUB_OFFLINE"] == "1"
/// ```
public enum ProcessEnvironment {
    public static var current: [String: String] {
        var result: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        return result
    }
}

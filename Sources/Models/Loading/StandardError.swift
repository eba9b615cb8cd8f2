#if canImport(Glibc)
    import Glibc
#endif

/// Writes `text` to stderr unbuffered (load warnings, progress lines).
package func writeStandardError(_ text: String) {
    var copy = text
    copy.withUTF8 { buffer in _ = write(2, buffer.baseAddress, buffer.count) }
}

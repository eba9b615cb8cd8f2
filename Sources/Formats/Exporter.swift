import Support

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes an `.mhub` back out as a Hugging Face folder: `model.safetensors`, `config.json`, tokenizer files.
///
/// ```swift
/// // model.safetensors, config.json and the tokenizer files
/// let written = try Exporter.export(try MHubFile(path: "tiny.mhub"), to: "tiny-folder")
/// ```
public enum Exporter {
    /// Exports `mhub` into `folder`, which must not exist or be empty.
    ///
    /// The folder is assembled under a temporary name and renamed into place, so a failure leaves nothing behind. Every
    /// checksum is checked on the way, so a damaged file is never exported. Returns the files written.
    @discardableResult
    public static func export(_ mhub: MHubFile, to folder: String) throws -> [String] {
        var isDirectory = false
        let target = folder.hasSuffix("/") && folder.count > 1 ? String(folder.dropLast()) : folder
        if fileExists(target, isDirectory: &isDirectory) {
            guard isDirectory, isEmptyDirectory(target) else {
                throw FormatError.io(path: target, reason: "already exists and is not an empty folder")
            }
        }
        let staging = AtomicFile.temporaryPath(for: target)
        try makeDirectories(staging)
        var written: [String] = []
        do {
            // transformers refuses safetensors whose metadata names no framework; "pt" is what it writes.
            var metadata = mhub.metadata
            if !metadata.contains(where: { $0.key == "format" }) { metadata.insert(("format", "pt"), at: 0) }
            let entries = mhub.tensors.enumerated().map { index, record in
                PendingTensor(record: record) { try mhub.verifiedBytes(at: index) }
            }
            try SafeTensorsWriter.write(entries, metadata: metadata, to: staging + "/model.safetensors")
            written.append("model.safetensors")
            for file in mhub.files {
                guard let bytes = try mhub.fileBytes(file.path) else { continue }
                if let slash = file.path.lastIndex(of: "/") { try makeDirectories(staging + "/" + file.path[..<slash]) }
                try AtomicFile.write(to: staging + "/" + file.path) { out in
                    try bytes.withUnsafeBytes { try out.write($0) }
                }
                written.append(file.path)
            }
            if isDirectory { rmdir(target) }
            guard rename(staging, target) == 0 else {
                throw FormatError.io(path: target, reason: "cannot rename into place: \(errnoText())")
            }
        } catch {
            removeTree(staging)
            throw error
        }
        return written
    }
}

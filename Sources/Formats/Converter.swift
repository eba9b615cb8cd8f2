import Dispatch
import Support

#if canImport(Glibc)
    import Glibc
#endif

/// Turns a checkpoint (file or model folder) into one `.mhub` file, with provenance.
///
/// ```swift
/// let source = try ModelSource.open("Tests/Fixtures/models/tiny-bert")
/// try Converter.convert(source, to: "tiny.mhub", options: MHubWriter.Options(dtype: .f16))
/// ```
public enum Converter {
    /// What a conversion did, for the CLI summary.
    public struct Summary: Sendable {
        public let tensorCount: Int
        public let parameterCount: Int
        /// Bytes of the source tensors.
        public let sourceBytes: Int
        /// Size of the written file.
        public let outputBytes: Int
        public let carriedFiles: [String]
    }

    /// The converter's name and version, recorded in provenance.
    public static let converterVersion = "modelhub 0.1.0"

    /// Converts `source` to `output`.
    ///
    /// The SHA-256 of the source files is computed on a second thread meanwhile.
    ///
    /// - Parameters:
    ///   - provenance: extra provenance fields (repo, revision, commit) from the hub; `source` defaults to the path.
    ///   - progress: (tensor bytes done, tensor bytes in all).
    @discardableResult
    public static func convert(
        _ source: ModelSource, to output: String, options: MHubWriter.Options = .init(),
        provenance extra: [(key: String, value: JSONValue)] = [], progress: ((Int, Int) -> Void)? = nil
    ) throws -> Summary {
        let weights = source.weights
        let sourceFiles = source.weightFiles.map { ($0, $0) } + source.carriedFiles.map { ($0.relativePath, $0.path) }
        let hashes = SourceHashes(files: sourceFiles)
        let carried = try source.carriedFiles.map { file -> (path: String, bytes: TensorBytes) in
            let mapped = try mapFile(file.path)
            guard mapped.bytes.count <= ModelSource.maxCarriedFileSize else {
                throw FormatError.malformed(
                    path: file.path, reason: "larger than \(ModelSource.maxCarriedFileSize >> 20) MiB")
            }
            return (file.relativePath, mapped.slice(0..<mapped.bytes.count))
        }
        let tensors = weights.tensors.enumerated().map { index, record in
            PendingTensor(record: record) { try weights.bytes(at: index) }
        }
        try MHubWriter.write(
            tensors: tensors, files: carried, metadata: weights.metadata,
            provenance: {
                // The source as the user named it: the path, or a model name given through `extra`.
                var provenance = JSONObject([
                    ("source", extra.first { $0.key == "source" }?.value ?? .string(source.path))
                ])
                for (key, value) in extra where key != "source" { provenance.append(key, value) }
                provenance.append("files", .array(try hashes.wait()))
                provenance.append("converter", .string(converterVersion))
                return provenance
            }, options: options, to: output, progress: progress)
        let written = try mapFile(output).bytes.count
        return Summary(
            tensorCount: weights.tensors.count, parameterCount: weights.parameterCount,
            sourceBytes: weights.tensorByteCount,
            outputBytes: written, carriedFiles: carried.map(\.path))
    }
}

/// SHA-256 of the source files, computed on a background thread so it overlaps the conversion.
final class SourceHashes: @unchecked Sendable {
    private let group = DispatchGroup()
    private var result: Result<[JSONValue], Error> = .success([])

    init(files: [(name: String, path: String)]) {
        group.enter()
        DispatchQueue.global().async { [self] in
            defer { group.leave() }
            do {
                var entries: [JSONValue] = []
                for file in files {
                    let name = file.name.split(separator: "/").last.map(String.init) ?? file.name
                    if let known = Self.cacheBlobDigest(file.path) {
                        entries.append(
                            .object(
                                JSONObject([
                                    ("path", .string(name)), ("size", .int(known.size)),
                                    ("sha256", .string(known.sha256)),
                                ])))
                        continue
                    }
                    let mapped = try mapFile(file.path)
                    defer { withExtendedLifetime(mapped) {} }
                    let hasher = SHA256()
                    var offset = 0
                    // Hash in chunks so the pages of a large file are touched in order.
                    while offset < mapped.bytes.count {
                        let end = min(offset + (16 << 20), mapped.bytes.count)
                        hasher.update(UnsafeRawBufferPointer(rebasing: mapped.bytes[offset..<end]))
                        offset = end
                    }
                    entries.append(
                        .object(
                            JSONObject([
                                ("path", .string(name)), ("size", .int(mapped.bytes.count)),
                                ("sha256", .string(hasher.finalizeHex())),
                            ])))
                }
                result = .success(entries)
            } catch {
                result = .failure(error)
            }
        }
    }

    /// A file in a Hugging Face cache snapshot links to `blobs/<sha256>` for LFS files (weights): the name is the
    /// SHA-256 the Hub declared and the downloader checked, so a 440 MB model needs no 1.7 s of hashing here.
    ///
    /// Non-LFS blobs are named by their 40-digit git hash and are hashed as usual.
    static func cacheBlobDigest(_ path: String) -> (sha256: String, size: Int)? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        let target = String(cString: resolved)
        let parts = target.split(separator: "/")
        guard parts.count >= 2, parts[parts.count - 2] == "blobs", let name = parts.last, name.utf8.count == 64,
            name.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
        else { return nil }
        var info = stat()
        guard stat(target, &info) == 0 else { return nil }
        return (String(name), Int(info.st_size))
    }

    /// Blocks until the hashes are done.
    func wait() throws -> [JSONValue] {
        group.wait()
        return try result.get()
    }
}

import Foundation
import ModelHub

/// Feeds one fuzzer input to the checkpoint readers through a file on tmpfs (they read files through mmap).
///
/// Every error must be a `FormatError`; anything else, a trap or a sanitizer report is a finding.
public func fuzzCheckpoint(_ start: UnsafeRawPointer, _ count: Int, suffix: String) {
    let path = scratchFolder + "/input-\(getpid())" + suffix
    let data = Data(bytes: start, count: count)
    guard FileManager.default.createFile(atPath: path, contents: data) else { fatalError("cannot write \(path)") }
    do {
        let archive = try Checkpoint.open(path)
        for index in archive.tensors.indices {
            _ = try archive.bytes(at: index).withUnsafeBytes { XXH64.hash($0) }
        }
        try archive.verify()
        if let mhub = archive as? MHubFile {
            for file in mhub.files { _ = try mhub.fileBytes(file.path) }
            _ = try mhub.config()
        }
    } catch is FormatError {
    } catch {
        fatalError("not a FormatError: \(error)")
    }
}

/// tmpfs when available, so writing each input costs microseconds.
let scratchFolder: String = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()

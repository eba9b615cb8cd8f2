import Foundation
import Hub
import Serving
import TestSupport

// `make bench` (release): `hub pull` of one 1 GB LFS file from the loopback Hub (Tests/Fixtures/fake_hub.py,
// which sends files with sendfile), beside `curl -o` of the same URL in the same run, alternating, median of 3.
// The pull does what curl does not: SHA-256 of every byte, fsync, rename into the cache, the snapshot link.
// `curl -o` followed by `sha256sum` is shown too: the same guarantee by hand. Then the same file through `hub mirror`
// (CacheMirror, in this process, over a cache the pull filled) to `hub pull` and `curl -o`, beside the pull from the
// loopback Hub, alternating: the mirror should not be the bottleneck.

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

let size = Int(ProcessInfo.processInfo.environment["HUB_BENCH_BYTES"] ?? "") ?? 1 << 30
let folder = Fixtures.repositoryRoot + "/.scratch/hubbench"
try? FileManager.default.removeItem(atPath: folder)
try FileManager.default.createDirectory(atPath: folder + "/repo", withIntermediateDirectories: true)
let file = folder + "/repo/model.safetensors"
do {  // Random bytes (a 4 MB random block repeated: the hash and the disk cost the same either way).
    var generator = SystemRandomNumberGenerator()
    let block = (0..<(4 << 20) / 8).map { _ in generator.next() as UInt64 }
    guard FileManager.default.createFile(atPath: file, contents: nil),
        let handle = FileHandle(forWritingAtPath: file)
    else { fatalError("cannot create \(file)") }
    var written = 0
    while written < size {
        let chunk = min(block.count * 8, size - written)
        block.withUnsafeBytes { handle.write(Data($0.prefix(chunk))) }
        written += chunk
    }
    try handle.close()
}

let commit = String(repeating: "ab", count: 20)
let hub = try FakeHub(repos: [.init("bench/one-gigabyte", folder: folder + "/repo", commit: commit)])
let url = hub.endpoint + "/bench/one-gigabyte/resolve/\(commit)/model.safetensors"
print("hub pull of a \(size >> 20) MiB file from \(hub.endpoint) (page cache warm), beside curl -o, median of 3")

func curl(_ output: String) -> Double? {
    let start = now()
    guard let result = try? runProcess("/usr/bin/env", ["curl", "-s", "-f", "-o", output, url]), result.status == 0
    else { return nil }
    return now() - start
}

func sha256sum(_ path: String) -> Double? {
    let start = now()
    guard let result = try? runProcess("/usr/bin/env", ["sha256sum", path]), result.status == 0 else { return nil }
    return now() - start
}

func pull(_ cache: String, from endpoint: String = hub.endpoint) throws -> Double {
    try? FileManager.default.removeItem(atPath: cache)
    let client = HubClient(environment: HubEnvironment(["HF_ENDPOINT": endpoint, "HF_HUB_CACHE": cache]))
    let start = now()
    let model = try client.resolve("bench/one-gigabyte", registry: Registry.builtIn())
    let result = try client.pull(model)
    precondition(result.bytesReceived == Int64(size))
    return now() - start
}

_ = curl(folder + "/warm.out")  // page cache and server warm-up
var ours: [Double] = []
var curls: [Double] = []
var sums: [Double] = []
for run in 0..<3 {
    ours.append(try pull(folder + "/cache\(run)"))
    try? FileManager.default.removeItem(atPath: folder + "/cache\(run)")
    if let seconds = curl(folder + "/curl.out") {
        curls.append(seconds)
        if let hashing = sha256sum(folder + "/curl.out") { sums.append(seconds + hashing) }
    }
    try? FileManager.default.removeItem(atPath: folder + "/curl.out")
}
func rate(_ seconds: Double) -> String { String(format: "%.2f GB/s", Double(size) / seconds / 1e9) }
print(String(format: "  hub pull (sha256 + fsync)   %.3f s  %@", median(ours), rate(median(ours))))
if curls.isEmpty {
    print("  curl: not installed; no peer figure")
} else {
    print(String(format: "  curl -o                     %.3f s  %@", median(curls), rate(median(curls))))
    print(String(format: "  curl -o && sha256sum        %.3f s  %@", median(sums), rate(median(sums))))
    print(
        String(
            format: "  ratio (curl time / pull time): %.2fx raw, %.2fx against curl + sha256sum",
            median(curls) / median(ours), median(sums) / median(ours)))
}

// The mirror: a cache filled by one pull, served by CacheMirror on a free port.
_ = try pull(folder + "/mirrored")
var mirrorOptions = MirrorOptions()
mirrorOptions.port = 0
let mirror = CacheMirror(cacheRoot: folder + "/mirrored", options: mirrorOptions)
let (ports, announce) = AsyncStream<Int>.makeStream()
let serving = Task { try await mirror.run { _, port in announce.yield(port) } }
var mirrorPort = 0
for await port in ports {
    mirrorPort = port
    break
}
let mirrorEndpoint = "http://127.0.0.1:\(mirrorPort)"
print("the same file through hub mirror at \(mirrorEndpoint), beside the loopback Hub, alternating, median of 3")
var direct: [Double] = []
var mirrored: [Double] = []
var mirroredCurls: [Double] = []
for run in 0..<3 {
    direct.append(try pull(folder + "/direct\(run)"))
    try? FileManager.default.removeItem(atPath: folder + "/direct\(run)")
    mirrored.append(try pull(folder + "/through\(run)", from: mirrorEndpoint))
    try? FileManager.default.removeItem(atPath: folder + "/through\(run)")
    let start = now()
    let fetched = try? runProcess(
        "/usr/bin/env",
        [
            "curl", "-s", "-f", "-o", folder + "/mirror.out",
            mirrorEndpoint + "/bench/one-gigabyte/resolve/main/model.safetensors",
        ])
    if fetched?.status == 0 { mirroredCurls.append(now() - start) }
    try? FileManager.default.removeItem(atPath: folder + "/mirror.out")
}
print(String(format: "  hub pull from the loopback Hub  %.3f s  %@", median(direct), rate(median(direct))))
print(String(format: "  hub pull through hub mirror     %.3f s  %@", median(mirrored), rate(median(mirrored))))
if !mirroredCurls.isEmpty {
    print(
        String(
            format: "  curl -o from hub mirror         %.3f s  %@", median(mirroredCurls), rate(median(mirroredCurls))))
}
print(String(format: "  mirror / loopback Hub throughput: %.2fx (target ≥ 0.9x)", median(direct) / median(mirrored)))
await mirror.shutdown()
_ = try? await serving.value
try? FileManager.default.removeItem(atPath: folder)

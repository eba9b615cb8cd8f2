import Foundation
import Models
import Support
import TestSupport
import Testing

@testable import Formats

/// `hub run`, `hub generate` and `hub bench` as a user runs them: the JSON shapes README documents, values equal to
/// transformers' (the parity fixtures), streaming, and the error contract.
@Suite struct ModelCLITests {
    let hub = Fixtures.hubExecutable

    /// A parity model with the tiny BERT's tokenizer (same vocabulary size).
    static func bertFolder(_ parity: String, _ scratch: ScratchFolder) throws -> String {
        let folder = scratch.path + "/" + parity
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for name in ["config.json", "model.safetensors"] {
            try copyFile(Fixtures.path("parity/\(parity)/" + name), folder + "/" + name)
        }
        for name in ["tokenizer.json", "vocab.txt", "tokenizer_config.json"] {
            try copyFile(Fixtures.path("models/tiny-bert/" + name), folder + "/" + name)
        }
        return folder
    }

    @Test func runTasksPrintDesignJSON() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let base = try Self.bertFolder("bert-base", scratch)
        let hidden = try runProcess(hub, ["run", base, "--task", "hidden-states", "the licence", "free", "--json"])
        #expect(hidden.status == 0, "\(hidden.stderr)")
        let object = try #require(try JSONParser.parse(Array(hidden.stdout.utf8), maxDepth: 16).object)
        #expect(object.keys == ["task", "input_ids", "attention_mask", "last_hidden_state"])
        let ids = object["input_ids"]?.array?.map { $0.array?.count ?? 0 }
        #expect(ids?.count == 2 && ids?[0] == ids?[1], "padded to one length")
        let states = try #require(object["last_hidden_state"]?.array)
        #expect(states.count == 2 && states[0].array?.count == ids?[0] && states[0].array?[0].array?.count == 32)

        let embed = try runProcess(hub, ["run", base, "--task", "embed", "the licence", "free", "software", "--json"])
        let embeddings = try #require(
            try JSONParser.parse(Array(embed.stdout.utf8), maxDepth: 16).object?["embeddings"]?.array)
        #expect(embeddings.count == 3)
        for row in embeddings {
            let norm = (row.array ?? []).compactMap(\.double).reduce(0) { $0 + $1 * $1 }
            #expect(abs(norm - 1) < 1e-5, "unit length")
        }
        let text = try runProcess(hub, ["run", base, "--task", "embed", "the licence", "free"])
        #expect(text.status == 0 && text.stdout.contains("cosine similarity"))

        let classifier = try Self.bertFolder("bert-sequence-classification", scratch)
        let classify = try runProcess(hub, ["run", classifier, "--task", "classify", "the licence", "--json"])
        let result = try #require(try JSONParser.parse(Array(classify.stdout.utf8), maxDepth: 16).object)
        #expect(result["labels"] == .array([.string("negative"), .string("neutral"), .string("positive")]))
        let probabilities = result["probabilities"]?.array?.first?.array?.compactMap(\.double) ?? []
        #expect(probabilities.count == 3 && abs(probabilities.reduce(0, +) - 1) < 1e-5)

        let masked = try Self.bertFolder("bert-masked-lm", scratch)
        let fill = try runProcess(hub, ["run", masked, "--task", "fill-mask", "the [MASK] is free", "--json"])
        #expect(fill.status == 0, "\(fill.stderr)")
        let predictions = try #require(
            try JSONParser.parse(Array(fill.stdout.utf8), maxDepth: 16).object?["predictions"]?.array?.first?.array)
        #expect(predictions.count == 5)
        let scores = predictions.compactMap { $0.object?["score"]?.double }
        #expect(scores == scores.sorted(by: >) && scores.count == 5)
        #expect(predictions.first?.object?.keys == ["token", "token_str", "id", "score"])
    }

    /// --json has the documented shape; the streamed text is the JSON's text; seeded sampling repeats. (Greedy tokens
    /// against transformers are checked by ModelsTests' GenerationTests.)
    @Test func generateStreamsAndPrintsJSON() throws {
        let folder = Fixtures.path("models/tiny-gpt2")
        let json = try runProcess(
            hub, ["generate", folder, "the licence", "--greedy", "--max-new-tokens", "6", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONParser.parse(Array(json.stdout.utf8), maxDepth: 8).object)
        #expect(object.keys == ["prompt_ids", "generated_ids", "text"])
        #expect(object["prompt_ids"]?.array?.count == 8)
        #expect(object["generated_ids"]?.array?.count == 6)
        let streamed = try runProcess(hub, ["generate", folder, "the licence", "--greedy", "--max-new-tokens", "6"])
        #expect(streamed.stdout == "the licence" + (object["text"]?.string ?? "?") + "\n")
        let sampled = try runProcess(hub, ["generate", folder, "the licence", "--seed", "3", "--json"])
        let again = try runProcess(hub, ["generate", folder, "the licence", "--seed", "3", "--json"])
        #expect(sampled.status == 0 && sampled.stdout == again.stdout, "seeded sampling repeats")
    }

    @Test func benchPrintsDesignJSON() throws {
        for (task, extra) in [("forward", [String]()), ("train-step", []), ("generate", ["--new-tokens", "4"])] {
            let result = try runProcess(
                hub,
                [
                    "bench", Fixtures.path("models/tiny-gpt2"), "--task", task, "--batch", "2", "--seq", "8", "--runs",
                    "3",
                    "--json",
                ] + extra)
            #expect(result.status == 0, "\(task): \(result.stderr)")
            let object = try #require(try JSONParser.parse(Array(result.stdout.utf8), maxDepth: 8).object)
            #expect(
                object.keys == [
                    "task", "batch", "seq", "runs", "median_s", "min_s", "tokens_per_s", "dtype", "kernel",
                ])
            #expect(object["dtype"]?.string == "f32" && object["kernel"]?.string == "openblas")
            #expect(object["task"]?.string == task && object["runs"]?.integer == 3)
            let median = object["median_s"]?.double ?? 0, fastest = object["min_s"]?.double ?? 1
            #expect(median > 0 && fastest <= median)
        }
    }

    /// `--dtype int8|bf16|f16`: the embeddings move (the reduced weights are used) but stay within cosine 0.999
    /// (int8) or 0.9999 (16 bits) of float32 on the tiny BERT, also from an int8 `.mhub` loaded as stored; GPT-2
    /// generates in bf16; bench reports the kernel; a training step in int8 is a usage error.
    @Test func reducedPrecisionRunsAndBenches() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        func embeddings(_ dtype: String, model: String = Fixtures.path("models/tiny-bert")) throws -> [[Double]] {
            let result = try runProcess(
                hub, ["run", model, "--task", "embed", "hello world", "a longer text", "--json", "--dtype", dtype])
            #expect(result.status == 0, "\(result.stderr)")
            let object = try #require(try JSONParser.parse(Array(result.stdout.utf8), maxDepth: 8).object)
            return object["embeddings"]?.array?.map { $0.array?.compactMap(\.double) ?? [] } ?? []
        }
        let converted = scratch.path + "/tiny-int8.mhub"
        let convert = try runProcess(
            hub, ["convert", Fixtures.path("models/tiny-bert"), "--dtype", "int8", "-o", converted])
        #expect(convert.status == 0, "\(convert.stderr)")
        let exact = try embeddings("f32")
        for (dtype, model, bound) in [
            ("int8", Fixtures.path("models/tiny-bert"), 0.999), ("bf16", Fixtures.path("models/tiny-bert"), 0.9999),
            ("f16", Fixtures.path("models/tiny-bert"), 0.9999), ("int8", converted, 0.999),
        ] {
            let reduced = try embeddings(dtype, model: model)
            #expect(exact.count == 2 && reduced.count == 2 && exact != reduced, "\(dtype) \(model)")
            for (a, b) in zip(exact, reduced) {
                let dot = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
                let cosine = dot / (a.reduce(0) { $0 + $1 * $1 } * b.reduce(0) { $0 + $1 * $1 }).squareRoot()
                #expect(cosine >= bound, "\(dtype) \(model): \(cosine)")
            }
        }
        let generated = try runProcess(
            hub, ["generate", Fixtures.path("models/tiny-gpt2"), "the licence", "--greedy", "--dtype", "bf16"])
        #expect(generated.status == 0 && generated.stdout.hasPrefix("the licence"), "\(generated.stderr)")
        let bench = try runProcess(
            hub,
            [
                "bench", Fixtures.path("models/tiny-gpt2"), "--task", "forward", "--dtype", "int8", "--seq", "8",
                "--runs", "2",
                "--json",
            ])
        let object = try #require(try JSONParser.parse(Array(bench.stdout.utf8), maxDepth: 8).object)
        #expect(object["dtype"]?.string == "int8")
        #expect(["reference", "avx2", "avx-vnni", "avx512-vnni"].contains(object["kernel"]?.string ?? ""))
        let training = try runProcess(
            hub, ["bench", Fixtures.path("models/tiny-gpt2"), "--task", "train-step", "--dtype", "int8"])
        #expect(training.status == 64 && training.stderr.contains("inference"))
    }

    @Test func errors() throws {
        let usage = try runProcess(hub, ["run", Fixtures.path("models/tiny-bert"), "--task", "dance", "x"])
        #expect(usage.status == 64)
        let missing = try runProcess(hub, ["run", "/nonexistent/model", "--task", "embed", "x", "--offline"])
        #expect(missing.status == 1 && missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")
        let wrong = try runProcess(hub, ["generate", Fixtures.path("models/tiny-bert"), "x"])
        #expect(wrong.status == 1 && wrong.stderr.contains("bert has no causal-lm model"), "\(wrong.stderr)")
        let noMask = try runProcess(hub, ["run", Fixtures.path("models/tiny-bert"), "--task", "fill-mask", "no mask"])
        #expect(noMask.status == 1 && noMask.stderr.contains("no mask token"))
        let badTopP = try runProcess(hub, ["generate", Fixtures.path("models/tiny-gpt2"), "x", "--top-p", "2"])
        #expect(badTopP.status == 64)
    }

    /// `hub finetune`: a classifier trained on the Debian descriptions, written as a folder `hub run` (and
    /// transformers) loads, with the labels in its config; bad columns fail in one line.
    @Test func finetuneWritesALoadableFolder() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let output = scratch.path + "/out"
        let result = try runProcess(
            hub,
            [
                "finetune", Fixtures.path("models/tiny-bert"), "--task", "classify", "--train",
                Fixtures.path("training/debian.csv"), "--output", output, "--max-steps", "4", "--batch-size", "8",
                "--lr", "1e-3", "--max-length", "24", "--json",
            ])
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try #require(try JSONParser.parse(Array(result.stdout.utf8), maxDepth: 8).object)
        #expect(
            summary.keys == [
                "output", "steps", "epochs", "train_loss_first", "train_loss_last", "examples_per_s", "world_size",
                "exchange", "evaluations",
            ])
        #expect(summary["world_size"] == .int(1) && summary["exchange"] == .null)
        #expect(!FileManager.default.fileExists(atPath: output + ".partial"), "the work folder became the output")
        #expect(summary["steps"]?.integer == 4 && summary["evaluations"]?.array?.count == 1)
        let config = try #require(try Fixtures.json(output + "/config.json").object)
        #expect(config["architectures"] == .array([.string("BertForSequenceClassification")]))
        #expect(config["id2label"]?.object?["2"] == .string("games"))
        let log = try String(contentsOfFile: output + "/metrics.jsonl", encoding: .utf8)
        #expect(log.contains("eval_macro_f1"))
        let classify = try runProcess(hub, ["run", output, "--task", "classify", "strategy game", "--json"])
        #expect(classify.status == 0, "\(classify.stderr)")
        #expect(classify.stdout.contains("\"games\""))
        // A second run into the finished folder is refused in one line before training; the folder stays.
        let again = try runProcess(
            hub,
            [
                "finetune", Fixtures.path("models/tiny-bert"), "--task", "classify", "--train",
                Fixtures.path("training/debian.csv"), "--output", output, "--max-steps", "1",
            ])
        #expect(again.status == 1 && again.stderr.contains("exists and is not empty"), "\(again.stderr)")
        #expect(again.stderr.split(separator: "\n").count == 1)
        #expect(FileManager.default.fileExists(atPath: output + "/model.safetensors"))

        let bad = try runProcess(
            hub,
            [
                "finetune", Fixtures.path("models/tiny-bert"), "--task", "classify", "--train",
                Fixtures.path("training/debian.csv"), "--output", scratch.path + "/bad", "--label-column", "section",
            ])
        #expect(bad.status == 1 && bad.stderr.contains("'section'"), "\(bad.stderr)")
        #expect(bad.stderr.split(separator: "\n").count == 1)
    }

    /// The architectures added beside BERT through the CLI, each over a tokenizer of its family.
    ///
    /// A model (random weights, the tiny parity fixture's shape with the tokenizer's vocabulary) fine-tuned as a classifier of the
    /// Debian descriptions, saved under transformers' class name, loaded back by `hub run`. XLM-RoBERTa takes the
    /// converted SentencePiece (Unigram) tokenizer, MPNet a WordPiece one, ModernBERT a byte-level BPE one.
    @Test(arguments: [
        ("xlm-roberta", "xlmr-spm", 4002, 1, "XLMRobertaForSequenceClassification"),
        ("mpnet", "minilm-uncased", 30522, 0, "MPNetForSequenceClassification"),
        ("modernbert", "roberta-bpe", 5000, 1, "ModernBertForSequenceClassification"),
    ])
    func newArchitectureFinetunesWithItsTokenizer(
        _ type: String, _ tokenizer: String, _ vocabulary: Int, _ padding: Int, _ saved: String
    ) throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let original = try #require(try Fixtures.json(Fixtures.path("parity/\(type)-base/config.json")).object)
        let json = JSONObject(
            original.entries.map {
                switch $0.key {
                case "vocab_size": ($0.key, .int(vocabulary))
                case "pad_token_id": ($0.key, .int(padding))
                default: ($0.key, $0.value)
                }
            })
        let config = try ModelConfig.parse(Array(JSONValue.object(json).serialized().utf8), path: "config.json")
        let base = scratch.path + "/" + type
        try PretrainedModel.random(config: config, task: .base).savePretrained(base)
        for file in ["tokenizer.json", "tokenizer_config.json"]
        where FileManager.default.fileExists(atPath: Fixtures.path("tokenizers/\(tokenizer)/\(file)")) {
            try copyFile(Fixtures.path("tokenizers/\(tokenizer)/\(file)"), base + "/" + file)
        }
        let output = scratch.path + "/classifier"
        let tuned = try runProcess(
            hub,
            [
                "finetune", base, "--task", "classify", "--train", Fixtures.path("training/debian.csv"), "--output",
                output, "--max-steps", "3", "--batch-size", "8", "--max-length", "24", "--json",
            ])
        #expect(tuned.status == 0, "\(tuned.stderr)")
        let written = try #require(try Fixtures.json(output + "/config.json").object)
        #expect(written["architectures"] == .array([.string(saved)]))
        #expect(written["model_type"] == .string(type))
        let classify = try runProcess(hub, ["run", output, "--task", "classify", "jeu de stratégie 東京", "--json"])
        #expect(classify.status == 0, "\(classify.stderr)")
        #expect(classify.stdout.contains("\"probabilities\""))
    }

    /// DistilBERT through the CLI as a user meets it: fill-mask, embeddings, and a fine-tuned classifier folder
    /// (`DistilBertForSequenceClassification`) that `hub run` loads back.
    @Test func distilBertRunsAndFinetunes() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let masked = try Self.bertFolder("distilbert-masked-lm", scratch)
        let fill = try runProcess(hub, ["run", masked, "--task", "fill-mask", "the [MASK] is free", "--json"])
        #expect(fill.status == 0, "\(fill.stderr)")
        let predictions = try JSONParser.parse(Array(fill.stdout.utf8), maxDepth: 16).object?["predictions"]
        #expect(predictions?.array?.first?.array?.count == 5)
        let base = try Self.bertFolder("distilbert-base", scratch)
        let embed = try runProcess(hub, ["run", base, "--task", "embed", "the licence", "free", "--json"])
        #expect(embed.status == 0, "\(embed.stderr)")
        let rows = try JSONParser.parse(Array(embed.stdout.utf8), maxDepth: 16).object?["embeddings"]?.array
        #expect(rows?.count == 2 && rows?.first?.array?.count == 32)

        let output = scratch.path + "/classifier"
        let tuned = try runProcess(
            hub,
            [
                "finetune", base, "--task", "classify", "--train", Fixtures.path("training/debian.csv"), "--output",
                output, "--max-steps", "3", "--batch-size", "8", "--max-length", "24", "--json",
            ])
        #expect(tuned.status == 0, "\(tuned.stderr)")
        let config = try #require(try Fixtures.json(output + "/config.json").object)
        #expect(config["architectures"] == .array([.string("DistilBertForSequenceClassification")]))
        let classify = try runProcess(hub, ["run", output, "--task", "classify", "strategy game", "--json"])
        #expect(classify.status == 0, "\(classify.stderr)")
        #expect(classify.stdout.contains("\"games\""))
    }
}

import Foundation
import Hummingbird
import Models
import Support
import Synchronization
import Tensors

extension ModelServer {
    /// A completion request, validated.
    struct CompletionRequest {
        var model: ServedModel
        var prompts: [[Int]]
        var maxTokens: Int
        var temperature: Double
        var topP: Double
        var n: Int
        var seed: UInt64
        var stops: [String]
        var stream: Bool
        var includeUsage: Bool
    }

    /// `POST /v1/completions`: `prompt`, `max_tokens`, `temperature` (0: greedy), `top_p`, `n`, `seed`, `stop`,
    /// `stream` — as OpenAI's legacy completions API defines them; a stream is server-sent events ending with
    /// `data: [DONE]`.
    func completions(_ request: CompletionRequest) async throws -> Response {
        let created = Int(Date().timeIntervalSince1970)
        let id = "cmpl-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let (events, continuation) = AsyncStream<(Int, GenerationJob.Event)>.makeStream()
        let eos = request.model.model.config.eosTokenID.map { [$0] } ?? []
        var jobs: [GenerationJob] = []
        for (promptIndex, prompt) in request.prompts.enumerated() {
            for choice in 0..<request.n {
                var settings = GenerationConfig(
                    maxNewTokens: request.maxTokens, sampling: request.temperature > 0 && request.topP > 0,
                    temperature: request.temperature > 0 ? request.temperature : 1, topK: 0,
                    topP: Swift.max(request.topP, 1e-6))
                settings.eosTokenIDs = eos
                let index = promptIndex * request.n + choice
                jobs.append(
                    GenerationJob(
                        index: index, prompt: prompt, maxTokens: request.maxTokens,
                        picker: TokenPicker(settings: settings, eos: eos), seed: request.seed &+ UInt64(index),
                        stops: request.stops, events: continuation))
            }
        }
        let promptTokens = request.prompts.reduce(0) { $0 + $1.count }
        let started = jobs
        let cancel: @Sendable () -> Void = { for job in started { job.cancelled.store(true, ordering: .relaxed) } }
        let head = JSONObject([
            ("id", .string(id)), ("object", .string("text_completion")), ("created", .int(created)),
            ("model", .string(request.model.name)),
        ])
        for job in jobs { request.model.worker.generate(job) }

        if request.stream {
            let body = ResponseBody { [self] writer in
                // The stream holds an admission slot until its last byte (or its client's departure).
                state.admitted.add(1, ordering: .relaxed)
                metrics.inFlight(1)
                defer {
                    cancel()
                    state.admitted.subtract(1, ordering: .relaxed)
                    metrics.inFlight(-1)
                }
                var open = started.count
                var completionTokens = 0
                reading: for await (index, event) in events {
                    var choice = JSONObject([("index", .int(index)), ("logprobs", .null)])
                    switch event {
                    case .text(let text):
                        choice.prepend([("text", .string(text))])
                        choice.append("finish_reason", .null)
                    case .finished(let reason, let tokens):
                        completionTokens += tokens
                        open -= 1
                        choice.prepend([("text", .string(""))])
                        choice.append("finish_reason", .string(reason))
                    case .failed(let message):
                        open -= 1
                        let error = APIError(.internalError, message)
                        try await writer.write(ByteBuffer(string: "data: \(error.openAIBody)\n\n"))
                        if open == 0 { break reading } else { continue reading }
                    }
                    var chunk = head
                    chunk.append("choices", .array([.object(choice)]))
                    // A client gone away makes this write throw: the defer cancels its sequences.
                    try await writer.write(ByteBuffer(string: "data: \(JSONValue.object(chunk).serialized())\n\n"))
                    if open == 0 { break reading }
                }
                if request.includeUsage {
                    var chunk = head
                    chunk.append("choices", .array([]))
                    chunk.append("usage", usage(promptTokens, completionTokens))
                    try await writer.write(ByteBuffer(string: "data: \(JSONValue.object(chunk).serialized())\n\n"))
                }
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                try await writer.finish(nil)
            }
            return Response(
                status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
        }

        var texts = [String](repeating: "", count: jobs.count)
        var reasons = [String](repeating: "length", count: jobs.count)
        var completionTokens = 0
        var open = jobs.count
        try await withTaskCancellationHandler {
            for await (index, event) in events {
                switch event {
                case .text(let text): texts[index] += text
                case .finished(let reason, let tokens):
                    reasons[index] = reason
                    completionTokens += tokens
                    open -= 1
                case .failed(let message):
                    throw APIError(.internalError, "choice \(index): \(message)")
                }
                if open == 0 { break }
            }
        } onCancel: {
            cancel()
        }
        cancel()
        try Task.checkCancellation()
        var object = head
        object.append(
            "choices",
            .array(
                texts.indices.map {
                    .object(
                        JSONObject([
                            ("text", .string(texts[$0])), ("index", .int($0)), ("logprobs", .null),
                            ("finish_reason", .string(reasons[$0])),
                        ]))
                }))
        object.append("usage", usage(promptTokens, completionTokens))
        return .json(.object(object))
    }

    private func usage(_ prompt: Int, _ completion: Int) -> JSONValue {
        .object(
            JSONObject([
                ("prompt_tokens", .int(prompt)), ("completion_tokens", .int(completion)),
                ("total_tokens", .int(prompt + completion)),
            ]))
    }

    func completionRequest(_ fields: Fields) throws(APIError) -> CompletionRequest {
        let model = try model(named: try fields.string("model"), can: \.generates, task: "completions", openAI: true)
        let config = model.model.config
        for unsupported in ["logprobs", "suffix"] where fields.value(unsupported) != nil {
            throw fields.invalid("`\(unsupported)` is not supported by this server", unsupported)
        }
        if try fields.bool("echo") == true { throw fields.invalid("`echo` is not supported by this server", "echo") }
        if let bestOf = try fields.integer("best_of", in: 1...64), bestOf != 1 {
            throw fields.invalid("`best_of` other than 1 is not supported by this server", "best_of")
        }
        for penalty in ["presence_penalty", "frequency_penalty"] {
            if let value = try fields.number(penalty, in: -2...2), value != 0 {
                throw fields.invalid("`\(penalty)` other than 0 is not supported by this server", penalty)
            }
        }
        let inputs = try TextInput.list(
            fields, key: "prompt", limit: options.maxClientBatchSize, vocabulary: config.vocabularySize)
        let prompts = inputs.map { input -> [Int] in
            switch input {
            case .text(let text): model.tokenizer.encode(text, addSpecialTokens: false).ids.map(Int.init)
            case .tokens(let ids): ids.map(Int.init)
            }
        }
        let maxTokens = try fields.integer("max_tokens", in: 0...config.maxPositions) ?? 16
        for (index, prompt) in prompts.enumerated() {
            guard !prompt.isEmpty else {
                throw fields.invalid("`prompt[\(index)]` has no tokens", "prompt")
            }
            guard prompt.count <= model.maxInputTokens, prompt.count + maxTokens <= config.maxPositions else {
                throw APIError(
                    .badRequest,
                    "This model's maximum context length is \(config.maxPositions) tokens, however you requested "
                        + "\(prompt.count + maxTokens) tokens (\(prompt.count) in your prompt; \(maxTokens) for the "
                        + "completion). Please reduce your prompt; or completion length.", field: "prompt")
            }
        }
        let n = try fields.integer("n", in: 1...16) ?? 1
        guard prompts.count * n <= options.maxClientBatchSize else {
            throw fields.invalid(
                "\(prompts.count) prompts × n = \(n) is more than the \(options.maxClientBatchSize) sequences one "
                    + "request may ask for", "n")
        }
        let stops: [String]
        switch fields.value("stop") {
        case nil: stops = []
        case .array(let items)? where items.count > 4:
            throw fields.invalid("`stop` takes at most 4 sequences", "stop")
        default: stops = try fields.strings("stop", limit: 4, required: false) ?? []
        }
        let seed = try fields.integer("seed", in: Int(Int64.min)...Int(Int64.max)).map { UInt64(bitPattern: Int64($0)) }
        var includeUsage = false
        if let streamOptions = fields.value("stream_options") {
            guard let object = streamOptions.object else {
                throw fields.invalid("`stream_options` must be an object", "stream_options")
            }
            if let flag = object["include_usage"] {
                guard case .bool(let value) = flag else {
                    throw fields.invalid("`stream_options.include_usage` must be true or false", "stream_options")
                }
                includeUsage = value
            }
        }
        return CompletionRequest(
            model: model, prompts: prompts, maxTokens: maxTokens,
            temperature: try fields.number("temperature", in: 0...2) ?? 1,
            topP: try fields.number("top_p", in: 0...1) ?? 1, n: n, seed: seed ?? UInt64.random(in: 0...UInt64.max),
            stops: stops, stream: try fields.bool("stream") ?? false, includeUsage: includeUsage)
    }
}

import Foundation
import Hummingbird
import Models
import Support
import Tokenizers

// The routes: OpenAI's under /v1, text-embeddings-inference's at the root. Each reads its body within the limit,
// validates it into a typed request (errors name the field), tokenizes, and hands the work to the model's worker.

/// An encoder's work, tokenized and checked: what a route hands the model's worker.
struct EncodeRequest {
    let model: ServedModel
    let kind: EncodeJob.Kind
    let encodings: [Encoding]

    var tokens: Int { encodings.reduce(0) { $0 + $1.count } }
}

/// `/v1/embeddings` or `/embed`, checked.
struct EmbeddingsRequest {
    enum Format { case openAIFloat, openAIBase64, tei }
    let work: EncodeRequest
    let format: Format
    let dimensions: Int?
    let normalize: Bool
}

/// `/predict`, checked: whether the answer is one list of scores or a list of them.
struct PredictRequest {
    let work: EncodeRequest
    let raw: Bool
    let single: Bool
}

/// `/rerank`, checked.
struct RerankRequest {
    let work: EncodeRequest
    let texts: [String]
    let raw: Bool
    let returnText: Bool
}

extension ModelServer {
    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/health") { _, _ in Response(status: .ok) }
        router.get("/metrics") { _, _ in
            let depth = self.depth
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(
                    byteBuffer: ByteBuffer(
                        string: self.metrics.render(queueDepth: depth.queued, runningSequences: depth.running))))
        }
        router.get("/v1/models") { _, _ in self.listModels() }
        router.get("/info") { _, _ in self.info() }
        // A completion can run long: if its client hangs up before the answer, the handler's task is cancelled and
        // its sequences leave the batch (a stream notices instead when a write fails).
        // Hummingbird then closes the connection after the answer, so the answer says so: a client that sent its next
        // request on the same connection before seeing the close would otherwise wait for an answer that never comes.
        router.post("/v1/completions") { request, _ in
            var response: Response
            do {
                response = try await request.body.consumeWithCancellationOnInboundClose { body in
                    let buffer = try await body.collect(upTo: self.options.maxBodyBytes)
                    let fields = try Fields(Array(buffer.readableBytesView), openAI: true)
                    return try await self.completions(try self.completionRequest(fields))
                }
            } catch {
                let failure = Gate.apiError(error, request: request, maxBodyBytes: self.options.maxBodyBytes)
                response = Gate.errorResponse(failure, openAI: true)
            }
            response.headers[.connection] = "close"
            return response
        }
        for path in ["/v1/embeddings", "/embed", "/predict", "/rerank", "/tokenize", "/"] {
            router.post(RouterPath(path)) { request, _ in
                let fields = try await self.fields(request, openAI: path.hasPrefix("/v1"))
                // Counted from here until its work is queued: the workers may wait a moment for it.
                let arrival = self.arrivals.open()
                defer { arrival.close() }
                return try await self.answer(path, fields, arrival: arrival)
            }
        }
    }

    /// The body, read up to `maxBodyBytes` (past that: 413), as a JSON object.
    func fields(_ request: Request, openAI: Bool) async throws -> Fields {
        let buffer = try await request.body.collect(upTo: options.maxBodyBytes)
        return try Fields(Array(buffer.readableBytesView), openAI: openAI)
    }

    /// Checks a POST body as `path`'s route does — parsing, every field, the model, tokenization and lengths —
    /// without running a model: the error the route would answer with, or nil when it would run the request.
    ///
    /// ```swift
    /// let error = server.check("/embed", body: Array(#"{"inputs": 5}"#.utf8))   // 422: `inputs` must be …
    /// ```
    public func check(_ path: String, body: [UInt8]) -> APIError? {
        do throws(APIError) {
            let fields = try Fields(body, openAI: path.hasPrefix("/v1"))
            switch route(path) {
            case "/v1/embeddings": _ = try openAIEmbeddingsRequest(fields)
            case "/v1/completions": _ = try completionRequest(fields)
            case "/embed": _ = try embedRequest(fields)
            case "/predict": _ = try predictRequest(fields)
            case "/rerank": _ = try rerankRequest(fields)
            case "/tokenize": _ = try tokenizeResponse(fields)
            default: throw APIError(.notFound, "no route POST \(path)")
            }
            return nil
        } catch {
            return error
        }
    }

    /// The route that answers `path`: the root answers as `/embed` when its model embeds, else as `/predict`.
    func route(_ path: String) -> String {
        guard path == "/" else { return path }
        return models[0].embeds || !models.contains(where: \.classifies) ? "/embed" : "/predict"
    }

    func answer(_ path: String, _ fields: Fields, arrival: Arrival) async throws -> Response {
        switch route(path) {
        case "/v1/embeddings": try await embeddings(try openAIEmbeddingsRequest(fields), arrival)
        case "/embed": try await embeddings(try embedRequest(fields), arrival)
        case "/predict": try await predict(try predictRequest(fields), arrival)
        case "/rerank": try await rerank(try rerankRequest(fields), arrival)
        default: try tokenizeResponse(fields)
        }
    }

    // MARK: - OpenAI

    func listModels() -> Response {
        let data = models.map { model in
            JSONValue.object(
                JSONObject([
                    ("id", .string(model.name)), ("object", .string("model")), ("created", .int(0)),
                    ("owned_by", .string("modelhub")),
                ]))
        }
        return .json(.object(JSONObject([("object", .string("list")), ("data", .array(data))])))
    }

    /// `POST /v1/embeddings`: `input` (string, strings, token ids), `model`, `encoding_format`, `dimensions`.
    func openAIEmbeddingsRequest(_ fields: Fields) throws(APIError) -> EmbeddingsRequest {
        let model = try model(named: try fields.string("model"), can: \.embeds, task: "embeddings", openAI: true)
        let format: EmbeddingsRequest.Format
        switch try fields.string("encoding_format") ?? "float" {
        case "float": format = .openAIFloat
        case "base64": format = .openAIBase64
        case let other:
            throw fields.invalid("`encoding_format` must be float or base64, got \(other)", "encoding_format")
        }
        let dimensions = try fields.integer("dimensions", in: 1...model.model.config.hiddenSize)
        let inputs = try TextInput.list(
            fields, key: "input", limit: options.maxClientBatchSize, vocabulary: model.model.config.vocabularySize)
        let work = try encodeRequest(
            model, .embed, inputs.map { ($0, nil) }, truncate: false, field: "input", openAI: true)
        return EmbeddingsRequest(work: work, format: format, dimensions: dimensions, normalize: true)
    }

    // MARK: - text-embeddings-inference

    /// `POST /embed`: `inputs`, `normalize` (default true), `truncate` (default false), `truncation_direction`
    /// (`Right` or `Left`), `dimensions` (the first d values, then normalised).
    func embedRequest(_ fields: Fields) throws(APIError) -> EmbeddingsRequest {
        let model = try model(named: nil, can: \.embeds, task: "embeddings", openAI: false)
        let normalize = try fields.bool("normalize") ?? true
        let truncate = try fields.bool("truncate") ?? false
        let direction: Truncation.Direction
        switch try fields.string("truncation_direction")?.lowercased() {
        case nil, "right": direction = .right
        case "left": direction = .left
        default: throw fields.invalid("`truncation_direction` must be Right or Left", "truncation_direction")
        }
        if fields.value("prompt_name") != nil {
            throw fields.invalid("`prompt_name`: this server has no prompts configured", "prompt_name")
        }
        let dimensions = try fields.integer("dimensions", in: 1...model.model.config.hiddenSize)
        let inputs = try TextInput.list(
            fields, key: "inputs", limit: options.maxClientBatchSize, vocabulary: model.model.config.vocabularySize)
        let work = try encodeRequest(
            model, .embed, inputs.map { ($0, nil) }, truncate: truncate, direction: direction, field: "inputs",
            openAI: false)
        return EmbeddingsRequest(work: work, format: .tei, dimensions: dimensions, normalize: normalize)
    }

    /// Runs an embeddings request; answers in OpenAI's shape or TEI's.
    func embeddings(_ request: EmbeddingsRequest, _ arrival: Arrival) async throws -> Response {
        let rows = try await request.work.model.worker.encode(.embed, request.work.encodings, arrival: arrival)
        let vectors = rows.map { row in
            let kept = request.dimensions.map { Array(row.prefix($0)) } ?? row
            return request.normalize ? normalized(kept) : kept
        }
        guard request.format != .tei else { return .json("[" + vectors.map(floats).joined(separator: ",") + "]") }
        var json = "{\"object\":\"list\",\"data\":["
        for (index, vector) in vectors.enumerated() {
            if index > 0 { json += "," }
            json += "{\"object\":\"embedding\",\"index\":\(index),\"embedding\":"
            json += request.format == .openAIBase64 ? "\"\(base64(vector))\"" : floats(vector)
            json += "}"
        }
        let tokens = request.work.tokens
        json += "],\"model\":" + JSONValue.string(request.work.model.name).serialized()
        json += ",\"usage\":{\"prompt_tokens\":\(tokens),\"total_tokens\":\(tokens)}}"
        return .json(json)
    }

    /// `POST /predict`: `inputs` (a text, a pair `[a, b]`, or a list of either), `raw_scores`, `truncate`.
    func predictRequest(_ fields: Fields) throws(APIError) -> PredictRequest {
        let model = try model(named: nil, can: \.classifies, task: "sequence classification", openAI: false)
        let raw = try fields.bool("raw_scores") ?? false
        let truncate = try fields.bool("truncate") ?? false
        guard let value = fields.value("inputs") else { throw fields.invalid("`inputs` is required", "inputs") }
        // As TEI reads it: a string or a two-string array is one input; any other array is a batch of those.
        func sequence(_ value: JSONValue, _ path: String) throws(APIError) -> (TextInput, String?) {
            if let text = value.string, !text.isEmpty { return (.text(text), nil) }
            if let pair = value.array, pair.count == 2, let first = pair[0].string, let second = pair[1].string,
                !first.isEmpty, !second.isEmpty
            {
                return (.text(first), second)
            }
            throw fields.invalid("`\(path)` must be a non-empty string or a pair of them", "inputs")
        }
        var single = true
        var items: [(TextInput, String?)] = []
        if let array = value.array, !(array.count == 2 && array.allSatisfy({ $0.string != nil })) {
            guard !array.isEmpty else { throw fields.invalid("`inputs` must not be empty", "inputs") }
            guard array.count <= options.maxClientBatchSize else {
                throw fields.invalid(
                    "`inputs` has \(array.count) items; at most \(options.maxClientBatchSize) are accepted", "inputs")
            }
            single = false
            for (index, item) in array.enumerated() { items.append(try sequence(item, "inputs[\(index)]")) }
        } else {
            items = [try sequence(value, "inputs")]
        }
        let work = try encodeRequest(model, .classify, items, truncate: truncate, field: "inputs", openAI: false)
        return PredictRequest(work: work, raw: raw, single: single)
    }

    func predict(_ request: PredictRequest, _ arrival: Arrival) async throws -> Response {
        let rows = try await request.work.model.worker.encode(.classify, request.work.encodings, arrival: arrival)
        let labels = request.work.model.model.config.labels
        let results = rows.map { logits -> JSONValue in
            let scores = request.raw ? logits : (logits.count == 1 ? logits.map(sigmoid) : softmax(logits))
            let ranked = scores.indices.sorted { scores[$0] > scores[$1] }
            return .array(
                ranked.map {
                    .object(JSONObject([("score", number(scores[$0])), ("label", .string(labels[$0]))]))
                })
        }
        return .json(request.single ? results[0] : .array(results))
    }

    /// `POST /rerank`: `query`, `texts`, `raw_scores`, `return_text`, `truncate` — a one-label classifier's score
    /// of each (query, text) pair, best first.
    func rerankRequest(_ fields: Fields) throws(APIError) -> RerankRequest {
        let model = try model(
            named: nil, can: \.reranks, task: "re-ranking (a one-label sequence classifier)", openAI: false)
        guard let query = try fields.string("query"), !query.isEmpty else {
            throw fields.invalid("`query` must be a non-empty string", "query")
        }
        let texts = try fields.strings("texts", limit: options.maxClientBatchSize, required: true) ?? []
        let raw = try fields.bool("raw_scores") ?? false
        let returnText = try fields.bool("return_text") ?? false
        let truncate = try fields.bool("truncate") ?? false
        let work = try encodeRequest(
            model, .classify, texts.map { (.text(query), $0) }, truncate: truncate, field: "texts", openAI: false)
        return RerankRequest(work: work, texts: texts, raw: raw, returnText: returnText)
    }

    func rerank(_ request: RerankRequest, _ arrival: Arrival) async throws -> Response {
        let rows = try await request.work.model.worker.encode(.classify, request.work.encodings, arrival: arrival)
        let scores = rows.map { request.raw ? $0[0] : sigmoid($0[0]) }
        let ranked = scores.indices.sorted { scores[$0] > scores[$1] }
        return .json(
            .array(
                ranked.map { index in
                    var object = JSONObject([("index", .int(index)), ("score", number(scores[index]))])
                    if request.returnText { object.append("text", .string(request.texts[index])) }
                    return .object(object)
                }))
    }

    /// `POST /tokenize`: `inputs` (a string or strings), `add_special_tokens` — the tokens of each, with their
    /// UTF-8 byte spans (`start`, `stop`; null for added special tokens).
    func tokenizeResponse(_ fields: Fields) throws(APIError) -> Response {
        let model = models[0]
        let special = try fields.bool("add_special_tokens") ?? true
        let texts = try fields.strings("inputs", limit: options.maxClientBatchSize, required: true) ?? []
        let results = texts.map { text -> JSONValue in
            let encoding = model.tokenizer.encode(text, addSpecialTokens: special)
            // Code-point offsets to UTF-8 byte offsets, as TEI reports them.
            var byteOffsets = [0]
            for scalar in text.unicodeScalars {
                byteOffsets.append(byteOffsets[byteOffsets.count - 1] + UTF8.width(scalar))
            }
            let bytes = Array(text.utf8)
            return .array(
                encoding.ids.indices.map { index in
                    let isSpecial = encoding.specialTokensMask[index] == 1 && encoding.sequenceIDs[index] == nil
                    let span = encoding.offsets[index]
                    let valid = !isSpecial && span.upperBound < byteOffsets.count
                    let start = valid ? byteOffsets[span.lowerBound] : 0
                    let stop = valid ? byteOffsets[span.upperBound] : 0
                    let piece = valid ? String(decoding: bytes[start..<stop], as: UTF8.self) : encoding.tokens[index]
                    return .object(
                        JSONObject([
                            ("id", .int(Int(encoding.ids[index]))), ("text", .string(piece)),
                            ("special", .bool(isSpecial)), ("start", valid ? .int(start) : .null),
                            ("stop", valid ? .int(stop) : .null),
                        ]))
                })
        }
        return .json(.array(results))
    }

    /// `GET /info`: the first model, as TEI describes the model it serves.
    func info() -> Response {
        let model = models[0]
        let config = model.model.config
        let type: JSONObject
        if model.classifies {
            let id2label = JSONObject(config.labels.enumerated().map { (String($0.offset), .string($0.element)) })
            let label2id = JSONObject(config.labels.enumerated().map { ($0.element, .int($0.offset)) })
            type = JSONObject([
                (
                    config.labelCount == 1 ? "reranker" : "classifier",
                    .object(JSONObject([("id2label", .object(id2label)), ("label2id", .object(label2id))]))
                )
            ])
        } else if model.embeds {
            type = JSONObject([("embedding", .object(JSONObject([("pooling", .string("mean"))])))])
        } else {
            type = JSONObject([("completion", .object(JSONObject()))])
        }
        return .json(
            .object(
                JSONObject([
                    ("model_id", .string(model.aliases.first ?? model.name)), ("model_sha", .null),
                    ("model_dtype", .string(model.precision)), ("model_type", .object(type)),
                    ("max_concurrent_requests", .int(options.maxConcurrentRequests)),
                    ("max_input_length", .int(model.maxInputTokens)),
                    ("max_batch_tokens", .int(options.maxBatchTokens)), ("max_batch_requests", .null),
                    ("max_client_batch_size", .int(options.maxClientBatchSize)), ("auto_truncate", .bool(false)),
                    ("tokenization_workers", .int(1)), ("version", .string("modelhub-0.1.0")),
                    ("models", .array(models.map { .string($0.name) })),
                ])))
    }

    // MARK: - Shared

    /// Tokenizes every input (a text and an optional second text), checking each length.
    func encodeRequest(
        _ model: ServedModel, _ kind: EncodeJob.Kind, _ inputs: [(TextInput, String?)], truncate: Bool,
        direction: Truncation.Direction = .right, field: String, openAI: Bool
    ) throws(APIError) -> EncodeRequest {
        var encodings: [Encoding] = []
        encodings.reserveCapacity(inputs.count)
        for (index, input) in inputs.enumerated() {
            encodings.append(
                try model.encode(
                    input.0, pair: input.1, truncate: truncate, direction: direction,
                    field: inputs.count == 1 ? field : "\(field)[\(index)]", openAI: openAI))
        }
        return EncodeRequest(model: model, kind: kind, encodings: encodings)
    }

    func normalized(_ vector: [Float]) -> [Float] {
        let norm = Swift.max(vector.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot(), 1e-12)
        return vector.map { Float(Double($0) / norm) }
    }

    func floats(_ vector: [Float]) -> String {
        var text = "["
        text.reserveCapacity(vector.count * 12)
        for (index, value) in vector.enumerated() {
            if index > 0 { text += "," }
            text += value.isFinite ? value.description : "null"
        }
        return text + "]"
    }

    /// Little-endian float32 bytes in base64, as OpenAI's `encoding_format: base64` returns them.
    func base64(_ vector: [Float]) -> String {
        vector.withUnsafeBytes { Data($0).base64EncodedString() }
    }

    func number(_ value: Float) -> JSONValue { value.isFinite ? .number(value.description) : .null }

    func sigmoid(_ value: Float) -> Float { 1 / (1 + Foundation.exp(-value)) }

    func softmax(_ values: [Float]) -> [Float] {
        let top = values.max() ?? 0
        let exps = values.map { Foundation.exp(Double($0 - top)) }
        let sum = exps.reduce(0, +)
        return exps.map { Float($0 / sum) }
    }
}

extension UTF8 {
    /// Bytes of `scalar` in UTF-8.
    static func width(_ scalar: Unicode.Scalar) -> Int {
        switch scalar.value {
        case 0..<0x80: 1
        case 0x80..<0x800: 2
        case 0x800..<0x10000: 3
        default: 4
        }
    }
}

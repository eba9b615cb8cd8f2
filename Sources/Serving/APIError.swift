import Support

/// A request the server refuses, with the HTTP status and a message that names the field at fault.
///
/// Rendered in the shape of the API the route belongs to: OpenAI's `{"error": {"message", "type", "param",
/// "code"}}` under `/v1`, text-embeddings-inference's `{"error", "error_type"}` elsewhere.
///
/// ```swift
/// throw APIError(.unprocessable, "input[2] must be a string", field: "input")
/// ```
public struct APIError: Error, CustomStringConvertible, Sendable {
    /// The statuses the server answers errors with.
    public enum Status: Int, Sendable {
        case badRequest = 400
        case unauthorized = 401
        case notFound = 404
        case methodNotAllowed = 405
        case payloadTooLarge = 413
        case unsupportedMediaType = 415
        case unprocessable = 422
        case tooManyRequests = 429
        case internalError = 500
        case unavailable = 503
    }

    public let status: Status
    public let message: String
    /// The request field at fault (OpenAI's `param`), when there is one.
    public let field: String?

    public init(_ status: Status, _ message: String, field: String? = nil) {
        self.status = status
        self.message = message
        self.field = field
    }

    public var description: String { "\(status.rawValue): \(message)" }

    /// A validation failure: 400 under OpenAI's routes (as OpenAI answers), 422 under TEI's (as TEI answers).
    static func invalid(_ message: String, field: String?, openAI: Bool) -> APIError {
        APIError(openAI ? .badRequest : .unprocessable, message, field: field)
    }

    /// OpenAI's error body.
    var openAIBody: String {
        let type: String
        switch status {
        case .unauthorized: type = "authentication_error"
        case .notFound: type = "not_found_error"
        case .tooManyRequests: type = "rate_limit_error"
        case .internalError, .unavailable: type = "server_error"
        default: type = "invalid_request_error"
        }
        let code: JSONValue =
            switch status {
            case .notFound where field == "model": .string("model_not_found")
            case .unauthorized: .string("invalid_api_key")
            default: .null
            }
        let error = JSONObject([
            ("message", .string(message)), ("type", .string(type)), ("param", field.map(JSONValue.string) ?? .null),
            ("code", code),
        ])
        return JSONValue.object(JSONObject([("error", .object(error))])).serialized()
    }

    /// text-embeddings-inference's error body.
    var teiBody: String {
        let type: String
        switch status {
        case .tooManyRequests: type = "overloaded"
        case .internalError: type = "backend"
        case .unavailable: type = "unhealthy"
        case .unauthorized: type = "unauthorized"
        case .notFound: type = "not_found"
        default: type = "validation"
        }
        return JSONValue.object(JSONObject([("error", .string(message)), ("error_type", .string(type))])).serialized()
    }
}

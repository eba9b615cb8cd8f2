import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One HTTP exchange for the server tests: status, headers (names lowercased) and body.
///
/// ```swift
/// let reply = try await httpExchange(session, "GET", "http://127.0.0.1:8080/health")
/// reply.status == 200
/// ```
public func httpExchange(
    _ session: URLSession, _ method: String, _ url: String, body: Data? = nil, headers: [String: String] = [:]
) async throws -> (status: Int, headers: [String: String], body: Data) {
    guard let address = URL(string: url) else { throw URLError(.badURL) }
    var request = URLRequest(url: address)
    request.httpMethod = method
    request.httpBody = body
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    let (data, response) = try await session.data(for: request)
    guard let http = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
    var fields: [String: String] = [:]
    for (name, value) in http.allHeaderFields {
        if let name = name as? String, let value = value as? String { fields[name.lowercased()] = value }
    }
    return (http.statusCode, fields, data)
}

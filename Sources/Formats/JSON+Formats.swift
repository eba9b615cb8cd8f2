import Support

extension JSONParser {
    /// Parses a file's JSON part that must be an object; errors name the file and the part (`header`, `metadata`).
    static func object(_ bytes: UnsafeRawBufferPointer, maxDepth: Int, path: String, what: String) throws -> JSONObject
    {
        let value: JSONValue
        do {
            value = try parse(bytes, maxDepth: maxDepth)
        } catch {
            throw FormatError.malformed(path: path, reason: "\(what): \(error)")
        }
        guard case .object(let object) = value else {
            throw FormatError.malformed(path: path, reason: "\(what) is not a JSON object")
        }
        return object
    }
}

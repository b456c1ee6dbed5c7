import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One call to an OpenAI-compatible chat completions API (`POST {endpoint}/chat/completions`,
/// answer in `choices[0].message.content`), the dialect Ollama, vLLM, the llama.cpp server
/// and hosted APIs share. The key, when there is one, goes in `Authorization: Bearer`.
struct ChatCompletionsClient: Sendable {
    let endpoint: String
    let model: String
    let key: String?
    let temperature: Double?
    let seed: Int?
    let transport: HTTPTransport
    let session: URLSession
    let mask: SecretMask

    /// Why a call gave no text.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The URL posted to: the base URL plus `/chat/completions`, unless it already ends so.
    static func url(endpoint: String) -> URL? {
        var base = endpoint
        while base.hasSuffix("/") { base.removeLast() }
        if !base.hasSuffix("/chat/completions") { base += "/chat/completions" }
        return URL(string: base)
    }

    struct Message: Encodable {
        var role: String
        var content: String
    }

    /// The request body; keys sorted so the same recipe sends the same bytes.
    struct Body: Encodable {
        var messages: [Message]
        var model: String
        var seed: Int?
        var stream = false
        var temperature: Double?
    }

    /// The assistant's text for `messages`.
    func complete(_ messages: [Message]) async throws -> String {
        guard let url = Self.url(endpoint: endpoint) else { throw Failure(description: "'\(endpoint)' is not a valid URL") }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        request.httpBody = try encoder.encode(Body(messages: messages, model: model, seed: seed, temperature: temperature))

        let response: HTTPTransport.Response
        do {
            response = try await transport.send(request, session: session)
        } catch let failure as HTTPTransport.Failure {
            let hint = failure.timedOut
                ? "a local model may need longer: raise --timeout"
                : "is the server running, and is llm.endpoint its OpenAI-compatible base URL (Ollama: http://localhost:11434/v1)?"
            throw Failure(description: mask("\(failure.description); \(hint)"))
        }
        let status = response.status
        guard (200..<300).contains(status) else {
            let detail = Self.errorMessage(response.data) ?? HTTPTransport.snippet(response.data)
            let attempts = response.attempts > 1 ? " (after \(response.attempts) attempts)" : ""
            let hint: String
            switch status {
            case 401, 403: hint = "check the API key in the environment variable llm.api_key_env names"
            case 404: hint = "is llm.endpoint the OpenAI-compatible base URL (it ends in /v1 on most servers), and does the server have model '\(model)'?"
            case 429: hint = "the server is rate-limiting; wait and run the refresh again"
            default: hint = "check the server's log"
            }
            throw Failure(description: mask("HTTP \(status) from \(response.url.absoluteString)\(attempts): \(detail); \(hint)"))
        }
        guard let object = try? JSONSerialization.jsonObject(with: response.data) as? [String: Any] else {
            throw Failure(description: mask("the answer from \(response.url.absoluteString) is not JSON: \(HTTPTransport.snippet(response.data)); is llm.endpoint an OpenAI-compatible chat completions API?"))
        }
        guard let choices = object["choices"] as? [[String: Any]], let message = choices.first?["message"] as? [String: Any] else {
            let detail = Self.errorMessage(response.data).map { ": \($0)" } ?? ""
            throw Failure(description: mask("the answer from \(response.url.absoluteString) has no choices[0].message\(detail); is llm.endpoint an OpenAI-compatible chat completions API?"))
        }
        // Most servers answer a string; some send a list of content parts.
        if let text = message["content"] as? String { return text }
        if let parts = message["content"] as? [[String: Any]] {
            return parts.compactMap { $0["text"] as? String }.joined()
        }
        throw Failure(description: "the answer from \(response.url.absoluteString) has no text in choices[0].message.content")
    }

    /// `{"error": {"message": ...}}` or `{"error": "..."}`, the way these servers report errors.
    static func errorMessage(_ data: Data) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        if let error = object["error"] as? [String: Any], let message = error["message"] as? String { return message }
        return object["error"] as? String
    }
}

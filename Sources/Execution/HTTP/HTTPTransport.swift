import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The one way synthset's network clients (the Edge Impulse upload, the LLM prompt
/// refresh) send a request: timeouts, retries with exponential backoff (honoring
/// `Retry-After`) on connection errors, 408, 429 and 5xx, and redirects that never carry
/// a secret to another origin.
///
/// URLSession follows redirects by itself, and on Linux (FoundationNetworking) it copies
/// every header, `Authorization` included, to whatever host the `Location` names, and
/// drops a 307's body. So the session refuses automatic redirects (`RedirectRefusal`) and
/// `send` follows 301, 302, 307 and 308 here: the same request (method and body kept; an
/// API endpoint that moved expects them) to the new URL, with the credential headers
/// removed when the origin (scheme, host, port) changes. A 303 is returned as an answer.
package struct HTTPTransport: Sendable {
    /// Tries per request, the first included.
    package var maxAttempts: Int
    /// Seconds before the first retry; doubles each time (±20 % jitter), at most 60.
    package var backoff: Double
    /// Headers that hold a secret (`Authorization`, `x-api-key`).
    package var credentialHeaders: [String]
    /// Where progress lines go (already masked by the caller's log).
    package var log: @Sendable (String) -> Void

    /// Redirects followed per request before giving up.
    package static let maxRedirects = 5

    /// What a redirect to another origin does: follow it without the credential
    /// headers, or stop there (its 3xx answer is the result, a failure to the caller).
    package enum CrossOriginRedirects: Sendable { case followWithoutCredentials, refuse }
    package var crossOriginRedirects: CrossOriginRedirects = .followWithoutCredentials

    package init(maxAttempts: Int, backoff: Double, credentialHeaders: [String], log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.maxAttempts = max(maxAttempts, 1)
        self.backoff = max(backoff, 0)
        self.credentialHeaders = credentialHeaders
        self.log = log
    }

    /// An ephemeral session (no cookies, no cache on disk) whose requests time out after
    /// `timeout` seconds without data, and that follows no redirect by itself.
    package static func session(timeout: Double) -> URLSession {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = max(timeout * 4, timeout)
        return URLSession(configuration: configuration, delegate: RedirectRefusal(), delegateQueue: nil)
    }

    /// The last HTTP answer of a request.
    package struct Response: Sendable {
        package var status: Int
        package var data: Data
        package var headers: HTTPURLResponse
        /// Tries made, the first included.
        package var attempts: Int
        /// The URL that answered (after redirects).
        package var url: URL
    }

    /// No HTTP answer after every try: the server could not be reached or did not answer in time.
    package struct Failure: Error, CustomStringConvertible, Sendable {
        package var description: String
        package var attempts: Int
        /// Whether the last try ran out of time (rather than failing to connect).
        package var timedOut: Bool
    }

    /// Sends `request` until it gets an answer that is not transient, or the tries run out;
    /// then returns the last answer (whatever its status). Throws `Failure` when no try got
    /// an answer, and `CancellationError` when the task is cancelled.
    package func send(_ request: URLRequest, session: URLSession) async throws -> Response {
        var attempt = 0
        var lastFailure = Failure(description: "no request was sent", attempts: 0, timedOut: false)
        while true {
            attempt += 1
            try Task.checkCancellation()
            var delay: Double?
            do {
                var response = try await follow(request, session: session)
                response.attempts = attempt
                log("\(request.httpMethod ?? "GET") \(response.url.absoluteString): HTTP \(response.status) (attempt \(attempt))")
                guard Self.isTransient(response.status), attempt < maxAttempts else { return response }
                delay = response.headers.value(forHTTPHeaderField: "Retry-After").flatMap(Double.init)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                if Task.isCancelled { throw CancellationError() }
                let timedOut = (error as? URLError)?.code == .timedOut
                let target = request.url?.absoluteString ?? "?"
                let reason = timedOut ? "no answer within \(Self.seconds(session.configuration.timeoutIntervalForRequest)) s"
                                      : "cannot reach it: \(Self.reason(error))"
                lastFailure = Failure(description: "\(request.httpMethod ?? "GET") \(target): \(reason)", attempts: attempt, timedOut: timedOut)
                log("\(lastFailure.description) (attempt \(attempt))")
                guard attempt < maxAttempts else {
                    lastFailure.description += " (after \(attempt) attempt\(attempt == 1 ? "" : "s"))"
                    throw lastFailure
                }
            }
            let wait = min(delay ?? backoff * pow(2, Double(attempt - 1)) * Double.random(in: 0.8...1.2), 60)
            log("retrying in \(String(format: "%.1f", wait)) s")
            try await Task.sleep(for: .milliseconds(Int(wait * 1000)))
        }
    }

    /// One try: the request and the redirects it leads to.
    private func follow(_ original: URLRequest, session: URLSession) async throws -> Response {
        var request = original
        var redirects = 0
        while true {
            let (data, urlResponse) = try await session.data(for: request)
            guard let http = urlResponse as? HTTPURLResponse, let url = request.url else {
                throw URLError(.badServerResponse)
            }
            guard [301, 302, 307, 308].contains(http.statusCode),
                  let location = http.value(forHTTPHeaderField: "Location"),
                  let next = URL(string: location, relativeTo: url)?.absoluteURL,
                  ["http", "https"].contains(next.scheme?.lowercased() ?? ""),
                  redirects < Self.maxRedirects else {
                return Response(status: http.statusCode, data: data, headers: http, attempts: 1, url: url)
            }
            if !Self.sameOrigin(url, next), crossOriginRedirects == .refuse {
                log("refused a redirect to another origin (\(next.scheme ?? "")://\(next.host ?? "")): the key is sent only to the configured one")
                return Response(status: http.statusCode, data: data, headers: http, attempts: 1, url: url)
            }
            redirects += 1
            if !Self.sameOrigin(url, next) {
                for header in credentialHeaders { request.setValue(nil, forHTTPHeaderField: header) }
                log("redirected to another origin (\(next.scheme ?? "")://\(next.host ?? "")); credentials are not sent there")
            }
            request.url = next
        }
    }

    /// Scheme, host and port (RFC 6454).
    package static func sameOrigin(_ a: URL, _ b: URL) -> Bool {
        func port(_ url: URL) -> Int? { url.port ?? (url.scheme?.lowercased() == "https" ? 443 : url.scheme?.lowercased() == "http" ? 80 : nil) }
        return a.scheme?.lowercased() == b.scheme?.lowercased() && a.host?.lowercased() == b.host?.lowercased() && port(a) == port(b)
    }

    package static func isTransient(_ status: Int) -> Bool {
        status == 408 || status == 429 || (500..<600).contains(status)
    }

    /// The first 300 bytes of a body on one line, for error messages.
    package static func snippet(_ data: Data) -> String {
        let text = String(decoding: data.prefix(300), as: UTF8.self)
            .replacingOccurrences(of: "\n", with: " ").trimmingCharacters(in: .whitespaces)
        return text.isEmpty ? "(empty body)" : text
    }

    private static func reason(_ error: any Error) -> String {
        if let urlError = error as? URLError {
            switch urlError.code {
            case .cannotConnectToHost: return "connection refused"
            case .cannotFindHost, .dnsLookupFailed: return "unknown host"
            case .notConnectedToInternet, .networkConnectionLost: return "the network is down or the connection was lost"
            case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate:
                return "TLS failed (\(urlError.localizedDescription))"
            default: break
            }
        }
        return error.localizedDescription
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }
}

/// Refuses every automatic redirect, so `HTTPTransport` decides what a redirect may carry.
private final class RedirectRefusal: NSObject, URLSessionTaskDelegate, Sendable {
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}

/// Masks secrets in text before it is logged or shown.
package struct SecretMask: Sendable {
    package let secrets: [String]

    package init(_ secrets: [String]) {
        self.secrets = secrets.filter { !$0.isEmpty }
    }

    /// Every secret in every form it can take in echoed text (``forms(of:)``) masked.
    package func callAsFunction(_ text: String) -> String {
        secrets.flatMap(Self.forms).reduce(text) { $0.replacingOccurrences(of: $1, with: "***") }
    }

    /// The forms a secret can take in text a tool or server echoes back: as is,
    /// JSON-escaped (a `"` or `\` inside it becomes `\"`, `\\`), and percent-encoded
    /// (as in a URL or form body), longest first so a longer form is masked whole.
    package static func forms(of secret: String) -> [String] {
        guard !secret.isEmpty else { return [] }
        var forms: Set<String> = [secret]
        // As JSON writers escape it: with and without `\/` for a slash.
        for formatting in [JSONEncoder.OutputFormatting(), .withoutEscapingSlashes] {
            let encoder = JSONEncoder()
            encoder.outputFormatting = formatting
            if let data = try? encoder.encode(secret) { forms.insert(String(decoding: data.dropFirst().dropLast(), as: UTF8.self)) }
        }
        for allowed in [CharacterSet.alphanumerics, .urlQueryAllowed, .urlPathAllowed] {
            if let encoded = secret.addingPercentEncoding(withAllowedCharacters: allowed) {
                forms.insert(encoded)
                forms.insert(lowercasedPercentEscapes(encoded))
            }
        }
        return forms.sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
    }

    /// `%2F` → `%2f`: some encoders write lowercase hex digits.
    private static func lowercasedPercentEscapes(_ text: String) -> String {
        var result = ""
        var pending = 0
        for character in text {
            if character == "%" { pending = 2; result.append(character); continue }
            if pending > 0 { pending -= 1; result += character.lowercased() } else { result.append(character) }
        }
        return result
    }
}

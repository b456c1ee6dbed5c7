import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Keeping an API key out of logs and away from servers it was not meant for.
enum SecretMasking {
    /// The forms a secret can take in text a tool or server echoes back: as is,
    /// JSON-escaped (a `"` or `\` inside it becomes `\"`, `\\`), and percent-encoded
    /// (as in a URL or form body), longest first so a longer form is masked whole.
    static func forms(of secret: String) -> [String] {
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
                forms.insert(encoded.lowercasedPercentEscapes())
            }
        }
        return forms.sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
    }

    /// `text` with every form of `secret` replaced by `***`.
    static func redact(_ text: String, secret: String) -> String {
        var text = text
        for form in forms(of: secret) { text = text.replacingOccurrences(of: form, with: "***") }
        return text
    }
}

private extension String {
    /// `%2F` → `%2f`: some encoders write lowercase hex digits.
    func lowercasedPercentEscapes() -> String {
        var result = ""
        var pending = 0
        for character in self {
            if character == "%" { pending = 2; result.append(character); continue }
            if pending > 0 { pending -= 1; result += character.lowercased() } else { result.append(character) }
        }
        return result
    }
}

/// Follows an HTTP redirect only within the request's origin (scheme, host, port): a
/// redirect elsewhere is refused, so its 3xx answer becomes the result (a failure)
/// and the API key header never reaches another server.
final class SameOriginRedirects: NSObject, URLSessionTaskDelegate, Sendable {
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        let from = task.originalRequest?.url ?? response.url
        completionHandler(Self.sameOrigin(from, request.url) ? request : nil)
    }

    static func sameOrigin(_ a: URL?, _ b: URL?) -> Bool {
        guard let a, let b else { return false }
        func port(_ url: URL) -> Int? { url.port ?? (url.scheme?.lowercased() == "https" ? 443 : url.scheme?.lowercased() == "http" ? 80 : nil) }
        return a.scheme?.lowercased() == b.scheme?.lowercased() && a.host?.lowercased() == b.host?.lowercased() && port(a) == port(b)
    }
}

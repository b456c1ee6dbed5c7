import Synchronization

/// `{var}` templates: parsing placeholders and substituting values.
///
/// `{{` and `}}` stand for literal braces. A placeholder name is letters, digits and `_`.
public enum PromptTemplate {
    public struct Problem: Error, Sendable, Equatable {
        public var message: String
        public var hint: String
    }

    enum Piece: Equatable, Sendable {
        case text(String)
        case placeholder(String)
    }

    /// Templates already parsed: a step's argument templates are filled in for every one
    /// of its tasks (a thousand one-line commands parsed the same four arguments twice each).
    private static let parsed = Mutex<[String: [Piece]]>([:])

    static func pieces(_ template: String) -> Result<[Piece], Problem> {
        if let known = parsed.withLock({ $0[template] }) { return .success(known) }
        let result = parse(template)
        if case .success(let pieces) = result {
            parsed.withLock { if $0.count < 4096 { $0[template] = pieces } }
        }
        return result
    }

    /// Braces are ASCII, so the template is scanned as UTF-8 bytes; a placeholder's name
    /// is checked as characters (letters and digits of any script).
    private static func parse(_ template: String) -> Result<[Piece], Problem> {
        let open = UInt8(ascii: "{"), close = UInt8(ascii: "}")
        let bytes = Array(template.utf8)
        guard bytes.contains(where: { $0 == open || $0 == close }) else {
            return .success(bytes.isEmpty ? [] : [.text(template)])
        }
        var pieces: [Piece] = []
        var text: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index], next = index + 1
            if byte == open {
                if next < bytes.count, bytes[next] == open {
                    text.append(open)
                    index = next + 1
                    continue
                }
                guard let end = bytes[next...].firstIndex(of: close) else {
                    return .failure(Problem(message: "template has a '{' without a closing '}'", hint: "close the placeholder, or write '{{' for a literal brace"))
                }
                let name = String(decoding: bytes[next..<end], as: UTF8.self)
                guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                    return .failure(Problem(message: "template has an invalid placeholder '{\(name)}'", hint: "placeholder names use letters, digits and '_'; write '{{' and '}}' for literal braces"))
                }
                if !text.isEmpty { pieces.append(.text(String(decoding: text, as: UTF8.self))); text = [] }
                pieces.append(.placeholder(name))
                index = end + 1
            } else if byte == close {
                if next < bytes.count, bytes[next] == close {
                    text.append(close)
                    index = next + 1
                    continue
                }
                return .failure(Problem(message: "template has a '}' without an opening '{'", hint: "write '}}' for a literal brace"))
            } else {
                text.append(byte)
                index = next
            }
        }
        if !text.isEmpty { pieces.append(.text(String(decoding: text, as: UTF8.self))) }
        return .success(pieces)
    }

    /// The placeholder names in order of first use.
    public static func placeholders(in template: String) -> Result<[String], Problem> {
        pieces(template).map { pieces in
            var seen: [String] = []
            for case .placeholder(let name) in pieces where !seen.contains(name) { seen.append(name) }
            return seen
        }
    }

    /// The template's pieces in order, text through `text` and each placeholder through
    /// `value` (kept as written when it gives nil), for templates whose values are not
    /// plain strings (paths resolved later).
    public static func map<T>(_ template: String, text: (String) -> T, value: (String) -> T?) -> [T] {
        guard case .success(let pieces) = pieces(template) else { return [text(template)] }
        return pieces.map { piece in
            switch piece {
            case .text(let literal): text(literal)
            case .placeholder(let name): value(name) ?? text("{\(name)}")
            }
        }
    }

    /// Substitutes `values` into a template already validated by `placeholders(in:)`.
    public static func render(_ template: String, _ values: [String: String]) -> String {
        guard case .success(let pieces) = pieces(template) else { return template }
        return pieces.map { piece in
            switch piece {
            case .text(let text): text
            case .placeholder(let name): values[name] ?? "{\(name)}"
            }
        }.joined()
    }
}

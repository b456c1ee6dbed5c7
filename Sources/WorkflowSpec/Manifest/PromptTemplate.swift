/// `{var}` templates: parsing placeholders and substituting values.
///
/// `{{` and `}}` stand for literal braces. A placeholder name is letters, digits and `_`.
public enum PromptTemplate {
    public struct Problem: Error, Sendable, Equatable {
        public var message: String
        public var hint: String
    }

    enum Piece: Equatable {
        case text(String)
        case placeholder(String)
    }

    static func pieces(_ template: String) -> Result<[Piece], Problem> {
        var pieces: [Piece] = []
        var text = ""
        var index = template.startIndex
        while index < template.endIndex {
            let char = template[index]
            let next = template.index(after: index)
            if char == "{" {
                if next < template.endIndex, template[next] == "{" {
                    text.append("{")
                    index = template.index(after: next)
                    continue
                }
                guard let close = template[next...].firstIndex(of: "}") else {
                    return .failure(Problem(message: "template has a '{' without a closing '}'", hint: "close the placeholder, or write '{{' for a literal brace"))
                }
                let name = String(template[next..<close])
                guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                    return .failure(Problem(message: "template has an invalid placeholder '{\(name)}'", hint: "placeholder names use letters, digits and '_'; write '{{' and '}}' for literal braces"))
                }
                if !text.isEmpty { pieces.append(.text(text)); text = "" }
                pieces.append(.placeholder(name))
                index = template.index(after: close)
            } else if char == "}" {
                if next < template.endIndex, template[next] == "}" {
                    text.append("}")
                    index = template.index(after: next)
                    continue
                }
                return .failure(Problem(message: "template has a '}' without an opening '{'", hint: "write '}}' for a literal brace"))
            } else {
                text.append(char)
                index = next
            }
        }
        if !text.isEmpty { pieces.append(.text(text)) }
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

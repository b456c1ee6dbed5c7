import Foundation

/// Reads prompts out of an LLM's answer, which is rarely exactly what was asked for.
///
/// In order: drop `<think>...</think>` blocks (reasoning models put them first); take the
/// first code fence's content if there is one; read it as JSON (a list of strings or of
/// `{"prompt": ...}` objects, or an object with such a list under `prompts`), also when
/// prose surrounds the list (from the first `[` to the last `]`); as a last resort, take
/// numbered or bulleted lines (`1. ...`, `2) ...`, `- ...`).
enum PromptAnswerParser {
    /// What an answer held.
    enum Parsed: Equatable {
        /// The prompts found, in answer order (not yet checked).
        case prompts([String])
        /// Nothing usable; the reason says what the answer looked like.
        case unreadable(String)
    }

    static func parse(_ answer: String) -> Parsed {
        var text = answer
        while let open = text.range(of: "<think>"), let close = text.range(of: "</think>", range: open.upperBound..<text.endIndex) {
            text.removeSubrange(open.lowerBound..<close.upperBound)
        }
        if let fenced = fenceContent(text) { text = fenced }
        text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return .unreadable("the answer is empty") }
        if let prompts = jsonPrompts(text) { return .prompts(prompts) }
        if let first = text.firstIndex(of: "["), let last = text.lastIndex(of: "]"), first < last,
           let prompts = jsonPrompts(String(text[first...last])) {
            return .prompts(prompts)
        }
        let lines = listedLines(text)
        if !lines.isEmpty { return .prompts(lines) }
        let shown = text.count > 120 ? String(text.prefix(120)) + "..." : text
        return .unreadable("the answer is neither a JSON list of prompts nor numbered lines: \"\(shown.replacingOccurrences(of: "\n", with: " "))\"")
    }

    /// The content of the first ``` fence (its language tag dropped); nil without one.
    static func fenceContent(_ text: String) -> String? {
        guard let open = text.range(of: "```") else { return nil }
        let afterOpen = text[open.upperBound...]
        let body = afterOpen.drop { $0 != "\n" }.dropFirst()  // skip "json" and the newline
        guard let close = body.range(of: "```") else { return String(body) }  // cut off: use what came
        return String(body[..<close.lowerBound])
    }

    /// A JSON list of strings or `{"prompt": ...}` objects, or `{"prompts": [...]}`; nil
    /// when the text is not such JSON. Elements that are neither are kept as empty
    /// strings so the checks report them.
    static func jsonPrompts(_ text: String) -> [String]? {
        // LLMs often leave a comma before the closing bracket; JSON does not allow one.
        let tolerant = text.replacing(/,\s*\]/, with: "]")
        guard let value = (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]))
            ?? (try? JSONSerialization.jsonObject(with: Data(tolerant.utf8), options: [.fragmentsAllowed])) else { return nil }
        let list: [Any]
        if let array = value as? [Any] {
            list = array
        } else if let object = value as? [String: Any], let array = object["prompts"] as? [Any] {
            list = array
        } else {
            return nil
        }
        return list.map { element in
            if let string = element as? String { return string }
            if let object = element as? [String: Any], let prompt = object["prompt"] as? String { return prompt }
            return ""
        }
    }

    /// Lines that start with `1.`, `1)`, `-`, `*` or `•`, without that marker and without
    /// surrounding quotes.
    static func listedLines(_ text: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            guard let match = line.wholeMatch(of: /\s*(?:\d{1,4}[.)]|[-*•])\s+(.+?)\s*/) else { return nil }
            var prompt = String(match.1)
            if prompt.count >= 2, let first = prompt.first, let last = prompt.last,
               (first == "\"" && last == "\"") || (first == "“" && last == "”") {
                prompt = String(prompt.dropFirst().dropLast())
            }
            return prompt
        }
    }
}

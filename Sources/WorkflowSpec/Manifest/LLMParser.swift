import Basics
import Foundation
import Yams

/// `llm:` of a prompt set (see `LLMExpansion`).
extension ManifestParser {
    static let llmKeys = ["from", "count", "instruction", "model", "endpoint", "api_key_env", "temperature", "seed"]

    func parseLLM(_ node: Node, setID: String) -> LLMExpansion? {
        let path = "prompts.\(setID).llm"
        guard let fields = reader.fields(node, path, allowed: Self.llmKeys,
                                         required: ["from", "count", "instruction", "model", "endpoint"],
                                         context: "llm of prompt '\(setID)'") else { return nil }
        var ok = true
        func text(_ key: String) -> String? {
            guard let node = fields[key] else { ok = false; return nil }
            guard let value = reader.string(node, fields.path(key)) else { ok = false; return nil }
            if value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                reader.error("\(fields.path(key)) is empty", hint: "write the \(key)", at: node)
                ok = false
            }
            return value
        }
        let from = text("from") ?? ""
        let instruction = text("instruction") ?? ""
        let model = text("model") ?? ""
        let endpoint = text("endpoint") ?? ""
        if !endpoint.isEmpty, let node = fields["endpoint"] {
            let url = URL(string: endpoint)
            if url?.host == nil || !["http", "https"].contains(url?.scheme?.lowercased() ?? "") {
                reader.error("\(fields.path("endpoint")): '\(endpoint)' is not an http(s) URL",
                             hint: "write the OpenAI-compatible base URL, e.g. http://localhost:11434/v1 (Ollama) or https://api.openai.com/v1",
                             at: node)
                ok = false
            }
        }
        var count = 0
        if let node = fields["count"] {
            if let value = reader.int(node, fields.path("count")) {
                count = value
                if !(1...LLMExpansion.maxCount).contains(value) {
                    reader.error("\(fields.path("count")) must be between 1 and \(LLMExpansion.maxCount), found \(value)",
                                 hint: "ask for fewer prompts per set, or make several sets", at: node)
                    ok = false
                }
            } else { ok = false }
        }
        var keyEnvironment: String?
        if let node = fields["api_key_env"], let value = reader.string(node, fields.path("api_key_env")) {
            if value.wholeMatch(of: /[A-Za-z_][A-Za-z0-9_]*/) == nil {
                reader.error("'\(value)' is not a valid environment variable name",
                             hint: "name the variable that holds the key (letters, digits and '_'), e.g. OPENAI_API_KEY; never the key itself",
                             at: node)
                ok = false
            }
            keyEnvironment = value
        }
        var temperature: Double?
        if let node = fields["temperature"], let value = reader.double(node, fields.path("temperature")) {
            if !(0...2).contains(value) {
                reader.error("\(fields.path("temperature")) must be between 0 and 2, found \(value)",
                             hint: "chat completions APIs take 0 (most literal) to 2 (most varied); 0.8 is a common choice", at: node)
                ok = false
            }
            temperature = value
        }
        var seed: Int?
        if let node = fields["seed"], let value = reader.int(node, fields.path("seed")) {
            if value < 0 {
                reader.error("\(fields.path("seed")) cannot be negative", hint: "write 0 or more", at: node)
                ok = false
            }
            seed = value
        }
        guard ok else { return nil }
        return LLMExpansion(from: from, count: count, instruction: instruction, model: model, endpoint: endpoint,
                            apiKeyEnvironment: keyEnvironment, temperature: temperature, seed: seed)
    }

    /// `llm.from` names another declared set, and `from` links form no cycle. Takes every
    /// parsed `llm:` (also of sets whose pinned file is missing) and every declared set id.
    func checkLLMReferences(_ llms: [(id: String, llm: LLMExpansion)], declared: [String]) {
        let from = Dictionary(llms.map { ($0.id, $0.llm.from) }, uniquingKeysWith: { first, _ in first })
        for (id, llm) in llms {
            let at = reader.sourceMap["prompts.\(id).llm.from"]
            if llm.from == id {
                reader.append(Diagnostic(.error, "prompt '\(id)' takes its LLM examples from itself",
                                         hint: "point llm.from at the hand-written set the variations are of", at: at))
            } else if !declared.contains(llm.from) {
                let others = declared.filter { $0 != id }
                var hint = "prompt sets are: \(others.joined(separator: ", "))"
                if let guess = NodeReader.closest(to: llm.from, in: others) { hint = "did you mean '\(guess)'? " + hint }
                reader.append(Diagnostic(.error, "prompt '\(id)' takes its LLM examples from unknown prompt set '\(llm.from)'",
                                         hint: hint, at: at))
            }
        }
        if let cycle = findCycle(nodes: llms.map(\.id), successors: { id in
            from[id].map { [$0] }?.filter { from[$0] != nil && $0 != id } ?? []
        }) {
            reader.append(Diagnostic(.error, "prompt sets take LLM examples from each other: \(cycle.joined(separator: " <- "))",
                                     hint: "one of them must be hand-written (a template or a file without llm:)",
                                     at: reader.sourceMap["prompts.\(cycle[0]).llm.from"]))
        }
    }
}

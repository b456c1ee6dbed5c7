import Foundation

/// `llm:` of a prompt set: ask an OpenAI-compatible chat completions API for variations of
/// another prompt set's prompts. Only `synthset prompts refresh` asks; planning and running
/// read the answer pinned in the set's `file:`, so a recipe stays reproducible although the
/// LLM is not.
public struct LLMExpansion: Sendable, Hashable {
    /// The prompt set whose expanded prompts are the examples.
    public var from: String
    /// How many prompts to ask for.
    public var count: Int
    /// What to ask for, in the user's words.
    public var instruction: String
    /// The model name the endpoint knows (`llama3.1:8b`, `gpt-4o-mini`).
    public var model: String
    /// The OpenAI-compatible base URL (`http://localhost:11434/v1`); `/chat/completions`
    /// is appended unless the URL already ends with it.
    public var endpoint: String
    /// The environment variable holding the API key; nil for servers that need none.
    public var apiKeyEnvironment: String?
    public var temperature: Double?
    public var seed: Int?

    /// The largest `count:` accepted: one answer has to hold them all.
    public static let maxCount = 500

    /// `llm:` in the manifest's JSON Schema (`ManifestSchema`); the keys are the parser's.
    static var jsonSchema: JSONValue {
        [
            "description": "Ask an OpenAI-compatible chat completions API for variations of another prompt set; 'synthset prompts refresh' pins the answer in file:, which plan and run read (they never call the LLM).",
            "type": "object",
            "properties": [
                "from": ["$ref": "#/$defs/identifier", "description": "The prompt set whose expanded prompts are the examples."],
                "count": ["type": "integer", "minimum": 1, "maximum": .int(maxCount), "description": "How many prompts to ask for."],
                "instruction": ["type": "string", "minLength": 1, "description": "What to ask for."],
                "model": ["type": "string", "minLength": 1, "description": "The model name the endpoint serves (llama3.1:8b, gpt-4o-mini)."],
                "endpoint": ["type": "string", "pattern": "^https?://", "description": "The OpenAI-compatible base URL, e.g. http://localhost:11434/v1 (Ollama); /chat/completions is appended."],
                "api_key_env": ["type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$", "description": "The environment variable holding the API key (sent as Authorization: Bearer, never stored). Omit for servers that need none."],
                "temperature": ["type": "number", "minimum": 0, "maximum": 2, "description": "Sampling temperature, 0 (literal) to 2 (varied)."],
                "seed": ["type": "integer", "minimum": 0, "description": "Sampling seed, for servers that honor it."],
            ],
            "required": ["from", "count", "instruction", "model", "endpoint"],
            "additionalProperties": false,
        ]
    }

    public init(from: String, count: Int, instruction: String, model: String, endpoint: String,
                apiKeyEnvironment: String? = nil, temperature: Double? = nil, seed: Int? = nil) {
        self.from = from
        self.count = count
        self.instruction = instruction
        self.model = model
        self.endpoint = endpoint
        self.apiKeyEnvironment = apiKeyEnvironment
        self.temperature = temperature
        self.seed = seed
    }
}

/// What a pinned prompt file records about how it was made: enough to tell, without
/// asking the LLM, whether the recipe still describes it. Never the key.
public struct PinnedPromptsHeader: Sendable, Hashable, Codable {
    /// The number of prompts in the file.
    public var count: Int
    public var endpoint: String
    /// The number of example prompts sent.
    public var examples: Int
    /// SHA-256 of the examples sent (`PinnedPromptsFile.examplesHash`).
    public var examplesSHA256: String
    /// The prompt set the examples came from.
    public var from: String
    public var instruction: String
    public var model: String
    public var seed: Int?
    public var temperature: Double?

    public init(count: Int, endpoint: String, examples: Int, examplesSHA256: String, from: String,
                instruction: String, model: String, seed: Int?, temperature: Double?) {
        self.count = count
        self.endpoint = endpoint
        self.examples = examples
        self.examplesSHA256 = examplesSHA256
        self.from = from
        self.instruction = instruction
        self.model = model
        self.seed = seed
        self.temperature = temperature
    }

    enum CodingKeys: String, CodingKey {
        case count, endpoint, examples, from, instruction, model, seed, temperature
        case examplesSHA256 = "examples_sha256"
    }

    /// The header's keys, for the reader's unknown-key check.
    static let keys = ["count", "endpoint", "examples", "examples_sha256", "from", "instruction", "model", "seed", "temperature"]
}

/// The pinned prompt file that `synthset prompts refresh` writes and `file:` reads:
///
/// ```json
/// {
///   "format": "synthset-prompts/1",
///   "llm": { "count": 2, "endpoint": "...", "examples": 6, "examples_sha256": "...", ... },
///   "prompts": [
///     "A conveyor belt ...",
///     "..."
///   ]
/// }
/// ```
///
/// Deterministic: keys sorted, two-space indentation, one prompt a line, a final newline,
/// so a refresh reads as a line diff in git.
public enum PinnedPromptsFile {
    /// The value of `format`.
    public static let format = "synthset-prompts/1"
    /// The top-level keys.
    static let keys = ["format", "llm", "prompts"]

    /// SHA-256 (hex) of the examples as a compact JSON list of strings, in order.
    public static func examplesHash(_ examples: [String]) -> String {
        WorkflowLoader.sha256(Data(("[" + examples.map(jsonString).joined(separator: ",") + "]").utf8))
    }

    /// The file's bytes. A prompt with its own negative prompt is written as an object.
    public static func render(header: PinnedPromptsHeader, prompts: [FilePrompt]) -> Data {
        var fields: [(String, String)] = [
            ("count", String(header.count)),
            ("endpoint", jsonString(header.endpoint)),
            ("examples", String(header.examples)),
            ("examples_sha256", jsonString(header.examplesSHA256)),
            ("from", jsonString(header.from)),
            ("instruction", jsonString(header.instruction)),
            ("model", jsonString(header.model)),
        ]
        if let seed = header.seed { fields.append(("seed", String(seed))) }
        if let temperature = header.temperature { fields.append(("temperature", number(temperature))) }
        var text = "{\n  \"format\": \(jsonString(format)),\n  \"llm\": {\n"
        text += fields.map { "    \(jsonString($0.0)): \($0.1)" }.joined(separator: ",\n")
        text += "\n  },\n  \"prompts\": [\n"
        text += prompts.map { prompt in
            guard let negative = prompt.negative else { return "    " + jsonString(prompt.prompt) }
            return "    {\"negative_prompt\": \(jsonString(negative)), \"prompt\": \(jsonString(prompt.prompt))}"
        }.joined(separator: ",\n")
        text += "\n  ]\n}\n"
        return Data(text.utf8)
    }

    /// A JSON string literal, escaped as the generated schema is (`JSONValue`).
    public static func jsonString(_ value: String) -> String {
        var out = ""
        JSONValue.quote(value, to: &out)
        return out
    }

    /// The shortest decimal that reads back as `value` (`0.8`, not `0.80000000000000004`).
    static func number(_ value: Double) -> String {
        JSONValue.number(value).rendered().trimmingCharacters(in: .newlines)
    }
}

import Yams

/// What a tool is to the manifest: the keys a step with its `uses:` takes (with their
/// types, defaults, ranges and help), the inputs it accepts, what it outputs and where it
/// runs. One value per `uses:` name, listed in a ``ToolRegistry``; the loader, the JSON
/// Schema and (through the planning and execution protocols that refine this one) the
/// planner, estimates and executor all read the tool from here.
///
/// Adding a tool is one definition (a type conforming to this protocol and to
/// `RunnableTool`) and one line in the registry; see `docs/adding-a-tool.md`.
public protocol ToolDefinition: Sendable {
    /// The `uses:` name.
    var uses: ToolKind { get }
    /// One line for people and the JSON Schema: what the tool does.
    var summary: String { get }
    /// The key under `tools:` that locates the tool's installation, if any.
    var family: String? { get }
    var output: ToolKind.Output { get }
    var device: ToolKind.Device { get }
    /// Model sizes the tool offers (empty: no `model:` key).
    var models: [String] { get }
    /// The model used when a step names none.
    var defaultModel: String? { get }
    /// Whether the step must name upstream steps in `from:`.
    var requiresInput: Bool { get }
    /// Whether `from:` is accepted at all.
    var acceptsFrom: Bool { get }
    /// Which upstream outputs the tool can consume.
    var acceptedInputs: Set<ToolKind.Output> { get }
    /// Whether `prompts:`, `prompt:` and `negative:` apply.
    var takesPrompts: Bool { get }
    /// Whether a step without input must have prompts.
    var requiresPrompts: Bool { get }
    /// Whether `seeds:` applies.
    var takesSeeds: Bool { get }
    /// Whether a step must list seeds.
    var requiresSeeds: Bool { get }
    /// Resolutions the tool offers (empty: no `resolution:` key) and the tool's own default.
    var resolutions: [Int] { get }
    var defaultResolution: Int? { get }
    /// Frame rates the tool offers (empty: no `fps:` key of this kind) and the default.
    var frameRates: [Int] { get }
    var defaultFPS: Int? { get }
    /// The `options:` the tool accepts, mirroring its CLI flags.
    var options: [OptionSpec] { get }
    /// The tool's own step keys, beyond the common ones (``commonKeys``).
    var keys: [KeySpec] { get }
    /// Items per invocation when a step sets no `max_batch`; nil when the tool's grouping
    /// is fixed and `max_batch` is not accepted.
    var defaultMaxBatch: Int? { get }
    /// Whether `gpus:` (GPUs per invocation) is accepted.
    var multiGPU: Bool { get }
    /// Whether one invocation takes items with their own seeds (Predict2.5's JSONL), as
    /// opposed to one `--seed` for the whole batch (Predict2).
    var seedsPerSample: Bool { get }
    /// The extension of a step's item files, without the dot ("" for folders). The
    /// default follows ``output``: jpg, mp4, json, a folder for datasets, bin for files.
    func outputExtension(_ step: Step) -> String

    /// Reads the tool's own keys into `step`; the common keys are read already, and the
    /// set of keys was checked against ``allKeys``. The default reads each of ``keys``
    /// that has a ``KeySpec/kind`` into ``Step/settings``.
    func parseKeys(_ parser: StepParser, into step: inout Step)

    /// A problem with taking `source`'s items as input beyond the output kind (for
    /// example export taking images that carry no boxes): message and hint, or nil.
    func inputProblem(from source: Step, into step: Step) -> (message: String, hint: String)?
}

extension ToolDefinition {
    public var family: String? { nil }
    public var models: [String] { [] }
    public var defaultModel: String? { nil }
    public var requiresInput: Bool { false }
    public var acceptsFrom: Bool { requiresInput }
    public var acceptedInputs: Set<ToolKind.Output> { [] }
    public var takesPrompts: Bool { false }
    public var requiresPrompts: Bool { takesPrompts && !requiresInput }
    public var takesSeeds: Bool { false }
    public var requiresSeeds: Bool { takesSeeds && !requiresInput }
    public var resolutions: [Int] { [] }
    public var defaultResolution: Int? { nil }
    public var frameRates: [Int] { [] }
    public var defaultFPS: Int? { nil }
    public var options: [OptionSpec] { [] }
    public var keys: [KeySpec] { [] }
    public var defaultMaxBatch: Int? { nil }
    public var multiGPU: Bool { false }
    public var seedsPerSample: Bool { false }

    public func outputExtension(_ step: Step) -> String {
        switch output {
        case .image: "jpg"
        case .video: "mp4"
        case .labels, .upload: "json"
        case .dataset, .model: ""
        case .file: "bin"
        }
    }

    public func parseKeys(_ parser: StepParser, into step: inout Step) {
        parser.parseGenericKeys(keys, into: &step)
    }

    public func inputProblem(from source: Step, into step: Step) -> (message: String, hint: String)? { nil }

    /// True for the Cosmos generators.
    public var isCosmos: Bool { family == "cosmos-predict2" || family == "cosmos-predict2.5" }

    /// The keys every step of this tool may have that the loader reads itself, in the
    /// order error messages list them.
    public var commonKeys: [KeySpec] {
        var keys: [KeySpec] = [
            KeySpec("uses", help: summary, schema: ["const": .string(uses.rawValue)]),
            KeySpec("description", help: "What the step is for, for people.", schema: ["type": "string"]),
            KeySpec("retries", help: "Attempts after a failed one before an item counts as failed.",
                    schema: ["type": "integer", "minimum": 0], defaultValue: 0),
        ]
        if acceptsFrom {
            keys.append(KeySpec("from", help: "The step(s) whose items this step reads: " +
                                (acceptedInputs.isEmpty ? "none" : acceptedInputs.map(\.rawValue).sorted().joined(separator: ", ")) + ".",
                                schema: ["$ref": "#/$defs/stepRefs"], affectsOutput: true))
        }
        if !models.isEmpty {
            keys.append(KeySpec("model", help: "Model size.", schema: ["enum": .array(models.map(JSONValue.string))],
                                defaultValue: defaultModel.map(JSONValue.string), affectsOutput: true))
        }
        if takesPrompts {
            keys += [
                KeySpec("prompts", help: "Prompt set ids (under 'prompts:') to generate from.", schema: ["$ref": "#/$defs/stringOrList"], affectsOutput: true),
                KeySpec("prompt", help: "One inline prompt.", schema: ["type": "string", "minLength": 1], affectsOutput: true),
                KeySpec("negative", help: "Negative prompt for prompts that have none of their own.", schema: ["type": "string"], affectsOutput: true),
            ]
        }
        if takesSeeds {
            keys.append(KeySpec("seeds", help: "Seeds: a range '0..9' (inclusive), a list, one integer, or {from, count}.",
                                schema: ["$ref": "#/$defs/seeds"], affectsOutput: true))
        }
        if !resolutions.isEmpty {
            keys.append(KeySpec("resolution", help: "Output resolution (height in pixels).",
                                schema: ["enum": .array(resolutions.map(JSONValue.int))],
                                defaultValue: defaultResolution.map(JSONValue.int), affectsOutput: true))
        }
        if !frameRates.isEmpty {
            keys.append(KeySpec("fps", help: "Output frame rate.", schema: ["enum": .array(frameRates.map(JSONValue.int))],
                                defaultValue: defaultFPS.map(JSONValue.int), affectsOutput: true))
        }
        if !options.isEmpty {
            keys.append(KeySpec("options", help: "Flags of the tool's own command line.", schema: optionsSchema))
        }
        if let batch = defaultMaxBatch {
            keys.append(KeySpec("max_batch", help: "Most items per tool invocation (one model load).",
                                schema: ["$ref": "#/$defs/positiveInteger"], defaultValue: .int(batch)))
        }
        if multiGPU {
            keys.append(KeySpec("gpus", help: "GPUs per invocation (context parallel through torch.distributed.run).",
                                schema: ["$ref": "#/$defs/positiveInteger"], defaultValue: 1))
        }
        return keys
    }

    /// Every key a step with this `uses:` accepts, common keys first.
    public var allKeys: [KeySpec] { commonKeys + keys }

    /// The names of ``allKeys``.
    public var stepKeys: [String] { allKeys.map(\.name) }

    var optionsSchema: JSONValue {
        .closedObject(options.map { option in
            var schema: [(String, JSONValue)] = []
            let help = [option.help, option.note].compactMap { $0 }.joined(separator: "; ")
            schema.append(("description", .string((help.isEmpty ? "--\(option.name)" : help)
                + (option.affectsOutput ? " Changes the output (part of item ids)." : " Does not change the output."))))
            schema += option.kind.schema.objectMembers
            return (option.name, .object(schema))
        })
    }
}

/// One step key of a tool: its name, help, JSON Schema fragment, default, and whether it
/// changes the output (and so belongs in item ids).
public struct KeySpec: Sendable {
    public var name: String
    public var help: String
    /// The key's JSON Schema (type, range, enum...), without description and default.
    public var schema: JSONValue
    public var defaultValue: JSONValue?
    public var affectsOutput: Bool
    public var required: Bool
    /// For keys the generic parser reads into ``Step/settings``: the value's type. Nil
    /// for keys a tool's own ``ToolDefinition/parseKeys(_:into:)`` reads.
    public var kind: OptionSpec.Kind?
    /// Whether `tools.<family>.<name>` may set the key for every step of the family that
    /// does not set it itself (a workflow-wide default such as `runner: resident`). Only
    /// for keys with a ``kind``.
    public var familyWide = false

    public init(_ name: String, help: String, schema: JSONValue, defaultValue: JSONValue? = nil,
                affectsOutput: Bool = false, required: Bool = false) {
        self.name = name
        self.help = help
        self.schema = schema
        self.defaultValue = defaultValue
        self.affectsOutput = affectsOutput
        self.required = required
    }

    /// A key the generic parser reads: its schema follows from `kind`.
    public init(_ name: String, _ kind: OptionSpec.Kind, help: String, defaultValue: OptionValue? = nil,
                affectsOutput: Bool, required: Bool = false) {
        self.init(name, help: help, schema: kind.schema, defaultValue: defaultValue.map(JSONValue.init),
                  affectsOutput: affectsOutput, required: required)
        self.kind = kind
    }

    /// The same key, also settable under `tools.<family>` (``familyWide``).
    public func settableForTheFamily() -> KeySpec {
        var key = self
        key.familyWide = true
        return key
    }

    /// The key's whole schema: description, default, then the fragment.
    public var fullSchema: JSONValue {
        var members: [(String, JSONValue)] = [("description", .string(help + (affectsOutput ? " Changes the output (part of item ids)." : "")))]
        if let defaultValue { members.append(("default", defaultValue)) }
        return .object(members + schema.objectMembers)
    }
}

extension OptionSpec.Kind {
    /// The JSON Schema of a value of this kind.
    public var schema: JSONValue {
        switch self {
        case .bool: ["type": "boolean"]
        case .number: ["type": "number"]
        case .string: ["type": "string"]
        case .path: ["type": "string", "minLength": 1]
        case .integerRange(let range): ["type": "integer", "minimum": .int(range.lowerBound), "maximum": .int(range.upperBound)]
        case .integerChoice(let values): ["enum": .array(values.map(JSONValue.int))]
        case .choice(let values): ["enum": .array(values.map(JSONValue.string))]
        }
    }
}

/// A reference to a step's tool definition; equal when the `uses:` names are equal, so a
/// ``Step`` stays a plain value.
public struct ToolReference: Sendable, Hashable {
    public let definition: any ToolDefinition

    public init(_ definition: any ToolDefinition) { self.definition = definition }

    public static func == (a: ToolReference, b: ToolReference) -> Bool { a.definition.uses == b.definition.uses }
    public func hash(into hasher: inout Hasher) { hasher.combine(definition.uses) }
}

/// The tools a build knows, in the order they are listed (the order of `uses:` in the
/// JSON Schema and in error hints).
public struct ToolRegistry: Sendable {
    public let definitions: [any ToolDefinition]
    private let index: [ToolKind: Int]

    public init(_ definitions: [any ToolDefinition]) {
        var index: [ToolKind: Int] = [:]
        var kept: [any ToolDefinition] = []
        for definition in definitions where index[definition.uses] == nil {
            index[definition.uses] = kept.count
            kept.append(definition)
        }
        self.definitions = kept
        self.index = index
    }

    public subscript(uses: ToolKind) -> (any ToolDefinition)? {
        index[uses].map { definitions[$0] }
    }

    /// Every `uses:` name, in registry order.
    public var names: [String] { definitions.map(\.uses.rawValue) }

    /// The keys `tools:` may configure, in registry order.
    public var families: [String] {
        definitions.compactMap(\.family).reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
    }

    /// The step keys of `family`'s tools that `tools.<family>` may set for all its steps
    /// (``KeySpec/familyWide``), once each, in registry order.
    public func familyWideKeys(_ family: String) -> [KeySpec] {
        var seen = Set<String>(), keys: [KeySpec] = []
        for tool in definitions where tool.family == family {
            for key in tool.keys where key.familyWide && key.kind != nil && seen.insert(key.name).inserted { keys.append(key) }
        }
        return keys
    }

    /// This registry with more tools (a test's, a plugin's) after its own.
    public func adding(_ more: [any ToolDefinition]) -> ToolRegistry {
        ToolRegistry(definitions + more)
    }
}

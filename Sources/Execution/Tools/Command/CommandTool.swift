import Planning
import WorkflowSpec

/// `command`: any program, with per-item or per-batch argument templates, so users can
/// plug in a tool synthset does not know.
public struct CommandTool: RunnableTool {
    public init() {}
    public var uses: ToolKind { .command }
    public var summary: String { "Any program, run once per item or per batch with argument templates ({input}, {output}, {seed}, ...)." }
    public var output: ToolKind.Output { .file }
    public var device: ToolKind.Device { .cpu }
    public var acceptsFrom: Bool { true }
    public var acceptedInputs: Set<ToolKind.Output> { [.image, .video, .labels, .file] }
    public var takesPrompts: Bool { true }
    public var requiresPrompts: Bool { false }
    public var takesSeeds: Bool { true }
    public var requiresSeeds: Bool { false }
    public var defaultMaxBatch: Int? { 32 }
    public var runner: any ToolAdapter { CommandAdapter() }

    public func outputExtension(_ step: Step) -> String { step.command?.outputExtension ?? "bin" }

    public func versions(of step: Step, workflow: Workflow, synthsetVersion: String) -> [String: String] {
        guard let program = step.command?.program else { return [:] }
        return ["command.\(step.id)": program]
    }

    public var keys: [KeySpec] {
        [
            KeySpec("program", help: "A program name looked up in PATH, an absolute path, or a path relative to the manifest.",
                    schema: ["type": "string", "minLength": 1], affectsOutput: true, required: true),
            KeySpec("args", help: "Argument templates, one argument each, never split by a shell: \(StepParser.commandPlaceholders.map { "{\($0)}" }.joined(separator: ", ")).",
                    schema: ["type": "array", "items": ["$ref": "#/$defs/scalar"]], affectsOutput: true),
            KeySpec("per", help: "'item': one run per item; 'batch': one run per batch with {batch_file}.",
                    schema: ["enum": ["item", "batch"]], defaultValue: "item", affectsOutput: true),
            KeySpec("output", help: "The extension of each item's output file (jpg, mp4, json, ...).",
                    schema: ["type": "string", "pattern": "^[A-Za-z0-9]{1,8}$"], defaultValue: "bin", affectsOutput: true),
            KeySpec("env", help: "Extra environment variables for the program.", schema: ["$ref": "#/$defs/environment"]),
            KeySpec("gpu", help: "Whether the program needs a GPU (it is then given one through CUDA_VISIBLE_DEVICES).",
                    schema: ["type": "boolean"], defaultValue: false),
            KeySpec("vram_gb", help: "VRAM the program needs, checked against the GPU.", schema: ["type": "number", "exclusiveMinimum": 0]),
        ]
    }

    public func parseKeys(_ parser: StepParser, into step: inout Step) { step.command = parser.parseCommand(step) }

    public func addSignatureMembers(of step: Step, to signature: inout ItemSignature, params: inout [String: OptionValue]) {
        guard let command = step.command else { return }
        signature.command = [command.program] + command.arguments
        params["per"] = .string(command.granularity.rawValue)
        params["output"] = .string(command.outputExtension)
        if let hash = command.programSHA256 { params["program_sha256"] = .string(hash) }
    }

    public func expandItems(_ expander: inout ItemExpander) -> [PlannedItem] { expander.command() }

    public func groupItems(_ items: [PlannedItem], of step: Step) -> [[Int]] {
        step.command?.granularity == .batch ? [Array(items.indices)] : items.indices.map { [$0] }
    }

    /// A user's program: no model load is counted, and its VRAM need is what the step says.
    public var loadsModel: Bool { false }

    public func vramNeed(_ step: Step, catalog: Catalog) -> Double? { step.command?.vramGB }
}

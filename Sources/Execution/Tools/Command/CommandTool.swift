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

    public func versions(of step: Step, workflow: Workflow, synthsetVersion: String) async -> [String: String] {
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

    /// The program with its argument templates filled in: per item (a task has one), or
    /// per batch with `{batch_file}`, a JSON list of `{"id", "output", "inputs", "seed",
    /// "prompt", "negative_prompt"}`. Prompts reach the program only through files
    /// (`{prompt_file}`, `{negative_file}`), never as arguments. It runs in the manifest's
    /// folder.
    public func invocation(for items: [PlannedItem], context: InvocationContext) -> TaskInvocation {
        let workflow = context.workflow
        guard let command = context.step.command else { return TaskInvocation() }
        var files: [InvocationFile] = []
        let inputs: (PlannedItem) -> [InvocationPath] = { item in item.inputs.compactMap(context.inputPath).map(InvocationPath.workspace) }
        var values: [String: InvocationArgument] = ["output_dir": .path(.scratch("")), "workspace": .path(.workspace("")), "index": "0"]
        if command.granularity == .batch {
            let entries: [InvocationContent] = items.map { item in
                var members: [(String, InvocationContent)] = [("id", .string(item.id)), ("inputs", .array(inputs(item).map(InvocationContent.path))),
                                                              ("output", .path(.scratch(item.scratchName)))]
                if let negative = item.negative { members.append(("negative_prompt", .string(negative))) }
                if let prompt = item.prompt { members.append(("prompt", .string(prompt))) }
                if let seed = item.seed { members.append(("seed", .int(seed))) }
                return .object(members.map { InvocationContent.Member($0.0, $0.1) })
            }
            files.append(InvocationFile(path: "batch.json", format: .json, content: .array(entries)))
            values["batch_file"] = .path(.scratch("batch.json"))
        } else if let item = items.first {
            let stem = String(item.id.prefix(16))
            values["item_id"] = .text(item.id)
            values["output"] = .path(.scratch(item.scratchName))
            let paths = inputs(item)
            values["input"] = paths.first.map(InvocationArgument.path) ?? ""
            values["inputs"] = .pieces(paths.enumerated().flatMap { index, path in index == 0 ? [.path(path)] : [",", .path(path)] })
            values["seed"] = .text(item.seed.map(String.init) ?? "")
            // The prompt files are written only for the arguments that name them.
            let named = Set(command.arguments.flatMap { (try? PromptTemplate.placeholders(in: $0).get()) ?? [] })
            if let prompt = item.prompt, named.contains("prompt_file") {
                files.append(InvocationFile(path: "\(stem).prompt.txt", format: .text, content: .string(prompt)))
                values["prompt_file"] = .path(.scratch("\(stem).prompt.txt"))
            }
            if named.contains("negative_file") {
                files.append(InvocationFile(path: "\(stem).negative.txt", format: .text, content: .string(item.negative ?? "")))
                values["negative_file"] = .path(.scratch("\(stem).negative.txt"))
            }
        }
        let arguments = command.arguments.map { template in
            InvocationArgument.pieces(PromptTemplate.map(template, text: InvocationArgument.text, value: { values[$0] }))
        }
        return TaskInvocation(program: CommandAdapter.resolve(command.program, workflow: workflow), arguments: arguments,
                              environment: command.environment, workingDirectory: .absolute(workflow.directory.path), files: files,
                              outputs: items.map { InvocationOutput(item: $0.id, file: .scratch($0.scratchName)) })
    }

    /// A user's program: no model load is counted, and its VRAM need is what the step says.
    public var loadsModel: Bool { false }

    public func vramNeed(_ step: Step, catalog: Catalog) -> Double? { step.command?.vramGB }
}

import Foundation
import Planning
import WorkflowSpec

/// `cosmos-predict2.5/text2world|image2world|video2world`: one run per task of
/// `python examples/inference.py` on a JSONL file whose samples carry their own seed and
/// negative prompt (reference/cosmos-predict2.md §5).
///
///     <python> examples/inference.py -i <scratch>/samples.jsonl -o <scratch>/out
///         --inference-type video2world --model 2B/post-trained [--disable_guardrails ...]
///     torchrun --nproc_per_node=N examples/inference.py ...                (gpus: N > 1)
///
/// One line per item: `{"name": <id16>, "prompt", "negative_prompt", "seed",
/// "input_path" (absolute), "guidance", "num_steps", "num_output_frames"}`. Outputs are
/// `<out>/<name>.mp4`, each kept with its `<name>.json` beside the item.
public struct CosmosPredict25Adapter: ToolAdapter {
    public static let family = "cosmos-predict2.5"
    /// Options that are setup flags of the CLI (bare flags when true).
    static let setupFlags: Set<String> = ["disable_guardrails", "offload_guardrail_models", "offload_diffusion_model",
                                          "offload_tokenizer", "offload_text_encoder"]
    /// Options that are per-sample fields of the JSONL.
    static let sampleFields = ["guidance", "num_steps", "num_output_frames"]

    var collector = BatchCollector()

    public init() {}

    init(pollInterval: Duration) {
        collector = BatchCollector(pollInterval: pollInterval)
    }

    /// `--inference-type` of a step, from its definition.
    static func inferenceType(_ step: Step) -> String? {
        (step.tool as? CosmosPredict25Tool)?.inferenceType
    }

    public func preflight(step: Step, workflow: Workflow) -> [Diagnostic] {
        guard Self.inferenceType(step) != nil else { return [] }
        guard let root = ToolSupport.root(Self.family, workflow: workflow) else {
            return [Diagnostic(.error, "step '\(step.id)' uses \(step.uses.rawValue) but tools.\(Self.family).root is not set",
                               hint: "add 'tools: { \(Self.family): { root: ~/cosmos-predict2.5, python: python3 } }' pointing at your checkout",
                               at: workflow.location(of: "steps.\(step.id).uses"))]
        }
        var diagnostics: [Diagnostic] = []
        let at = workflow.location(of: "tools.\(Self.family)")
        let script = root.appendingPathComponent("examples/inference.py")
        if !ToolSupport.exists(script) {
            diagnostics.append(Diagnostic(.error, "step '\(step.id)': \(script.path) does not exist",
                                          hint: "tools.\(Self.family).root must be a cosmos-predict2.5 checkout (git clone https://github.com/nvidia-cosmos/cosmos-predict2.5)",
                                          at: at))
        }
        let python = ToolSupport.python(Self.family, workflow: workflow)
        if ToolSupport.findExecutable(python, environment: workflow.tools[Self.family]?.environment ?? [:]) == nil {
            diagnostics.append(Diagnostic(.error, "step '\(step.id)': the Python interpreter '\(python)' for \(Self.family) was not found",
                                          hint: "set tools.\(Self.family).python to the interpreter of the environment Cosmos-Predict2.5 is installed in",
                                          at: at))
        }
        return diagnostics
    }

    static func command(step: Step, workflow: Workflow, python: String, samples: URL, outputDirectory: URL) -> [String] {
        let gpus = step.gpus ?? 1
        var arguments = gpus > 1
            ? [ToolSupport.torchrun(python: python), "--nproc_per_node=\(gpus)", "examples/inference.py"]
            : [python, "examples/inference.py"]
        arguments += ["-i", samples.path, "-o", outputDirectory.path,
                      "--inference-type", inferenceType(step)!,
                      "--model", step.model ?? step.tool.defaultModel ?? "2B/post-trained"]
        arguments += ToolSupport.flags(step, workflow: workflow, only: setupFlags)
        return arguments
    }

    /// One JSONL sample (keys sorted so the file is deterministic).
    static func sample(_ item: PlannedItem, step: Step, input: URL?) -> [String: Any] {
        var sample: [String: Any] = ["name": item.stem, "prompt": item.prompt ?? "", "seed": item.seed ?? 0]
        if let negative = item.negative { sample["negative_prompt"] = negative }
        if let input { sample["input_path"] = input.path }
        for field in sampleFields {
            switch step.options[field] {
            case .int(let value)?: sample[field] = value
            case .number(let value)?: sample[field] = value
            default: break
            }
        }
        // [UNVERIFIED type] the reference lists a per-sample `resolution`; sent only when the step sets one.
        if let resolution = step.resolution { sample["resolution"] = String(resolution) }
        return sample
    }

    public func run(_ invocation: Invocation, produced: @Sendable (ProducedOutput) async -> Void) async throws -> InvocationOutcome {
        let step = invocation.step, workflow = invocation.workflow
        guard let root = ToolSupport.root(Self.family, workflow: workflow) else {
            return InvocationOutcome(failures: Dictionary(uniqueKeysWithValues: invocation.items.map {
                ($0.id, "tools.\(Self.family).root is not set") }))
        }
        let python = ToolSupport.python(Self.family, workflow: workflow)
        let outputDirectory = invocation.scratch.appendingPathComponent("out", isDirectory: true)
        try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
        var failures: [String: String] = [:]
        var expected: [ExpectedOutput] = []
        var lines: [String] = []
        for item in invocation.items {
            var input: URL?
            if step.tool.requiresInput {
                guard let inputID = item.inputs.first, let url = invocation.inputs[inputID] else {
                    failures[item.id] = "its input item is not available"
                    continue
                }
                input = url
            }
            let data = try JSONSerialization.data(withJSONObject: Self.sample(item, step: step, input: input),
                                                  options: [.sortedKeys, .withoutEscapingSlashes])
            lines.append(String(decoding: data, as: UTF8.self))
            expected.append(ExpectedOutput(
                item: item, file: outputDirectory.appendingPathComponent("\(item.stem).mp4"),
                companions: [(outputDirectory.appendingPathComponent("\(item.stem).json"), item.companionPath("json"))]))
        }
        guard !expected.isEmpty else { return InvocationOutcome(failures: failures) }
        let samples = invocation.scratch.appendingPathComponent("samples.jsonl")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: samples)
        let arguments = Self.command(step: step, workflow: workflow, python: python, samples: samples, outputDirectory: outputDirectory)
        let spec = ProcessSpec(executable: arguments[0], arguments: Array(arguments.dropFirst()),
                               environment: CosmosPredict2Adapter.environment(invocation, family: Self.family,
                                                                              multiGPU: (step.gpus ?? 1) > 1, root: root),
                               workingDirectory: root, logFile: invocation.logFile)
        ToolSupport.log("synthset: running \(expected.count) sample(s): \(ToolSupport.commandLine(arguments))", to: invocation.logFile)
        let result = try await collector.run(spec, expected: expected, gracePeriod: invocation.gracePeriod, produced: produced)
        for output in expected where !result.handedOver.contains(output.item.id) {
            failures[output.item.id] = CosmosPredict2Adapter.missingReason(output.file.lastPathComponent, outcome: result.outcome)
        }
        var exitCode: Int32?
        if case .exited(let code) = result.outcome.status { exitCode = code }
        return InvocationOutcome(failures: failures, exitCode: exitCode)
    }
}

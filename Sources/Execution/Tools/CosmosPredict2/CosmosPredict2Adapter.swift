import Foundation
import Planning
import WorkflowSpec

/// `cosmos-predict2/text2image`, `/video2world` and `/text2world`: one run of
/// `python -m examples.<script>` per (seed, negative prompt) with a `--batch_input_json`
/// of the task's still-missing items (reference/cosmos-predict2.md §1).
///
/// Command line (cwd = `tools.cosmos-predict2.root`):
///
///     <python> -m examples.text2image --model_size 2B --seed 3 [--negative_prompt N]
///         --batch_input_json <scratch>/batch-1.json --save_path <scratch>/run-1.jpg [option flags]
///     <python> -m examples.video2world --model_size 14B --resolution 720 --fps 16 --seed 0 ...
///     torchrun --nproc_per_node=N examples/video2world.py ... --num_gpus N     (gpus: N > 1)
///
/// Batch files hold absolute paths (the tool resolves relative ones against its CWD):
/// text2image `{prompt, output_image}`, video2world `{input_video, prompt, output_video}`,
/// text2world `{prompt, output_video}`. The tool skips guardrail-blocked items and still
/// exits 0, so every expected file is checked; each one found is handed over with its
/// `<stem>.txt` prompt sidecar, the rest fail with the reason.
public struct CosmosPredict2Adapter: ToolAdapter {
    public static let family = "cosmos-predict2"
    /// Input extensions the tool and its prompt refiner both accept (case-sensitive).
    public static let inputExtensions: Set<String> = ["jpg", "png", "mp4"]

    var collector = BatchCollector()

    public init() {}

    init(pollInterval: Duration) {
        collector = BatchCollector(pollInterval: pollInterval)
    }

    /// The example script a step runs (`examples/<script>.py`), from its definition.
    static func script(_ step: Step) -> String? {
        if step.tool is CosmosBestOfNTool { return "video2world_bestofn" }
        return (step.tool as? CosmosPredict2Tool)?.script
    }

    public func preflight(step: Step, workflow: Workflow) -> [Diagnostic] {
        Self.checkInstallation(step: step, workflow: workflow)
    }

    /// The checkout, its example script and the interpreter must exist before GPU time is spent.
    static func checkInstallation(step: Step, workflow: Workflow) -> [Diagnostic] {
        guard let script = script(step) else { return [] }
        let at = workflow.location(of: "tools.\(family)")
        guard let root = ToolSupport.root(family, workflow: workflow) else {
            return [Diagnostic(.error, "step '\(step.id)' uses \(step.uses.rawValue) but tools.\(family).root is not set",
                               hint: "add 'tools: { \(family): { root: ~/cosmos-predict2, python: python3 } }' pointing at your checkout",
                               at: workflow.location(of: "steps.\(step.id).uses"))]
        }
        var diagnostics: [Diagnostic] = []
        let scriptFile = root.appendingPathComponent("examples/\(script).py")
        if !ToolSupport.exists(scriptFile) {
            diagnostics.append(Diagnostic(.error, "step '\(step.id)': \(scriptFile.path) does not exist",
                                          hint: "tools.\(family).root must be a cosmos-predict2 checkout (git clone https://github.com/nvidia-cosmos/cosmos-predict2)",
                                          at: at))
        }
        let python = ToolSupport.python(family, workflow: workflow)
        let environment = workflow.tools[family]?.environment ?? [:]
        if ToolSupport.findExecutable(python, environment: environment) == nil {
            diagnostics.append(Diagnostic(.error, "step '\(step.id)': the Python interpreter '\(python)' for \(family) was not found",
                                          hint: "set tools.\(family).python to the interpreter of the environment Cosmos is installed in",
                                          at: at))
        }
        return diagnostics
    }

    /// The program and arguments of one batch run.
    static func command(step: Step, workflow: Workflow, python: String, seed: Int, negative: String?,
                        batchFile: URL, savePath: URL) -> [String] {
        let script = script(step)!
        let gpus = step.gpus ?? 1
        let multiGPU = gpus > 1 && step.tool.multiGPU  // text2image has no --num_gpus
        var arguments = multiGPU
            ? [ToolSupport.torchrun(python: python), "--nproc_per_node=\(gpus)", "examples/\(script).py"]
            : [python, "-m", "examples.\(script)"]
        arguments += ["--model_size", step.model ?? step.tool.defaultModel ?? "2B"]
        if !step.tool.resolutions.isEmpty {
            let video = TimingResolver.videoSettings(step)
            arguments += ["--resolution", String(video.resolution), "--fps", String(video.fps)]
        }
        arguments += ["--seed", String(seed)]
        if let negative { arguments += ["--negative_prompt", negative] }
        arguments += ["--batch_input_json", batchFile.path, "--save_path", savePath.path]
        arguments += ToolSupport.flags(step, workflow: workflow)
        if multiGPU { arguments += ["--num_gpus", String(gpus)] }
        return arguments
    }

    /// The documented batch entry of one item.
    static func batchEntry(_ tool: any ToolDefinition, prompt: String, input: URL?, output: URL) -> [String: String] {
        if tool.output == .image { return ["prompt": prompt, "output_image": output.path] }
        if tool.requiresInput { return ["input_video": input?.path ?? "", "prompt": prompt, "output_video": output.path] }
        return ["prompt": prompt, "output_video": output.path]
    }

    /// The environment of a run: the tool's `env` (e.g. `COSMOS_PREDICT2_ARGS`) and the GPU pinning.
    static func environment(_ invocation: Invocation, family: String, multiGPU: Bool, root: URL) -> [String: String] {
        var environment = invocation.workflow.tools[family]?.environment ?? [:]
        environment.merge(invocation.gpuEnvironment) { _, gpu in gpu }
        if multiGPU {
            // `torchrun examples/x.py` puts examples/ first on sys.path, not the checkout.
            let existing = environment["PYTHONPATH"] ?? ProcessInfo.processInfo.environment["PYTHONPATH"]
            environment["PYTHONPATH"] = [root.path, existing].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ":")
        }
        return environment
    }

    public func run(_ invocation: Invocation, produced: @Sendable (ProducedOutput) async -> Void) async throws -> InvocationOutcome {
        let step = invocation.step, workflow = invocation.workflow
        guard let root = ToolSupport.root(Self.family, workflow: workflow) else {
            return InvocationOutcome(failures: Dictionary(uniqueKeysWithValues: invocation.items.map {
                ($0.id, "tools.\(Self.family).root is not set") }))
        }
        let python = ToolSupport.python(Self.family, workflow: workflow)
        let multiGPU = (step.gpus ?? 1) > 1 && step.tool.multiGPU
        var failures: [String: String] = [:]
        var lastExit: Int32?

        // One run per (seed, negative prompt): the tool takes one of each per invocation.
        let groups = ToolSupport.orderedGroups(invocation.items) { "\($0.seed ?? 0)\u{1}\($0.negative ?? "\u{2}")" }
        for (index, group) in groups.enumerated() {
            if Task.isCancelled { throw CancellationError() }
            let seed = group[0].seed ?? invocation.task.seed ?? 0
            let ext = step.tool.output == .image ? "jpg" : "mp4"
            var expected: [ExpectedOutput] = []
            var entries: [[String: String]] = []
            for item in group {
                var input: URL?
                if step.tool.requiresInput {
                    guard let inputID = item.inputs.first, let url = invocation.inputs[inputID] else {
                        failures[item.id] = "its input item is not available"
                        continue
                    }
                    guard Self.inputExtensions.contains(url.pathExtension) else {
                        failures[item.id] = "input \(url.lastPathComponent) has extension '.\(url.pathExtension)', but video2world takes only .jpg, .png or .mp4 (.webp is rejected; .jpeg/.JPG crash the prompt refiner)"
                        continue
                    }
                    input = url
                }
                let output = invocation.scratch.appendingPathComponent(item.scratchName)
                let sidecar = invocation.scratch.appendingPathComponent("\(item.stem).txt")
                expected.append(ExpectedOutput(item: item, file: output, companions: [(sidecar, item.companionPath("txt"))]))
                entries.append(Self.batchEntry(step.tool, prompt: item.prompt ?? "", input: input, output: output))
            }
            if expected.isEmpty { continue }
            let batchFile = invocation.scratch.appendingPathComponent("batch-\(index + 1).json")
            try JSONSerialization.data(withJSONObject: entries, options: [.prettyPrinted, .sortedKeys]).write(to: batchFile)
            let savePath = invocation.scratch.appendingPathComponent("run-\(index + 1).\(ext)")
            let arguments = Self.command(step: step, workflow: workflow, python: python, seed: seed,
                                         negative: group[0].negative, batchFile: batchFile, savePath: savePath)
            let spec = ProcessSpec(executable: arguments[0], arguments: Array(arguments.dropFirst()),
                                   environment: Self.environment(invocation, family: Self.family, multiGPU: multiGPU, root: root),
                                   workingDirectory: root, logFile: invocation.logFile)
            ToolSupport.log("synthset: running \(expected.count) item(s) with seed \(seed): \(ToolSupport.commandLine(arguments))", to: invocation.logFile)
            let result = try await collector.run(spec, expected: expected, gracePeriod: invocation.gracePeriod, produced: produced)
            if case .exited(let code) = result.outcome.status { lastExit = code }
            // The config YAML is written to <save_path stem>.yaml: keep it beside the log.
            let config = savePath.deletingPathExtension().appendingPathExtension("yaml")
            if ToolSupport.exists(config) {
                let kept = ToolSupport.provenanceURL(logFile: invocation.logFile, suffix: groups.count > 1 ? "config-\(index + 1).yaml" : "config.yaml")
                try? FileManager.default.removeItem(at: kept)
                try? FileManager.default.copyItem(at: config, to: kept)
            }
            for output in expected where !result.handedOver.contains(output.item.id) {
                failures[output.item.id] = Self.missingReason(output.file.lastPathComponent, outcome: result.outcome)
            }
        }
        return InvocationOutcome(failures: failures, exitCode: lastExit)
    }

    static func missingReason(_ name: String, outcome: ProcessOutcome) -> String {
        outcome.succeeded
            ? "skipped by the tool (guardrail or input check?): \(name) was not written although it exited 0 — see log"
            : "the tool ended with \(outcome.status) before writing \(name) — see log"
    }
}

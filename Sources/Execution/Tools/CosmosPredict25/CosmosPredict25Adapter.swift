import Foundation
import Planning
import WorkflowSpec

/// Runs `cosmos-predict2.5/text2world|image2world|video2world` tasks as planned
/// (``CosmosPredict25Tool/invocation(for:context:)``, reference/cosmos-predict2.md §5):
/// outputs `<out>/<name>.mp4` are handed over with their `<name>.json` as they appear.
public struct CosmosPredict25Adapter: ToolAdapter {
    public static let family = "cosmos-predict2.5"
    /// Options that are setup flags of the CLI (bare flags when true).
    static let setupFlags: Set<String> = ["disable_guardrails", "offload_guardrail_models", "offload_diffusion_model",
                                          "offload_tokenizer", "offload_text_encoder"]
    /// Options that are per-sample fields of the JSONL.
    static let sampleFields = ["guidance", "num_steps"]

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

    public func run(_ invocation: Invocation, produced: @Sendable (ProducedOutput) async -> Void) async throws -> InvocationOutcome {
        try await PlannedProcess(collector: collector).runAndCollect(invocation, produced: produced) { output, outcome in
            CosmosPredict2Adapter.missingReason(output.file.lastPathComponent, outcome: outcome)
        }
    }
}

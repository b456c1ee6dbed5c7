import Foundation
import Planning
import WorkflowSpec

/// Runs `cosmos-predict2/text2image`, `/video2world` and `/text2world` tasks as planned
/// (``CosmosPredict2Tool/invocation(for:context:)``: one `examples/<script>.py` run per
/// seed and negative prompt, reference/cosmos-predict2.md §1). The tool skips
/// guardrail-blocked items and still exits 0, so every expected file is checked; each one
/// found is handed over with its `<stem>.txt` prompt sidecar as soon as it is complete,
/// the rest fail with the reason (for the resident worker, the reason it answered).
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

    /// Runs the planned `examples/<script>.py` (or, for `runner: resident`, synthset's
    /// worker, given its per-item limit) and collects each image or clip with its
    /// prompt sidecar as it appears; keeps the run's config dump beside the log.
    public func run(_ invocation: Invocation, produced: @Sendable (ProducedOutput) async -> Void) async throws -> InvocationOutcome {
        var invocation = invocation
        let answers = ResidentAnswers(invocation)
        if answers != nil {
            let configured = invocation.planned.environment["SYNTHSET_ITEM_TIMEOUT"].flatMap(Double.init)
            if configured == nil, let limit = CosmosResidentWorker.itemTimeout(invocation.task) {
                invocation.planned.environment["SYNTHSET_ITEM_TIMEOUT"] = String(limit)
            }
            // Ctrl-C lets the worker finish the item in hand: up to the per-item limit
            // (a second Ctrl-C still quits at once).
            if let limit = configured ?? CosmosResidentWorker.itemTimeout(invocation.task).map(Double.init) {
                invocation.gracePeriod = max(invocation.gracePeriod, .seconds(limit + 5))
            }
        }
        let outcome = try await PlannedProcess(collector: collector).runAndCollect(invocation, produced: produced) { output, outcome in
            answers?.reason(for: output.file, outcome: outcome) ?? Self.missingReason(output.file.lastPathComponent, outcome: outcome)
        }
        // The config YAML is written to <save_path stem>.yaml: keep it beside the log.
        if let index = invocation.planned.arguments.firstIndex(of: "--save_path"), index + 1 < invocation.planned.arguments.count {
            let savePath = URL(fileURLWithPath: invocation.planned.arguments[index + 1].resolved(scratch: invocation.scratch, workspace: invocation.workspace.root))
            let config = savePath.deletingPathExtension().appendingPathExtension("yaml")
            if ToolSupport.exists(config) {
                let kept = ToolSupport.provenanceURL(logFile: invocation.logFile, suffix: "config.yaml")
                try? FileManager.default.removeItem(at: kept)
                try? FileManager.default.copyItem(at: config, to: kept)
            }
        }
        return outcome
    }

    /// What a resident worker answered (``CosmosResidentWorker``), read after it ended:
    /// an item's own error, or the worker's refusal of the checkout.
    struct ResidentAnswers {
        let file: URL

        /// Nil unless the invocation ran the resident worker.
        init?(_ invocation: Invocation) {
            guard invocation.planned.files.contains(where: { $0.path == CosmosResidentWorker.fileName }) else { return nil }
            let file = invocation.scratch.appendingPathComponent(CosmosResidentWorker.answersFile)
            // Answers of an earlier attempt in the same scratch folder are not this one's.
            try? FileManager.default.removeItem(at: file)
            self.file = file
        }

        func reason(for output: URL, outcome: ProcessOutcome) -> String? {
            guard let data = FileManager.default.contents(atPath: file.path) else { return nil }
            var fatal: String?
            for line in data.split(separator: UInt8(ascii: "\n")) {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else { continue }
                if let message = object["fatal"] as? String { fatal = message }
                if object["output"] as? String == output.path, object["ok"] as? Bool == false, let error = object["error"] as? String {
                    return error
                }
            }
            if let fatal { return fatal }
            return outcome.succeeded ? nil : "the resident worker ended with \(outcome.status) before answering for \(output.lastPathComponent) — see log"
        }
    }

    static func missingReason(_ name: String, outcome: ProcessOutcome) -> String {
        outcome.succeeded
            ? "skipped by the tool (guardrail or input check?): \(name) was not written although it exited 0 — see log"
            : "the tool ended with \(outcome.status) before writing \(name) — see log"
    }
}

import Foundation
import Planning
import WorkflowSpec
import WorkspaceStore

/// The one service the CLI verbs call to turn a file into a validated workflow and plan.
public enum WorkflowService {
    public struct Outcome: Sendable {
        public var workflow: Workflow?
        public var plan: Plan?
        public var diagnostics: [Diagnostic]
    }

    /// Loads, validates and plans; `plan` is nil when anything is an error.
    public static func loadAndPlan(file: String, options: PlanOptions) -> Outcome {
        let loaded = WorkflowLoader().load(file: file)
        guard let workflow = loaded.workflow else {
            return Outcome(workflow: nil, plan: nil, diagnostics: loaded.diagnostics)
        }
        let planned = Planner(options: options).plan(workflow)
        return Outcome(workflow: workflow, plan: planned.plan, diagnostics: loaded.diagnostics + planned.diagnostics)
    }

    /// The workspace for a workflow: `--workspace` when given, else `.synthset/<name>/`.
    public static func workspace(for workflow: Workflow, override: String?) -> Workspace {
        if let override { return Workspace(root: URL(fileURLWithPath: (override as NSString).expandingTildeInPath)) }
        return Workspace(root: Workspace.defaultRoot(for: workflow))
    }

    /// Median timings measured in the workflow's workspace, keyed for the planner. Empty
    /// when there is no workspace or store yet; never creates one.
    public static func measuredTimings(file: String, workspace override: String?) -> [String: MeasuredTiming] {
        guard let workflow = WorkflowLoader().load(file: file).workflow else { return [:] }
        let workspace = workspace(for: workflow, override: override)
        guard let store = try? CheckpointStore.openForReading(path: workspace.store) else { return [:] }
        var measured: [String: MeasuredTiming] = [:]
        let gpu = workflow.hardware?.gpu
        for step in workflow.steps {
            let gpuKey = step.device == .gpu ? gpu : nil  // a `command` step with `gpu: true` runs on the GPU
            guard let timing = try? store.measuredTimings(tool: step.uses.rawValue, model: step.model, gpu: gpuKey) else { continue }
            measured[MeasuredTiming.key(uses: step.uses, model: step.model, gpu: gpuKey)] = timing
        }
        return measured
    }
}

import Planning
import WorkflowSpec

/// A tool the executor can run: its definition (``ToolDefinition``), its planning
/// (``PlanningTool``) and the adapter that runs one invocation of it.
public protocol RunnableTool: PlanningTool {
    /// Runs the tool's invocations.
    var runner: any ToolAdapter { get }

    /// What the lock file records of the installed tool a step runs, by name: a
    /// checkout's commit and interpreter, a program's version. The default: the checkout
    /// under `tools.<family>`, or synthset's own version for tools built into synthset.
    /// Asynchronous: probes run programs (`git`, `ffmpeg -version`) through ``ProcessRunner``.
    func versions(of step: Step, workflow: Workflow, synthsetVersion: String) async -> [String: String]

    /// What `synthset doctor` checks for a step of this tool: its installation, the
    /// scripts the plan calls, the interpreter's imports, the checkpoints the step needs
    /// (see ``DoctorCheck`` for the building blocks). Checks are told apart by name, so
    /// steps of one family may return the same ones. The default: none.
    func doctorChecks(for step: Step, context: DoctorContext) -> [DoctorCheck]
}

extension RunnableTool {
    public func doctorChecks(for step: Step, context: DoctorContext) -> [DoctorCheck] { [] }

    public func versions(of step: Step, workflow: Workflow, synthsetVersion: String) async -> [String: String] {
        guard let family else { return ["synthset": synthsetVersion] }
        return await ToolVersions.checkout(family, workflow: workflow)
    }
}

extension Step {
    /// The step's runner, nil when the definition is not a ``RunnableTool``.
    public var runner: (any ToolAdapter)? { (tool as? any RunnableTool)?.runner }
}

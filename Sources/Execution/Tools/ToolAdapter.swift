import Foundation
import Planning
import WorkflowSpec
import WorkspaceStore

/// One invocation of a tool for the still-missing items of a task.
public struct Invocation: Sendable {
    public var workflow: Workflow
    public var step: Step
    public var task: PlannedTask
    /// What to run, as planned for these items (``PlanningTool/invocation(for:context:)``).
    public var planned: TaskInvocation
    /// Only the items still to produce (a resumed batch is smaller).
    public var items: [PlannedItem]
    /// Final paths of the input items, by id.
    public var inputs: InputLocations
    public var workspace: Workspace
    /// Scratch folder for this attempt; outputs are written here first.
    public var scratch: URL
    public var logFile: URL
    /// GPU indices assigned to this invocation (empty for CPU tasks).
    public var gpus: [Int]
    public var attempt: Int
    public var gracePeriod: Duration
    /// The run's checkpoint store, for adapters that keep their own records (uploads).
    /// Nil when an adapter is driven outside a run.
    public var store: CheckpointStore? = nil
    /// Called once the invocation's tool process has ended, before its outputs are
    /// checked and moved into place: the run frees the task's slot then, so the next
    /// tool starts while this one's outputs are committed. Adapters that run the
    /// planned process through ``PlannedProcess`` get this for free; one that still
    /// works on its slot after its process (a second process, GPU work of its own)
    /// leaves it alone, and its slot frees when it returns.
    public var toolEnded: (@Sendable () -> Void)? = nil
    /// The attempt's CPU slot, when it has yet to take it: an adapter that says it
    /// ``ToolAdapter/waitsForItsSlot`` waits on it just before its tool starts (what
    /// ``PlannedProcess`` does); for any other the run has taken it before the adapter runs.
    public var slot: SlotTicket? = nil

    /// The environment that pins a GPU task to its GPUs: the devices of its slots among
    /// those the user's own `CUDA_VISIBLE_DEVICES` lists (``VisibleDevices``).
    public var gpuEnvironment: [String: String] {
        gpus.isEmpty ? [:] : ["CUDA_VISIBLE_DEVICES": VisibleDevices.names(of: gpus).joined(separator: ",")]
    }
}

/// Where an invocation's input items are, found by id when an adapter asks: made for every
/// input up front, an export of 100,000 images built 100,000 URLs it never read (a sixth
/// of the time before it started exporting).
public struct InputLocations: Sendable {
    let workspace: Workspace
    let items: [String: PlannedItem]

    /// The inputs among `items` (the plan's, by id), inside `workspace`.
    public init(workspace: Workspace, items: [String: PlannedItem]) {
        self.workspace = workspace
        self.items = items
    }

    /// The final location of the planned item `id`, nil for an id the plan does not have.
    public subscript(id: String) -> URL? {
        items[id].map { workspace.url($0.path) }
    }
}

/// What an invocation reports besides the outputs it handed over one by one.
public struct InvocationOutcome: Sendable {
    /// Items that could not be produced, with the reason.
    public var failures: [String: String]
    public var exitCode: Int32?
    /// Seconds spent loading models, when the tool says.
    public var loadSeconds: Double?

    public init(failures: [String: String] = [:], exitCode: Int32? = nil, loadSeconds: Double? = nil) {
        self.failures = failures
        self.exitCode = exitCode
        self.loadSeconds = loadSeconds
    }
}

/// Runs one tool. An adapter writes outputs into scratch space and hands each one to
/// `produced` as soon as it is complete, so a finished item is committed even if the
/// rest of the batch is lost. Items it never hands over count as failed.
public protocol ToolAdapter: Sendable {
    /// Problems that make the step impossible to run here (a missing tool), found before
    /// any work starts.
    func preflight(step: Step, workflow: Workflow) async -> [Diagnostic]

    func run(_ invocation: Invocation, produced: @Sendable (ProducedOutput) async -> Void) async throws -> InvocationOutcome

    /// Whether the adapter waits for the invocation's ``Invocation/slot`` itself, right
    /// before its tool starts, so that its preparation overlaps the tool before it.
    var waitsForItsSlot: Bool { get }
}

extension ToolAdapter {
    public var waitsForItsSlot: Bool { false }
}

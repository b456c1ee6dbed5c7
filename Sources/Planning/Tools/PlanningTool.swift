import WorkflowSpec

/// What a tool is to the planner: how a step's items are made and identified, how they
/// are grouped into invocations, and what the estimate counts for them. Refines
/// ``ToolDefinition``; every hook has a default, so a simple tool writes none of them.
public protocol PlanningTool: ToolDefinition {
    /// The step's items, given its upstream items (in `expander`). The default: prompts ×
    /// seeds for prompt-driven tools, one item per input for tools with input, one per
    /// seed otherwise.
    func expandItems(_ expander: inout ItemExpander) -> [PlannedItem]

    /// An upper bound on how many items ``expandItems(_:)`` makes, computed with overflow
    /// checks before anything is allocated (the planner refuses a plan past its limit).
    /// The default, seeds × inputs × prompts, bounds every expansion but frames'.
    func itemCountBound(_ step: Step, workflow: Workflow, upstream: Int) -> PlanBounds.ItemCount

    /// Adds what the tool's own settings contribute to the signature every item of the
    /// step shares. The default puts each generic key (``Step/settings``) that changes
    /// the output into `params`.
    func addSignatureMembers(of step: Step, to signature: inout ItemSignature, params: inout [String: OptionValue])

    /// The step's items grouped into invocations (indices into `items`), before
    /// `max_batch` splits them. The default: one group.
    func groupItems(_ items: [PlannedItem], of step: Step) -> [[Int]]

    /// The most items one invocation of the step takes when it has `items` items and the
    /// plan `gpuSlots` GPUs; nil when groups are never split. The default: `max_batch`
    /// (or the tool's default) for tools that take one, else nil.
    func batchLimit(_ step: Step, items: Int, gpuSlots: Int) -> Int?

    /// For a tool with more than one way to run a step: the names of the step's runner
    /// and of the other one, and the step as the other runner would run it, so the plan
    /// can show both figures. The default: nil (one way).
    func alternativeRunner(_ step: Step) -> RunnerAlternative?

    /// Seconds per item and per model load from the catalog; measured runs and the
    /// manifest's `catalog.timings` are consulted before these. Defaults: the catalog's
    /// `other_timings` and `load_seconds` entries under the tool's `uses:` name.
    func catalogSecondsPerItem(_ step: Step, gpu: String?, resolver: TimingResolver) -> Figure?
    func catalogLoadSeconds(_ step: Step, gpu: String?, resolver: TimingResolver) -> Figure?

    /// Frames per clip and frame rate of the clips the step writes, when the tool
    /// documents them (video generators); nil otherwise.
    func clipFrames(_ step: Step) -> (count: Int, fps: Double)?

    /// Whether each invocation loads a model (counted in the plan's model loads).
    var loadsModel: Bool { get }

    /// VRAM one invocation needs per GPU, when known.
    func vramNeed(_ step: Step, catalog: Catalog) -> Double?

    /// Problems only the whole workflow shows (an upstream step's output format, ...).
    func checkPlan(_ step: Step, workflow: Workflow, diagnostics: inout DiagnosticBag)

    /// What a task of the step runs for `items`: all of the task's, or on resume the ones
    /// still missing (a smaller batch). Pure: the same items give the same invocation.
    /// The default: the tool runs in-process (``TaskInvocation/builtin``).
    func invocation(for items: [PlannedItem], context: InvocationContext) -> TaskInvocation
}

/// The other runner of a step (``PlanningTool/alternativeRunner(_:)``).
public struct RunnerAlternative {
    /// The step's runner and the other one, by name (`resident`, `cli`).
    public var runner: String
    public var alternative: String
    /// The step as the other runner would plan it.
    public var step: Step

    public init(runner: String, alternative: String, step: Step) {
        self.runner = runner
        self.alternative = alternative
        self.step = step
    }
}

/// What an invocation is built from: the workflow, the (planned) step, and the
/// workspace paths of the items a task reads.
public struct InvocationContext: Sendable {
    public let workflow: Workflow
    public let step: Step
    private let items: @Sendable (String) -> PlannedItem?
    /// The plan's items and an item's position among them, when the context is made from
    /// a plan: ``read(_:_:)`` reads them in place instead of copying each item it is asked
    /// about (an export reads 200,000).
    private let planned: [PlannedItem]
    private let position: (@Sendable (String) -> Int?)?

    public init(workflow: Workflow, step: Step, items: @escaping @Sendable (String) -> PlannedItem?) {
        self.workflow = workflow
        self.step = step
        self.items = items
        self.planned = []
        self.position = nil
    }

    /// A context over a plan's items, found by `position`.
    package init(workflow: Workflow, step: Step, planned: [PlannedItem], position: @escaping @Sendable (String) -> Int?) {
        self.workflow = workflow
        self.step = step
        self.items = { id in position(id).map { planned[$0] } }
        self.planned = planned
        self.position = position
    }

    /// A planned item of the workflow (an input, or an input's input), by id.
    public func item(_ id: String) -> PlannedItem? { items(id) }

    /// What `body` reads from a planned item, by id; the item is not copied when the
    /// context was made from a plan.
    public func read<T>(_ id: String, _ body: (PlannedItem) -> T) -> T? {
        guard let position, let index = position(id) else { return position == nil ? items(id).map(body) : nil }
        // Through the buffer, whose elements can be lent in place, where the array's
        // subscript hands out a copy.
        return planned.withUnsafeBufferPointer { body($0[index]) }
    }

    /// The workspace-relative path of an input item.
    public func inputPath(_ id: String) -> String? { read(id) { $0.path } }
}

extension PlanningTool {
    public func expandItems(_ expander: inout ItemExpander) -> [PlannedItem] {
        if takesPrompts { return requiresInput ? expander.fromInputs() : expander.fromPrompts() }
        if acceptsFrom && !expander.step.from.isEmpty { return expander.oneItemPerInput() }
        return expander.onePerSeed()
    }

    public func itemCountBound(_ step: Step, workflow: Workflow, upstream: Int) -> PlanBounds.ItemCount {
        PlanBounds.items(step, workflow: workflow, upstream: upstream)
    }

    public func addSignatureMembers(of step: Step, to signature: inout ItemSignature, params: inout [String: OptionValue]) {
        for key in keys where key.affectsOutput {
            if let value = step.settings[key.name] { params[key.name] = value }
        }
    }

    public func groupItems(_ items: [PlannedItem], of step: Step) -> [[Int]] {
        defaultMaxBatch == nil ? items.indices.map { [$0] } : [Array(items.indices)]
    }

    public func batchLimit(_ step: Step, items: Int, gpuSlots: Int) -> Int? {
        defaultMaxBatch == nil ? nil : step.effectiveMaxBatch
    }

    public func alternativeRunner(_ step: Step) -> RunnerAlternative? { nil }

    public func catalogSecondsPerItem(_ step: Step, gpu: String?, resolver: TimingResolver) -> Figure? {
        resolver.otherTiming(uses: uses.rawValue, model: step.model)
    }

    public func catalogLoadSeconds(_ step: Step, gpu: String?, resolver: TimingResolver) -> Figure? {
        resolver.catalogLoad(uses: uses.rawValue, model: step.model, gpu: gpu)
    }

    public func clipFrames(_ step: Step) -> (count: Int, fps: Double)? { nil }

    public var loadsModel: Bool { device == .gpu }

    public func vramNeed(_ step: Step, catalog: Catalog) -> Double? {
        catalog.vram(uses: uses, model: step.model)?.vramGB
    }

    public func checkPlan(_ step: Step, workflow: Workflow, diagnostics: inout DiagnosticBag) {}

    public func invocation(for items: [PlannedItem], context: InvocationContext) -> TaskInvocation {
        .builtin(uses.rawValue)
    }
}

extension Step {
    /// The step's tool as the planner sees it. Every tool in a registry the planner is
    /// given is a ``PlanningTool``; a definition that is not is a bug in the build.
    public var planning: any PlanningTool {
        guard let tool = tool as? any PlanningTool else {
            preconditionFailure("tool \(uses.rawValue) has no planning definition (a ToolDefinition that is not a PlanningTool)")
        }
        return tool
    }

    /// Items per invocation: `max_batch`, or the tool's default (1 when fixed).
    public var effectiveMaxBatch: Int { maxBatch ?? tool.defaultMaxBatch ?? 1 }
}

import Basics
import Foundation
import WorkflowSpec

/// Settings a plan depends on besides the manifest.
public struct PlanOptions: Sendable {
    /// The default ``maxItems``.
    public static let defaultMaxItems = PlanBounds.defaultMaxItems

    /// `--gpu`: plan for this catalog GPU instead of `hardware.gpu`.
    public var gpu: String?
    /// `--gpus`: GPUs used at once instead of `hardware.count`.
    public var gpuCount: Int?
    /// CPU slots for CPU tasks (the executor's `--jobs`).
    public var cpuSlots: Int
    public var catalog: Catalog
    /// Measured timings from the checkpoint store, keyed by `MeasuredTiming.key`.
    public var measured: [String: MeasuredTiming]
    /// `--max-items`: the most items the plan may hold (default 10 million); past it the
    /// plan is a located error that names the product, before anything is allocated.
    public var maxItems: Int

    public init(gpu: String? = nil, gpuCount: Int? = nil, cpuSlots: Int = 2,
                catalog: Catalog = .builtIn, measured: [String: MeasuredTiming] = [:],
                maxItems: Int = PlanOptions.defaultMaxItems) {
        self.maxItems = maxItems
        self.gpu = gpu
        self.gpuCount = gpuCount
        self.cpuSlots = cpuSlots
        self.catalog = catalog
        self.measured = measured
    }
}

/// Expands a workflow into items and tasks, checks VRAM and estimates cost.
///
/// Pure: reads nothing and writes nothing (prompt files were read by the loader).
public struct Planner: Sendable {
    public var options: PlanOptions

    /// Frames in each clip a video step writes, as the tool documents them; nil when
    /// unknown.
    public static func expectedFrames(of step: Step) -> Int? {
        step.planning.clipFrames(step)?.count
    }

    public init(options: PlanOptions = PlanOptions()) {
        self.options = options
    }

    public struct Result: Sendable {
        public var plan: Plan?
        public var diagnostics: [Diagnostic]
        public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
    }

    public func plan(_ workflow: Workflow) -> Result {
        var bag = DiagnosticBag()
        bag.append(contentsOf: PinnedPrompts.staleness(workflow))
        let hardware = resolveHardware(workflow, &bag)
        var resolver = TimingResolver(catalog: options.catalog, overrides: workflow.catalog, measured: options.measured)
        resolver.workflow = workflow
        guard let order = topologicalSort(nodes: workflow.steps.map(\.id),
                                          predecessors: { workflow.step($0)?.from ?? [] }) else {
            bag.error("steps form a cycle", hint: "run 'synthset validate' for the path", at: workflow.location(of: "steps"))
            return Result(plan: nil, diagnostics: bag.diagnostics)
        }
        var allItems: [PlannedItem] = []
        var stepItems: [String: Range<Int>] = [:]  // step id -> its items in allItems
        var allTasks: [PlannedTask] = []
        var stepPlans: [StepPlan] = []
        var itemIndex = ItemIndex()  // item id -> its index in allItems
        var taskOfItem: [Int] = []  // index in allItems -> index of its task in allTasks
        var taskIDs: [String] = []  // the ids of allTasks
        var duplicate: PlannedItem?
        // A raw-mode label step is planned as two steps (see `Step.plannedStages`).
        for set in workflow.prompts {
            let count = PlanBounds.prompts(set)
            guard count.exceeds(options.maxItems) else { continue }
            bag.error("prompt '\(set.id)' has \(count.product) = \(count.readable) prompts, more than the limit of \(options.maxItems) items",
                      hint: "use 'sample: {count: N}' or fewer values; plan with --max-items N to raise the limit",
                      at: workflow.location(of: "prompts.\(set.id)"))
            return Result(plan: nil, diagnostics: bag.diagnostics)
        }
        for step in order.flatMap({ workflow.step($0)?.plannedStages ?? [] }) {
            step.planning.checkPlan(step, workflow: workflow, diagnostics: &bag)
            let upstreamCount = step.from.compactMap { stepItems[$0]?.count }.reduce(0, +)
            resolver.inputItems[step.id] = upstreamCount
            let bound = step.planning.itemCountBound(step, workflow: workflow, upstream: upstreamCount)
            let (total, overflow) = allItems.count.addingReportingOverflow(bound.value ?? .max)
            if bound.value == nil || overflow || total > options.maxItems {
                bag.error("step '\(step.id)' would make \(bound.readable) items (\(bound.product)), more than the limit of \(options.maxItems) items in a plan",
                          hint: "use fewer seeds, values or inputs (or 'sample:'); plan with --max-items N to raise the limit",
                          at: workflow.location(of: "steps.\(workflow.manifestStepID(step.id))"))
                return Result(plan: nil, diagnostics: bag.diagnostics)
            }
            var items: [PlannedItem]
            do {
                // The expander holds its upstream items as a slice of allItems: it ends
                // here, so that appending to allItems below grows a buffer it alone owns
                // (moving the items) instead of copying every item planned so far.
                var expander = ItemExpander(workflow: workflow, step: step, upstream: Self.upstream(of: step, allItems, stepItems),
                                            upstreamSteps: step.from.compactMap { workflow.step($0) })
                items = expander.expand()
                bag.append(contentsOf: expander.diagnostics)
            }
            if items.isEmpty && bag.errors.isEmpty {
                bag.warning("step '\(step.id)' has no items", hint: "check its inputs", at: workflow.location(of: "steps.\(step.id)"))
            }
            let first = allItems.count, count = items.count
            stepItems[step.id] = first..<(first + count)

            let fit = checkVRAM(step, hardware: hardware, workflow: workflow, &bag)
            let perItem = resolver.secondsPerItem(step, gpu: hardware.gpu)
            let load = resolver.loadSeconds(step, gpu: hardware.gpu)
            if perItem == nil && !items.isEmpty && step.device == .gpu && fit.fit != .misfit {
                bag.warning("no timing for \(step.uses.rawValue) \(step.model ?? "") on \(hardware.gpu ?? "no GPU"); step '\(step.id)' is left out of the estimate",
                            hint: "add catalog.timings to the manifest, or plan with --gpu for a GPU in the catalog",
                            at: workflow.location(of: "steps.\(step.id)"))
            }
            // The step's items are grouped before they join allItems: they read only the
            // items of earlier steps.
            let grouped = allItems.withUnsafeBufferPointer { planned in
                taskOfItem.withUnsafeBufferPointer { taskOfItem in
                    TaskGrouper.group(step: step, items: items,
                                      producers: TaskGrouper.Producers(items: planned, index: itemIndex, taskOfItem: taskOfItem),
                                      taskIDs: taskIDs,
                                      // A step without a per-item figure is left out of
                                      // the estimate whole, loads included.
                                      perItem: perItem?.value ?? 0, load: perItem == nil ? 0 : load.value,
                                      vram: fit.need, gpus: step.gpus ?? 1, gpuSlots: hardware.count)
                }
            }
            let alternative = Self.alternative(step, items: items, perItem: perItem?.value ?? 0,
                                               load: perItem == nil ? 0 : load.value, gpuSlots: hardware.count)
            allItems.appendMoving(&items, leaving: .filler)
            // Which task makes each item; then the ids in plan order (the first repeated
            // id is the one reported).
            taskOfItem += repeatElement(-1, count: count)
            for (offset, members) in grouped.members.enumerated() {
                for index in members { taskOfItem[first + index] = allTasks.count + offset }
            }
            allItems.withUnsafeBufferPointer { planned in
                if let position = itemIndex.insert(first..<planned.count, of: planned), duplicate == nil {
                    duplicate = planned[position]
                }
            }
            let tasks = grouped.tasks
            allTasks += tasks
            taskIDs += tasks.lazy.map(\.id)
            let busy = tasks.reduce(0) { $0 + $1.seconds * Double($1.gpus) }
            let isGPU = step.device == .gpu
            stepPlans.append(StepPlan(
                id: step.id, uses: step.uses, model: step.model, from: step.from,
                device: step.device, items: count, tasks: tasks.count,
                modelLoads: isGPU && step.planning.loadsModel ? tasks.count : 0,
                gpuHours: isGPU ? busy / 3600 : 0, busySeconds: busy,
                vramNeededGB: fit.need, vramFit: fit.fit,
                secondsPerItem: perItem, loadSeconds: step.device == .gpu && perItem != nil ? load : nil,
                alternative: alternative))
        }
        // Steps in file order for display; tasks stay in topological order.
        let fileOrder = Dictionary(uniqueKeysWithValues: workflow.steps.enumerated().map { ($1.id, $0) })
        let stageOrder = Dictionary(stepPlans.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
        stepPlans.sort { (fileOrder[workflow.manifestStepID($0.id)] ?? 0, stageOrder[$0.id]!) < (fileOrder[workflow.manifestStepID($1.id)] ?? 0, stageOrder[$1.id]!) }
        if let item = duplicate {
            bag.error("step '\(item.step)' produces an item identical to another step's (\(item.id.prefix(12)))",
                      hint: "two steps with the same tool, settings and inputs would write the same file; remove one",
                      at: workflow.location(of: "steps.\(item.step)"))
        }
        let gpuHours = stepPlans.reduce(0) { $0 + $1.gpuHours }
        let wall = WallClockScheduler.makespan(tasks: allTasks, gpuSlots: hardware.count, cpuSlots: max(1, hardware.cpuSlots))
        let totals = PlanTotals(items: allItems.count, tasks: allTasks.count,
                                modelLoads: stepPlans.reduce(0) { $0 + $1.modelLoads },
                                gpuHours: gpuHours, wallHours: wall / 3600,
                                cost: hardware.pricePerGPUHour.map { $0 * gpuHours })
        if !(gpuHours.isFinite && wall.isFinite && (totals.cost?.isFinite ?? true)) {
            bag.error("the estimate overflows (GPU-hours \(gpuHours), wall hours \(wall / 3600), cost \(totals.cost.map { "\($0)" } ?? "-"))",
                      hint: "check the manifest's catalog timings and hardware.price_per_gpu_hour for absurd values",
                      at: workflow.location(of: "catalog"))
        }
        let plan = Plan(workflow: workflow.name, manifestSHA256: workflow.sourceHash,
                        catalogVersion: options.catalog.version, hardware: hardware, steps: stepPlans,
                        items: allItems, tasks: allTasks, totals: totals, diagnostics: bag.diagnostics)
        return Result(plan: bag.hasErrors ? nil : plan, diagnostics: bag.diagnostics)
    }

    /// The loads and GPU-hours of the step under its other runner, when it has one: the
    /// same items grouped the other way (``PlanningTool/alternativeRunner(_:)``).
    static func alternative(_ step: Step, items: [PlannedItem], perItem: Double, load: Double, gpuSlots: Int) -> StepPlan.Alternative? {
        guard step.device == .gpu, step.planning.loadsModel, let other = step.planning.alternativeRunner(step) else { return nil }
        let grouped = TaskGrouper.group(step: other.step, items: items, producers: .none, taskIDs: [],
                                        perItem: perItem, load: load, vram: nil, gpus: other.step.gpus ?? 1, gpuSlots: gpuSlots)
        let busy = grouped.tasks.reduce(0) { $0 + $1.seconds * Double(other.step.gpus ?? 1) }
        return StepPlan.Alternative(runner: other.runner, alternative: other.alternative,
                                    modelLoads: grouped.tasks.count, gpuHours: busy / 3600)
    }

    /// Fills in every task's invocation (``PlannedTask/invocation``): what `plan --format
    /// json` shows. Kept apart from ``plan(_:)`` so planning for a table or an estimate
    /// does not build the batch files of a hundred thousand items.
    public static func attachInvocations(to plan: inout Plan, workflow: Workflow) {
        let invocations = PlanInvocations(plan, workflow: workflow)
        let built = Parallel.map(plan.tasks.count) { invocations.invocation(at: $0) }
        for (index, invocation) in built.enumerated() {
            if let invocation { plan.tasks[index].invocation = invocation }
        }
    }

    /// Every item of the workflow, in topological step order, without tasks, hardware
    /// checks or estimates: item expansion depends on the manifest alone, so this agrees
    /// with ``plan(_:)`` whatever the options. Adapters use it to look items up by id.
    public static func expandItems(_ workflow: Workflow) -> [PlannedItem] {
        guard let order = topologicalSort(nodes: workflow.steps.map(\.id),
                                          predecessors: { workflow.step($0)?.from ?? [] }) else { return [] }
        var all: [PlannedItem] = []
        var stepItems: [String: Range<Int>] = [:]
        for step in order.flatMap({ workflow.step($0)?.plannedStages ?? [] }) {
            var expander = ItemExpander(workflow: workflow, step: step, upstream: upstream(of: step, all, stepItems),
                                        upstreamSteps: step.from.compactMap { workflow.step($0) })
            let items = expander.expand()
            stepItems[step.id] = all.count..<(all.count + items.count)
            all += items
        }
        return all
    }

    /// The items of the steps `step` reads from, in `from:` order; a slice of `all` when
    /// there is one such step.
    static func upstream(of step: Step, _ all: [PlannedItem], _ stepItems: [String: Range<Int>]) -> ArraySlice<PlannedItem> {
        let ranges = step.from.compactMap { stepItems[$0] }
        if ranges.count == 1 { return all[ranges[0]] }
        return ArraySlice(ranges.flatMap { all[$0] })
    }

    func resolveHardware(_ workflow: Workflow, _ bag: inout DiagnosticBag) -> PlannedHardware {
        let declared = workflow.hardware
        let gpuID = options.gpu ?? declared?.gpu
        let sameAsDeclared = options.gpu == nil || options.gpu == declared?.gpu
        var hardware = PlannedHardware(gpu: gpuID, name: nil, count: options.gpuCount ?? declared?.count ?? 1,
                                       vramGB: nil, pricePerGPUHour: nil, cpuSlots: options.cpuSlots)
        guard let gpuID else { return hardware }
        let entry = options.catalog.gpu(gpuID)
        let override = workflow.catalog.gpus[gpuID]
        hardware.name = entry?.name
        hardware.vramGB = (sameAsDeclared ? declared?.vramGB : nil) ?? override?.vramGB ?? entry?.vramGB
        hardware.pricePerGPUHour = (sameAsDeclared ? declared?.pricePerGPUHour : nil) ?? override?.pricePerGPUHour ?? entry?.pricePerGPUHour
        if entry == nil && hardware.vramGB == nil {
            let known = options.catalog.gpus.map(\.id)
            var hint = "known GPUs: \(known.joined(separator: ", ")); or set hardware.vram_gb for another GPU"
            if let guess = NodeReader.closest(to: gpuID, in: known) { hint = "did you mean '\(guess)'? " + hint }
            bag.error("unknown GPU '\(gpuID)'", hint: hint,
                      at: options.gpu != nil ? nil : workflow.location(of: "hardware.gpu"))
        }
        return hardware
    }

    func checkVRAM(_ step: Step, hardware: PlannedHardware, workflow: Workflow, _ bag: inout DiagnosticBag) -> (need: Double?, fit: StepPlan.VRAMFit) {
        guard step.device == .gpu else { return (nil, .notApplicable) }
        // The manifest's `catalog.models` overrides what the tool and the catalog say.
        let override = workflow.catalog.models.last { $0.uses == step.uses && ($0.model == nil || $0.model == step.model) }
        let need = override?.vramGB ?? step.planning.vramNeed(step, catalog: options.catalog)
        guard let available = hardware.vramGB else {
            bag.error("step '\(step.id)' runs on a GPU but the workflow declares none",
                      hint: "add 'hardware: { gpu: h100-sxm }' (see 'synthset plan --help' for GPU ids) or pass --gpu",
                      at: workflow.location(of: "steps.\(step.id).uses"))
            return (need, .unknown)
        }
        if let gpus = step.gpus, gpus > hardware.count {
            bag.error("step '\(step.id)' asks for \(gpus) GPUs per invocation but only \(hardware.count) are available",
                      hint: "lower 'gpus:' or raise hardware.count (or pass --gpus \(gpus))",
                      at: workflow.location(of: "steps.\(step.id).gpus"))
        }
        guard let need else {
            if step.planning.loadsModel {
                bag.warning("VRAM need of \(step.uses.rawValue) \(step.model ?? "") is not published; not checked",
                            hint: "make sure it fits \(hardware.gpu ?? "the GPU")'s \(Self.gb(available))",
                            at: workflow.location(of: "steps.\(step.id).model"))
            }
            return (nil, .unknown)
        }
        if need <= available { return (need, .fits) }
        let gpuName = hardware.gpu ?? "the GPU"
        var fixes: [String] = []
        let smaller = step.tool.models.filter { model in
            model != step.model && (options.catalog.vram(uses: step.uses, model: model)?.vramGB).map { $0 <= available } == true
        }
        if let model = smaller.first, let vram = options.catalog.vram(uses: step.uses, model: model)?.vramGB {
            fixes.append("use model \(model) (\(Self.gb(vram)))")
        }
        let bigger = options.catalog.gpus.filter { $0.vramGB >= need }.sorted { $0.pricePerGPUHour < $1.pricePerGPUHour }.prefix(3)
        if !bigger.isEmpty {
            fixes.append("\(fixes.isEmpty ? "" : "or ")plan for a GPU with at least \(Self.gb(need)): \(bigger.map { "\($0.id) (\(Self.gb($0.vramGB)))" }.joined(separator: ", "))")
        }
        bag.error("model \(step.model ?? "?") of \(step.uses.rawValue) in step '\(step.id)' needs \(Self.gb(need)) of VRAM, but \(gpuName) has \(Self.gb(available))",
                  hint: fixes.joined(separator: " ") + (step.tool.output == .video ? "; offloading the guardrail and prompt refiner (options) lowers the need but is not modelled" : ""),
                  at: workflow.location(of: step.model != nil ? "steps.\(step.id).model" : "steps.\(step.id).uses"))
        return (need, .misfit)
    }

    package static func gb(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) GB" : String(format: "%.2f GB", value)
    }
}

import Basics
import Foundation
import Planning
import Synchronization
import WorkflowSpec
import WorkspaceStore

/// Runs a plan's tasks on CPU and GPU slots in DAG order, verifies and records every
/// item, and resumes whatever an earlier run left undone.
///
/// Resume is "re-plan, then run only what is not done": an item counts as done when the
/// store says so and its file is still there with the recorded size. Inside a task only
/// the missing items are handed to the tool.
public struct Executor: Sendable {
    public let workflow: Workflow
    public let plan: Plan
    public let options: RunOptions

    public init(workflow: Workflow, plan: Plan, options: RunOptions) {
        self.workflow = workflow
        self.plan = plan
        self.options = options
    }

    /// Problems that stop the run before anything is written.
    public func preflight() async -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        // Without `--only`, only the steps in scope matter here, not the items; its
        // missing-input check needs what is done (the run reads that again under the lock).
        let steps: Set<String>?
        if options.only.isEmpty {
            let scope = RunScope.stepScope(workflow: workflow, options: options)
            (steps, diagnostics) = (scope.steps, scope.errors)
        } else {
            let done = (try? options.workspace.doneItemsIfAny(of: plan)) ?? []
            let (scope, scopeErrors) = RunScope.make(plan: plan, workflow: workflow, options: options, done: done)
            (steps, diagnostics) = (scope.steps, scopeErrors)
        }
        for step in workflow.steps where steps?.contains(step.id) ?? true {
            guard let adapter = step.runner else {
                diagnostics.append(Diagnostic(.error, "step '\(step.id)' uses \(step.uses.rawValue), which this build of synthset cannot run yet",
                                              hint: "run the other steps with --only, or use a build with this adapter",
                                              at: workflow.location(of: "steps.\(step.id).uses")))
                continue
            }
            diagnostics += await adapter.preflight(step: step, workflow: workflow)
        }
        return diagnostics
    }

    /// Whether the run has GPU tasks to do (read without the lock, as ``preflight()``
    /// does): only then are the machine's GPUs checked against `hardware`.
    func hasGPUWork() -> Bool {
        let gpuItems = Set(plan.tasks.filter { $0.device == .gpu }.flatMap(\.items))
        guard !gpuItems.isEmpty else { return false }
        let done = (try? options.workspace.doneItemsIfAny(of: plan)) ?? []
        let scope = RunScope.make(plan: plan, workflow: workflow, options: options, done: done).scope
        return !scope.toDo.isDisjoint(with: gpuItems)
    }

    /// Runs the plan. Takes the workspace lock for the whole run; cancelling the calling
    /// task stops scheduling, tears child processes down and returns an interrupted summary.
    public func run(events: @escaping @Sendable (RunEvent) -> Void) async throws -> RunSummary {
        var problems = await preflight()
        if problems.contains(where: { $0.severity == .error }) { throw RunError.preflight(problems) }
        if hasGPUWork() {
            problems = await GPUCheck.diagnostics(plan: plan, workflow: workflow)
            if problems.contains(where: { $0.severity == .error }) { throw RunError.preflight(problems) }
            for warning in problems { events(.warning(warning.message + (warning.hint.map { "; " + $0 } ?? ""))) }
        }
        let workspace = options.workspace
        let (lock, store) = try workspace.openForRun(argv: options.argv, events: events)
        defer { lock.release() }
        let live = await ClusterLeftovers.settleEnded(store: store, workspace: workspace)
        if !live.isEmpty { throw RunError.clusterJobsInFlight(workspace: workspace.root.path, jobs: live) }
        // Tools a killed run left behind still hold GPUs: end them before scheduling.
        for ended in OrphanedTools.end(store: store) { events(.warning(ended)) }
        let folders = plan.items.filter { $0.kind.isFolder }.map(\.path)
        for swept in CrashLeftovers.sweep(workspace: workspace, recipe: workflow.file, folderOutputs: folders) {
            events(.warning(swept))
        }
        // Scratch space holds only unverified partial outputs; nothing in it is trusted.
        try? FileManager.default.removeItem(at: workspace.scratch)
        do {
            try FileManager.default.createDirectory(at: workspace.scratch, withIntermediateDirectories: true)
        } catch {
            throw WorkspaceError.cannotWrite(path: workspace.scratch.path, reason: FileErrorReason.of(error, path: workspace.scratch))
        }

        let done = try workspace.doneItems(of: plan, store: store)
        let scope = RunScope.make(plan: plan, workflow: workflow, options: options, done: done).scope
        // The estimate of the work this run is to do, not of the whole plan: a resumed or
        // no-op run compares its own GPU time with its own work.
        let estimated = plan.work(items: scope.toDo).gpuHours * 3600
        let runID = try store.beginRun(argv: options.argv, planHash: plan.hash, estimatedGPUSeconds: estimated)
        let started = Date()
        var scheduler = Scheduler(executor: self, store: store, runID: runID, workspace: workspace, done: done, scope: scope)
        events(.started(scheduler.startEvent()))
        let marker = UUID().uuidString
        let context = ToolProcessContext(
            withheldEnvironment: Set(workflow.steps.compactMap { $0.upload?.apiKeyEnvironment }), marker: marker)
        // The run's marker is recorded before any tool starts: every tool and what it
        // starts carry it, so a later run finds all a killed one left by that one record
        // (no record per tool group, which cost two store transactions per tool).
        let placeholder = -Int32(truncatingIfNeeded: runID & 0x7FFF_FFFF)
        try? store.recordToolProcess(pgid: placeholder, runID: runID, marker: marker)
        let summary = await ToolProcessContext.$current.withValue(context) {
            await scheduler.run(events: events)
        }
        try? store.removeToolProcess(pgid: placeholder, runID: runID)
        let gpuSeconds = plan.gpuSeconds((try? store.tasks(runID: runID)) ?? [])
        try store.finishRun(runID, status: summary.interrupted ? .interrupted : (summary.failed.isEmpty ? .succeeded : .failed),
                            actualGPUSeconds: gpuSeconds)
        var result = summary
        result.seconds = Date().timeIntervalSince(started)
        return result
    }
}

/// The mutable state of one run: which items are done, which tasks wait, which slots
/// are free. Owned by the run loop alone; child tasks report back through its mailbox.
struct Scheduler {
    let executor: Executor
    let store: CheckpointStore
    let runID: Int64
    let workspace: Workspace
    let items: [String: PlannedItem]
    let committer: OutputCommitter
    let scratch: ScratchFolders

    var done: Set<String> = []
    /// Finished items whose tasks have ended, waiting for their commit (``committed(_:error:events:stopScheduling:)``), and
    /// the ids of those waiting or being committed: not done yet, but made (no task redoes them).
    var toCommit: [DoneRecorder.Entry] = []
    var committing: Set<String> = []
    /// Attempts started and ended, and items failed, since the last commit: written in the
    /// next one, with the items (or alone, without a file-system sync, when there are none).
    var toRecord = StoreBatch()
    /// When the oldest of those was queued.
    var pendingSince: ContinuousClock.Instant?
    /// How long, and for how many items, a commit may wait for others while every slot is
    /// busy. Each commit syncs the file system, and the kernel's writeback threads then
    /// compete with the tools for the cores: at 25 ms, a DAG of one-line commands
    /// (Benchmarks/executor.sh) synced 65 times, against 17 at 100 ms, and ran 2% slower. A crash
    /// loses at most this much finished work (it is redone).
    static let commitWindow: Duration = .milliseconds(100)
    static let commitGroup = 512
    var failed: [String: RunSummary.FailedItem] = [:]
    var blocked: Set<String> = []
    var states: [TaskState] = []
    /// The state whose task makes each pending item.
    var stateOfItem: [String: Int] = [:]
    /// States before this index are all finished: the scheduling pass starts here.
    var firstOpen = 0
    /// Whether some task needs no CPU or GPU slot (it can start while all are busy).
    var hasUnslottedTasks = false
    /// Whether the run has GPU tasks and CPU tasks at all (an idle slot of a kind no task
    /// uses does not count as free).
    var hasGPUTasks = false, hasCPUTasks = false
    var alreadyDone = 0
    var produced = 0
    /// CPU tasks that may start now: twice `--jobs`, for ``cpuSlots`` keeps to `--jobs`
    /// tools at once; those beyond it prepare and wait there for a slot.
    var cpuFree: Int
    let cpuSlots: SlotGate
    var gpuPool: GPUPool

    struct TaskState {
        var task: PlannedTask
        var remaining: [String]
        var attempt = 1
        var notBefore: Date?
        var running = false
        var finished = false
        /// Whether the running attempt still holds its slot (a CPU slot, or `gpus`): it
        /// frees when the attempt's tool ends (``Finished/toolEnded(_:)``) or, for a tool
        /// that does not say, when the attempt returns.
        var holdsSlot = false
        var gpus: [Int] = []
    }

    struct TaskResult: Sendable {
        var index: Int
        var attempt: Int
        var done: [String]
        var failures: [String: String]
        var interrupted: Bool
        var vram: Double?
        var logPath: String
        /// Finished items handed over for the scheduler to commit (``TaskRunner/handsOverCommits``).
        var pending: [DoneRecorder.Entry] = []
        /// The attempt's failed items and its end, handed over to be written with them.
        var records = StoreBatch()
        /// A failed attempt's CPU slot, still held: given back once the failure is seen.
        var slot: SlotTicket?
    }

    /// What a child of the run's task group reports (through the run's ``Mailbox``).
    enum Finished: Sendable {
        case task(TaskResult)
        /// The tool of the task at this index has ended: its slot is free while its outputs
        /// are checked, moved and handed over.
        case toolEnded(Int)
        /// A group of handed-over items committed, or not (with the store's error).
        case committed([DoneRecorder.Entry], error: String?)
        /// The longest a commit waits for company (``Scheduler/commitWindow``) is over.
        case commitDue
    }

    init(executor: Executor, store: CheckpointStore, runID: Int64, workspace: Workspace, done: Set<String>, scope: RunScope) {
        self.executor = executor
        self.store = store
        self.runID = runID
        self.workspace = workspace
        self.committer = OutputCommitter(workspace: workspace)
        self.scratch = ScratchFolders(root: workspace.scratch)
        cpuFree = 2 * max(1, executor.options.jobs)
        cpuSlots = SlotGate(slots: max(1, executor.options.jobs))
        gpuPool = GPUPool(count: max(1, executor.plan.hardware.count))
        // Forced items are redone: they count as not done, so what reads them waits.
        self.done = done.subtracting(scope.forced)
        alreadyDone = self.done.count
        for task in executor.plan.tasks {
            let remaining = task.items.filter { scope.toDo.contains($0) }
            guard !remaining.isEmpty else { continue }
            for id in remaining { stateOfItem[id] = states.count }
            if task.device != .cpu && task.device != .gpu { hasUnslottedTasks = true }
            if task.device == .gpu { hasGPUTasks = true }
            if task.device == .cpu { hasCPUTasks = true }
            states.append(TaskState(task: task, remaining: remaining))
        }
        // The items by id, for the tasks that run: none on a re-run with nothing to do.
        items = states.isEmpty ? [:] : executor.plan.itemsByID()
    }

    func startEvent() -> RunStart {
        var pending: [String: Int] = [:], doneCount: [String: Int] = [:], total: [String: Int] = [:]
        // A step's items are consecutive: counted a run at a time, their fields read in place.
        let items = executor.plan.items
        var start = 0
        while start < items.count {
            let step = items[start].step
            var end = start, finished = 0
            while end < items.count && items[end].step == step {
                if done.contains(items[end].id) { finished += 1 }
                end += 1
            }
            total[step, default: 0] += end - start
            if finished > 0 { doneCount[step, default: 0] += finished }
            start = end
        }
        for state in states { pending[state.task.step, default: 0] += state.remaining.count }
        var perItem: [String: Double] = [:]
        for step in executor.plan.steps { perItem[step.id] = step.secondsPerItem?.value }
        return RunStart(runID: runID, workspace: workspace.root.path, pending: pending, done: doneCount,
                        total: total, estimatedSecondsPerItem: perItem)
    }

    func retries(for step: String) -> Int {
        executor.workflow.plannedStep(step)?.retries ?? executor.options.retries
    }

    /// Items of a task whose inputs are all done; marks items blocked by a failed input.
    mutating func runnable(_ index: Int) -> [String] {
        var ready: [String] = []
        var kept: [String] = []
        for id in states[index].remaining {
            guard let item = items[id] else { continue }
            if item.inputs.contains(where: { failed[$0] != nil || blocked.contains($0) }) {
                blocked.insert(id)
                continue
            }
            kept.append(id)
            if item.inputs.allSatisfy({ done.contains($0) }) { ready.append(id) }
        }
        states[index].remaining = kept
        if kept.isEmpty { states[index].finished = true }
        return ready
    }

    /// Whether any task could still make progress (inputs may yet be produced).
    func waitingOnInputs(_ index: Int) -> Bool {
        states[index].remaining.contains { id in
            items[id]?.inputs.contains { !done.contains($0) && producible($0) } ?? false
        }
    }

    func producible(_ id: String) -> Bool {
        if committing.contains(id) { return true }
        guard let index = stateOfItem[id] else { return false }
        return !states[index].finished && states[index].remaining.contains(id)
    }

    /// Whether no task could start now, whatever it were: every slot of a kind the run
    /// uses is taken, and no task goes without one.
    var everySlotBusy: Bool {
        !hasUnslottedTasks && (cpuFree == 0 || !hasCPUTasks) && (!gpuPool.hasIdle || !hasGPUTasks)
    }

    /// Whether a task of this kind could get a slot now.
    func slotFree(for task: PlannedTask) -> Bool {
        switch task.device {
        case .cpu: cpuFree > 0
        case .gpu: gpuPool.canAcquire(count: task.gpus)
        case .network: true
        }
    }

    mutating func run(events: @escaping @Sendable (RunEvent) -> Void) async -> RunSummary {
        defer { scratch.removeIdle() }
        var stopScheduling = false
        var interrupted = false
        let mailbox = Mailbox<Finished>()
        await withDiscardingTaskGroup { group in
            var running = 0
            var flushing = false
            var commitTimerArmed = false
            // Items of ended tasks are committed here, in groups across tasks: one flush
            // (a file-system sync and one store transaction) at a time, and what ends
            // meanwhile waits for the next. A task's slot is free as soon as its tool has
            // ended (its outputs are checked and moved while the next tool runs), not once
            // they are committed. The
            // records of attempts go in the same transactions; a start is written by the
            // flush that follows it at once (or by the next, when one is in flight).
            //
            // While every slot is busy, nothing waits on a commit but the items' dependents
            // and their report, so a commit waits up to `commitWindow` for more to join it
            // (up to `commitGroup` items): a thousand one-item tasks a second made a sync
            // and a transaction each. A free slot, or an interruption, commits at once.
            func flushIfIdle(_ scheduler: inout Scheduler) {
                guard !flushing, !scheduler.toCommit.isEmpty || !scheduler.toRecord.isEmpty else { return }
                if scheduler.everySlotBusy && !stopScheduling && scheduler.toCommit.count < Scheduler.commitGroup {
                    let waited = scheduler.pendingSince.map { ContinuousClock.now - $0 } ?? .zero
                    if waited < Scheduler.commitWindow {
                        if !commitTimerArmed {
                            commitTimerArmed = true
                            group.addTask {
                                try? await Task.sleep(for: Scheduler.commitWindow - waited)
                                mailbox.post(.commitDue)
                            }
                        }
                        return
                    }
                }
                flushing = true
                scheduler.pendingSince = nil
                let entries = scheduler.toCommit, records = scheduler.toRecord
                let store = scheduler.store, root = scheduler.workspace.root.path
                scheduler.toCommit.removeAll(keepingCapacity: true)
                scheduler.toRecord = StoreBatch()
                group.addTask {
                    do {
                        // Not cancellable: outputs in place are committed even when interrupted.
                        try await DoneRecorder.commit(entries, records: records, to: store) {
                            try UnsyncedFile.syncFileSystem(containing: root)
                        }
                        mailbox.post(.committed(entries, error: nil))
                    } catch {
                        mailbox.post(.committed(entries, error: DoneRecorder.failure(error)))
                    }
                }
            }
            while true {
                if Task.isCancelled && !interrupted {
                    interrupted = true
                    stopScheduling = true
                    cpuSlots.close()
                    group.cancelAll()
                }
                var nextWake: Date?
                if !stopScheduling {
                    while firstOpen < states.count && states[firstOpen].finished { firstOpen += 1 }
                    // One pass over the open tasks, cut short once every slot is taken: a
                    // pass per finished task over all of them made a 1M-item run quadratic.
                    for index in firstOpen..<states.count where !states[index].finished && !states[index].running {
                        if everySlotBusy { break }
                        if let notBefore = states[index].notBefore, notBefore > Date() {
                            nextWake = min(nextWake ?? notBefore, notBefore)
                            continue
                        }
                        // A task that cannot get a slot now is looked at again when one frees.
                        if !slotFree(for: states[index].task) { continue }
                        let ready = runnable(index)
                        if ready.isEmpty { continue }
                        // Wait for more inputs when a batch would otherwise start half-empty.
                        if ready.count < states[index].remaining.count && waitingOnInputs(index) { continue }
                        let task = states[index].task
                        var gpus: [Int] = []
                        if task.device == .gpu {
                            guard let assigned = gpuPool.acquire(count: task.gpus) else { continue }
                            gpus = assigned
                        } else if task.device == .cpu {
                            guard cpuFree > 0 else { continue }
                            cpuFree -= 1
                        }
                        states[index].holdsSlot = task.device == .gpu || task.device == .cpu
                        states[index].gpus = gpus
                        states[index].running = true
                        running += 1
                        let invocationItems = ready.compactMap { items[$0] }
                        let attempt = states[index].attempt
                        var context = TaskRunner(executor: executor, store: store, runID: runID, workspace: workspace,
                                                 committer: committer, items: items, scratch: scratch)
                        context.handsOverCommits = true
                        context.toolEnded = { mailbox.post(.toolEnded(index)) }
                        if task.device == .cpu { context.slots = cpuSlots }
                        let start = context.startRecord(of: task, attempt: attempt, itemCount: invocationItems.count)
                        toRecord.startedTasks.append(start)
                        if pendingSince == nil { pendingSince = .now }
                        group.addTask {
                            mailbox.post(.task(await context.execute(index: index, task: task, items: invocationItems, gpus: gpus,
                                                                     attempt: attempt, start: start, events: events)))
                        }
                    }
                }
                flushIfIdle(&self)
                if running == 0 && !flushing {
                    if stopScheduling { break }
                    if let nextWake {
                        try? await Task.sleep(for: .seconds(max(0.01, nextWake.timeIntervalSinceNow)))
                        continue
                    }
                    break
                }
                // Something is running or committing, so something will be posted (a
                // cancelled child posts as it ends).
                for finished in await mailbox.next() {
                    switch finished {
                    case .task(let result):
                        running -= 1
                        complete(result, stopScheduling: &stopScheduling)
                    case .toolEnded(let index):
                        releaseSlot(of: index)
                    case .committed(let entries, let error):
                        flushing = false
                        committed(entries, error: error, events: events, stopScheduling: &stopScheduling)
                    case .commitDue:
                        commitTimerArmed = false
                    }
                }
            }
            // All is committed; a commit timer may still sleep.
            group.cancelAll()
        }
        return summary(interrupted: interrupted)
    }

    /// What the run did; whatever is left undone and not failed was blocked by failures
    /// or `--only` (or, when interrupted, is simply not done yet).
    mutating func summary(interrupted: Bool) -> RunSummary {
        for state in states where !state.finished {
            for id in state.remaining where failed[id] == nil && !done.contains(id) { blocked.insert(id) }
        }
        return RunSummary(runID: runID, produced: produced, alreadyDone: alreadyDone,
                          failed: failed.values.sorted { ($0.step, $0.itemID) < ($1.step, $1.itemID) },
                          blocked: interrupted ? 0 : blocked.count, interrupted: interrupted, seconds: 0,
                          workspace: workspace.root.path)
    }

    /// A group of handed-over items committed (reported done now) or not (failed).
    mutating func committed(_ entries: [DoneRecorder.Entry], error: String?, events: (RunEvent) -> Void,
                            stopScheduling: inout Bool) {
        for entry in entries {
            let record = entry.record
            committing.remove(record.id)
            if let error {
                failed[record.id] = RunSummary.FailedItem(step: record.step, itemID: record.id, error: error,
                                                          logPath: record.logPath ?? "")
                events(.itemFailed(step: record.step, itemID: record.id, error: error))
            } else {
                done.insert(record.id)
                produced += 1
                events(.itemDone(step: record.step, itemID: record.id, path: record.path))
            }
        }
        if error != nil && !executor.options.keepGoing { stopAfterFailure(&stopScheduling) }
    }

    /// Without `--keep-going`, a failure stops the run: nothing new is scheduled, and the
    /// tasks prepared ahead and waiting for a slot stop without starting their tools.
    func stopAfterFailure(_ stopScheduling: inout Bool) {
        stopScheduling = true
        cpuSlots.close()
    }

    /// Frees the slot the running attempt of the task at `index` holds, if it still does.
    mutating func releaseSlot(of index: Int) {
        guard states[index].holdsSlot else { return }
        states[index].holdsSlot = false
        switch states[index].task.device {
        case .gpu: gpuPool.release(states[index].gpus)
        case .cpu: cpuFree += 1
        case .network: break
        }
    }

    mutating func complete(_ result: TaskResult, stopScheduling: inout Bool) {
        defer { result.slot?.release() }
        let task = states[result.index].task
        releaseSlot(of: result.index)
        states[result.index].running = false
        done.formUnion(result.done)
        produced += result.done.count
        toCommit += result.pending
        toRecord.append(result.records)
        if pendingSince == nil { pendingSince = .now }
        for entry in result.pending { committing.insert(entry.record.id) }
        let finishedIDs = Set(result.done).union(result.pending.map(\.record.id))
        if result.interrupted {
            states[result.index].remaining.removeAll { finishedIDs.contains($0) }
            return
        }
        states[result.index].remaining.removeAll { finishedIDs.contains($0) }
        if !result.failures.isEmpty {
            if result.attempt <= retries(for: task.step) {
                states[result.index].attempt = result.attempt + 1
                let delay = min(60, executor.options.retryBackoff * pow(2, Double(result.attempt - 1)))
                states[result.index].notBefore = Date().addingTimeInterval(delay)
            } else {
                for (id, error) in result.failures {
                    failed[id] = RunSummary.FailedItem(step: task.step, itemID: id, error: error, logPath: result.logPath)
                }
                states[result.index].remaining.removeAll { result.failures[$0] != nil }
                if !executor.options.keepGoing { stopAfterFailure(&stopScheduling) }
            }
        }
        if states[result.index].remaining.isEmpty { states[result.index].finished = true }
    }
}

/// GPU slots: one task per GPU at a time. The planner already checked that each task's
/// VRAM need fits the GPU, so exclusive slots can never exceed it; sharing a GPU between
/// two tasks would only make both slower (they compete for the same compute).
struct GPUPool {
    var busy: [Bool]

    init(count: Int) {
        busy = Array(repeating: false, count: count)
    }

    /// Whether any GPU is idle.
    var hasIdle: Bool { busy.contains(false) }

    /// Whether `count` GPUs (at most all of them) are idle.
    func canAcquire(count: Int) -> Bool {
        busy.lazy.filter { !$0 }.count >= min(max(1, count), busy.count)
    }

    /// The lowest-numbered idle GPUs, `count` of them, or nil when not enough are idle.
    mutating func acquire(count: Int) -> [Int]? {
        let idle = busy.indices.filter { !busy[$0] }
        let wanted = min(max(1, count), busy.count)
        guard idle.count >= wanted else { return nil }
        let chosen = Array(idle.prefix(wanted))
        for index in chosen { busy[index] = true }
        return chosen
    }

    mutating func release(_ gpus: [Int]) {
        for index in gpus { busy[index] = false }
    }
}

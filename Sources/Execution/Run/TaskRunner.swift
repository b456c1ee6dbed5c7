import Basics
import Foundation
import Planning
import Synchronization
import WorkflowSpec
import WorkspaceStore

/// Runs one attempt of one task: invokes the adapter, verifies and commits each output
/// as it arrives, and records the rest as failed. What it records goes to a
/// ``TaskRecorder``: the checkpoint store in a local run, completion records on the
/// shared file system in a cluster worker (which never opens the store).
struct TaskRunner: Sendable {
    let workflow: Workflow
    let recorder: any TaskRecorder
    let runID: Int64
    let workspace: Workspace
    let committer: OutputCommitter
    let items: [String: PlannedItem]
    /// The GPU model recorded with GPU tasks (the plan's `hardware.gpu`).
    let gpuModel: String?
    let gracePeriod: Duration
    /// Attempts after the first, unless the step sets `retries:`.
    let retries: Int
    /// Where the attempt's unverified outputs go (under `<workspace>/tmp` in a local run).
    let scratch: ScratchFolders
    /// Whether finished items and the attempt's records are handed to the caller to commit
    /// (``Scheduler/TaskResult/pending``, ``Scheduler/TaskResult/records``) instead of
    /// written before ``execute(index:task:items:gpus:attempt:start:events:)`` returns:
    /// the local run's scheduler commits them across tasks and frees the task's slot first.
    var handsOverCommits = false
    /// Called when the attempt's tool process has ended (``Invocation/toolEnded``).
    var toolEnded: (@Sendable () -> Void)?
    /// The run's CPU slots, when this attempt is to take one of them itself (the local
    /// run's CPU tasks): it prepares first, then waits (``SlotGate``), and gives the slot
    /// back when its tool ends.
    var slots: SlotGate?

    init(executor: Executor, store: CheckpointStore, runID: Int64, workspace: Workspace, committer: OutputCommitter,
         items: [String: PlannedItem], scratch: ScratchFolders) {
        self.init(workflow: executor.workflow, recorder: store, runID: runID, workspace: workspace, committer: committer,
                  items: items, gpuModel: executor.plan.hardware.gpu, gracePeriod: executor.options.gracePeriod,
                  retries: executor.options.retries, scratch: scratch)
    }

    init(workflow: Workflow, recorder: any TaskRecorder, runID: Int64, workspace: Workspace, committer: OutputCommitter,
         items: [String: PlannedItem], gpuModel: String?, gracePeriod: Duration, retries: Int, scratch: ScratchFolders) {
        self.workflow = workflow
        self.recorder = recorder
        self.runID = runID
        self.workspace = workspace
        self.committer = committer
        self.items = items
        self.gpuModel = gpuModel
        self.gracePeriod = gracePeriod
        self.retries = retries
        self.scratch = scratch
    }

    /// Items committed and items refused while the adapter runs (called concurrently).
    final class Tally: Sendable {
        let state = Mutex<(done: [String], failures: [String: String])>(([], [:]))
    }

    /// When the item being made now started: the attempt's start, then each hand-over.
    final class ItemClock: Sendable {
        private let start: Mutex<Date>
        init(_ start: Date) { self.start = Mutex(start) }
        /// The current item's start; the next one starts now.
        func lap() -> Date { start.withLock { start in defer { start = Date() }; return start } }
        func restart() { start.withLock { $0 = Date() } }
    }

    /// The attempt's log, relative to the workspace: one per run and attempt, so a later
    /// run never overwrites the log of an earlier one (a crashed attempt's log is what
    /// explains the crash).
    func logPath(of task: PlannedTask, attempt: Int) -> String {
        "logs/\(task.step)/\(task.id)-r\(runID)-a\(attempt).log"
    }

    /// The record of the attempt's start, stamped now.
    func startRecord(of task: PlannedTask, attempt: Int, itemCount: Int) -> TaskRecord {
        TaskRecord(id: task.id, runID: runID, step: task.step, tool: task.uses.rawValue, model: task.model,
                   gpu: task.device == .gpu ? gpuModel ?? "gpu" : nil, attempt: attempt, startedAt: Date(),
                   itemCount: itemCount, logPath: logPath(of: task, attempt: attempt))
    }

    /// Runs the attempt. `start` is its start record when the caller has already queued
    /// it (``handsOverCommits``); otherwise it is made and recorded here.
    func execute(index: Int, task: PlannedTask, items batch: [PlannedItem], gpus: [Int], attempt: Int, start: TaskRecord? = nil,
                 events: @escaping @Sendable (RunEvent) -> Void) async -> Scheduler.TaskResult {
        let step = workflow.plannedStep(task.step)!
        let start = start ?? startRecord(of: task, attempt: attempt, itemCount: batch.count)
        let logPath = start.logPath, gpuName = start.gpu, started = start.startedAt
        let logFile = workspace.url(logPath)
        var result = Scheduler.TaskResult(index: index, attempt: attempt, done: [], failures: [:], interrupted: false,
                                          vram: task.vramGB, logPath: logPath)
        var lent: URL?
        defer { if let lent { self.scratch.giveBack(lent) } }
        do {
            lent = try self.scratch.take()
            try UnsyncedFile.write(Data(), to: logFile, creatingFolders: true)
            if !handsOverCommits { try recorder.taskStarted(start) }
        } catch {
            let reason = "cannot prepare the task: \(error)"
            for item in batch { result.failures[item.id] = reason }
            // The caller recorded the start: the attempt must not stay running.
            if handsOverCommits {
                result.records.endedTasks = [TaskEnding(id: task.id, runID: runID, attempt: attempt, status: .failed, exitCode: nil,
                                                        duration: Date().timeIntervalSince(started), loadSeconds: nil, error: reason)]
            }
            return result
        }
        guard let scratch = lent else { return result }
        let taskStart = TaskStart(taskID: task.id, step: task.step, attempt: attempt, items: batch.count, gpus: gpus, logPath: logPath)
        let itemClock = ItemClock(started)
        // With a slot to take, the attempt starts (is reported, and timed) once it has it.
        let ticket = slots.map { gate in
            SlotTicket(gate: gate) {
                itemClock.restart()
                events(.taskStarted(taskStart))
            }
        }
        if ticket == nil { events(.taskStarted(taskStart)) }
        // The plan's invocation for these items: the task's own, or a smaller one on resume.
        let plannedItems = self.items
        let context = InvocationContext(workflow: workflow, step: step, items: { plannedItems[$0] })
        let planned = task.invocation.flatMap { batch.count == task.items.count ? $0 : nil }
            ?? step.planning.invocation(for: batch, context: context)
        var ended = toolEnded
        if let ticket {
            let outer = toolEnded
            ended = { @Sendable in
                ticket.release()
                outer?()
            }
        }
        let invocation = Invocation(workflow: workflow, step: step, task: task, planned: planned, items: batch,
                                    inputs: InputLocations(workspace: workspace, items: items),
                                    workspace: workspace, scratch: scratch, logFile: logFile, gpus: gpus,
                                    attempt: attempt, gracePeriod: gracePeriod, store: recorder as? CheckpointStore,
                                    toolEnded: ended, slot: ticket)
        let tally = Tally()
        let committer = self.committer, recorder = self.recorder, runID = self.runID, items = self.items
        let expectedFrames = step.tool.output == .video ? Planner.expectedFrames(of: step) : nil
        // Finished items are committed in groups, each after one file-system sync, and
        // reported once committed (DoneRecorder explains why that is crash safe), here or,
        // handed over, by the caller.
        let handedOver = Mutex<[DoneRecorder.Entry]>([])
        let doneRecorder = handsOverCommits ? nil : DoneRecorder(store: recorder, workspaceRoot: workspace.root.path) { group, error in
            if let error {
                tally.state.withLock { state in
                    for entry in group { state.failures[entry.record.id] = DoneRecorder.failure(error) }
                }
                return
            }
            tally.state.withLock { state in state.done += group.map(\.record.id) }
            for entry in group { events(.itemDone(step: entry.record.step, itemID: entry.record.id, path: entry.record.path)) }
        }
        var outcome = InvocationOutcome()
        var thrown: String?
        do {
            let adapter = step.runner!
            if let ticket, !adapter.waitsForItsSlot { try await ticket.wait() }
            outcome = try await adapter.run(invocation) { output in
                guard let item = items[output.itemID] else { return }
                let itemStarted = itemClock.lap()
                do {
                    try await committer.verify(output, kind: item.kind, expectedFrames: expectedFrames)
                    // Hashing a clip or a dataset folder takes seconds: not on the concurrency
                    // pool. Small files are hashed and moved right here: for them the trip to
                    // another thread and back cost more than the work.
                    let (sha256, bytes, files) = OutputCommitter.isSmall(output)
                        ? try committer.commit(output, to: item.path)
                        : try await BlockingWork.run { try committer.commit(output, to: item.path) }
                    let now = Date()
                    let entry = DoneRecorder.Entry(record: ItemRecord(
                        id: item.id, step: item.step, path: item.path, sha256: sha256, bytes: bytes, status: .done,
                        attempts: attempt, startedAt: itemStarted, finishedAt: now,
                        duration: now.timeIntervalSince(itemStarted), gpu: gpuName.map { "\($0):\(gpus.map(String.init).joined(separator: ","))" },
                        logPath: logPath, error: nil, taskID: task.id, runID: runID, tool: task.uses.rawValue, model: task.model),
                        files: files)
                    if let doneRecorder { doneRecorder.add(entry) } else { handedOver.withLock { $0.append(entry) } }
                } catch {
                    tally.state.withLock { $0.failures[item.id] = "\(error)" }
                }
            }
        } catch is CancellationError {
            result.interrupted = true
        } catch {
            thrown = "\(error)"
        }
        // Outputs already in place are committed even when the run is interrupted.
        await doneRecorder?.drain()
        if Task.isCancelled { result.interrupted = true }
        let (doneIDs, refused) = tally.state.withLock { ($0.done, $0.failures) }
        result.done = doneIDs
        result.pending = handedOver.withLock { $0 }
        let doneSet = Set(doneIDs).union(result.pending.map(\.record.id))
        if !result.interrupted {
            for item in batch where !doneSet.contains(item.id) {
                let reason = refused[item.id] ?? outcome.failures[item.id] ?? thrown
                    ?? "the tool\(outcome.exitCode.map { " exited with status \($0) and" } ?? "") did not produce this item"
                result.failures[item.id] = reason
            }
        }
        // Timed from when it had its slot, if it waited for one (not at all if it never got it).
        let began = ticket.map { $0.heldSince ?? Date() } ?? started
        let duration = Date().timeIntervalSince(began)
        let failedRecords = result.failures.map { id, error in
            ItemRecord(id: id, step: task.step, path: items[id]?.path ?? "", status: .failed, attempts: attempt,
                       startedAt: began, finishedAt: Date(), duration: duration, gpu: gpuName, logPath: logPath,
                       error: error, taskID: task.id, runID: runID, tool: task.uses.rawValue, model: task.model)
        }
        let status: TaskStatus = result.interrupted ? .interrupted : (result.failures.isEmpty ? .succeeded : .failed)
        let ending = TaskEnding(id: task.id, runID: runID, attempt: attempt, status: status, exitCode: outcome.exitCode,
                                duration: duration, loadSeconds: outcome.loadSeconds, itemCount: batch.count,
                                error: result.failures.values.first ?? thrown)
        let records = StoreBatch(failedItems: failedRecords, endedTasks: [ending])
        // Handed over, they are written with the task's finished items in the caller's next group commit.
        if handsOverCommits { result.records = records } else { try? recorder.record(records) }
        // A failed attempt's slot goes back once the scheduler has seen the failure: without
        // `--keep-going` it stops the run first, and the slot then starts no other tool.
        if handsOverCommits && !result.failures.isEmpty && !result.interrupted { result.slot = ticket } else { ticket?.release() }
        for (id, error) in result.failures.sorted(by: { $0.key < $1.key }) {
            events(.itemFailed(step: task.step, itemID: id, error: error))
        }
        let willRetry = !result.failures.isEmpty && attempt <= (step.retries ?? retries)
        // Every task_finished follows its task_started, even for an attempt stopped before its slot came.
        if let ticket, ticket.heldSince == nil { events(.taskStarted(taskStart)) }
        events(.taskFinished(TaskEnd(
            taskID: task.id, step: task.step, attempt: attempt, succeeded: result.failures.isEmpty && !result.interrupted,
            itemsDone: doneIDs.count + result.pending.count, itemsFailed: result.failures.count, seconds: duration, logPath: logPath,
            logTail: result.failures.isEmpty ? [] : ProcessRunner.logTail(logFile, lines: 12),
            error: result.failures.values.first ?? thrown, willRetry: willRetry)))
        return result
    }
}

import Foundation
import Planning
import Synchronization
import WorkflowSpec
import WorkspaceStore

/// Runs one attempt of one task: invokes the adapter, verifies and commits each output
/// as it arrives, and records the rest as failed.
struct TaskRunner: Sendable {
    let executor: Executor
    let store: CheckpointStore
    let runID: Int64
    let workspace: Workspace
    let committer: OutputCommitter
    let items: [String: PlannedItem]

    /// Items committed and items refused while the adapter runs (called concurrently).
    final class Tally: Sendable {
        let state = Mutex<(done: [String], failures: [String: String])>(([], [:]))
    }

    func execute(index: Int, task: PlannedTask, items batch: [PlannedItem], gpus: [Int], attempt: Int,
                 events: @escaping @Sendable (RunEvent) -> Void) async -> Scheduler.TaskResult {
        let step = executor.workflow.plannedStep(task.step)!
        let scratch = workspace.scratch.appendingPathComponent("\(task.id)-a\(attempt)")
        // One log per run and attempt: a later run never overwrites the log of an
        // earlier one (a crashed attempt's log is what explains the crash).
        let logFile = workspace.logs.appendingPathComponent(task.step).appendingPathComponent("\(task.id)-r\(runID)-a\(attempt).log")
        let logPath = workspace.relative(logFile)
        let gpuName = task.device == .gpu ? executor.plan.hardware.gpu ?? "gpu" : nil
        var result = Scheduler.TaskResult(index: index, attempt: attempt, done: [], failures: [:], interrupted: false,
                                          gpus: gpus, vram: task.vramGB, logPath: logPath)
        let started = Date()
        do {
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: logFile.deletingLastPathComponent(), withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
            try store.taskStarted(TaskRecord(id: task.id, runID: runID, step: task.step, tool: task.uses.rawValue,
                                             model: task.model, gpu: gpuName, attempt: attempt, startedAt: started,
                                             itemCount: batch.count, logPath: logPath))
        } catch {
            for item in batch { result.failures[item.id] = "cannot prepare the task: \(error)" }
            return result
        }
        events(.taskStarted(TaskStart(taskID: task.id, step: task.step, attempt: attempt, items: batch.count,
                                      gpus: gpus, logPath: logPath)))
        var inputs: [String: URL] = [:]
        for item in batch {
            for input in item.inputs { if let planned = items[input] { inputs[input] = workspace.url(planned.path) } }
        }
        // The plan's invocation for these items: the task's own, or a smaller one on resume.
        let plannedItems = self.items
        let context = InvocationContext(workflow: executor.workflow, step: step, items: { plannedItems[$0] })
        let planned = task.invocation.flatMap { batch.count == task.items.count ? $0 : nil }
            ?? step.planning.invocation(for: batch, context: context)
        let invocation = Invocation(workflow: executor.workflow, step: step, task: task, planned: planned, items: batch, inputs: inputs,
                                    workspace: workspace, scratch: scratch, logFile: logFile, gpus: gpus,
                                    attempt: attempt, gracePeriod: executor.options.gracePeriod, store: store)
        let tally = Tally()
        let perItemStart = Mutex(started)
        let committer = self.committer, store = self.store, runID = self.runID, items = self.items
        let expectedFrames = step.tool.output == .video ? Planner.expectedFrames(of: step) : nil
        var outcome = InvocationOutcome()
        var thrown: String?
        do {
            let adapter = step.runner!
            outcome = try await adapter.run(invocation) { output in
                guard let item = items[output.itemID] else { return }
                let itemStarted = perItemStart.withLock { start in defer { start = Date() }; return start }
                do {
                    try await committer.verify(output, kind: item.kind, expectedFrames: expectedFrames)
                    // Hashing a clip or a dataset folder takes seconds: not on the concurrency pool.
                    let (sha256, bytes, files) = try await BlockingWork.run { try committer.commit(output, to: item.path) }
                    let now = Date()
                    try store.recordItem(ItemRecord(
                        id: item.id, step: item.step, path: item.path, sha256: sha256, bytes: bytes, status: .done,
                        attempts: attempt, startedAt: itemStarted, finishedAt: now,
                        duration: now.timeIntervalSince(itemStarted), gpu: gpuName.map { "\($0):\(gpus.map(String.init).joined(separator: ","))" },
                        logPath: logPath, error: nil, taskID: task.id, runID: runID, tool: task.uses.rawValue, model: task.model),
                        files: files)
                    tally.state.withLock { $0.done.append(item.id) }
                    events(.itemDone(step: item.step, itemID: item.id, path: item.path))
                } catch {
                    tally.state.withLock { $0.failures[item.id] = "\(error)" }
                }
            }
        } catch is CancellationError {
            result.interrupted = true
        } catch {
            thrown = "\(error)"
        }
        if Task.isCancelled { result.interrupted = true }
        let (doneIDs, refused) = tally.state.withLock { ($0.done, $0.failures) }
        result.done = doneIDs
        let doneSet = Set(doneIDs)
        if !result.interrupted {
            for item in batch where !doneSet.contains(item.id) {
                let reason = refused[item.id] ?? outcome.failures[item.id] ?? thrown
                    ?? "the tool\(outcome.exitCode.map { " exited with status \($0) and" } ?? "") did not produce this item"
                result.failures[item.id] = reason
            }
        }
        let duration = Date().timeIntervalSince(started)
        let failedRecords = result.failures.map { id, error in
            ItemRecord(id: id, step: task.step, path: items[id]?.path ?? "", status: .failed, attempts: attempt,
                       startedAt: started, finishedAt: Date(), duration: duration, gpu: gpuName, logPath: logPath,
                       error: error, taskID: task.id, runID: runID, tool: task.uses.rawValue, model: task.model)
        }
        try? store.recordItems(failedRecords)
        let status: TaskStatus = result.interrupted ? .interrupted : (result.failures.isEmpty ? .succeeded : .failed)
        try? store.taskFinished(id: task.id, runID: runID, attempt: attempt, status: status, exitCode: outcome.exitCode,
                                duration: duration, loadSeconds: outcome.loadSeconds, itemCount: batch.count,
                                error: result.failures.values.first ?? thrown)
        for (id, error) in result.failures.sorted(by: { $0.key < $1.key }) {
            events(.itemFailed(step: task.step, itemID: id, error: error))
        }
        let willRetry = !result.failures.isEmpty && attempt <= (step.retries ?? executor.options.retries)
        events(.taskFinished(TaskEnd(
            taskID: task.id, step: task.step, attempt: attempt, succeeded: result.failures.isEmpty && !result.interrupted,
            itemsDone: doneIDs.count, itemsFailed: result.failures.count, seconds: duration, logPath: logPath,
            logTail: result.failures.isEmpty ? [] : ProcessRunner.logTail(logFile, lines: 12),
            error: result.failures.values.first ?? thrown, willRetry: willRetry)))
        try? FileManager.default.removeItem(at: scratch)
        return result
    }
}

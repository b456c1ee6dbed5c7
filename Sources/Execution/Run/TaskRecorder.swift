import Foundation
import WorkspaceStore

/// Where ``TaskRunner`` records an attempt: the checkpoint store in a local run, the
/// attempt's completion records in a cluster worker (see ``CompletionRecords``).
protocol TaskRecorder: Sendable {
    func taskStarted(_ task: TaskRecord) throws
    /// A finished item, durable when this returns.
    func recordItem(_ item: ItemRecord, files: [ItemFile]) throws
    /// Finished items whose files are already durable (``DoneRecorder`` synced them), at once.
    func recordItems(withFiles entries: [(item: ItemRecord, files: [ItemFile])]) throws
    func recordFailedItems(_ items: [ItemRecord]) throws
    func taskFinished(id: String, runID: Int64, attempt: Int, status: TaskStatus, exitCode: Int32?,
                      duration: Double, loadSeconds: Double?, itemCount: Int?, error: String?) throws
    /// Everything in `batch`, in its order (one transaction in the store).
    func record(_ batch: StoreBatch) throws
}

extension TaskRecorder {
    func recordItems(withFiles entries: [(item: ItemRecord, files: [ItemFile])]) throws {
        for (item, files) in entries { try recordItem(item, files: files) }
    }

    func record(_ batch: StoreBatch) throws {
        for task in batch.startedTasks { try taskStarted(task) }
        if !batch.failedItems.isEmpty { try recordFailedItems(batch.failedItems) }
        try recordItems(withFiles: batch.items)
        for ending in batch.endedTasks {
            try? taskFinished(id: ending.id, runID: ending.runID, attempt: ending.attempt, status: ending.status,
                              exitCode: ending.exitCode, duration: ending.duration, loadSeconds: ending.loadSeconds,
                              itemCount: ending.itemCount, error: ending.error)
        }
    }
}

extension CheckpointStore: TaskRecorder {
    func recordFailedItems(_ items: [ItemRecord]) throws { try recordItems(items) }
}

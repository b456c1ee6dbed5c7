import Foundation
import GRDB

/// The end of one task attempt, as ``CheckpointStore/taskFinished(id:runID:attempt:status:exitCode:duration:loadSeconds:itemCount:error:)``
/// records it.
public struct TaskEnding: Sendable, Equatable {
    public var id: String
    public var runID: Int64
    public var attempt: Int
    public var status: TaskStatus
    public var exitCode: Int32?
    public var duration: Double
    public var loadSeconds: Double?
    /// When given, replaces the item count recorded at start.
    public var itemCount: Int?
    public var error: String?
    public var finishedAt: Date

    public init(id: String, runID: Int64, attempt: Int, status: TaskStatus, exitCode: Int32?, duration: Double,
                loadSeconds: Double?, itemCount: Int? = nil, error: String?, finishedAt: Date = Date()) {
        self.id = id
        self.runID = runID
        self.attempt = attempt
        self.status = status
        self.exitCode = exitCode
        self.duration = duration
        self.loadSeconds = loadSeconds
        self.itemCount = itemCount
        self.error = error
        self.finishedAt = finishedAt
    }
}

/// What one group commit writes, in one transaction and in this order: attempts started,
/// failed items, finished items with their files, attempts ended. Failures go before
/// the finished items: an item that failed and then, retried at once, succeeded can
/// reach one batch with both, and must end up done.
///
/// A local run's scheduler gathers all of these while one commit is in flight, so a
/// thousand one-item tasks cost a few hundred transactions, not four thousand (a start,
/// an item and an end each, plus the group's).
public struct StoreBatch: Sendable {
    public var startedTasks: [TaskRecord]
    public var items: [(item: ItemRecord, files: [ItemFile])]
    public var failedItems: [ItemRecord]
    public var endedTasks: [TaskEnding]

    public init(startedTasks: [TaskRecord] = [], items: [(item: ItemRecord, files: [ItemFile])] = [],
                failedItems: [ItemRecord] = [], endedTasks: [TaskEnding] = []) {
        self.startedTasks = startedTasks
        self.items = items
        self.failedItems = failedItems
        self.endedTasks = endedTasks
    }

    public var isEmpty: Bool { startedTasks.isEmpty && items.isEmpty && failedItems.isEmpty && endedTasks.isEmpty }

    /// `other`'s records after this batch's.
    public mutating func append(_ other: StoreBatch) {
        startedTasks += other.startedTasks
        items += other.items
        failedItems += other.failedItems
        endedTasks += other.endedTasks
    }
}

extension CheckpointStore {
    /// Writes `batch` in one transaction (see ``StoreBatch`` for the order). An ending
    /// whose attempt has no row (its start was never recorded) is skipped, so it cannot
    /// take the batch's finished items down with it.
    public func record(_ batch: StoreBatch) throws {
        guard !batch.isEmpty else { return }
        // An attempt that starts and ends within the batch (a short task's, in the run's
        // group commits) is written once, ended: one statement instead of two.
        var endings = batch.endedTasks
        var started = batch.startedTasks
        if !started.isEmpty && !endings.isEmpty {
            var endingOf: [TaskKey: Int] = [:]
            for (index, ending) in endings.enumerated() { endingOf[TaskKey(ending.id, ending.runID, ending.attempt)] = index }
            var merged = IndexSet()
            for index in started.indices {
                let task = started[index]
                guard let ending = endingOf[TaskKey(task.id, task.runID, task.attempt)] else { continue }
                started[index].end(with: endings[ending])
                merged.insert(ending)
            }
            if !merged.isEmpty { endings = endings.indices.filter { !merged.contains($0) }.map { endings[$0] } }
        }
        try database.write { db in
            for task in started { try task.write(in: db) }
            for item in batch.failedItems { try item.write(in: db) }
            try Self.write(items: batch.items, in: db)
            for ending in endings { _ = try Self.write(ending, in: db) }
        }
    }

    private struct TaskKey: Hashable {
        var id: String, runID: Int64, attempt: Int
        init(_ id: String, _ runID: Int64, _ attempt: Int) { (self.id, self.runID, self.attempt) = (id, runID, attempt) }
    }

    /// Records the end of a task attempt; whether a row was there to update.
    static func write(_ ending: TaskEnding, in db: Database) throws -> Bool {
        try db.cachedStatement(sql: """
            UPDATE tasks SET status = ?, finished_at = ?, exit_code = ?, duration = ?,
                load_seconds = ?, item_count = COALESCE(?, item_count), error = ?
            WHERE id = ? AND run_id = ? AND attempt = ?
            """).execute(arguments: [
                ending.status.rawValue, ending.finishedAt.timeIntervalSince1970, ending.exitCode, ending.duration,
                ending.loadSeconds, ending.itemCount, ending.error, ending.id, ending.runID, ending.attempt,
            ])
        return db.changesCount > 0
    }
}

// Rows written through one cached statement with their values in column order, not
// through GRDB's Codable persistence, which encodes every record into a container and
// builds its SQL again, row after row. The
// test `fastRowWritesMatchGRDBsOwn` pins these to the tables' columns and to what GRDB
// writes for the same record.
extension ItemRecord {
    /// The `items` table's columns, in the order ``write(in:)`` gives their values.
    static let columns = ["id", "step", "path", "sha256", "bytes", "status", "attempts", "started_at", "finished_at",
                          "duration", "gpu", "log_path", "error", "task_id", "run_id", "tool", "model"]
    private static let insertSQL = replacingSQL(table: databaseTableName, columns: columns)

    /// `INSERT OR REPLACE`, as `insert(db, onConflict: .replace)` does.
    func write(in db: Database) throws {
        try db.cachedStatement(sql: Self.insertSQL).execute(arguments: [
            id, step, path, sha256, bytes, status.rawValue, attempts, startedAt?.timeIntervalSince1970,
            finishedAt?.timeIntervalSince1970, duration, gpu, logPath, error, taskID, runID, tool, model,
        ])
    }
}

extension TaskRecord {
    /// The record as ``CheckpointStore/write(_:in:)`` leaves its row once `ending` is written.
    mutating func end(with ending: TaskEnding) {
        status = ending.status
        finishedAt = ending.finishedAt
        exitCode = ending.exitCode
        duration = ending.duration
        loadSeconds = ending.loadSeconds
        itemCount = ending.itemCount ?? itemCount
        error = ending.error
    }

    /// The `tasks` table's columns, in the order ``write(in:)`` gives their values.
    static let columns = ["id", "run_id", "step", "tool", "model", "gpu", "attempt", "status", "started_at", "finished_at",
                          "duration", "exit_code", "load_seconds", "item_count", "log_path", "error"]
    private static let insertSQL = replacingSQL(table: databaseTableName, columns: columns)

    /// `INSERT OR REPLACE`, as `insert(db, onConflict: .replace)` does.
    func write(in db: Database) throws {
        try db.cachedStatement(sql: Self.insertSQL).execute(arguments: [
            id, runID, step, tool, model, gpu, attempt, status.rawValue, startedAt.timeIntervalSince1970,
            finishedAt?.timeIntervalSince1970, duration, exitCode, loadSeconds, itemCount, logPath, error,
        ])
    }
}

private func replacingSQL(table: String, columns: [String]) -> String {
    "INSERT OR REPLACE INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))"
}

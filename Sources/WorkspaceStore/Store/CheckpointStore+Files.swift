import Basics
import Foundation
import GRDB

/// A tool's process group as a run recorded it (see ``ToolProcessContext``).
public struct ToolProcessRecord: Sendable, Equatable {
    public var pgid: Int32
    public var runID: Int64
    public var host: String
    /// The run's marker, found in the environment of every process the tool started.
    public var marker: String
    public var startedAt: Date
}

extension CheckpointStore {
    /// Records a launched tool's process group.
    public func recordToolProcess(pgid: Int32, runID: Int64, marker: String) throws {
        try database.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO tool_processes (pgid, run_id, host, marker, started_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [pgid, runID, ProcessProbe.hostName(), marker, Date().timeIntervalSince1970])
        }
    }

    /// Forgets a tool's process group once it is gone.
    public func removeToolProcess(pgid: Int32, runID: Int64) throws {
        try database.write { db in
            try db.execute(sql: "DELETE FROM tool_processes WHERE pgid = ? AND run_id = ?", arguments: [pgid, runID])
        }
    }

    /// Every recorded tool process group, oldest first.
    public func toolProcesses() throws -> [ToolProcessRecord] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT pgid, run_id, host, marker, started_at FROM tool_processes ORDER BY started_at")
                .map { row in
                    ToolProcessRecord(pgid: row["pgid"], runID: row["run_id"], host: row["host"], marker: row["marker"],
                                      startedAt: Date(timeIntervalSince1970: row["started_at"]))
                }
        }
    }
}

/// One file of an item besides its main file: a companion (a ground-truth sidecar) or a
/// file inside a folder output (a dataset), with the size and hash it was committed with.
public struct ItemFile: Sendable, Equatable, FetchableRecord {
    /// Workspace-relative path.
    public var path: String
    public var bytes: Int64
    public var sha256: String

    public init(path: String, bytes: Int64, sha256: String) {
        self.path = path
        self.bytes = bytes
        self.sha256 = sha256
    }

    /// From a row of `path, bytes, sha256`, in that order.
    public init(row: Row) {
        self.init(path: row[0], bytes: row[1], sha256: row[2])
    }
}

extension CheckpointStore {
    /// Records an item and replaces its recorded files, in one transaction.
    public func recordItem(_ item: ItemRecord, files: [ItemFile]) throws {
        try recordItems(withFiles: [(item, files)])
    }

    /// Records items and replaces their recorded files, all in one transaction (a group
    /// commit: one WAL write for many finished items); see ``record(_:)``.
    public func recordItems(withFiles entries: [(item: ItemRecord, files: [ItemFile])]) throws {
        try record(StoreBatch(items: entries))
    }

    /// Writes `entries` and replaces their files, inside the caller's transaction.
    ///
    /// The files are replaced by difference: a row that already holds a file's path, size
    /// and hash is left alone, so re-committing a dataset that came out the same (a
    /// re-export after an unrelated change) writes only what changed, not 500,000 rows
    /// deleted and inserted again. Old and new files are walked side by side in path
    /// order (the primary key's), which costs a third of matching them in a dictionary.
    static func write(items entries: [(item: ItemRecord, files: [ItemFile])], in db: Database) throws {
        guard !entries.isEmpty else { return }
        // Statements compiled once per transaction, not once per row: a dataset
        // folder of 500,000 files spent nine seconds compiling the same INSERT.
        let recorded = try db.cachedStatement(sql: "SELECT path, bytes, sha256 FROM item_files WHERE item_id = ? ORDER BY path")
        let remove = try db.cachedStatement(sql: "DELETE FROM item_files WHERE item_id = ? AND path = ?")
        // New and changed rows go in many to a statement: one statement per row was
        // most of the time recording a dataset's 500,000 files took.
        let fullUpsert = try db.cachedStatement(sql: Self.upsertFilesSQL(rows: Self.filesPerUpsert))
        var pending: [(any DatabaseValueConvertible)?] = []  // not [Any]: GRDB casts each of those
        pending.reserveCapacity(4 * Self.filesPerUpsert)
        func flush() throws {
            guard !pending.isEmpty else { return }
            let rows = pending.count / 4
            let statement = rows == Self.filesPerUpsert ? fullUpsert : try db.makeStatement(sql: Self.upsertFilesSQL(rows: rows))
            try statement.execute(arguments: StatementArguments(pending))
            pending.removeAll(keepingCapacity: true)
        }
        for (item, unsorted) in entries {
            // SQLite orders text by its UTF-8 bytes; so must the walk.
            let precedes = { (a: ItemFile, b: ItemFile) in UTF8Order.precedes(a.path, b.path) }
            let files = zip(unsorted, unsorted.dropFirst()).allSatisfy { precedes($0, $1) } ? unsorted : unsorted.sorted(by: precedes)
            let old = try ItemFile.fetchAll(recorded, arguments: [item.id])
            var next = 0
            for file in files {
                while next < old.count, precedes(old[next], file) {
                    try remove.execute(arguments: [item.id, old[next].path])
                    next += 1
                }
                if next < old.count, old[next].path == file.path {
                    next += 1
                    if old[next - 1] == file { continue }
                }
                pending += [item.id, file.path, file.bytes, file.sha256]
                if pending.count == 4 * Self.filesPerUpsert { try flush() }
            }
            for stale in old[next...] {
                try remove.execute(arguments: [item.id, stale.path])
            }
            try flush()
            try item.write(in: db)
        }
    }

    /// Rows of files one upsert statement writes (4 parameters each, far below SQLite's
    /// limit of 32,766).
    static let filesPerUpsert = 128

    static func upsertFilesSQL(rows: Int) -> String {
        "INSERT OR REPLACE INTO item_files (item_id, path, bytes, sha256) VALUES "
            + Array(repeating: "(?, ?, ?, ?)", count: rows).joined(separator: ", ")
    }

    /// The recorded files of the given items, by item id (items without any are absent).
    public func itemFiles(ids: some Collection<String>) throws -> [String: [ItemFile]] {
        var result: [String: [ItemFile]] = [:]
        try database.read { db in
            for chunk in Array(ids).chunked(Self.inListChunk) {
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                let rows = try Row.fetchAll(db, sql: "SELECT item_id, path, bytes, sha256 FROM item_files WHERE item_id IN (\(marks)) ORDER BY path",
                                            arguments: StatementArguments(Array(chunk)))
                for row in rows {
                    result[row["item_id"], default: []].append(ItemFile(path: row["path"], bytes: row["bytes"], sha256: row["sha256"]))
                }
            }
        }
        return result
    }

    /// Path and size of every recorded file, by item id: one scan of the table, for the
    /// resume check (which needs no hashes), cheaper than looking items up in chunks.
    public func recordedFileSizes() throws -> [String: [(path: String, bytes: Int64)]] {
        try database.read { db in
            var result: [String: [(path: String, bytes: Int64)]] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT item_id, path, bytes FROM item_files")
            while let row = try rows.next() {
                result[row[0], default: []].append((row[1], row[2]))
            }
            return result
        }
    }
}

/// The lock file a run wrote, as the store recorded it (``CheckpointStore/recordWrittenLock(_:)``).
public struct WrittenLock: Sendable, Equatable {
    /// The lock file's path.
    public var path: String
    /// The SHA-256 of the bytes written.
    public var sha256: String
    /// A digest of what the lock was made from besides the items (recipe, plan, tools).
    public var inputs: String
    /// The store's count of item changes (``CheckpointStore/itemChangeCount()``) read
    /// before the lock was made from the items.
    public var itemChanges: Int64

    public init(path: String, sha256: String, inputs: String, itemChanges: Int64) {
        self.path = path
        self.sha256 = sha256
        self.inputs = inputs
        self.itemChanges = itemChanges
    }
}

extension CheckpointStore {
    /// The lock last written, when no item has changed since: nil once any item was
    /// added, changed or removed.
    public func writtenLock() throws -> WrittenLock? {
        try database.read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT w.path, w.sha256, w.inputs, w.item_changes FROM written_lock w, item_changes c
                WHERE w.id = 1 AND w.item_changes = c.count
                """) else { return nil }
            return WrittenLock(path: row[0], sha256: row[1], inputs: row[2], itemChanges: row[3])
        }
    }

    /// How many times items were added, changed or removed, ever: read before making a
    /// lock from them, so that a change made meanwhile (by another run) makes the record
    /// of the lock stale at once.
    public func itemChangeCount() throws -> Int64 {
        try database.read { db in try Int64.fetchOne(db, sql: "SELECT count FROM item_changes WHERE id = 1") ?? 0 }
    }

    /// Records that `lock` was written, made from the items as they were at its count.
    public func recordWrittenLock(_ lock: WrittenLock) throws {
        try database.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO written_lock (id, path, sha256, inputs, item_changes) VALUES (1, ?, ?, ?, ?)",
                           arguments: [lock.path, lock.sha256, lock.inputs, lock.itemChanges])
        }
    }
}

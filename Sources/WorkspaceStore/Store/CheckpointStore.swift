import Foundation
import Planning
import GRDB

/// Errors thrown by ``CheckpointStore``.
public enum CheckpointStoreError: Error, Sendable, CustomStringConvertible {
    /// The directory that should hold the database could not be created.
    case cannotCreateDirectory(path: String, reason: String)
    /// The database file could not be opened or migrated.
    case cannotOpen(path: String, reason: String)
    /// The file is not a SQLite database or is corrupt (truncated, overwritten, damaged on disk).
    case damaged(path: String, reason: String)
    /// A read or write of an open database failed (disk full, read-only file system, I/O error).
    case databaseFailed(reason: String)
    /// The database was written by a newer synthset with migrations this build does not know.
    case newerSchema(path: String, unknownMigrations: [String])
    /// ``CheckpointStore/taskFinished(id:runID:attempt:status:exitCode:duration:loadSeconds:itemCount:error:)``
    /// named a task attempt that was never started.
    case unknownTask(id: String, runID: Int64, attempt: Int)
    /// A run id that does not exist.
    case unknownRun(Int64)

    /// A readable explanation that says what to do.
    public var description: String {
        switch self {
        case .cannotCreateDirectory(let path, let reason):
            return "cannot create the checkpoint directory \(path): \(reason); check that the workspace is writable"
        case .cannotOpen(let path, let reason):
            return "cannot open the checkpoint database \(path): \(reason); check permissions and free disk space, "
                + "or move the file aside to start a fresh checkpoint"
        case .damaged(let path, let reason):
            return "the checkpoint database \(path) is damaged (\(reason)); move it aside (mv \(path) \(path).bad) "
                + "and run again: synthset starts a fresh checkpoint and produces again the items it has no record of"
        case .databaseFailed(let reason):
            return "the checkpoint database failed: \(reason); check free disk space and that the workspace is writable"
        case .newerSchema(let path, let unknown):
            return "the checkpoint database \(path) was written by a newer synthset "
                + "(unknown migrations: \(unknown.joined(separator: ", "))); upgrade synthset to use this workspace"
        case .unknownTask(let id, let runID, let attempt):
            return "task \(id) attempt \(attempt) of run \(runID) was never recorded as started; "
                + "call taskStarted before taskFinished"
        case .unknownRun(let id):
            return "run \(id) does not exist in the checkpoint database; use the id returned by beginRun"
        }
    }
}

extension CheckpointStoreError {
    /// `error` as a store error when it is one from the database library (which callers of
    /// the store do not see), so they can report it as a workspace problem, not a bug.
    public static func wrapping(_ error: any Error) -> CheckpointStoreError? {
        guard let error = error as? DatabaseError else { return nil }
        if error.resultCode == .SQLITE_NOTADB || error.resultCode == .SQLITE_CORRUPT {
            return .damaged(path: "state.db", reason: error.message ?? "\(error.resultCode)")
        }
        return .databaseFailed(reason: error.message ?? "\(error.resultCode)")
    }
}

/// The executor's durable checkpoint: runs, task attempts and produced items,
/// in one SQLite database.
///
/// Durability: the database runs in WAL mode with `synchronous=NORMAL`. Every
/// method is one transaction; when it returns, the transaction is committed to
/// the WAL file, so it survives the process being killed at any point
/// (SIGKILL, crash, OOM). With `NORMAL`, a power loss or OS crash may roll
/// back the most recent transactions, but never corrupts the database — a
/// resumed run just redoes those items.
///
/// The store is safe to share between tasks and threads (`Sendable`); writes
/// are serialized by GRDB's `DatabaseQueue`. Another process opening the same
/// file waits up to the busy timeout for locks.
public final class CheckpointStore: Sendable {
    /// The schema version this build writes (`PRAGMA user_version`).
    public static let currentSchemaVersion = 5

    /// Maximum number of host parameters in one `IN (...)` list.
    static let inListChunk = 500

    /// The underlying GRDB connection.
    public let database: DatabaseQueue
    /// The database file, or `nil` for an in-memory store.
    public let path: URL?

    /// Opens (creating if needed) the checkpoint database at `path`, creating
    /// parent directories and running pending migrations.
    public convenience init(path: URL) throws {
        let directory = path.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw CheckpointStoreError.cannotCreateDirectory(
                path: directory.path, reason: FileErrorReason.of(error))
        }
        var config = Self.configuration()
        config.journalMode = .wal
        // What the type's durability note promises: a commit is in the WAL when the call
        // returns (safe against a kill), without an fsync per transaction. SQLite's
        // default, FULL, syncs the WAL on every commit: one disk flush per finished item.
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: path.path, configuration: config)
        } catch {
            throw Self.openError(error, path: path.path)
        }
        try self.init(queue: queue, path: path)
    }

    /// Opens an existing database for reading only: no directory is created, no
    /// migration runs, nothing is written, so a reader (`status`, `report`, the
    /// planner's measured timings) never races the run that owns the workspace.
    /// Returns nil when there is no database yet or its migrations are not complete
    /// (a run is creating it).
    public static func openForReading(path: URL) throws -> CheckpointStore? {
        guard FileManager.default.fileExists(atPath: path.path) else { return nil }
        var config = configuration()
        config.readonly = true
        do {
            let queue = try DatabaseQueue(path: path.path, configuration: config)
            guard try queue.read({ db in try migrator.hasCompletedMigrations(db) }) else { return nil }
            return CheckpointStore(readOnly: queue, path: path)
        } catch {
            throw openError(error, path: path.path)
        }
    }

    private init(readOnly queue: DatabaseQueue, path: URL) {
        self.database = queue
        self.path = path
    }

    /// Opens a fresh in-memory store (for tests). WAL does not apply to it.
    public static func inMemory() throws -> CheckpointStore {
        let queue = try DatabaseQueue(configuration: configuration())
        return try CheckpointStore(queue: queue, path: nil)
    }

    private init(queue: DatabaseQueue, path: URL?) throws {
        self.database = queue
        self.path = path
        let migrator = Self.migrator
        let location = path?.path ?? ":memory:"
        do {
            let superseded = try queue.read { db in try migrator.hasBeenSuperseded(db) }
            if superseded {
                let known = Set(migrator.migrations)
                let applied = try queue.read { db in try migrator.appliedIdentifiers(db) }
                throw CheckpointStoreError.newerSchema(
                    path: location, unknownMigrations: applied.subtracting(known).sorted())
            }
            try migrator.migrate(queue)
        } catch let error as CheckpointStoreError {
            throw error
        } catch {
            throw Self.openError(error, path: location)
        }
    }

    /// Why opening failed: a file that is not (or no longer) a database reads differently
    /// from one that cannot be opened, because the fix differs.
    private static func openError(_ error: any Error, path: String) -> CheckpointStoreError {
        if case .damaged(_, let reason)? = CheckpointStoreError.wrapping(error) { return .damaged(path: path, reason: reason) }
        return .cannotOpen(path: path, reason: "\(error)")
    }

    private static func configuration() -> Configuration {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.foreignKeysEnabled = true
        config.label = "synthset.checkpoint"
        return config
    }

    // MARK: Schema

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "runs") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("started_at", .double).notNull()
                t.column("finished_at", .double)
                t.column("status", .text).notNull()
                    .check(sql: "status IN ('running','succeeded','failed','interrupted')")
                t.column("pid", .integer).notNull()
                t.column("host", .text).notNull()
                t.column("argv", .text).notNull()
                t.column("plan_hash", .text).notNull()
                t.column("estimated_gpu_seconds", .double)
                t.column("actual_gpu_seconds", .double)
            }
            try db.create(table: "tasks") { t in
                t.column("id", .text).notNull()
                t.column("run_id", .integer).notNull().references("runs", onDelete: .cascade)
                t.column("step", .text).notNull()
                t.column("tool", .text).notNull()
                t.column("model", .text)
                t.column("gpu", .text)
                t.column("attempt", .integer).notNull()
                t.column("status", .text).notNull()
                    .check(sql: "status IN ('running','succeeded','failed','interrupted')")
                t.column("started_at", .double).notNull()
                t.column("finished_at", .double)
                t.column("duration", .double)
                t.column("exit_code", .integer)
                t.column("load_seconds", .double)
                t.column("item_count", .integer).notNull()
                t.column("log_path", .text).notNull()
                t.column("error", .text)
                t.primaryKey(["id", "run_id", "attempt"])
            }
            try db.create(index: "tasks_on_tool", on: "tasks", columns: ["tool", "model", "gpu", "status"])
            try db.create(table: "items") { t in
                t.primaryKey("id", .text)
                t.column("step", .text).notNull()
                t.column("path", .text).notNull()
                t.column("sha256", .text)
                t.column("bytes", .integer)
                t.column("status", .text).notNull().check(sql: "status IN ('done','failed','running')")
                t.column("attempts", .integer).notNull()
                t.column("started_at", .double)
                t.column("finished_at", .double)
                t.column("duration", .double)
                t.column("gpu", .text)
                t.column("log_path", .text)
                t.column("error", .text)
                t.column("task_id", .text)
                t.column("run_id", .integer)
                t.column("tool", .text)
                t.column("model", .text)
            }
            try db.create(index: "items_on_step", on: "items", columns: ["step"])
            try db.create(table: "uploads") { t in
                t.column("item_id", .text).notNull()
                t.column("target", .text).notNull()
                t.column("uploaded_at", .double).notNull()
                t.primaryKey(["item_id", "target"])
            }
            try db.execute(sql: "PRAGMA user_version = 1")
        }
        // Process groups of running tools, so a run can end those a killed run left.
        migrator.registerMigration("v2") { db in
            try db.create(table: "tool_processes") { t in
                t.column("pgid", .integer).notNull()
                t.column("run_id", .integer).notNull()
                t.column("host", .text).notNull()
                t.column("marker", .text).notNull()
                t.column("started_at", .double).notNull()
                t.primaryKey(["pgid", "run_id"])
            }
            // The files an item consists of besides its main file (companions such as
            // ground-truth sidecars) or inside it (a dataset folder), one by one.
            try db.create(table: "item_files") { t in
                t.column("item_id", .text).notNull()
                t.column("path", .text).notNull()
                t.column("bytes", .integer).notNull()
                t.column("sha256", .text).notNull()
                t.primaryKey(["item_id", "path"])
            }
            try db.execute(sql: "PRAGMA user_version = 2")
        }
        // Cluster jobs (`run --executor slurm`): one row per submission of one task, so a
        // restarted coordinator adopts what is queued instead of submitting it again.
        migrator.registerMigration("v3") { db in
            try db.create(table: "cluster_jobs") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("task_id", .text).notNull()
                t.column("attempt", .integer).notNull()
                t.column("step", .text).notNull()
                t.column("run_id", .integer).notNull()
                t.column("scheduler", .text).notNull()
                t.column("job_name", .text).notNull()
                t.column("job_id", .text)
                t.column("array_index", .integer)
                t.column("job_file", .text).notNull()
                t.column("items", .text).notNull()
                t.column("state", .text).notNull()
                t.column("reason", .text)
                t.column("submitted_at", .double).notNull()
                t.column("ended_at", .double)
                t.column("settled", .boolean).notNull().defaults(to: false)
            }
            try db.create(index: "cluster_jobs_open", on: "cluster_jobs", columns: ["settled", "task_id"])
            try db.execute(sql: "PRAGMA user_version = 3")
        }
        // A count of changes to the items, kept by triggers, and the lock file written
        // when the count had a value: a re-run that made nothing, finding the count, the
        // lock's inputs and the file itself unchanged, knows the lock it would write is
        // the one on disk without building it again (a fifth of a no-op re-run at 100,000
        // items; see ``writtenLock()``).
        migrator.registerMigration("v4") { db in
            try db.execute(sql: """
                CREATE TABLE item_changes (id INTEGER PRIMARY KEY CHECK (id = 1), count INTEGER NOT NULL);
                INSERT INTO item_changes (id, count) VALUES (1, 0);
                CREATE TRIGGER items_inserted AFTER INSERT ON items BEGIN UPDATE item_changes SET count = count + 1; END;
                CREATE TRIGGER items_updated AFTER UPDATE ON items BEGIN UPDATE item_changes SET count = count + 1; END;
                CREATE TRIGGER items_deleted AFTER DELETE ON items BEGIN UPDATE item_changes SET count = count + 1; END;
                CREATE TABLE written_lock (
                    id INTEGER PRIMARY KEY CHECK (id = 1), path TEXT NOT NULL, sha256 TEXT NOT NULL,
                    inputs TEXT NOT NULL, item_changes INTEGER NOT NULL);
                PRAGMA user_version = 4;
                """)
        }
        // The files of items in one B-tree keyed by (item, path), without a rowid: with a
        // rowid, each row was written twice (the table and its primary-key index), and
        // recording a dataset of 500,000 files was one of the last seconds of an export.
        migrator.registerMigration("v5") { db in
            try db.execute(sql: """
                CREATE TABLE item_files_keyed (
                    item_id TEXT NOT NULL, path TEXT NOT NULL, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL,
                    PRIMARY KEY (item_id, path)) WITHOUT ROWID;
                INSERT INTO item_files_keyed (item_id, path, bytes, sha256) SELECT item_id, path, bytes, sha256 FROM item_files;
                DROP TABLE item_files;
                ALTER TABLE item_files_keyed RENAME TO item_files;
                PRAGMA user_version = 5;
                """)
        }
        return migrator
    }

    /// The schema version of the open database (`PRAGMA user_version`).
    public func schemaVersion() throws -> Int {
        try database.read { db in try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0 }
    }

    /// Identifiers of the migrations applied to the open database, in order (e.g. `["v1"]`).
    public func appliedMigrations() throws -> [String] {
        try database.read { db in try Self.migrator.appliedMigrations(db) }
    }

    /// The SQLite journal mode in effect (`"wal"` for file-backed stores).
    public func journalMode() throws -> String {
        try database.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    // MARK: Runs

    /// Starts a new run owned by this process and returns its id.
    ///
    /// First marks runs abandoned by dead processes as interrupted (see
    /// ``markAbandonedRuns()``), in the same transaction.
    public func beginRun(argv: [String], planHash: String, estimatedGPUSeconds: Double?) throws -> Int64 {
        try database.write { db in
            _ = try Self.markAbandonedRuns(db)
            let record = RunRecord(
                startedAt: Date(), status: .running, pid: getpid(), host: ProcessProbe.hostName(),
                argv: argv, planHash: planHash, estimatedGPUSeconds: estimatedGPUSeconds)
            try record.insert(db)
            return db.lastInsertedRowID
        }
    }

    /// Records the end of run `id`.
    public func finishRun(_ id: Int64, status: RunStatus, actualGPUSeconds: Double?) throws {
        try database.write { db in
            try db.execute(
                sql: "UPDATE runs SET status = ?, finished_at = ?, actual_gpu_seconds = ? WHERE id = ?",
                arguments: [status.rawValue, Date().timeIntervalSince1970, actualGPUSeconds, id])
            if db.changesCount == 0 { throw CheckpointStoreError.unknownRun(id) }
        }
    }

    /// The most recent run, if any.
    public func lastRun() throws -> RunRecord? {
        try database.read { db in
            try RunRecord.order(Column(RunRecord.CodingKeys.id).desc).fetchOne(db)
        }
    }

    /// The run with id `id`, if any.
    public func run(id: Int64) throws -> RunRecord? {
        try database.read { db in try RunRecord.fetchOne(db, key: id) }
    }

    /// Marks runs left `running` by a process that no longer exists as `interrupted`,
    /// and returns their ids.
    ///
    /// A run is abandoned when it was started on this host and its pid is dead
    /// (or is a zombie). Runs of live processes — including this one — and runs
    /// started on other hosts (whose pid cannot be checked) are left alone.
    /// Tasks of abandoned runs still `running` become `interrupted`, and items
    /// still `running` for those runs become `failed` with an "interrupted" error.
    @discardableResult
    public func markAbandonedRuns() throws -> [Int64] {
        try database.write { db in try Self.markAbandonedRuns(db) }
    }

    private static func markAbandonedRuns(_ db: Database) throws -> [Int64] {
        let host = ProcessProbe.hostName()
        let running = try RunRecord.filter(Column(RunRecord.CodingKeys.status) == RunStatus.running.rawValue)
            .fetchAll(db)
        var abandoned: [Int64] = []
        let now = Date().timeIntervalSince1970
        for run in running {
            guard let id = run.id, run.host == host else { continue }
            guard !ProcessProbe.isAlive(run.pid) else { continue }
            abandoned.append(id)
            try db.execute(
                sql: "UPDATE runs SET status = 'interrupted', finished_at = COALESCE(finished_at, ?) WHERE id = ?",
                arguments: [now, id])
            try db.execute(
                sql: """
                    UPDATE tasks SET status = 'interrupted', finished_at = COALESCE(finished_at, ?)
                    WHERE run_id = ? AND status = 'running'
                    """,
                arguments: [now, id])
            try db.execute(
                sql: """
                    UPDATE items SET status = 'failed', finished_at = COALESCE(finished_at, ?),
                        error = COALESCE(error, ?)
                    WHERE run_id = ? AND status = 'running'
                    """,
                arguments: [now, "interrupted: run \(id) (pid \(run.pid)) ended without finishing", id])
        }
        return abandoned
    }

    // MARK: Tasks

    /// Records the start of a task attempt (replacing any row with the same
    /// `(id, runID, attempt)`).
    public func taskStarted(_ task: TaskRecord) throws {
        try database.write { db in try task.write(in: db) }
    }

    /// Records the end of a task attempt.
    ///
    /// - Parameter itemCount: when given, replaces the item count recorded at start
    ///   (for tools that processed fewer items than planned).
    public func taskFinished(
        id: String, runID: Int64, attempt: Int, status: TaskStatus, exitCode: Int32?,
        duration: Double, loadSeconds: Double?, itemCount: Int? = nil, error: String?
    ) throws {
        let ending = TaskEnding(id: id, runID: runID, attempt: attempt, status: status, exitCode: exitCode,
                                duration: duration, loadSeconds: loadSeconds, itemCount: itemCount, error: error)
        try database.write { db in
            guard try Self.write(ending, in: db) else {
                throw CheckpointStoreError.unknownTask(id: id, runID: runID, attempt: attempt)
            }
        }
    }

    /// All attempts recorded for a run, in start order.
    public func tasks(runID: Int64) throws -> [TaskRecord] {
        try database.read { db in
            try TaskRecord.filter(Column(TaskRecord.CodingKeys.runID) == runID)
                .order(Column(TaskRecord.CodingKeys.startedAt), Column(TaskRecord.CodingKeys.id),
                       Column(TaskRecord.CodingKeys.attempt))
                .fetchAll(db)
        }
    }

    /// Every attempt of every run, in start order (the QC report's measured time).
    public func allTasks() throws -> [TaskRecord] {
        try database.read { db in
            try TaskRecord.order(Column(TaskRecord.CodingKeys.startedAt), Column(TaskRecord.CodingKeys.id),
                                 Column(TaskRecord.CodingKeys.attempt))
                .fetchAll(db)
        }
    }

    // MARK: Items

    /// Inserts or replaces one item. When this returns, the row is committed
    /// (durable against a crash of this process).
    public func recordItem(_ item: ItemRecord) throws {
        try database.write { db in try item.insert(db, onConflict: .replace) }
    }

    /// Inserts or replaces many items in one transaction.
    public func recordItems(_ items: some Sequence<ItemRecord>) throws {
        try database.write { db in
            for item in items { try item.write(in: db) }
        }
    }

    /// The item with id `id`, if recorded.
    public func item(id: String) throws -> ItemRecord? {
        try database.read { db in try ItemRecord.fetchOne(db, key: id) }
    }

    /// The recorded items among `ids`, keyed by id. Ids with no row are absent.
    public func items(ids: some Collection<String>) throws -> [String: ItemRecord] {
        let unique = Array(Set(ids))
        return try database.read { db in
            var result: [String: ItemRecord] = [:]
            result.reserveCapacity(unique.count)
            for chunk in unique.chunked(Self.inListChunk) {
                for item in try ItemRecord.filter(chunk.contains(Column(ItemRecord.CodingKeys.id))).fetchAll(db) {
                    result[item.id] = item
                }
            }
            return result
        }
    }

    /// Where each item recorded as done lives, its size and hash, keyed by id: what a
    /// resume checks against the file system and a lock file records. One query over
    /// four columns; at 100,000 items far cheaper than ``items(ids:)`` (no record
    /// decoding, no id lists).
    ///
    /// - Parameter hashes: whether to read the hashes too; a resume check, which needs only
    ///   sizes, leaves them (a 64-character string per item to make and free).
    public func doneOutputs(hashes: Bool = true) throws -> [String: DoneOutput] {
        try database.read { db in
            // Gathered first, then put in a dictionary made at its full size: one grown
            // row by row rehashed every key a dozen times at 100,000 items.
            var rows: [(String, DoneOutput)] = []
            let cursor = try Row.fetchCursor(
                db, sql: "SELECT id, path, bytes\(hashes ? ", sha256" : "") FROM items WHERE status = 'done' AND bytes IS NOT NULL")
            while let row = try cursor.next() {
                rows.append((row[0], DoneOutput(path: row[1], bytes: row[2], sha256: hashes ? row[3] : nil)))
            }
            return Dictionary(rows, uniquingKeysWith: { _, last in last })
        }
    }

    /// All items of a step, ordered by id.
    public func items(step: String) throws -> [ItemRecord] {
        try database.read { db in
            try ItemRecord.filter(Column(ItemRecord.CodingKeys.step) == step)
                .order(Column(ItemRecord.CodingKeys.id)).fetchAll(db)
        }
    }

    /// Every item, ordered by step then id.
    public func allItems() throws -> [ItemRecord] {
        try database.read { db in
            try ItemRecord.order(Column(ItemRecord.CodingKeys.step), Column(ItemRecord.CodingKeys.id)).fetchAll(db)
        }
    }

    /// Deletes the items with the given ids and their recorded files (one transaction) and
    /// returns how many items were removed.
    @discardableResult
    public func deleteItems(ids: some Collection<String>) throws -> Int {
        let unique = Array(Set(ids))
        return try database.write { db in
            var removed = 0
            for chunk in unique.chunked(Self.inListChunk) {
                removed += try ItemRecord.filter(chunk.contains(Column(ItemRecord.CodingKeys.id))).deleteAll(db)
                // Their files go with them: left behind, every later run read them again.
                try db.execute(literal: "DELETE FROM item_files WHERE item_id IN \(chunk)")
            }
            return removed
        }
    }

    /// Failed items of a step, ordered by id.
    public func failedItems(step: String) throws -> [ItemRecord] {
        try database.read { db in
            try ItemRecord
                .filter(Column(ItemRecord.CodingKeys.step) == step)
                .filter(Column(ItemRecord.CodingKeys.status) == ItemStatus.failed.rawValue)
                .order(Column(ItemRecord.CodingKeys.id)).fetchAll(db)
        }
    }

    // MARK: Uploads

    /// Records that every one of `itemIDs` was uploaded to `target`, in one transaction.
    public func recordUploads(itemIDs: [String], target: String, at date: Date = Date()) throws {
        guard !itemIDs.isEmpty else { return }
        try database.write { db in
            for id in itemIDs { try UploadRecord(itemID: id, target: target, uploadedAt: date).insert(db, onConflict: .replace) }
        }
    }

    /// Ids of the items already uploaded to `target`.
    public func uploadedItemIDs(target: String) throws -> Set<String> {
        try database.read { db in
            Set(try String.fetchAll(db, sql: "SELECT item_id FROM uploads WHERE target = ?", arguments: [target]))
        }
    }

    // MARK: Timings

    /// Timings of succeeded tasks that ran `tool` with `model` on `gpu`, fitted by
    /// ``MeasuredTiming/fit(_:)``: reported load times when the tool gave them, else a
    /// least-squares line over tasks of different batch sizes, else the median task.
    ///
    /// `model` and `gpu` match exactly; `nil` matches rows where the column is
    /// NULL (a model-less tool, a CPU task). Tasks with no items or no duration are
    /// ignored. Returns `nil` when there is no sample.
    public func measuredTimings(tool: String, model: String?, gpu: String?) throws -> MeasuredTiming? {
        let rows = try database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT duration, load_seconds, item_count FROM tasks
                    WHERE status = 'succeeded' AND tool = ? AND model IS ? AND gpu IS ?
                      AND item_count > 0 AND duration IS NOT NULL
                    """,
                arguments: [tool, model, gpu])
        }
        return MeasuredTiming.fit(rows.map { row in
            (items: row["item_count"] as Int, seconds: row["duration"] as Double, load: row["load_seconds"] as Double?)
        })
    }
}

extension Array {
    /// Splits the array into consecutive slices of at most `size` elements.
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}

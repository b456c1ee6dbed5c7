import Basics
import Foundation
import GRDB
import Testing

@testable import Execution
@testable import WorkspaceStore

/// The pid of a process that has exited and been reaped (so the pid is dead).
func deadPID() throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", "exit 0"]
    try process.run()
    process.waitUntilExit()
    return process.processIdentifier
}

@Suite struct StoreTests {
    func item(_ id: String, step: String = "render", status: ItemStatus = .done, runID: Int64? = nil) -> ItemRecord {
        ItemRecord(
            id: id, step: step, path: "\(step)/\(id).png", sha256: status == .done ? "ab\(id)" : nil,
            bytes: status == .done ? 1234 : nil, status: status, attempts: 1,
            startedAt: Date(timeIntervalSince1970: 1_700_000_000),
            finishedAt: Date(timeIntervalSince1970: 1_700_000_001.5), duration: 1.5, gpu: "0",
            logPath: "logs/x.log", error: status == .failed ? "boom" : nil, taskID: "t1", runID: runID,
            tool: "blender", model: nil)
    }

    @Test func migrationsRunOnNewFileAndWALIsOn() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("nested/deeper/checkpoint.sqlite")
        let store = try CheckpointStore(path: path)
        #expect(FileManager.default.fileExists(atPath: path.path))
        #expect(try store.appliedMigrations() == ["v1", "v2", "v3", "v4", "v5"])
        #expect(try store.schemaVersion() == CheckpointStore.currentSchemaVersion)
        #expect(try store.journalMode() == "wal")
        let synchronous = try store.database.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(synchronous == 1)  // NORMAL
        let tables = try store.database.read { db in
            try String.fetchSet(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        #expect(tables.isSuperset(of: ["runs", "tasks", "items", "uploads"]))
        let indexes = try store.database.read { db in try db.indexes(on: "items").map(\.name) }
        #expect(indexes.contains("items_on_step"))
        // Reopening does not re-run migrations.
        let again = try CheckpointStore(path: path)
        #expect(try again.appliedMigrations() == ["v1", "v2", "v3", "v4", "v5"])
    }

    @Test func aVersion4StoreKeepsItsFilesInTheTableWithoutRowids() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("state.db")
        do {
            let old = try DatabaseQueue(path: path.path)
            try CheckpointStore.migrator.migrate(old, upTo: "v4")
            try old.write { db in
                for index in 0..<3 {
                    try db.execute(sql: "INSERT INTO item_files (item_id, path, bytes, sha256) VALUES ('d', ?, ?, 'h')",
                                   arguments: ["dataset/f\(index)", index])
                }
            }
            try old.close()
        }
        let store = try CheckpointStore(path: path)
        #expect(try store.schemaVersion() == 5)
        #expect(try store.itemFiles(ids: ["d"])["d"]?.map(\.path) == ["dataset/f0", "dataset/f1", "dataset/f2"])
        let sql = try store.database.read { db in try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'item_files'") }
        #expect(sql?.contains("WITHOUT ROWID") == true)
        // The primary key still holds: a path recorded twice for one item is one row.
        try store.recordItem(item("d"), files: [ItemFile(path: "dataset/f0", bytes: 7, sha256: "new")])
        #expect(try store.itemFiles(ids: ["d"])["d"] == [ItemFile(path: "dataset/f0", bytes: 7, sha256: "new")])
    }

    /// The walk over recorded files relies on this order being SQLite's, including for
    /// text Swift's `<` orders otherwise (a decomposed accent sorts as its scalars).
    @Test func utf8OrderIsSQLitesOrderOfText() throws {
        let texts = ["e\u{301}", "\u{e9}", "f", "E", "", "a", "ab", "a b", "\u{1F600}", "\u{FFFD}", "z/", "z.", "Z"]
        let json = String(decoding: try JSONEncoder().encode(texts), as: UTF8.self)
        let sqlite = try DatabaseQueue().read { db in
            try String.fetchAll(db, sql: "SELECT value FROM json_each(?) ORDER BY value", arguments: [json])
        }
        #expect(texts.sorted(by: UTF8Order.precedes) == sqlite)
        #expect(texts.sorted() != sqlite)  // Swift's own order differs here, so the test can tell
    }

    @Test func newerSchemaIsRejectedWithAHint() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("checkpoint.sqlite")
        do {
            let store = try CheckpointStore(path: path)
            try store.database.write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99')")
            }
        }
        #expect {
            _ = try CheckpointStore(path: path)
        } throws: { error in
            guard case CheckpointStoreError.newerSchema(_, let unknown) = error else { return false }
            return unknown == ["v99"] && "\(error)".contains("upgrade synthset")
        }
    }

    @Test func upsertKeepsOneRow() throws {
        let store = try CheckpointStore.inMemory()
        try store.recordItem(item("a", status: .running))
        var updated = item("a", status: .done)
        updated.attempts = 2
        try store.recordItem(updated)
        let count = try store.database.read { db in try ItemRecord.fetchCount(db) }
        #expect(count == 1)
        #expect(try store.item(id: "a") == updated)
        #expect(try store.item(id: "missing") == nil)
    }

    @Test func recommittedFilesLeaveExactlyTheNewSetAndTouchOnlyWhatChanged() throws {
        let store = try CheckpointStore.inMemory()
        let first = (0..<5).map { ItemFile(path: "dataset/f\($0).txt", bytes: Int64($0), sha256: "h\($0)") }
        try store.recordItem(item("d"), files: first)
        try store.recordItem(item("other"), files: [ItemFile(path: "render/other.json", bytes: 1, sha256: "o")])
        let changesBefore = try store.database.read { db in try Int.fetchOne(db, sql: "SELECT total_changes()") ?? 0 }

        // f0 and f1 kept as they were, f2 with a new hash, f3 with a new size, f4 gone, f5 new.
        let second = [first[0], first[1], ItemFile(path: "dataset/f2.txt", bytes: 2, sha256: "changed"),
                      ItemFile(path: "dataset/f3.txt", bytes: 33, sha256: "h3"), ItemFile(path: "dataset/f5.txt", bytes: 5, sha256: "h5")]
        try store.recordItem(item("d"), files: second.reversed())  // in any order
        let recorded = try store.itemFiles(ids: ["d", "other"])
        #expect(recorded["d"] == second.sorted { $0.path < $1.path })
        #expect(recorded["other"] == [ItemFile(path: "render/other.json", bytes: 1, sha256: "o")])
        // Rows written: f2, f3 and f5 replaced or inserted, f4 deleted, the item itself
        // (replaced: counted as one) and the trigger's count; the unchanged f0 and f1 untouched.
        let written = try store.database.read { db in try Int.fetchOne(db, sql: "SELECT total_changes()") ?? 0 } - changesBefore
        #expect(written == 6)

        try store.recordItem(item("d"), files: [])
        #expect(try store.itemFiles(ids: ["d"])["d"] == nil)

        // Many files at once (more than one statement's worth), some of them changed.
        let many = (0..<300).map { ItemFile(path: String(format: "dataset/m%04d.txt", $0), bytes: Int64($0), sha256: "m\($0)") }
        try store.recordItem(item("d"), files: many)
        #expect(try store.itemFiles(ids: ["d"])["d"] == many)
        let changed = many.map { $0.bytes % 7 == 0 ? ItemFile(path: $0.path, bytes: $0.bytes, sha256: "changed") : $0 }.dropLast(5)
        try store.recordItem(item("d"), files: Array(changed.shuffled()))
        #expect(try store.itemFiles(ids: ["d"])["d"] == Array(changed))

        // Deleting an item deletes its files' rows too.
        try store.recordItem(item("d"), files: first)
        #expect(try store.deleteItems(ids: ["other", "d"]) == 2)
        #expect(try store.itemFiles(ids: ["d", "other"]).isEmpty)
        #expect(try store.recordedFileSizes().isEmpty)
    }

    @Test func itemQueriesAndChunkedLookups() throws {
        let store = try CheckpointStore.inMemory()
        let many = (0..<1_234).map { item(String(format: "i%05d", $0), step: $0 % 2 == 0 ? "render" : "label") }
        try store.recordItems(many)
        try store.recordItem(item("f1", step: "label", status: .failed))
        try store.recordItem(item("r1", step: "label", status: .running))

        let ids = many.map(\.id) + ["nope"]
        let found = try store.items(ids: ids)
        #expect(found.count == 1_234)
        #expect(found["i00007"] == many[7])
        #expect(found["nope"] == nil)
        #expect(try store.items(step: "render").count == 617)
        #expect(try store.allItems().count == 1_236)

        let labelStatuses = try store.items(step: "label").reduce(into: [ItemStatus: Int]()) { $0[$1.status, default: 0] += 1 }
        #expect(labelStatuses == [.done: 617, .failed: 1, .running: 1])
        #expect(try store.failedItems(step: "label").map(\.id) == ["f1"])

        #expect(try store.deleteItems(ids: many.prefix(700).map(\.id)) == 700)
        #expect(try store.allItems().count == 536)
    }

    @Test func doneOutputsListsDoneItemsWithTheirPathAndSize() throws {
        let store = try CheckpointStore.inMemory()
        try store.recordItems((0..<1_500).map { item(String(format: "d%05d", $0)) })
        try store.recordItem(item("f1", status: .failed))
        try store.recordItem(item("r1", status: .running))
        let done = try store.doneOutputs()
        #expect(done.count == 1_500)
        #expect(done["d00042"] == DoneOutput(path: "render/d00042.png", bytes: 1234, sha256: "abd00042"))
        #expect(done["f1"] == nil)
        #expect(done["r1"] == nil)
    }

    @Test func reopenedStoreSeesItemsWrittenByAnotherProcess() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("checkpoint.sqlite")
        _ = try CheckpointStore(path: path)  // create the schema

        // Another process writes a finished item into the WAL database, then is SIGKILLed
        // while keeping its connection open (no checkpoint, no clean close).
        let sqlite = ["/usr/bin/sqlite3", "/bin/sqlite3"].first { FileManager.default.isExecutableFile(atPath: $0) }
        if let sqlite {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: sqlite)
            process.arguments = [
                path.path,
                "PRAGMA synchronous=NORMAL;",
                "INSERT INTO items (id, step, path, sha256, bytes, status, attempts) "
                    + "VALUES ('ext', 'render', 'render/ext.png', 'ff', 9, 'done', 1);",
                ".shell kill -9 $PPID",  // die by SIGKILL right after the commit
            ]
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal)
            #expect(process.terminationStatus == SIGKILL)
        } else {
            // No sqlite3 CLI: write from this process and drop the connection without closing cleanly.
            let store = try CheckpointStore(path: path)
            try store.recordItem(item("ext"))
        }
        let reopened = try CheckpointStore(path: path)
        let ext = try #require(try reopened.item(id: "ext"))
        #expect(ext.status == .done)
        #expect(ext.path == "render/ext.png")
    }

    @Test func itemsSurviveReopenInProcess() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("checkpoint.sqlite")
        let writer = try CheckpointStore(path: path)
        try writer.recordItem(item("x"))
        // A second connection (as another process would open) sees the committed row immediately.
        let reader = try CheckpointStore(path: path)
        #expect(try reader.item(id: "x") == item("x"))
    }

    @Test func runsLifecycle() throws {
        let store = try CheckpointStore.inMemory()
        #expect(try store.lastRun() == nil)
        let id = try store.beginRun(argv: ["synthset", "run", "recipe.yaml"], planHash: "abc", estimatedGPUSeconds: 12.5)
        var run = try #require(try store.lastRun())
        #expect(run.id == id)
        #expect(run.status == .running)
        #expect(run.argv == ["synthset", "run", "recipe.yaml"])
        #expect(run.pid == getpid())
        #expect(run.estimatedGPUSeconds == 12.5)
        let argvText = try store.database.read { db in try String.fetchOne(db, sql: "SELECT argv FROM runs") }
        #expect(argvText == #"["synthset","run","recipe.yaml"]"#)

        try store.finishRun(id, status: .succeeded, actualGPUSeconds: 10)
        run = try #require(try store.lastRun())
        #expect(run.status == .succeeded)
        #expect(run.actualGPUSeconds == 10)
        #expect(run.finishedAt != nil)
        #expect(throws: CheckpointStoreError.self) { try store.finishRun(999, status: .failed, actualGPUSeconds: nil) }
    }

    @Test func markAbandonedRunsFlipsRunsOfDeadProcesses() throws {
        let store = try CheckpointStore.inMemory()
        let host = ProcessProbe.hostName()
        let dead = try deadPID()
        #expect(!ProcessProbe.isAlive(dead))
        let (deadRun, aliveRun, otherHostRun) = try store.database.write { db in
            var ids: [Int64] = []
            for (pid, h) in [(dead, host), (getppid(), host), (dead, "elsewhere")] {
                try RunRecord(startedAt: Date(), status: .running, pid: pid, host: h, argv: [], planHash: "h").insert(db)
                ids.append(db.lastInsertedRowID)
            }
            return (ids[0], ids[1], ids[2])
        }
        try store.taskStarted(TaskRecord(id: "t", runID: deadRun, step: "render", tool: "blender", itemCount: 2, logPath: "l"))
        try store.recordItem(item("r", status: .running, runID: deadRun))

        let newRun = try store.beginRun(argv: [], planHash: "h", estimatedGPUSeconds: nil)
        #expect(try store.run(id: deadRun)?.status == .interrupted)
        #expect(try store.run(id: deadRun)?.finishedAt != nil)
        #expect(try store.run(id: aliveRun)?.status == .running)
        #expect(try store.run(id: otherHostRun)?.status == .running)
        #expect(try store.run(id: newRun)?.status == .running)
        #expect(try store.tasks(runID: deadRun).map(\.status) == [.interrupted])
        let flipped = try #require(try store.item(id: "r"))
        #expect(flipped.status == .failed)
        #expect(flipped.error?.contains("interrupted") == true)
        // Idempotent, and never touches runs of live processes (ours included).
        #expect(try store.markAbandonedRuns() == [])
        #expect(try store.run(id: newRun)?.status == .running)
    }

    @Test func tasksStartAndFinish() throws {
        let store = try CheckpointStore.inMemory()
        let run = try store.beginRun(argv: [], planHash: "h", estimatedGPUSeconds: nil)
        let task = TaskRecord(
            id: "render-0", runID: run, step: "render", tool: "blender", model: nil, gpu: "0",
            attempt: 1, itemCount: 10, logPath: "logs/render-0.log")
        try store.taskStarted(task)
        try store.taskFinished(
            id: "render-0", runID: run, attempt: 1, status: .succeeded, exitCode: 0,
            duration: 42, loadSeconds: 2, error: nil)
        let stored = try #require(try store.tasks(runID: run).first)
        #expect(stored.status == .succeeded)
        #expect(stored.exitCode == 0)
        #expect(stored.duration == 42)
        #expect(stored.loadSeconds == 2)
        #expect(stored.itemCount == 10)
        #expect(stored.finishedAt != nil)
        #expect(throws: CheckpointStoreError.self) {
            try store.taskFinished(
                id: "render-0", runID: run, attempt: 2, status: .failed, exitCode: 1,
                duration: 1, loadSeconds: nil, error: "x")
        }
    }

    /// The store writes items and tasks through statements of its own (not GRDB's Codable
    /// persistence); a column added to a record but not to them would be lost silently.
    @Test func fastRowWritesMatchGRDBsOwn() throws {
        let fast = try CheckpointStore.inMemory(), grdb = try CheckpointStore.inMemory()
        let runs = try [fast, grdb].map { try $0.beginRun(argv: [], planHash: "h", estimatedGPUSeconds: nil) }
        #expect(runs[0] == runs[1])
        let items = [
            item("full", runID: runs[0]),
            item("failed", status: .failed, runID: runs[0]),
            ItemRecord(id: "bare", step: "s", path: "s/bare.txt", status: .running),  // every optional nil
            ItemRecord(id: "odd ' \" é", step: "s", path: "s/ü.txt", sha256: "00", bytes: Int64.max, status: .done,
                       attempts: 7, startedAt: Date(timeIntervalSince1970: 0.25), finishedAt: Date(timeIntervalSince1970: -1),
                       duration: 0, gpu: "H100:0,1", logPath: "", error: "", taskID: "", runID: -3, tool: "t", model: "m"),
        ]
        let tasks = [
            TaskRecord(id: "a", runID: runs[0], step: "s", tool: "command", itemCount: 1, logPath: "logs/a.log"),
            TaskRecord(id: "b", runID: runs[0], step: "s", tool: "cosmos", model: "2B", gpu: "0", attempt: 3, status: .failed,
                       startedAt: Date(timeIntervalSince1970: 1.5), finishedAt: Date(timeIntervalSince1970: 9), duration: 7.5,
                       exitCode: -9, loadSeconds: 0.5, itemCount: 0, logPath: "l", error: "boom"),
        ]
        try fast.record(StoreBatch(startedTasks: tasks, items: items.map { ($0, []) }))
        try grdb.database.write { db in
            for task in tasks { try task.insert(db, onConflict: .replace) }
            for item in items { try item.insert(db, onConflict: .replace) }
        }
        for table in ["items", "tasks"] {
            let rows = try [fast, grdb].map { store in
                try store.database.read { db in try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY id") }
            }
            #expect(rows[0].count == (table == "items" ? items.count : tasks.count))
            #expect(rows[0] == rows[1], "\(table) differ")
        }
        #expect(try fast.items(ids: items.map(\.id)).values.sorted { $0.id < $1.id } == items.sorted { $0.id < $1.id })
        // Every column of each table, in the table's own order, is one the statements write.
        for (table, columns) in [("items", ItemRecord.columns), ("tasks", TaskRecord.columns)] {
            let declared = try fast.database.read { db in try db.columns(in: table).map(\.name) }
            #expect(declared == columns, "\(table): the table has \(declared)")
        }
    }

    /// A start and its end in one batch are written as one ended row: the same row as the
    /// start written first and the end applied to it, for every field an end sets or keeps.
    @Test func aStartAndItsEndInOneBatchMakeTheSameRow() throws {
        let merged = try CheckpointStore.inMemory(), apart = try CheckpointStore.inMemory()
        let runs = try [merged, apart].map { try $0.beginRun(argv: [], planHash: "h", estimatedGPUSeconds: nil) }
        let starts = [
            TaskRecord(id: "kept", runID: runs[0], step: "s", tool: "command", gpu: "0", attempt: 2, itemCount: 4, logPath: "l1"),
            TaskRecord(id: "set", runID: runs[0], step: "s", tool: "command", itemCount: 1, logPath: "l2"),
            TaskRecord(id: "open", runID: runs[0], step: "s", tool: "command", itemCount: 1, logPath: "l3"),
        ]
        let ends = [
            TaskEnding(id: "kept", runID: runs[0], attempt: 2, status: .failed, exitCode: 3, duration: 1.5, loadSeconds: 0.25,
                       error: "boom"),
            TaskEnding(id: "set", runID: runs[0], attempt: 1, status: .succeeded, exitCode: 0, duration: 0.5, loadSeconds: nil,
                       itemCount: 7, error: nil),
            // Another attempt's end: not this start's.
            TaskEnding(id: "open", runID: runs[0], attempt: 9, status: .succeeded, exitCode: 0, duration: 1, loadSeconds: nil, error: nil),
        ]
        try merged.record(StoreBatch(startedTasks: starts, endedTasks: ends))
        try apart.record(StoreBatch(startedTasks: starts))
        try apart.record(StoreBatch(endedTasks: ends))
        let rows = try [merged, apart].map { store in
            try store.database.read { db in try Row.fetchAll(db, sql: "SELECT * FROM tasks ORDER BY id") }
        }
        #expect(rows[0].count == 3)
        #expect(rows[0] == rows[1])
        let open = try #require(merged.tasks(runID: runs[0]).first { $0.id == "open" })
        #expect(open.status == .running && open.finishedAt == nil)
    }

    /// One group commit: starts, failures, finished items, ends, in that order, so an item
    /// that failed and then succeeded within one batch ends up done; an ending without its
    /// start is skipped rather than failing the batch's items.
    @Test func aBatchWritesInOrderAndSkipsAnUnknownEnding() throws {
        let store = try CheckpointStore.inMemory()
        let run = try store.beginRun(argv: [], planHash: "h", estimatedGPUSeconds: nil)
        var batch = StoreBatch()
        batch.startedTasks = [TaskRecord(id: "t", runID: run, step: "render", tool: "blender", attempt: 2, itemCount: 1, logPath: "l")]
        batch.failedItems = [item("x", status: .failed, runID: run)]
        batch.items = [(item("x", runID: run), [ItemFile(path: "render/x.json", bytes: 3, sha256: "cc")])]
        batch.endedTasks = [
            TaskEnding(id: "t", runID: run, attempt: 2, status: .succeeded, exitCode: 0, duration: 2, loadSeconds: nil, error: nil),
            TaskEnding(id: "never-started", runID: run, attempt: 1, status: .failed, exitCode: 1, duration: 1, loadSeconds: nil, error: "e"),
        ]
        try store.record(batch)
        #expect(try store.item(id: "x")?.status == .done)
        #expect(try store.itemFiles(ids: ["x"])["x"]?.map(\.path) == ["render/x.json"])
        let tasks = try store.tasks(runID: run)
        #expect(tasks.map(\.id) == ["t"])
        #expect(tasks.first?.status == .succeeded)
        #expect(tasks.first?.finishedAt != nil)
        try store.record(StoreBatch())  // nothing to write: no transaction, no error
    }

    @Test func measuredTimingsMedians() throws {
        let store = try CheckpointStore.inMemory()
        let run = try store.beginRun(argv: [], planHash: "h", estimatedGPUSeconds: nil)
        // (duration, load, items, status, model, gpu)
        let rows: [(Double, Double?, Int, TaskStatus, String?, String?)] = [
            (12, 2, 10, .succeeded, "yolo", "0"),   // 1.0 s/item, load 2
            (24, 4, 10, .succeeded, "yolo", "0"),   // 2.0 s/item, load 4
            (50, nil, 10, .succeeded, "yolo", "0"), // 5.0 s/item, load unknown
            (35, 5, 10, .succeeded, "yolo", "0"),   // 3.0 s/item, load 5
            (999, 1, 1, .failed, "yolo", "0"),      // ignored: failed
            (999, 1, 1, .succeeded, "yolo", "1"),   // ignored: other gpu
            (999, 1, 1, .succeeded, nil, "0"),      // ignored: other model
            (999, 1, 0, .succeeded, "yolo", "0"),   // ignored: no items
        ]
        for (index, row) in rows.enumerated() {
            try store.taskStarted(TaskRecord(
                id: "t\(index)", runID: run, step: "label", tool: "detector", model: row.4, gpu: row.5,
                itemCount: row.2, logPath: "l"))
            try store.taskFinished(
                id: "t\(index)", runID: run, attempt: 1, status: row.3, exitCode: 0, duration: row.0,
                loadSeconds: row.1, error: nil)
        }
        let timing = try #require(try store.measuredTimings(tool: "detector", model: "yolo", gpu: "0"))
        #expect(timing.samples == 4)
        #expect(timing.method == .reported)
        #expect(timing.secondsPerItem == 2)    // median of 1, 2, 3 (the tasks with a reported load)
        #expect(timing.loadSeconds == 4)       // median of 2, 4, 5
        #expect(try store.measuredTimings(tool: "detector", model: nil, gpu: "0")?.secondsPerItem == 998)
        #expect(try store.measuredTimings(tool: "nothing", model: nil, gpu: nil) == nil)
    }

    @Test func uploadsAreRecorded() throws {
        let store = try CheckpointStore.inMemory()
        try store.recordUploads(itemIDs: ["a"], target: "hub")
        try store.recordUploads(itemIDs: ["a"], target: "hub")
        try store.recordUploads(itemIDs: ["b"], target: "s3")
        #expect(try store.uploadedItemIDs(target: "hub") == ["a"])
    }
}

import Basics
import Foundation
import Synchronization
import Testing

@testable import Execution
import WorkspaceStore

/// Finished items are made durable in groups: files first (one file-system sync), then
/// the store transaction, then the report.
@Suite struct DurabilityTests {
    static func record(_ id: String) -> ItemRecord {
        ItemRecord(id: id, step: "render", path: "render/\(id).png", sha256: "ab\(id)", bytes: 10, status: .done,
                   attempts: 1, startedAt: Date(), finishedAt: Date(), duration: 0.1, gpu: nil, logPath: nil,
                   error: nil, taskID: "t1", runID: nil, tool: "command", model: nil)
    }

    /// What the callbacks saw, shared with the tasks that add items.
    final class Observed: Sendable {
        let problems = Mutex<[String]>([])
        let reported = Mutex<[String]>([])
        let barriers = Mutex(0)
        let pending = Mutex<Set<String>>([])  // added, not yet reported
        let failures = Mutex<[String]>([])
    }

    @Test("Each group's barrier runs before its items are in the store, and each item is in the store before it is reported")
    func barrierThenCommitThenReport() async throws {
        let store = try CheckpointStore.inMemory()
        let seen = Observed()
        let recorder = DoneRecorder(store: store, workspaceRoot: "/", barrier: {
            seen.barriers.withLock { $0 += 1 }
            // Nothing waiting in this group may be recorded yet.
            let waiting = seen.pending.withLock { $0 }
            let recorded = (try? store.items(ids: waiting).filter { $0.value.status == .done }.count) ?? -1
            if recorded != 0 { seen.problems.withLock { $0.append("\(recorded) items recorded before their barrier") } }
        }, committed: { group, error in
            if let error { seen.problems.withLock { $0.append("\(error)") } }
            let ids = group.map(\.record.id)
            let inStore = (try? store.items(ids: ids).filter { $0.value.status == .done }.count) ?? -1
            if inStore != ids.count { seen.problems.withLock { $0.append("reported \(ids.count), \(inStore) in the store") } }
            seen.pending.withLock { $0.subtract(ids) }
            seen.reported.withLock { $0 += ids }
        })
        let ids = (0..<300).map { String(format: "i%04d", $0) }
        await withTaskGroup(of: Void.self) { group in
            for chunk in stride(from: 0, to: ids.count, by: 30) {
                group.addTask {
                    for id in ids[chunk..<chunk + 30] {
                        seen.pending.withLock { _ = $0.insert(id) }
                        recorder.add(DoneRecorder.Entry(record: Self.record(id), files: [ItemFile(path: "render/\(id).json", bytes: 2, sha256: "cd")]))
                    }
                }
            }
        }
        await recorder.drain()
        #expect(seen.problems.withLock { $0 } == [])
        #expect(seen.reported.withLock { $0 }.sorted() == ids)
        #expect(try store.items(ids: ids).count == 300)
        #expect(try store.itemFiles(ids: ["i0042"])["i0042"] == [ItemFile(path: "render/i0042.json", bytes: 2, sha256: "cd")])
        // Groups form while a flush runs: at least one barrier, at most one per item.
        let count = seen.barriers.withLock { $0 }
        #expect(count >= 1 && count <= 300)
    }

    @Test("A failed barrier records nothing and reports the group's items as failed")
    func failedBarrierRecordsNothing() async throws {
        struct DiskGone: Error {}
        let store = try CheckpointStore.inMemory()
        let seen = Observed()
        let recorder = DoneRecorder(store: store, workspaceRoot: "/", barrier: { throw DiskGone() }, committed: { group, error in
            if error != nil { seen.failures.withLock { $0 += group.map(\.record.id) } }
        })
        recorder.add(DoneRecorder.Entry(record: Self.record("a"), files: []))
        recorder.add(DoneRecorder.Entry(record: Self.record("b"), files: []))
        await recorder.drain()
        #expect(seen.failures.withLock { $0 }.sorted() == ["a", "b"])
        #expect(try store.items(ids: ["a", "b"]).isEmpty)
    }

    @Test("An unsynced write creates or truncates the file with exactly the bytes, and names the path when it cannot")
    func unsyncedWrite() throws {
        let dir = try TestSupport.temporaryDirectory("unsynced")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("a.bin")
        try UnsyncedFile.write(Data(repeating: 7, count: 100_000), to: file)
        #expect(try Data(contentsOf: file) == Data(repeating: 7, count: 100_000))
        try UnsyncedFile.write(Data("short".utf8), to: file)
        #expect(try Data(contentsOf: file) == Data("short".utf8))
        try UnsyncedFile.write(Data(), to: file)
        #expect(try Data(contentsOf: file).isEmpty)
        try UnsyncedFile.syncFileSystem(containing: dir.path)
        let missing = dir.appendingPathComponent("no/such/folder/b.bin")
        #expect {
            try UnsyncedFile.write(Data("x".utf8), to: missing)
        } throws: { error in
            "\(error)".contains(missing.path) && "\(error)".contains("No such file")
        }
        // Asked to, it makes the missing folders; a file where a folder belongs is named.
        try UnsyncedFile.write(Data("x".utf8), to: missing, creatingFolders: true)
        #expect(try Data(contentsOf: missing) == Data("x".utf8))
        let blocked = file.appendingPathComponent("under-a-file/c.bin")
        #expect {
            try UnsyncedFile.write(Data("x".utf8), to: blocked, creatingFolders: true)
        } throws: { error in
            "\(error)".contains(blocked.path) && !FileManager.default.fileExists(atPath: blocked.path)
        }
    }
}

import Foundation
import Testing

@testable import Execution
import WorkspaceStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct LockTests {
    @Test func acquireConflictsReleaseAndReacquire() throws {
        let dir = try TestSupport.temporaryDirectory("synthset-lock")
        defer { try? FileManager.default.removeItem(at: dir) }

        let (lock, takenOver) = try WorkspaceLock.acquire(directory: dir, command: "synthset run")
        #expect(takenOver == nil)
        #expect(lock.isHeld)
        #expect(lock.holder.pid == getpid())
        let written = try #require(WorkspaceLock.currentHolder(directory: dir))
        #expect(written.pid == getpid())
        #expect(written.command == "synthset run")
        let json = try String(contentsOf: dir.appendingPathComponent("run.lock"), encoding: .utf8)
        #expect(json.contains("\"started_at\""))

        // flock belongs to the open file description: a second open() in this process conflicts.
        #expect {
            _ = try WorkspaceLock.acquire(directory: dir, command: "synthset status")
        } throws: { error in
            guard case WorkspaceLockError.held(let holder?, let heldDir) = error else { return false }
            let text = "\(error)"
            return holder.pid == getpid() && holder.command == "synthset run" && heldDir == dir
                && text.contains("is locked by pid \(getpid()) (synthset run, started ")
                && text.contains("wait for it to finish or stop it")
        }

        lock.release()
        #expect(!lock.isHeld)
        lock.release()  // idempotent
        let size = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("run.lock").path)[.size]
        #expect((size as? NSNumber)?.intValue == 0)

        let (again, takenOverAgain) = try WorkspaceLock.acquire(directory: dir, command: "synthset run")
        #expect(takenOverAgain == nil)  // previous holder released cleanly
        again.release()
    }

    @Test func droppingTheLockReleasesIt() throws {
        let dir = try TestSupport.temporaryDirectory("synthset-lock")
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            let (lock, _) = try WorkspaceLock.acquire(directory: dir, command: "a")
            _ = lock
        }
        let (lock, takenOver) = try WorkspaceLock.acquire(directory: dir, command: "b")
        #expect(takenOver == nil)
        lock.release()
    }

    @Test func staleHolderWithDeadPIDIsTakenOver() throws {
        let dir = try TestSupport.temporaryDirectory("synthset-lock")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pid = try deadPID()
        let stale = #"{"command":"synthset run","host":"old-host","pid":\#(pid),"started_at":"2026-11-24T21:50:02Z"}"#
        try Data(stale.utf8).write(to: dir.appendingPathComponent("run.lock"))

        let (lock, takenOver) = try WorkspaceLock.acquire(directory: dir, command: "synthset run")
        defer { lock.release() }
        let previous = try #require(takenOver)
        #expect(previous.pid == pid)
        #expect(previous.host == "old-host")
        #expect(previous.startedAtISO8601 == "2026-11-24T21:50:02Z")
        #expect(WorkspaceLock.currentHolder(directory: dir)?.pid == getpid())
    }

    @Test func lockHeldByAnotherProcessIsReported() throws {
        let dir = try TestSupport.temporaryDirectory("synthset-lock")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("run.lock")
        let flockTool = ["/usr/bin/flock", "/bin/flock"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let flockTool else { return }  // util-linux missing: nothing to test against

        // Holder JSON written by "another" process, which then holds the flock for a while.
        let holderJSON = #"{"command":"synthset run","host":"h","pid":424242,"started_at":"2026-11-24T21:50:02Z"}"#
        try Data(holderJSON.utf8).write(to: file)
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: flockTool)
        holder.arguments = ["-x", dir.path, "sleep", "3"]  // the lock is on the workspace folder
        try holder.run()
        defer { holder.terminate(); holder.waitUntilExit() }
        // Wait until it holds the lock.
        var held = false
        for _ in 0..<100 {
            do {
                let (probe, _) = try WorkspaceLock.acquire(directory: dir, command: "probe")
                // Acquired before the other process did: undo and retry (restore its JSON).
                probe.release()
                try Data(holderJSON.utf8).write(to: file)
                usleep(20_000)
            } catch WorkspaceLockError.held(let info, _) {
                #expect(info?.pid == 424242)
                held = true
                break
            }
        }
        #expect(held)
    }
}

import Foundation
import Testing
@testable import Execution
import WorkspaceStore

/// Faults replayed against the built binary (issue 13): tools orphaned by a killed
/// synthset, half-written outputs, racing runs, crash leftovers, status after a crash.
/// Serialized: they kill processes and race runs.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct FaultTests {
    static func write(_ text: String, _ url: URL) throws {
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    /// A `command` step running `tool.sh SEED OUTPUT` per item.
    static func commandWorkflow(name: String, seeds: String = "0..2", output: String = "jpg", extra: String = "") -> String {
        """
        version: 1
        name: \(name)
        steps:
          gen:
            uses: command
            program: ./tool.sh
            args: ["{seed}", "{output}"]
            seeds: \(seeds)
            output: \(output)
        \(extra)
        """
    }

    static func alive(_ pid: Int32) -> Bool { ProcessProbe.isAlive(pid) }

    static func waitFor(_ seconds: Double, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }

    static func pids(_ file: URL) -> [Int32] {
        ((try? String(contentsOf: file, encoding: .utf8)) ?? "").split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
    }

    /// A tool that records its pid and a background child's, then hangs until `hang` is gone.
    static func hangingTool(_ dir: URL) throws {
        try TestSupport.script("""
            #!/bin/sh
            if [ -e "\(dir.path)/hang" ]; then
              sleep 300 &
              echo "$$ $!" > "\(dir.path)/pids"
              wait
            fi
            printf 'done %s' "$1" > "$2"
            """, at: dir.appendingPathComponent("tool.sh"))
    }

    @Test("A SIGKILLed synthset takes its tool and the tool's children with it within seconds")
    func toolsDieWithSynthset() async throws {
        let dir = try TestSupport.temporaryDirectory("orphan")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.hangingTool(dir)
        _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("hang").path, contents: nil)
        try Self.write(Self.commandWorkflow(name: "orphan", seeds: "0", output: "txt"), dir.appendingPathComponent("w.yaml"))
        let launched = try TestSupport.launch(["run", "w.yaml"], in: dir)
        let pidFile = dir.appendingPathComponent("pids")
        #expect(await Self.waitFor(60) { Self.pids(pidFile).count == 2 }, "the tool never started")
        let pids = Self.pids(pidFile)
        kill(launched.process.processIdentifier, SIGKILL)
        await launched.wait()
        let gone = await Self.waitFor(5) { pids.allSatisfy { !Self.alive($0) } }
        for pid in pids where Self.alive(pid) { kill(pid, SIGKILL) }
        #expect(gone, "tool processes \(pids.filter(Self.alive)) outlived synthset")
    }

    @Test("A run ends the tools a killed run left (recorded process groups), says so, then runs")
    func nextRunEndsOrphans() async throws {
        let dir = try TestSupport.temporaryDirectory("orphan2")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.hangingTool(dir)
        _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("hang").path, contents: nil)
        try Self.write(Self.commandWorkflow(name: "orphan2", seeds: "0", output: "txt"), dir.appendingPathComponent("w.yaml"))
        // Without the watchdog (an install that lacks synthset-supervise), the tool survives the kill.
        let launched = try TestSupport.launch(["run", "w.yaml"], in: dir, environment: ["SYNTHSET_SUPERVISE": ""])
        let pidFile = dir.appendingPathComponent("pids")
        #expect(await Self.waitFor(60) { Self.pids(pidFile).count == 2 }, "the tool never started")
        let pids = Self.pids(pidFile)
        kill(launched.process.processIdentifier, SIGKILL)
        await launched.wait()
        try await Task.sleep(for: .milliseconds(300))
        #expect(pids.allSatisfy(Self.alive), "precondition: without the watchdog the tool outlives synthset")
        try FileManager.default.removeItem(at: dir.appendingPathComponent("hang"))
        let second = try await TestSupport.run(["run", "w.yaml"], in: dir)
        for pid in pids where Self.alive(pid) { kill(pid, SIGKILL) }
        #expect(second.status == 0, "\(second.output)")
        #expect(second.stderr.contains("ended 2 tool processes"), "\(second.stderr)")
        #expect(pids.allSatisfy { !Self.alive($0) })
    }

    /// Modes of a misbehaving tool: what it writes at OUTPUT and how it exits.
    static let badTool = #"""
        #!/usr/bin/env python3
        import os, sys
        mode, out = sys.argv[1], sys.argv[2]
        jpeg = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffdb004300" + "01" * 64 +
                             "ffc0000b080001000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffda0008010100003f00d2cf20ffd9")
        if mode == "third-exit1":
            open(out, "wb").write(jpeg[: len(jpeg) // 3]); sys.exit(1)
        if mode == "whole-exit3":
            open(out, "wb").write(jpeg); sys.exit(3)
        if mode == "truncated-exit0":
            open(out, "wb").write(jpeg[:-10]); sys.exit(0)
        if mode == "png-truncated":
            open(out, "wb").write(bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")); sys.exit(0)
        if mode == "json-broken":
            open(out, "w").write('{"boxes": [1, 2'); sys.exit(0)
        if mode == "symlink":
            os.symlink("/etc/passwd", out); sys.exit(0)
        if mode == "folder":
            os.makedirs(out); sys.exit(0)
        if mode == "mp4-no-index":
            open(out, "wb").write((24).to_bytes(4, "big") + b"ftypisom" + (512).to_bytes(4, "big") + b"isomiso2"
                                  + (16).to_bytes(4, "big") + b"mdat" + b"\0" * 8); sys.exit(0)
        if mode == "good":
            open(out, "wb").write(jpeg); sys.exit(0)
        """#

    @Test("An output counts only when its tool succeeded and the file is whole", arguments: [
        ("third-exit1", "jpg", "exit code 1"),
        ("whole-exit3", "jpg", "exit code 3"),
        ("truncated-exit0", "jpg", "truncated JPEG"),
        ("png-truncated", "png", "truncated PNG"),
        ("json-broken", "json", "not valid JSON"),
        ("symlink", "jpg", "symbolic link"),
        ("folder", "jpg", "is a folder"),
        ("mp4-no-index", "mp4", "no 'moov' index"),
    ])
    func wholeOutputsOnly(mode: String, ext: String, message: String) async throws {
        let dir = try TestSupport.temporaryDirectory("whole")
        defer { try? FileManager.default.removeItem(at: dir) }
        try TestSupport.script(Self.badTool, at: dir.appendingPathComponent("bad.py"))
        try Self.write("""
            version: 1
            name: whole
            steps:
              gen:
                uses: command
                program: ./bad.py
                args: ["\(mode)", "{output}"]
                seeds: 0
                output: \(ext)
                retries: 0
            """, dir.appendingPathComponent("w.yaml"))
        let result = try await TestSupport.run(["run", "w.yaml"], in: dir)
        #expect(result.status == 1, "\(mode): \(result.output)")
        #expect(result.stderr.contains(message), "\(mode): \(result.stderr)")
        let outputs = TestSupport.files(under: dir.appendingPathComponent(".synthset/whole/outputs"))
        #expect(outputs.isEmpty, "\(mode): committed \(outputs.keys.sorted())")
        let status = try await TestSupport.run(["status", "w.yaml"], in: dir)
        #expect(status.status == 1, "status exits 1 when items failed: \(status.output)")
    }

    @Test("A whole JPEG from a tool that exits 0 is committed (the checks accept real files)")
    func goodOutputCommitted() async throws {
        let dir = try TestSupport.temporaryDirectory("good")
        defer { try? FileManager.default.removeItem(at: dir) }
        try TestSupport.script(Self.badTool, at: dir.appendingPathComponent("bad.py"))
        try Self.write("""
            version: 1
            name: good
            steps:
              gen:
                uses: command
                program: ./bad.py
                args: ["good", "{output}"]
                seeds: 0..1
                output: jpg
            """, dir.appendingPathComponent("w.yaml"))
        let result = try await TestSupport.run(["run", "w.yaml"], in: dir)
        #expect(result.status == 0, "\(result.output)")
        #expect(TestSupport.files(under: dir.appendingPathComponent(".synthset/good/outputs")).count == 2)
        let status = try await TestSupport.run(["status", "w.yaml"], in: dir)
        #expect(status.status == 0, "\(status.output)")
    }

    @Test("Many runs started at once on a fresh workspace: exactly one runs, the rest exit 2")
    func manyRunsAtOnce() async throws {
        let dir = try TestSupport.temporaryDirectory("race")
        defer { try? FileManager.default.removeItem(at: dir) }
        try TestSupport.script("#!/bin/sh\nsleep 1\nprintf x > \"$2\"\n", at: dir.appendingPathComponent("tool.sh"))
        try Self.write(Self.commandWorkflow(name: "race", seeds: "0", output: "txt"), dir.appendingPathComponent("w.yaml"))
        let launched = try (0..<6).map { _ in try TestSupport.launch(["run", "w.yaml"], in: dir) }
        var results: [TestSupport.Result] = []
        for run in launched { results.append(await run.result()) }
        let codes = results.map(\.status).sorted()
        #expect(codes == [0, 2, 2, 2, 2, 2], "exit codes \(codes):\n\(results.map(\.stderr).joined(separator: "\n---\n"))")
        for result in results where result.status == 2 {
            #expect(result.stderr.contains("is locked by"), "\(result.stderr)")
        }
    }

    @Test("Deleting run.lock lets no second run in; clean --all waits for no one and leaves no broken workspace")
    func lockSurvivesDeletedFile() async throws {
        let dir = try TestSupport.temporaryDirectory("lock")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.hangingTool(dir)
        _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("hang").path, contents: nil)
        try Self.write(Self.commandWorkflow(name: "lock", seeds: "0", output: "txt"), dir.appendingPathComponent("w.yaml"))
        let first = try TestSupport.launch(["run", "w.yaml"], in: dir)
        #expect(await Self.waitFor(60) { Self.pids(dir.appendingPathComponent("pids")).count == 2 })
        try FileManager.default.removeItem(at: dir.appendingPathComponent(".synthset/lock/run.lock"))
        let second = try await TestSupport.run(["run", "w.yaml"], in: dir)
        #expect(second.status == 2, "\(second.output)")
        #expect(second.stderr.contains("locked by another synthset process"), "\(second.stderr)")
        let clean = try await TestSupport.run(["clean", "w.yaml", "--all"], in: dir)
        #expect(clean.status == 2, "clean --all must not delete a workspace in use: \(clean.output)")
        let status = try await TestSupport.run(["status", "w.yaml"], in: dir)
        #expect(status.stdout.contains("run 1 running"), "\(status.stdout)")
        kill(first.process.processIdentifier, SIGKILL)
        await first.wait()
        try? await Task.sleep(for: .milliseconds(500))
        // After the kill: status says the run was interrupted, not running.
        let after = try await TestSupport.run(["status", "w.yaml"], in: dir)
        #expect(after.stdout.contains("interrupted"), "\(after.stdout)")
        #expect(!after.stdout.contains("running now"), "\(after.stdout)")
        try FileManager.default.removeItem(at: dir.appendingPathComponent("hang"))
        let cleaned = try await TestSupport.run(["clean", "w.yaml", "--all"], in: dir)
        #expect(cleaned.status == 0, "\(cleaned.output)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent(".synthset/lock").path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent(".synthset").path)
        #expect(leftovers.isEmpty, "clean --all left \(leftovers)")
    }

    @Test("A run sweeps crash leftovers: a dataset moved aside, a half-written lock file beside the recipe")
    func sweepsLeftovers() async throws {
        let dir = try TestSupport.temporaryDirectory("sweep")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.write("""
            version: 1
            name: sweep
            steps:
              scenes:
                uses: procedural/scenes
                seeds: 0..3
                size: [64, 48]
                objects:
                  can: { shape: cylinder, colors: [red], size: [0.2, 0.4], count: [1, 2] }
              dataset:
                uses: export
                from: scenes
                formats: [yolo]
            """, dir.appendingPathComponent("w.yaml"))
        let first = try await TestSupport.run(["run", "w.yaml"], in: dir)
        #expect(first.status == 0, "\(first.output)")
        let old = dir.appendingPathComponent(".synthset/sweep/outputs/dataset/.old-0000")
        try FileManager.default.createDirectory(at: old, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: old.appendingPathComponent("f.txt"))
        let tmpLock = dir.appendingPathComponent(".w.yaml.lock.1234.tmp")
        try Data("partial".utf8).write(to: tmpLock)
        let second = try await TestSupport.run(["run", "w.yaml"], in: dir)
        #expect(second.status == 0, "\(second.output)")
        #expect(!FileManager.default.fileExists(atPath: old.path), "the .old- folder is still there")
        #expect(!FileManager.default.fileExists(atPath: tmpLock.path), "the half-written lock is still there")
    }

    @Test("Logs are kept per run: a second run's attempt does not overwrite the first's")
    func logsPerRun() async throws {
        let dir = try TestSupport.temporaryDirectory("logs")
        defer { try? FileManager.default.removeItem(at: dir) }
        try TestSupport.script("#!/bin/sh\necho \"attempt at $(date +%s%N)\"\nexit 1\n", at: dir.appendingPathComponent("tool.sh"))
        try Self.write(Self.commandWorkflow(name: "logs", seeds: "0", output: "txt", extra: "    retries: 0"), dir.appendingPathComponent("w.yaml"))
        for _ in 0..<2 {
            let result = try await TestSupport.run(["run", "w.yaml"], in: dir)
            #expect(result.status == 1)
        }
        let logs = dir.appendingPathComponent(".synthset/logs/logs/gen")
        let files = try FileManager.default.contentsOfDirectory(atPath: logs.path).filter { $0.hasSuffix(".log") }
        #expect(files.count == 2, "\(files)")
    }

    @Test("A workspace that is a file, or a corrupt store, is a clear error with exit 2")
    func unusableWorkspace() async throws {
        let dir = try TestSupport.temporaryDirectory("ws")
        defer { try? FileManager.default.removeItem(at: dir) }
        try TestSupport.script("#!/bin/sh\nprintf x > \"$2\"\n", at: dir.appendingPathComponent("tool.sh"))
        try Self.write(Self.commandWorkflow(name: "ws", seeds: "0", output: "txt"), dir.appendingPathComponent("w.yaml"))
        try Data("not a folder".utf8).write(to: dir.appendingPathComponent("file-ws"))
        let asFile = try await TestSupport.run(["run", "w.yaml", "--workspace", "file-ws"], in: dir)
        #expect(asFile.status == 2, "\(asFile.output)")
        #expect(asFile.stderr.contains("is a file"), "\(asFile.stderr)")
        #expect(!asFile.stderr.contains("NSCocoaErrorDomain"), "\(asFile.stderr)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("bad-ws"), withIntermediateDirectories: true)
        try Data(repeating: 0x41, count: 8192).write(to: dir.appendingPathComponent("bad-ws/state.db"))
        let corrupt = try await TestSupport.run(["run", "w.yaml", "--workspace", "bad-ws"], in: dir)
        #expect(corrupt.status == 2, "\(corrupt.output)")
        #expect(corrupt.stderr.contains("is damaged") && corrupt.stderr.contains("move it aside"), "\(corrupt.stderr)")
    }
}

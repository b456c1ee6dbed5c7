import CSpawn
import Foundation
import Testing

@testable import Execution
import WorkspaceStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Test fixtures: small /bin/sh scripts written into a temp directory.
/// (Production code never builds shell strings from user text.)
struct ScriptSandbox {
    let dir: URL

    init() throws { dir = try TestSupport.temporaryDirectory("synthset-proc") }

    func script(_ name: String, _ body: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data("#!/bin/sh\n\(body)\n".utf8).write(to: url)
        chmod(url.path, 0o755)
        return url.path
    }

    func spec(_ executable: String, _ arguments: [String] = [], environment: [String: String] = [:]) -> ProcessSpec {
        ProcessSpec(
            executable: executable, arguments: arguments, environment: environment,
            workingDirectory: dir, logFile: dir.appendingPathComponent("logs/task.log"))
    }

    func read(_ name: String) -> String {
        (try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)) ?? ""
    }

    func cleanup() { try? FileManager.default.removeItem(at: dir) }
}

/// Polls until `file` in the sandbox holds a pid.
func waitForPID(_ sandbox: ScriptSandbox, _ file: String, timeout: Duration = .seconds(5)) async throws -> Int32 {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if let pid = Int32(sandbox.read(file).trimmingCharacters(in: .whitespacesAndNewlines)) { return pid }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw CancellationError()
}

@Suite(.serialized) struct ProcessRunnerTests {
    @Test func exitCodeIsPropagated() async throws {
        let sandbox = try ScriptSandbox()
        defer { sandbox.cleanup() }
        let path = try sandbox.script("exit3.sh", "exit 3")
        let outcome = try await ProcessRunner.run(sandbox.spec(path))
        #expect(outcome.status == .exited(3))
        #expect(!outcome.succeeded)
        #expect(outcome.duration < .seconds(30))  // a bound, not a speed target: the suite runs beside CPU-heavy ones
        let ok = try await ProcessRunner.run(sandbox.spec("true"))  // looked up in PATH
        #expect(ok.succeeded)
    }

    @Test func stdoutAndStderrLandInTheLogFile() async throws {
        let sandbox = try ScriptSandbox()
        defer { sandbox.cleanup() }
        let path = try sandbox.script("both.sh", "echo out-line; echo err-line >&2; echo \"arg=$1\"")
        _ = try await ProcessRunner.run(sandbox.spec(path, ["two words"]))
        _ = try await ProcessRunner.run(sandbox.spec(path, ["again"]))  // appended, not truncated
        let log = sandbox.read("logs/task.log")
        #expect(log == "out-line\nerr-line\narg=two words\nout-line\nerr-line\narg=again\n")
    }

    @Test func environmentOverridesAndRemovals() async throws {
        let sandbox = try ScriptSandbox()
        defer { sandbox.cleanup() }
        // Variables this process started with (the child's environment is made from those).
        let inherited = ProcessInfo.processInfo.environment
        let removed = try #require(["HOME", "USER", "LANG", "TERM", "SHELL", "PWD"].first { inherited[$0] != nil })
        let kept = try #require(["PATH", "HOME", "PWD"].first { inherited[$0] != nil && $0 != removed })
        let path = try sandbox.script(
            "env.sh", "echo \"v=$SYNTHSET_TEST_VALUE\"; echo \"r=${\(removed)-unset}\"; echo \"k=${\(kept)-unset}\"; echo \"both=$SYNTHSET_BOTH\"")
        var spec = sandbox.spec(path, environment: ["SYNTHSET_TEST_VALUE": "hello world", "SYNTHSET_BOTH": "added"])
        spec.removedEnvironment = [removed, "SYNTHSET_BOTH"]
        _ = try await ProcessRunner.run(spec)
        let log = sandbox.read("logs/task.log")
        #expect(log.contains("v=hello world\n"))
        #expect(log.contains("r=unset\n"), "\(removed) was removed: \(log)")
        #expect(log.contains("k=\(inherited[kept]!)\n"), "the rest is inherited: \(log)")
        #expect(log.contains("both=added\n"), "removed and added: added")
    }

    @Test func childEnvironmentRowsAreTheInheritedOnesLessRemovedThenAdded() throws {
        let rows = InheritedEnvironment.child(removing: ["PATH"], adding: ["HOME": "/elsewhere", "Z_NEW": "a=b c"])
        #expect(rows.allSatisfy { $0.last == 0 && $0.dropLast().allSatisfy { $0 != 0 } }, "each row ends in its only NUL")
        let text = rows.map { String(decoding: $0.dropLast(), as: UTF8.self) }
        #expect(!text.contains { $0.hasPrefix("PATH=") })
        #expect(text.filter { $0.hasPrefix("HOME=") } == ["HOME=/elsewhere"])
        #expect(text.last == "Z_NEW=a=b c")
        let expected = ProcessInfo.processInfo.environment.filter { $0.key != "PATH" && $0.key != "HOME" }
        #expect(text.count == expected.count + 2)
        for (key, value) in expected { #expect(text.contains("\(key)=\(value)")) }
    }

    @Test func watchdogLinesCarryTheGraceInMilliseconds() {
        #expect(ToolWatchdog.watchLine(42, grace: .seconds(10)) == "+42 10.000\n")
        #expect(ToolWatchdog.watchLine(7, grace: .milliseconds(250)) == "+7 0.250\n")
        #expect(ToolWatchdog.watchLine(7, grace: .milliseconds(1005)) == "+7 1.005\n")
        #expect(ToolWatchdog.watchLine(7, grace: .seconds(-1)) == "+7 0.000\n")
    }

    @Test func workingDirectoryIsHonored() async throws {
        let sandbox = try ScriptSandbox()
        defer { sandbox.cleanup() }
        let work = sandbox.dir.appendingPathComponent("work dir")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        var spec = sandbox.spec("/bin/sh", ["-c", "pwd -P > here.txt"])
        spec.workingDirectory = work
        let outcome = try await ProcessRunner.run(spec)
        #expect(outcome.succeeded)
        let written = try String(contentsOf: work.appendingPathComponent("here.txt"), encoding: .utf8)
        #expect(written.trimmingCharacters(in: .newlines) == work.resolvingSymlinksInPath().path)

        var missing = spec
        missing.workingDirectory = sandbox.dir.appendingPathComponent("nope")
        await #expect(throws: ProcessRunnerError.self) { try await ProcessRunner.run(missing) }
    }

    @Test func missingExecutableThrowsWithHint() async throws {
        let sandbox = try ScriptSandbox()
        defer { sandbox.cleanup() }
        await #expect {
            try await ProcessRunner.run(sandbox.spec("synthset-no-such-tool", environment: ["PATH": "/usr/bin:/bin"]))
        } throws: { error in
            guard case ProcessRunnerError.executableNotFound(let name, let searched) = error else { return false }
            return name == "synthset-no-such-tool" && searched == ["/usr/bin", "/bin"]
                && "\(error)".contains("add its directory to PATH")
        }
    }

    @Test("A path that is no program, or a missing working folder, is the same error whether the launch clones or not",
          arguments: [true, false])
    func launchErrorsByPath(byClone: Bool) async throws {
        let sandbox = try ScriptSandbox()
        defer { sandbox.cleanup() }
        let plain = sandbox.dir.appendingPathComponent("plain.txt")
        try Data("echo ran\n".utf8).write(to: plain)
        try await ChildProcessTests.launching(byClone: byClone) {
            for path in ["/no/such/tool", plain.path, sandbox.dir.path] {
                await #expect {
                    try await ProcessRunner.run(sandbox.spec(path))
                } throws: { error in
                    guard case ProcessRunnerError.executableNotFound(let name, let searched) = error else { return false }
                    return name == path && searched.isEmpty && "\(error)".contains("does not exist or is not executable")
                }
            }
            var missing = sandbox.spec("/bin/sh", ["-c", "true"])
            missing.workingDirectory = sandbox.dir.appendingPathComponent("nope")
            await #expect {
                try await ProcessRunner.run(missing)
            } throws: { error in
                guard case ProcessRunnerError.workingDirectoryMissing(let path) = error else { return false }
                return path == missing.workingDirectory.path
            }
        }
    }

    @Test func signaledStatusIsReported() async throws {
        let sandbox = try ScriptSandbox()
        defer { sandbox.cleanup() }
        let path = try sandbox.script("selfkill.sh", "kill -9 $$")
        let outcome = try await ProcessRunner.run(sandbox.spec(path))
        #expect(outcome.status == .signaled(SIGKILL))
    }

    @Test func cancellationTearsDownTheProcessGroup() async throws {
        let sandbox = try ScriptSandbox()
        defer { sandbox.cleanup() }
        // The child spawns a grandchild and waits; SIGTERM to the group stops both.
        let path = try sandbox.script("tree.sh", "sleep 60 &\necho $! > grandchild.pid\nwait")
        let spec = sandbox.spec(path)
        let clock = ContinuousClock()
        let task = Task { try await ProcessRunner.run(spec, gracePeriod: .seconds(40)) }
        let grandchild = try await waitForPID(sandbox, "grandchild.pid")
        #expect(ProcessProbe.isAlive(grandchild))
        try await Task.sleep(for: .milliseconds(500))
        let cancelled = clock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(clock.now - cancelled < .seconds(20))  // SIGTERM was enough: it did not wait out the 40 s grace period
        #expect(!ProcessProbe.isAlive(grandchild))
    }

    @Test func childIgnoringSIGTERMIsKilledAfterGracePeriod() async throws {
        let sandbox = try ScriptSandbox()
        defer { sandbox.cleanup() }
        // Ignored signals are inherited across fork/exec, so the grandchild ignores TERM too.
        let path = try sandbox.script("stubborn.sh", "trap '' TERM\nsleep 60 &\necho $! > grandchild.pid\nwait\nwait")
        let spec = sandbox.spec(path)
        let clock = ContinuousClock()
        let grace = Duration.seconds(2)
        let task = Task { try await ProcessRunner.run(spec, gracePeriod: grace) }
        let grandchild = try await waitForPID(sandbox, "grandchild.pid")
        try await Task.sleep(for: .milliseconds(500))
        let cancelled = clock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        let elapsed = clock.now - cancelled
        #expect(elapsed >= grace)
        #expect(elapsed < grace + .seconds(20))  // KILL came long before the child's 60 s sleep ended
        #expect(!ProcessProbe.isAlive(grandchild))
    }

    @Test func leftoverGroupMembersAreStoppedAfterNormalExit() async throws {
        let sandbox = try ScriptSandbox()
        defer { sandbox.cleanup() }
        // The child exits at once, leaving a background daemon in its process group.
        let path = try sandbox.script("daemon.sh", "sleep 60 > /dev/null 2>&1 &\necho $! > daemon.pid\nexit 0")
        let outcome = try await ProcessRunner.run(sandbox.spec(path), gracePeriod: .milliseconds(500))
        #expect(outcome.status == .exited(0))
        let daemon = try await waitForPID(sandbox, "daemon.pid")
        #expect(!ProcessProbe.isAlive(daemon))
    }

    @Test("The watchdog ends the groups it was told of once its socket closes, and spares the ones it was told are gone")
    func watchdogEndsRegisteredGroupsAtEndOfFile() async throws {
        let watchdog = TestSupport.packageRoot.appendingPathComponent(".build/debug/synthset-supervise")
        try #require(FileManager.default.isExecutableFile(atPath: watchdog.path), "swift build makes synthset-supervise")
        let sandbox = try ScriptSandbox()
        defer { sandbox.cleanup() }
        // Two tools, each the leader of a session and group of its own, each with a
        // background child in its group; each says its pid (its group's id).
        func tool(_ name: String) async throws -> Int32 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
            process.arguments = ["/bin/sh", "-c", "echo $$ > \(name).pid; sleep 300 & wait"]
            process.currentDirectoryURL = sandbox.dir
            try process.run()
            return try await waitForPID(sandbox, "\(name).pid")
        }
        let watched = try await tool("watched"), forgotten = try await tool("forgotten")
        defer { for pgid in [watched, forgotten] { kill(-pgid, SIGKILL) } }
        // A socket pair closed on exec, as synthset makes it: no other child of this
        // test process holds an end and keeps the end of file from the watchdog.
        var ends: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0)
        let process = Process()
        process.executableURL = watchdog
        process.standardInput = FileHandle(fileDescriptor: ends[1], closeOnDealloc: true)
        try process.run()
        let lines = "+\(watched) 1.000\n+\(forgotten) 1.000\n-\(forgotten)\n"
        try FileHandle(fileDescriptor: ends[0], closeOnDealloc: false).write(contentsOf: Data(lines.utf8))
        try await Task.sleep(for: .milliseconds(300))
        #expect(ProcessProbe.groupHasLiveMembers(watched), "ended before its synthset was gone")
        close(ends[0])  // what synthset's death does to its end
        let clock = ContinuousClock(), deadline = clock.now + .seconds(10)
        while ProcessProbe.groupHasLiveMembers(watched) && clock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(!ProcessProbe.groupHasLiveMembers(watched), "the watched group outlived synthset")
        #expect(ProcessProbe.groupHasLiveMembers(forgotten), "a forgotten group was ended")
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    @Test("Scratch folders are lent one task at a time, come back empty, and a finished run removes them")
    func scratchFoldersAreReusedEmpty() throws {
        let sandbox = try ScriptSandbox()
        defer { sandbox.cleanup() }
        let pool = ScratchFolders(root: sandbox.dir.appendingPathComponent("tmp"))
        let first = try pool.take(), second = try pool.take()
        #expect(first != second)
        try FileManager.default.createDirectory(at: first.appendingPathComponent("nested"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: first.appendingPathComponent("nested/out.txt"))
        pool.giveBack(first)
        let again = try pool.take()
        #expect(again == first)
        #expect(try FileManager.default.contentsOfDirectory(atPath: again.path).isEmpty)
        pool.giveBack(again)
        pool.giveBack(second)
        pool.removeIdle()
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.dir.appendingPathComponent("tmp").path).isEmpty)
    }

    @Test func alreadyCancelledTaskDoesNotLaunch() async throws {
        let sandbox = try ScriptSandbox()
        defer { sandbox.cleanup() }
        let path = try sandbox.script("touch.sh", "touch launched")
        let spec = sandbox.spec(path)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await ProcessRunner.run(spec)
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(!FileManager.default.fileExists(atPath: sandbox.dir.appendingPathComponent("launched").path))
    }

    @Test func logTailReturnsLastLines() throws {
        let sandbox = try ScriptSandbox()
        defer { sandbox.cleanup() }
        let url = sandbox.dir.appendingPathComponent("big.log")
        // ~1.5 MB over many 64 KiB blocks, plus an unterminated last line.
        var text = (0..<100_000).map { "line \($0)" }.joined(separator: "\n") + "\n"
        try Data(text.utf8).write(to: url)
        #expect(ProcessRunner.logTail(url, lines: 3) == ["line 99997", "line 99998", "line 99999"])
        #expect(ProcessRunner.logTail(url, lines: 1) == ["line 99999"])
        text += "partial"
        try Data(text.utf8).write(to: url)
        #expect(ProcessRunner.logTail(url, lines: 2) == ["line 99999", "partial"])
        let small = sandbox.dir.appendingPathComponent("small.log")
        try Data("a\nb\n".utf8).write(to: small)
        #expect(ProcessRunner.logTail(small, lines: 10) == ["a", "b"])
        try Data().write(to: small)
        #expect(ProcessRunner.logTail(small, lines: 10) == [])
        #expect(ProcessRunner.logTail(sandbox.dir.appendingPathComponent("missing.log"), lines: 5) == [])
        let spec = ProcessSpec(executable: "true", workingDirectory: sandbox.dir, logFile: url)
        #expect(spec.logTail(lines: 1) == ["partial"])
    }
}

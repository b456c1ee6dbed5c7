import CSpawn
import Foundation
import Synchronization
import Testing

@testable import Execution
@testable import Planning

#if canImport(Glibc)
import Glibc
#endif

/// The launcher tools run through (``ChildProcess``, ``ChildExits``) and the hooks the
/// executor's slots hang on (``BatchCollector``'s `ended`, ``Mailbox``).
@Suite(.serialized) struct ChildProcessTests {
    /// A field of a `/proc/<pid>/status` line the script copied, e.g. `SigIgn`.
    static func statusMask(_ text: String, _ field: String) -> UInt64? {
        text.split(separator: "\n").first { $0.hasPrefix(field + ":") }
            .flatMap { UInt64($0.dropFirst(field.count + 1).trimmingCharacters(in: .whitespaces), radix: 16) }
    }

    /// Runs `body` with launches made by clone (`true`, the default where the kernel
    /// allows) or by posix_spawn (`false`, the fallback), then restores the default.
    static func launching(byClone: Bool, _ body: () async throws -> Void) async rethrows {
        let before = synthset_launch_uses_clone()
        synthset_launch_use_clone(byClone ? 1 : 0)
        defer { synthset_launch_use_clone(before) }
        try await body()
    }

    @Test("A tool starts in a session of its own, with only fds 0-2 of synthset's, no signal ignored or blocked",
          arguments: [true, false])
    func childStartsClean(byClone: Bool) async throws {
        try await Self.launching(byClone: byClone) { try await startsClean() }
    }

    func startsClean() async throws {
        let sandbox = try ScriptSandbox()
        defer { sandbox.cleanup() }
        let path = try sandbox.script("probe.sh", """
            read -r _ _ _ _ pgrp sid _ < /proc/$$/stat
            echo "pid $$ pgrp $pgrp sid $sid" > probe.txt
            if [ -e /proc/$$/fd/$1 ]; then echo leaked >> probe.txt; fi
            # Builtins only: a shell waiting for a child (grep) blocks every signal for a moment.
            while read -r line; do case $line in SigIgn:*|SigBlk:*) echo "$line" >> probe.txt;; esac; done < /proc/$$/status
            """)
        // Left open without close-on-exec on purpose, SIGUSR1 ignored in this process and
        // SIGUSR2 blocked on this thread, which launches: none of it may reach the tool.
        let leaked = open("/dev/null", O_RDWR)
        #expect(leaked > 2)
        defer { close(leaked) }
        let previous = signal(SIGUSR1, SIG_IGN)
        var blocked = sigset_t(), old = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGUSR2)
        pthread_sigmask(SIG_BLOCK, &blocked, &old)
        let launched = Result { () throws(ChildProcessError) in
            try ChildProcess.spawn(path, arguments: [String(leaked)], environment: [], directory: sandbox.dir.path,
                                   input: leaked, output: leaked, error: leaked)
        }
        pthread_sigmask(SIG_SETMASK, &old, nil)
        signal(SIGUSR1, previous)
        let child = try launched.get()
        #expect(await child.exit() == .exited(0))
        let probe = sandbox.read("probe.txt")
        let ids = probe.split(separator: "\n").first?.split(separator: " ").map(String.init) ?? []
        #expect(ids.count == 6 && ids[1] == String(child.pid) && ids[3] == ids[1] && ids[5] == ids[1],
                "the tool is not the leader of its own session and group: \(probe)")
        #expect(!probe.contains("leaked"), "a descriptor of synthset's reached the tool")
        let ignored = Self.statusMask(probe, "SigIgn"), blockedMask = Self.statusMask(probe, "SigBlk")
        #expect(ignored.map { $0 & (1 << (UInt64(SIGUSR1) - 1)) == 0 } == true, "SIGUSR1 stayed ignored: \(probe)")
        #expect(blockedMask.map { $0 & (1 << (UInt64(SIGUSR2) - 1)) == 0 } == true, "SIGUSR2 stayed blocked: \(probe)")
    }

    @Test("A program that cannot be executed, or a missing folder, is a launch error with the reason; nothing runs",
          arguments: [true, false])
    func launchFailures(byClone: Bool) async throws {
        try await Self.launching(byClone: byClone) { try failsToLaunch(byClone: byClone) }
    }

    func failsToLaunch(byClone: Bool) throws {
        let sandbox = try ScriptSandbox()
        defer { sandbox.cleanup() }
        let notExecutable = sandbox.dir.appendingPathComponent("plain.txt")
        try Data("echo ran > ran.txt\n".utf8).write(to: notExecutable)
        let devNull = open("/dev/null", O_RDWR)
        defer { close(devNull) }
        #expect(throws: ChildProcessError.self) {
            _ = try ChildProcess.spawn(notExecutable.path, arguments: [], environment: [], directory: sandbox.dir.path,
                                       input: devNull, output: devNull, error: devNull)
        }
        do {
            _ = try ChildProcess.spawn("/bin/sh", arguments: ["-c", "echo ran > ran.txt"], environment: [],
                                       directory: sandbox.dir.appendingPathComponent("missing").path,
                                       input: devNull, output: devNull, error: devNull)
            Issue.record("a missing working folder launched the program")
        } catch {
            #expect(error.code == ENOENT, "\(error)")
            // A clone's child says which step failed; posix_spawn does not.
            #expect(error.isDirectory == byClone, "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.dir.appendingPathComponent("ran.txt").path))
    }

    @Test("The thread that launches a tool takes SIGCHLD: blocked there, each tool's exit woke two other threads")
    func launcherTakesSigchld() async throws {
        let sandbox = try ScriptSandbox()
        defer { sandbox.cleanup() }
        let devNull = open("/dev/null", O_RDWR)
        defer { close(devNull) }
        // On a thread of its own that blocks every signal, as libdispatch's workers do.
        let (mask, status) = try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                var all = sigset_t()
                sigfillset(&all)
                pthread_sigmask(SIG_BLOCK, &all, nil)
                do {
                    let child = try ChildProcess.spawn("/bin/true", arguments: [], environment: [], directory: sandbox.dir.path,
                                                       input: devNull, output: devNull, error: devNull)
                    var now = sigset_t()
                    pthread_sigmask(SIG_BLOCK, nil, &now)
                    let semaphore = DispatchSemaphore(value: 0)
                    let ended = Mutex<ProcessOutcome.Status?>(nil)
                    Task {
                        let status = await child.exit()
                        ended.withLock { $0 = status }
                        semaphore.signal()
                    }
                    semaphore.wait()
                    continuation.resume(returning: (now, ended.withLock { $0 }))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
        var copy = mask
        #expect(sigismember(&copy, SIGCHLD) == 0, "the launching thread still blocks SIGCHLD")
        #expect(sigismember(&copy, SIGUSR1) == 1, "the launch changed more of the thread's mask than SIGCHLD")
        #expect(status == .exited(0))
    }

    @Test("Many tools ending at once: each caller gets its own child's status")
    func concurrentExits() async throws {
        let sandbox = try ScriptSandbox()
        defer { sandbox.cleanup() }
        let path = try sandbox.script("code.sh", "exit $1")
        let statuses = try await withThrowingTaskGroup(of: (Int32, ProcessOutcome.Status).self) { group in
            for code in Int32(0)..<40 {
                group.addTask {
                    var spec = sandbox.spec(path, [String(code)])
                    spec.logFile = sandbox.dir.appendingPathComponent("logs/\(code).log")
                    return (code, try await ProcessRunner.run(spec).status)
                }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(statuses.count == 40)
        for (code, status) in statuses { #expect(status == .exited(code)) }
    }

    @Test("Without pidfds (Linux before 5.3) a thread per child waits: exit codes and signals arrive the same")
    func exitsWithoutPidfds() async throws {
        let sandbox = try ScriptSandbox()
        defer { sandbox.cleanup() }
        let threads = ChildExits(pidfds: false)
        let devNull = open("/dev/null", O_RDWR)
        defer { close(devNull) }
        func run(_ script: String) throws -> ChildProcess {
            try ChildProcess.spawn("/bin/sh", arguments: ["-c", script], environment: [], directory: sandbox.dir.path,
                                   input: devNull, output: devNull, error: devNull)
        }
        let failing = try run("exit 7"), killed = try run("kill -TERM $$")
        #expect(await failing.exit(through: threads) == .exited(7))
        #expect(await killed.exit(through: threads) == .signaled(SIGTERM))
        let slow = try run("sleep 30")
        slow.signalGroup(SIGKILL)
        #expect(await slow.exit(through: threads) == .signaled(SIGKILL))
    }

    @Test("A batch tool's end is reported before its outputs are handed over (the slot frees first)")
    func endedComesBeforeTheHandOver() async throws {
        let sandbox = try ScriptSandbox()
        defer { sandbox.cleanup() }
        let path = try sandbox.script("write.sh", "echo data > out.txt")
        var item = PlannedItem.filler
        item.id = "a"
        let expected = [ExpectedOutput(item: item, file: sandbox.dir.appendingPathComponent("out.txt"), companions: [])]
        let events = Mutex<[String]>([])
        let result = try await BatchCollector().run(sandbox.spec(path), expected: expected, gracePeriod: .seconds(5),
                                                     ended: { events.withLock { $0.append("ended") } },
                                                     produced: { output in events.withLock { $0.append("produced \(output.itemID)") } })
        #expect(result.outcome.status == .exited(0))
        #expect(events.withLock { $0 } == ["ended", "produced a"])
    }

    @Test("The mailbox hands over everything posted, in order, whether it was waiting or not")
    func mailboxKeepsOrder() async {
        let mailbox = Mailbox<Int>()
        mailbox.post(1)
        mailbox.post(2)
        #expect(await mailbox.next() == [1, 2])
        async let waited = mailbox.next()
        try? await Task.sleep(for: .milliseconds(20))
        mailbox.post(3)
        #expect(await waited == [3])
        let senders = 8, each = 50
        await withTaskGroup(of: Void.self) { group in
            for sender in 0..<senders {
                group.addTask { for n in 0..<each { mailbox.post(sender * 1000 + n) } }
            }
        }
        let all = await mailbox.next()
        #expect(all.count == senders * each)
        for sender in 0..<senders {
            #expect(all.filter { $0 / 1000 == sender } == (0..<each).map { sender * 1000 + $0 }, "sender \(sender)'s order")
        }
    }

    @Test("The log's command line quotes what a shell would split or expand, and nothing else")
    func commandLineQuoting() {
        #expect(ToolSupport.commandLine(["/bin/sh", "-c", "echo \"$1\" > x", "sh", "", "it's", "plain-arg"])
                == #"/bin/sh -c 'echo "$1" > x' sh '' 'it'\''s' plain-arg"#)
        #expect(ToolSupport.commandLine(["a\nb", "back\\slash", "`tick`", "ünïcode"]) == "'a\nb' 'back\\slash' '`tick`' ünïcode")
    }
}

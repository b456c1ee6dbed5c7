import CSpawn
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A tool process ``ProcessRunner`` started, and its end.
///
/// Started by a vfork-style clone on the calling thread (Sources/CSpawn/spawn.c says how
/// it differs from `posix_spawn`, the fallback) and awaited through its pidfd on one
/// thread shared by all (``ChildExits``). swift-subprocess, which this replaced for tool
/// runs, spent about 0.15 ms of CPU per launch on a 2-core machine around the fork itself
/// (the spawn moved to a worker thread and back, two task groups, a stream and a task
/// sleeping in one-second steps with its dispatch timer, per process): a sixth of a
/// DAG of one-line commands (Benchmarks/executor.sh).
final class ChildProcess: Sendable {
    let pid: Int32
    /// The child's pidfd from its launch, or -1 (the kernel gave none); ``ChildExits``
    /// closes it once the child is reaped.
    let pidfd: Int32
    /// Whether the child has been (or is being) reaped: from then on its pid may be
    /// reused, so its group is signalled only before, under the same lock.
    private let reaped = Mutex(false)

    private init(pid: Int32, pidfd: Int32) {
        self.pid = pid
        self.pidfd = pidfd
    }

    /// Starts `executable` (an absolute path) with `arguments` and `environment`
    /// (`KEY=value` rows, each NUL-terminated) in `directory`, in a session of its own,
    /// with `input`, `output` and `error` as its standard descriptors (`output` and
    /// `error` may be one descriptor) and no other.
    static func spawn(_ executable: String, arguments: [String], environment: [[UInt8]], directory: String,
                      input: Int32, output: Int32, error: Int32) throws(ChildProcessError) -> ChildProcess {
        // One buffer holds every string; the pointer arrays point into it.
        var bytes: [UInt8] = []
        var argumentStarts: [Int] = [], environmentStarts: [Int] = []
        for argument in [executable] + arguments {
            argumentStarts.append(bytes.count)
            bytes.append(contentsOf: argument.utf8)
            bytes.append(0)
        }
        for row in environment {
            environmentStarts.append(bytes.count)
            bytes.append(contentsOf: row)
            if row.last != 0 { bytes.append(0) }
        }
        var pid: pid_t = 0, pidfd: Int32 = -1, stage: Int32 = 0
        let code: Int32 = bytes.withUnsafeMutableBufferPointer { buffer in
            let base = UnsafeMutableRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            var argv: [UnsafeMutablePointer<CChar>?] = argumentStarts.map { base + $0 } + [nil]
            var envp: [UnsafeMutablePointer<CChar>?] = environmentStarts.map { base + $0 } + [nil]
            return synthset_launch(&pid, &pidfd, &stage, base + argumentStarts[0], &argv, &envp, directory, input, output, error)
        }
        guard code == 0 else { throw ChildProcessError(code: code, stage: Int(stage)) }
        return ChildProcess(pid: pid, pidfd: pidfd)
    }

    /// Sends `signal` to the child's process group while the child is not reaped.
    func signalGroup(_ signal: Int32) {
        reaped.withLock { reaped in
            if !reaped { _ = kill(-pid, signal) }
        }
    }

    /// How the child ended, once it has; the child is reaped then. Not cancellable: a
    /// caller that is cancelled signals the group and keeps waiting. `reaped` runs on the
    /// reaping thread right after the reap, before the caller resumes (a hop to a worker
    /// thread later): what must learn of the end soonest, a free slot, hears it there.
    func exit(through exits: ChildExits = .shared,
              reaped: (@Sendable (ProcessOutcome.Status) -> Void)? = nil) async -> ProcessOutcome.Status {
        await exits.exit(of: self, reaped: reaped)
    }

    /// Marks the child reaped; called by the reaper just before it reaps.
    func willReap() {
        reaped.withLock { $0 = true }
    }
}

/// Why a child could not be started: the errno of the step that failed.
struct ChildProcessError: Error, CustomStringConvertible {
    var code: Int32
    /// `SYNTHSET_STAGE_*` (0 where posix_spawn, which does not say, failed).
    var stage: Int = 0

    /// Whether the working folder could not be entered.
    var isDirectory: Bool { stage == Int(SYNTHSET_STAGE_DIRECTORY) }

    /// Whether execve found no program it may run at the path (missing, a folder, not
    /// executable, a dangling link).
    var isMissingExecutable: Bool {
        stage == Int(SYNTHSET_STAGE_EXEC) && [ENOENT, EACCES, ENOTDIR, ELOOP, EISDIR].contains(code)
    }

    var description: String {
        let reason = String(cString: strerror(code))
        switch stage {
        case Int(SYNTHSET_STAGE_DIRECTORY): return "cannot enter its working folder: \(reason)"
        case Int(SYNTHSET_STAGE_SESSION): return "cannot start a session for it: \(reason)"
        case Int(SYNTHSET_STAGE_DESCRIPTORS): return "cannot set up its descriptors: \(reason)"
        default: return reason
        }
    }
}

/// Waits for the exits of this process's tool children: their pidfds in one epoll set,
/// watched by one thread, which reaps each child as it ends and resumes the task waiting
/// for it. Where there are no pidfds (Linux before 5.3), a thread per child waits instead.
final class ChildExits: @unchecked Sendable {
    static let shared = ChildExits()

    private let epoll: Int32
    private struct Waiter {
        var child: ChildProcess
        var reaped: (@Sendable (ProcessOutcome.Status) -> Void)?
        var continuation: CheckedContinuation<ProcessOutcome.Status, Never>
    }
    private let waiters = Mutex<[Int32: Waiter]>([:])

    /// `pidfds: false` waits with a thread per child, as on a kernel without pidfds (tests).
    init(pidfds: Bool = true) {
        epoll = pidfds ? synthset_exits_create() : -1
        guard epoll >= 0 else { return }
        let thread = Thread { [self] in watch() }
        thread.name = "synthset.child-exits"
        thread.start()
    }

    func exit(of child: ChildProcess, reaped: (@Sendable (ProcessOutcome.Status) -> Void)? = nil) async -> ProcessOutcome.Status {
        await withCheckedContinuation { continuation in
            var pidfd = child.pidfd
            if epoll < 0 && pidfd >= 0 {
                close(pidfd)
                pidfd = -1
            } else if epoll >= 0 && pidfd < 0 {
                pidfd = synthset_pidfd_open(child.pid)
            }
            guard pidfd >= 0 else { return Self.waitOnThread(child, reaped, continuation) }
            waiters.withLock { $0[pidfd] = Waiter(child: child, reaped: reaped, continuation: continuation) }
            if synthset_exits_add(epoll, pidfd) != 0 {
                // Cannot happen with a fresh pidfd; wait on a thread of its own then.
                waiters.withLock { _ = $0.removeValue(forKey: pidfd) }
                close(pidfd)
                Self.waitOnThread(child, reaped, continuation)
            }
        }
    }

    /// Waits for `child` on a thread of its own, blocked in `waitid(P_PID)`.
    private static func waitOnThread(_ child: ChildProcess, _ reaped: (@Sendable (ProcessOutcome.Status) -> Void)?,
                                     _ continuation: CheckedContinuation<ProcessOutcome.Status, Never>) {
        Thread.detachNewThread {
            child.willReap()
            let status = reap { synthset_reap_pid(child.pid, &$0, &$1) }
            reaped?(status)
            continuation.resume(returning: status)
        }
    }

    private func watch() {
        var ready = [Int32](repeating: -1, count: 64)
        while true {
            let count = synthset_exits_wait(epoll, &ready, Int32(ready.count))
            for pidfd in ready.prefix(Int(count)) {
                guard let waiter = waiters.withLock({ $0.removeValue(forKey: pidfd) }) else { continue }
                waiter.child.willReap()
                let status = Self.reap { synthset_reap_pidfd(pidfd, &$0, &$1) }
                close(pidfd)
                waiter.reaped?(status)
                waiter.continuation.resume(returning: status)
            }
        }
    }

    private static func reap(_ wait: (inout Int32, inout Int32) -> Int32) -> ProcessOutcome.Status {
        var exited: Int32 = 0, status: Int32 = 0
        // Only ECHILD (someone else reaped it) fails: nothing is known of how it ended.
        guard wait(&exited, &status) == 0 else { return .signaled(0) }
        return exited != 0 ? .exited(status) : .signaled(status)
    }
}

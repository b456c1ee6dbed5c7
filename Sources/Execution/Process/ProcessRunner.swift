import Basics
import CSpawn
import Foundation
import Synchronization
import WorkspaceStore

#if canImport(System)
import System
#else
import SystemPackage
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What to run: one tool invocation.
public struct ProcessSpec: Sendable, Equatable {
    /// An absolute path, a path relative to ``workingDirectory`` (contains a `/`),
    /// or a bare name looked up in `PATH` (the child's `PATH`: the override in
    /// ``environment`` if any, else this process's).
    public var executable: String
    /// Arguments, passed as-is (no shell involved).
    public var arguments: [String]
    /// Variables added to or overriding the inherited environment.
    public var environment: [String: String]
    /// Variables removed from the inherited environment (applied before ``environment``).
    public var removedEnvironment: Set<String>
    /// The child's working directory; must exist.
    public var workingDirectory: URL
    /// Log file receiving the child's stdout and stderr (appended; parent
    /// directories are created).
    public var logFile: URL
    /// The read end the child gets as its standard input (closed here once it is
    /// started); nil: `/dev/null`.
    public var standardInput: FileDescriptor?
    /// A line written to ``logFile`` just before the child starts (its newline added), in
    /// the same open as the child's.
    public var logHeader: String?

    /// Creates a process specification.
    public init(
        executable: String, arguments: [String] = [], environment: [String: String] = [:],
        removedEnvironment: Set<String> = [], workingDirectory: URL, logFile: URL
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.removedEnvironment = removedEnvironment
        self.workingDirectory = workingDirectory
        self.logFile = logFile
    }

    /// The last `lines` lines of ``logFile`` (see ``ProcessRunner/logTail(_:lines:)``).
    public func logTail(lines: Int) -> [String] {
        ProcessRunner.logTail(logFile, lines: lines)
    }
}

/// How a finished process ended.
public struct ProcessOutcome: Sendable, Equatable {
    /// Exit status of the child.
    public enum Status: Sendable, Equatable, CustomStringConvertible {
        /// The child exited with this code.
        case exited(Int32)
        /// The child was terminated by this signal.
        case signaled(Int32)

        /// A readable form, e.g. `exit code 3` or `killed by signal 9 (SIGKILL)`.
        public var description: String {
            switch self {
            case .exited(let code): return "exit code \(code)"
            case .signaled(let signal): return "killed by signal \(signal)\(Self.signalName(signal))"
            }
        }

        private static func signalName(_ signal: Int32) -> String {
            switch signal {
            case SIGTERM: return " (SIGTERM)"
            case SIGKILL: return " (SIGKILL)"
            case SIGINT: return " (SIGINT)"
            case SIGSEGV: return " (SIGSEGV)"
            case SIGABRT: return " (SIGABRT)"
            case SIGBUS: return " (SIGBUS)"
            default: return ""
            }
        }
    }

    /// How the child ended.
    public var status: Status
    /// Wall-clock time from launch to exit.
    public var duration: Duration
    /// The child's process id (also its process-group and session id).
    public var pid: Int32

    /// Whether the child exited with code 0.
    public var succeeded: Bool { status == .exited(0) }

    /// Creates an outcome.
    public init(status: Status, duration: Duration, pid: Int32) {
        self.status = status
        self.duration = duration
        self.pid = pid
    }
}

/// Errors thrown by ``ProcessRunner``.
public enum ProcessRunnerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The executable was not found; `searched` lists the `PATH` directories tried
    /// (empty when a path was given).
    case executableNotFound(String, searched: [String])
    /// The working directory does not exist or is not a directory.
    case workingDirectoryMissing(String)
    /// The log file could not be opened.
    case cannotOpenLog(path: String, reason: String)
    /// Launching failed for another reason.
    case launchFailed(executable: String, reason: String)
    /// A probe run with ``ProcessRunner/capture(_:arguments:workingDirectory:includeStandardError:limit:gracePeriod:)``
    /// printed more than the limit.
    case outputTooLong(executable: String, limit: Int)

    /// A readable explanation that says what to do.
    public var description: String {
        switch self {
        case .executableNotFound(let name, let searched) where searched.isEmpty:
            return "executable \(name) does not exist or is not executable; check the path and its permissions"
        case .executableNotFound(let name, let searched):
            return "executable \(name) was not found in PATH (\(searched.joined(separator: ":"))); "
                + "install it, add its directory to PATH, or give an absolute path"
        case .workingDirectoryMissing(let path):
            return "working directory \(path) does not exist; create it before running the tool"
        case .cannotOpenLog(let path, let reason):
            return "cannot open log file \(path): \(reason); check that the workspace is writable"
        case .launchFailed(let executable, let reason):
            return "cannot launch \(executable): \(reason)"
        case .outputTooLong(let executable, let limit):
            return "\(executable) printed more than \(limit) bytes; it is not the program synthset expected there"
        }
    }
}

/// This process's environment, read once. synthset never changes its own; reading it
/// at every launch (Subprocess's `.inherit`, Foundation's `ProcessInfo.environment`)
/// built a dictionary of all of it, twice per tool launched.
enum InheritedEnvironment {
    static let values: [String: String] = ProcessInfo.processInfo.environment
    /// `KEY=value` and a NUL, by key, as a child's environment is handed to `ChildProcess.spawn` and Subprocess.
    private static let rows: [(key: String, row: [UInt8])] = values.sorted { $0.key < $1.key }.map { key, value in
        (key, Array("\(key)=\(value)".utf8) + [0])
    }

    /// A child's environment: this process's, less `removed` and the keys of `added`,
    /// then `added` (so a variable both removed and added is added).
    static func child(removing removed: Set<String>, adding added: [String: String]) -> [[UInt8]] {
        let key = Key(removed: removed, added: added)
        if let known = recent.withLock({ $0[key] }) { return known }
        var result = rows.compactMap { removed.contains($0.key) || added[$0.key] != nil ? nil : $0.row }
        for (key, value) in added.sorted(by: { $0.key < $1.key }) { result.append(Array("\(key)=\(value)".utf8) + [0]) }
        recent.withLock { recent in
            if recent.count >= 64 { recent.removeAll() }
            recent[key] = result
        }
        return result
    }

    /// The environments made lately: a step's tasks all get the same one.
    private struct Key: Hashable {
        var removed: Set<String>
        var added: [String: String]
    }
    private static let recent = Mutex<[Key: [[UInt8]]]>([:])
}

/// Runs tool subprocesses the way a workflow engine must.
///
/// - The child runs in its own session and process group (`setsid`), so it and
///   everything it spawns can be signalled together, and a terminal's Ctrl-C
///   reaches only the executor, which decides what to stop.
/// - stdout and stderr are appended to the spec's log file; output is never
///   buffered in memory.
/// - Cancelling the calling Swift task sends SIGTERM to the whole group, then
///   SIGKILL to the group after `gracePeriod`; the call then throws `CancellationError`.
/// - When the child exits, members of its group that are still running (daemons
///   or background jobs the tool left behind) get the same SIGTERM-then-SIGKILL
///   treatment, so no tool leaks processes (or GPU memory) past its task.
/// - The tool's group is watched by this process's `synthset-supervise` watchdog
///   (``ToolWatchdog``, when it is installed beside synthset), which ends the group if
///   synthset itself dies, by any signal, SIGKILL and the OOM killer included. Inside a
///   run (``ToolProcessContext``) the tool's environment loses the run's secrets and
///   gains the run's marker, by which a later run finds what a killed one left.
public enum ProcessRunner {
    /// Runs `spec` to completion and reports how it ended.
    ///
    /// A non-zero exit or a signal is a normal outcome, not an error.
    ///
    /// - Parameter gracePeriod: time the process group gets between SIGTERM and SIGKILL.
    /// - Throws: ``ProcessRunnerError`` when the process cannot be launched;
    ///   `CancellationError` when the calling task was cancelled before the child
    ///   exited (the process group has been torn down by then).
    /// - Parameter exited: called with how the tool ended once it has exited and nothing
    ///   of its process group is left (not when it could not start): on the thread that
    ///   reaped it, at once, when it left nothing behind; otherwise once the group is torn down.
    /// - Parameter slot: taken (waited for) once everything is ready, just before the
    ///   child starts; a cancelled wait throws `CancellationError` and starts nothing.
    public static func run(
        _ spec: ProcessSpec, gracePeriod: Duration = .seconds(10), exited: (@Sendable (ProcessOutcome.Status) -> Void)? = nil,
        slot: SlotTicket? = nil
    ) async throws -> ProcessOutcome {
        let executablePath: String, logFD: Int32
        do {
            try Task.checkCancellation()
            // A cloned child says which step failed (ChildProcessError.stage), so a path's
            // executable and the working folder are not looked at twice, here and by execve
            // and chdir; posix_spawn's errno alone does not tell them apart.
            let childSaysWhy = synthset_launch_uses_clone() != 0
            executablePath = try resolveExecutable(spec, checkingPath: !childSaysWhy)
            guard childSaysWhy || FileStatus(path: spec.workingDirectory.path)?.isDirectory == true else {
                throw ProcessRunnerError.workingDirectoryMissing(spec.workingDirectory.path)
            }
            logFD = try openLog(spec.logFile)
            if let header = spec.logHeader { Array((header + "\n").utf8).withUnsafeBytes { _ = UnsyncedFile.writeAll($0, to: logFD) } }
        } catch {
            // The input's read end is ours to close until the child has it.
            try? spec.standardInput?.close()
            throw error
        }
        // The planned input's read end, or this process's one /dev/null.
        let stdinFD: Int32
        if let given = spec.standardInput {
            stdinFD = given.rawValue
        } else if let null = nullDevice {
            stdinFD = null
        } else {
            close(logFD)
            throw ProcessRunnerError.launchFailed(executable: executablePath, reason: "cannot open /dev/null")
        }

        let context = ToolProcessContext.current
        var added = spec.environment
        if let context { added[ToolProcessContext.markerVariable] = context.marker }
        let environment = InheritedEnvironment.child(
            removing: spec.removedEnvironment.union(context?.withheldEnvironment ?? []), adding: added)
        // The watchdog ends the tool's whole group should synthset die (see
        // Sources/synthset-supervise/main.c); without it the tool is not watched.
        let watchdog = ToolWatchdog.shared
        // The launch, run where the slot is had: here, or on the thread that reaped the
        // tool whose slot this is (SlotTicket.start), at once.
        let directory = spec.workingDirectory.path, arguments = spec.arguments
        let launch: @Sendable () -> Result<ChildProcess, ChildProcessError> = {
            // stdout and stderr share the log's one open file (and its O_APPEND offset).
            Result { () throws(ChildProcessError) in
                try ChildProcess.spawn(executablePath, arguments: arguments, environment: environment,
                                       directory: directory, input: stdinFD, output: logFD, error: logFD)
            }
        }
        let launched: Result<ChildProcess, ChildProcessError>
        do {
            defer {
                // The child has its own copies now (or there is no child).
                try? spec.standardInput?.close()
                close(logFD)
            }
            if let slot {
                do { launched = try await slot.start(launch) } catch {
                    // Stopped while it waited for a slot: its log, header written, says so.
                    Array("synthset: stopped before the tool started (no slot was free yet)\n".utf8).withUnsafeBytes {
                        _ = UnsyncedFile.writeAll($0, to: logFD)
                    }
                    throw error
                }
            } else {
                launched = launch()
            }
        }
        let clock = ContinuousClock()
        let start = clock.now
        let child: ChildProcess
        switch launched {
        case .success(let started): child = started
        case .failure(let error) where error.isDirectory:
            throw ProcessRunnerError.workingDirectoryMissing(spec.workingDirectory.path)
        case .failure(let error) where error.isMissingExecutable:
            throw ProcessRunnerError.executableNotFound(executablePath, searched: [])
        case .failure(let error):
            throw ProcessRunnerError.launchFailed(executable: executablePath, reason: "\(error)")
        }
        let pid = child.pid
        watchdog?.watch(pid, grace: gracePeriod)

        // Cancelled: SIGTERM to the group now, SIGKILL to it if the child outlives the
        // grace period; the wait goes on until the child has exited.
        let cancelledAt = Mutex<ContinuousClock.Instant?>(nil)
        // A group without members once its leader is reaped is gone: kill says ESRCH.
        let toldAtReap = ToldFlag()
        var reaped: (@Sendable (ProcessOutcome.Status) -> Void)?
        if let exited {
            reaped = { status in
                guard kill(-pid, 0) != 0 && errno == ESRCH else { return }
                toldAtReap.value.store(true, ordering: .relaxed)
                exited(status)
            }
        }
        let status = await withTaskCancellationHandler {
            await child.exit(reaped: reaped)
        } onCancel: {
            cancelledAt.withLock { if $0 == nil { $0 = clock.now } }
            child.signalGroup(SIGTERM)
            Task {
                try? await Task.sleep(for: gracePeriod)
                child.signalGroup(SIGKILL)
            }
        }
        let duration = clock.now - start

        // The child is reaped. Tear down whatever it left in its process group.
        // (Linux does not reuse a pid while a process group with that id exists,
        // so signalling -pid here cannot hit an unrelated group that has members.)
        if let cancelled = cancelledAt.withLock({ $0 }) {
            await reapGroup(pid, deadline: cancelled + gracePeriod)
            watchdog?.forget(pid)
            throw CancellationError()
        }
        if ProcessProbe.groupHasLiveMembers(pid) {
            _ = kill(-pid, SIGTERM)
            await reapGroup(pid, deadline: clock.now + gracePeriod)
        }
        watchdog?.forget(pid)
        if !toldAtReap.value.load(ordering: .relaxed) { exited?(status) }
        return ProcessOutcome(status: status, duration: duration, pid: pid)
    }

    /// Whether `exited` was called at the reap already.
    private final class ToldFlag: Sendable {
        let value = Atomic<Bool>(false)
    }

    /// Waits (until `deadline`) for the live members of process group `pgid` to exit,
    /// then SIGKILLs any that remain. Not interrupted by task cancellation.
    static func reapGroup(_ pgid: Int32, deadline: ContinuousClock.Instant) async {
        let clock = ContinuousClock()
        while ProcessProbe.groupHasLiveMembers(pgid) {
            if clock.now >= deadline {
                _ = kill(-pgid, SIGKILL)
                // SIGKILL is immediate but delivery is asynchronous; wait briefly.
                let killDeadline = clock.now + .seconds(2)
                while ProcessProbe.groupHasLiveMembers(pgid) && clock.now < killDeadline {
                    await uncancellableSleep(.milliseconds(10))
                }
                return
            }
            await uncancellableSleep(.milliseconds(25))
        }
    }

    private static func uncancellableSleep(_ duration: Duration) async {
        // An unstructured task does not inherit the caller's cancellation.
        await Task { try? await Task.sleep(for: duration) }.value
    }

    // MARK: Executable lookup

    /// Resolves `spec.executable` to an absolute path of an executable file.
    /// `checkingPath: false` leaves a path (one with a `/`) unchecked, for the launch to report.
    static func resolveExecutable(_ spec: ProcessSpec, checkingPath: Bool = true) throws -> String {
        let pathValue: String?
        if let override = spec.environment["PATH"] {
            pathValue = override
        } else if spec.removedEnvironment.contains("PATH") {
            pathValue = nil
        } else {
            pathValue = InheritedEnvironment.values["PATH"]
        }
        return try resolveExecutable(spec.executable, workingDirectory: spec.workingDirectory, searchPath: pathValue,
                                     checkingPath: checkingPath)
    }

    /// Resolves `name` (a path, or a bare name looked up in `searchPath`, a `PATH` value)
    /// to an absolute path of an executable file.
    static func resolveExecutable(_ name: String, workingDirectory: URL, searchPath pathValue: String?,
                                  checkingPath: Bool = true) throws -> String {
        if name.utf8.contains(UInt8(ascii: "/")) {
            let path = name.hasPrefix("/") ? name : workingDirectory.appendingPathComponent(name).path
            guard !checkingPath || isExecutableFile(path) else {
                throw ProcessRunnerError.executableNotFound(path, searched: [])
            }
            return path
        }
        let directories = (pathValue ?? "/usr/local/bin:/usr/bin:/bin")
            .split(separator: ":").map(String.init).filter { $0.hasPrefix("/") }
        for directory in directories {
            let candidate = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            if isExecutableFile(candidate) { return candidate }
        }
        throw ProcessRunnerError.executableNotFound(name, searched: directories)
    }

    private static func isExecutableFile(_ path: String) -> Bool {
        guard let status = FileStatus(path: path) else { return false }
        return !status.isDirectory && access(path, X_OK) == 0
    }

    // MARK: Log file

    /// Opens the log for appending, twice-referenced: one descriptor for stdout and a
    /// duplicate for stderr (both close-on-exec in this process; the child gets them
    /// as fds 1 and 2).
    private static func openLog(_ url: URL) throws -> Int32 {
        let fd: Int32
        do {
            fd = try UnsyncedFile.openCreatingFolder(url.path, flags: O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode: 0o644)
        } catch {
            throw ProcessRunnerError.cannotOpenLog(path: url.path, reason: FileErrorReason.of(error))
        }
        guard fd >= 0 else {
            throw ProcessRunnerError.cannotOpenLog(path: url.path, reason: ProcessProbe.errorText(errno))
        }
        return fd
    }

    /// `/dev/null`, opened once (close-on-exec) for every tool without planned input.
    private static let nullDevice: Int32? = {
        let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        return fd >= 0 ? fd : nil
    }()

    // MARK: Log tail

    /// The last `lines` lines of the file at `url` (without a trailing empty line),
    /// read backwards from the end in blocks, so huge logs are not read whole.
    /// Returns `[]` if the file is missing. Invalid UTF-8 is repaired.
    public static func logTail(_ url: URL, lines: Int) -> [String] {
        guard lines > 0 else { return [] }
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var end = lseek(fd, 0, SEEK_END)
        guard end > 0 else { return [] }

        let blockSize = 64 * 1024
        let maxBytes = 16 * 1024 * 1024  // bound the work for files with huge lines
        var blocks: [[UInt8]] = []  // read back to front
        var total = 0
        var newlines = 0
        var buffer = [UInt8](repeating: 0, count: blockSize)
        // Ignore one trailing newline: "a\nb\n" has two lines.
        var skipTrailing = true
        while end > 0 && total < maxBytes {
            let size = min(off_t(blockSize), end)
            let start = end - size
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, Int(size), start) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            var block = Array(buffer[0..<n])
            if skipTrailing {
                if block.last == UInt8(ascii: "\n") { block.removeLast() }
                skipTrailing = false
            }
            newlines += block.reduce(0) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
            total += block.count
            blocks.append(block)
            end = start
            if newlines >= lines { break }
        }
        let text = String(decoding: blocks.reversed().joined(), as: UTF8.self)
        let all = text.split(separator: "\n", omittingEmptySubsequences: false)
        if all.count == 1 && all[0].isEmpty { return [] }
        return all.suffix(lines).map(String.init)
    }

}

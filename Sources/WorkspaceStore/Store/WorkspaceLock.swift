import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Who holds (or held) a workspace lock, as written into `run.lock`.
public struct LockHolder: Codable, Sendable, Equatable {
    /// Process id of the holder.
    public var pid: Int32
    /// When the holder acquired the lock.
    public var startedAt: Date
    /// Host name of the holder's machine.
    public var host: String
    /// What the holder is doing (e.g. `"synthset run"`).
    public var command: String

    /// Creates a holder description.
    public init(pid: Int32, startedAt: Date, host: String, command: String) {
        self.pid = pid
        self.startedAt = startedAt
        self.host = host
        self.command = command
    }

    enum CodingKeys: String, CodingKey {
        case pid
        case startedAt = "started_at"
        case host, command
    }

    /// `started_at` rendered as ISO 8601 (UTC, whole seconds).
    public var startedAtISO8601: String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: startedAt)
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self) + Data("\n".utf8)
    }

    static func decode(_ data: Data) -> LockHolder? {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(LockHolder.self, from: data)
    }
}

/// Errors thrown by ``WorkspaceLock``.
public enum WorkspaceLockError: Error, Sendable, CustomStringConvertible {
    /// Another process (or another lock in this process) holds the workspace.
    /// `holder` is `nil` when the holder had not written its details yet or they are unreadable.
    case held(holder: LockHolder?, directory: URL)
    /// The lock file could not be created or opened.
    case cannotOpen(path: String, reason: String)
    /// `flock` failed for a reason other than contention.
    case lockFailed(path: String, reason: String)
    /// The holder details could not be written.
    case cannotWrite(path: String, reason: String)

    /// A readable explanation that says what to do.
    public var description: String {
        switch self {
        case .held(let holder?, let directory):
            return "workspace \(directory.path) is locked by pid \(holder.pid) (\(holder.command), started "
                + "\(holder.startedAtISO8601) on host \(holder.host)); wait for it to finish or stop it"
        case .held(nil, let directory):
            return "workspace \(directory.path) is locked by another synthset process (its details are not "
                + "readable in \(directory.appendingPathComponent(WorkspaceLock.fileName).path)); "
                + "wait for it to finish or stop it"
        case .cannotOpen(let path, let reason):
            return "cannot open the workspace lock file \(path): \(reason); check that the workspace is writable"
        case .lockFailed(let path, let reason):
            return "cannot lock \(path): \(reason); the workspace must be on a filesystem that supports flock"
        case .cannotWrite(let path, let reason):
            return "cannot write the workspace lock file \(path): \(reason); check free disk space"
        }
    }
}

/// An exclusive, per-workspace lock: one run at a time per workspace.
///
/// Semantics: `flock(LOCK_EX | LOCK_NB)` on the workspace directory itself. The
/// kernel drops the lock when the holding file description is closed — including
/// when the process dies by SIGKILL — so a crash never leaves the workspace
/// locked, and no file a user can delete holds it: removing `run.lock` (or
/// anything else) while a run holds the workspace lets no second run in.
///
/// `<directory>/run.lock` carries the holder's details (JSON) for people and for
/// the "locked by pid N" message; it is informational only: written after
/// acquiring, truncated by a clean ``release()``. Finding contents on acquire
/// therefore means the previous holder did not release cleanly; it is reported
/// as `takenOverFrom`.
///
/// Descriptors are opened `O_CLOEXEC`, so subprocesses never inherit (and
/// thereby prolong) the lock. `flock` locks belong to the open file
/// description, so a second `acquire` in the same process conflicts too.
public final class WorkspaceLock: Sendable {
    /// The lock file's name inside the workspace directory.
    public static let fileName = "run.lock"

    /// The lock file.
    public let url: URL
    /// The holder details written into the lock file.
    public let holder: LockHolder
    /// The locked directory and the details file.
    private let descriptors: Mutex<(directory: Int32, file: Int32)?>

    private init(url: URL, holder: LockHolder, directoryFD: Int32, fileFD: Int32) {
        self.url = url
        self.holder = holder
        self.descriptors = Mutex((directoryFD, fileFD))
    }

    deinit {
        release()
    }

    /// Acquires the lock on `directory` (creating the directory and `run.lock` if needed).
    ///
    /// - Parameter command: what this process is doing, shown to others who find the lock held.
    /// - Returns: the lock, and the previous holder when the file held details of
    ///   a holder that did not release cleanly (typically a crashed run: its
    ///   pid is dead). Callers should warn "taking over stale lock from pid N".
    /// - Throws: ``WorkspaceLockError/held(holder:directory:)`` when another lock holds it.
    public static func acquire(
        directory: URL, command: String
    ) throws -> (WorkspaceLock, takenOverFrom: LockHolder?) {
        let url = directory.appendingPathComponent(fileName)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw WorkspaceLockError.cannotOpen(path: directory.path, reason: FileErrorReason.of(error, path: directory))
        }
        let directoryFD = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryFD >= 0 else {
            throw WorkspaceLockError.cannotOpen(path: directory.path, reason: ProcessProbe.errorText(errno))
        }
        var result: Int32
        repeat { result = flock(directoryFD, LOCK_EX | LOCK_NB) } while result != 0 && errno == EINTR
        if result != 0 {
            let code = errno
            close(directoryFD)
            if code == EWOULDBLOCK {
                // The holder writes its details right after locking; give it a moment.
                var holder = currentHolder(directory: directory)
                var tries = 0
                while holder == nil && tries < 5 {
                    usleep(20_000)
                    holder = currentHolder(directory: directory)
                    tries += 1
                }
                throw WorkspaceLockError.held(holder: holder, directory: directory)
            }
            throw WorkspaceLockError.lockFailed(path: directory.path, reason: ProcessProbe.errorText(code))
        }

        let fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else {
            let reason = ProcessProbe.errorText(errno)
            close(directoryFD)
            throw WorkspaceLockError.cannotOpen(path: url.path, reason: reason)
        }
        // We hold the lock. Leftover contents mean the previous holder did not release cleanly.
        let previous = readAll(fd)
        let takenOver = previous.isEmpty ? nil : LockHolder.decode(previous)

        let holder = LockHolder(
            pid: getpid(), startedAt: Date(), host: ProcessProbe.hostName(), command: command)
        do {
            try write(holder.encoded(), to: fd)
        } catch {
            close(fd)
            close(directoryFD)
            throw WorkspaceLockError.cannotWrite(path: url.path, reason: "\(error)")
        }
        return (WorkspaceLock(url: url, holder: holder, directoryFD: directoryFD, fileFD: fd), takenOver)
    }

    /// Whether this object still holds the lock.
    public var isHeld: Bool {
        descriptors.withLock { $0 != nil }
    }

    /// Releases the lock: truncates the details file (marking a clean release) and
    /// unlocks. Calling it again does nothing. Also called on deinit.
    public func release() {
        descriptors.withLock { fds in
            guard let handles = fds else { return }
            _ = ftruncate(handles.file, 0)
            _ = fsync(handles.file)
            _ = close(handles.file)
            _ = flock(handles.directory, LOCK_UN)
            _ = close(handles.directory)
            fds = nil
        }
    }

    /// Reads the holder details currently in the lock file of `directory`, if any.
    ///
    /// The details may be stale (a killed holder cannot truncate them): see
    /// ``runningHolder(directory:)``.
    public static func currentHolder(directory: URL) -> LockHolder? {
        let path = directory.appendingPathComponent(fileName).path
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return nil }
        return LockHolder.decode(data)
    }

    /// The holder of `directory`'s lock when it is still running: its pid is alive
    /// (on this host; a holder on another host is taken at its word).
    public static func runningHolder(directory: URL) -> LockHolder? {
        guard let holder = currentHolder(directory: directory) else { return nil }
        if holder.host == ProcessProbe.hostName() && !ProcessProbe.isAlive(holder.pid) { return nil }
        return holder
    }

    // MARK: File I/O

    private static func readAll(_ fd: Int32) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        var offset: off_t = 0
        while data.count < 65_536 {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            data.append(contentsOf: buffer[0..<n])
            offset += off_t(n)
        }
        return data
    }

    private struct IOError: Error, CustomStringConvertible {
        var description: String
    }

    private static func write(_ data: Data, to fd: Int32) throws {
        guard ftruncate(fd, 0) == 0 else { throw IOError(description: ProcessProbe.errorText(errno)) }
        var offset = 0
        try data.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = pwrite(fd, raw.baseAddress! + offset, raw.count - offset, off_t(offset))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw IOError(description: ProcessProbe.errorText(errno))
                }
                offset += n
            }
        }
        guard fsync(fd) == 0 else { throw IOError(description: ProcessProbe.errorText(errno)) }
    }
}

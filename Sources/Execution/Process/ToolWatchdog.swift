import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// This process's `synthset-supervise` watchdog (Sources/synthset-supervise/main.c):
/// told of every tool's process group, it ends the groups still registered once
/// synthset is gone, however synthset died.
///
/// Started on the first tool launch (it leaves synthset's session at once), with one end of a socket
/// pair as its standard input; this process keeps the other end (close-on-exec, so no
/// tool inherits it and holds the watchdog's end of file back). Lines are sent with
/// `MSG_NOSIGNAL`: a watchdog that died costs the protection, never synthset's life.
final class ToolWatchdog: Sendable {
    /// The watchdog, when `synthset-supervise` is installed beside synthset (or named by
    /// `SYNTHSET_SUPERVISE`; empty turns it off) and it could be started.
    static let shared: ToolWatchdog? = executable().flatMap(ToolWatchdog.init(executable:))

    private let socket: Int32
    private let alive = Atomic<Bool>(true)

    private init?(executable: String) {
        #if os(Linux)
        var ends: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else { return nil }
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        // Its end becomes its stdin (dup2 clears close-on-exec); nothing else of ours.
        posix_spawn_file_actions_adddup2(&actions, ends[1], 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(executable), nil]
        defer { for argument in argv { free(argument) } }
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        close(ends[1])
        guard spawned == 0 else {
            close(ends[0])
            return nil
        }
        socket = ends[0]
        #else
        return nil
        #endif
    }

    /// Watches group `pgid`: should synthset die, it gets SIGTERM, then SIGKILL after `grace`.
    func watch(_ pgid: Int32, grace: Duration) {
        send(Self.watchLine(pgid, grace: grace))
    }

    /// `+<pgid> <seconds>` with the grace in whole milliseconds, as main.c reads it
    /// (`strtod`); written without `String(format:)`, which parses its format at every launch.
    static func watchLine(_ pgid: Int32, grace: Duration) -> String {
        let milliseconds = max(0, grace.components.seconds * 1000 + grace.components.attoseconds / 1_000_000_000_000_000)
        let fraction = String(milliseconds % 1000)
        return "+\(pgid) \(milliseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)\n"
    }

    /// Forgets group `pgid`: synthset saw it end.
    func forget(_ pgid: Int32) {
        send("-\(pgid)\n")
    }

    private func send(_ line: String) {
        guard alive.load(ordering: .relaxed) else { return }
        let bytes = Array(line.utf8)
        var offset = 0
        // Lines are short: one send takes them whole unless the watchdog is gone.
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { buffer in
                Glibc.send(socket, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 && errno == EINTR { continue }
            guard sent > 0 else {
                alive.store(false, ordering: .relaxed)
                return
            }
            offset += sent
        }
    }

    /// `SYNTHSET_SUPERVISE` when set (empty turns the watchdog off), else
    /// `synthset-supervise` beside the running executable, if it is there.
    private static func executable() -> String? {
        if let path = ProcessInfo.processInfo.environment["SYNTHSET_SUPERVISE"] {
            return path.isEmpty || access(path, X_OK) != 0 ? nil : path
        }
        #if os(Linux)
        let running = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments.first ?? ""
        #else
        let running = Bundle.main.executablePath ?? CommandLine.arguments.first ?? ""
        #endif
        let candidate = URL(fileURLWithPath: running).deletingLastPathComponent()
            .appendingPathComponent("synthset-supervise").path
        return access(candidate, X_OK) == 0 ? candidate : nil
    }
}

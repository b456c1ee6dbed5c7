import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Small helpers to ask the OS about processes on this machine.
package enum ProcessProbe {
    /// Whether `pid` names a live (non-zombie) process on this machine.
    ///
    /// `kill(pid, 0)` succeeding (or failing with `EPERM`: it exists but
    /// belongs to someone else) means the pid exists. On Linux a zombie also
    /// answers `kill(pid, 0)`, so `/proc/<pid>/stat` is consulted to treat
    /// zombies (exited, not yet reaped) as dead.
    package static func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        if kill(pid, 0) != 0 && errno != EPERM { return false }
        #if os(Linux)
        if let state = linuxState(pid), state == "Z" || state == "X" { return false }
        #endif
        return true
    }

    #if os(Linux)
    /// The one-letter state from `/proc/<pid>/stat`, or `nil` if unreadable.
    package static func linuxState(_ pid: Int32) -> Character? {
        guard let stat = linuxStat(pid) else { return nil }
        return stat.state
    }

    /// `(state, pgrp)` from `/proc/<pid>/stat`. The command name is in
    /// parentheses and may contain spaces, so parse after the last `)`.
    package static func linuxStat(_ pid: Int32) -> (state: Character, pgrp: Int32)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] = state, [1] = ppid, [2] = pgrp
        guard fields.count > 2, let state = fields[0].first, let pgrp = Int32(fields[2]) else {
            return nil
        }
        return (state, pgrp)
    }
    #endif

    /// Whether any live (non-zombie) process is still in process group `pgid`.
    package static func groupHasLiveMembers(_ pgid: Int32) -> Bool {
        guard pgid > 1 else { return false }
        if kill(-pgid, 0) != 0 && errno != EPERM { return false }
        #if os(Linux)
        // Zombies keep the group "alive" for kill(); look for a real member.
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else {
            return true
        }
        for entry in entries {
            guard let pid = Int32(entry), let stat = linuxStat(pid) else { continue }
            if stat.pgrp == pgid && stat.state != "Z" && stat.state != "X" { return true }
        }
        return false
        #else
        return true
        #endif
    }

    /// This machine's host name.
    package static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown-host" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The readable text for an `errno` value.
    package static func errorText(_ code: Int32) -> String {
        FileErrorReason.text(code)
    }
}

import Foundation
import Planning
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

/// Feeds a planned ``InvocationInput`` to a running program's standard input, a line at
/// a time: with an answers file, a line goes only while fewer than `1 + ahead` sent lines
/// are unanswered (the one in hand and `ahead` queued), so stopping the feed (closing the
/// input) leaves the program only what it already holds. The channel is a Unix socket
/// pair rather than a pipe so that a write after the program died fails with EPIPE
/// (`MSG_NOSIGNAL`) instead of killing synthset with SIGPIPE.
final class InputFeeder: Sendable {
    /// The child's end: set as ``ProcessSpec/standardInput`` (the runner closes it).
    let readEnd: FileDescriptor
    private let writeEnd: FileDescriptor
    private let lines: [Data]
    private let answers: URL?
    private let ahead: Int
    private let pollInterval: Duration
    private let closed = Mutex(false)

    init(_ input: InvocationInput, scratch: URL, workspace: URL, pollInterval: Duration = .milliseconds(50)) throws {
        var fds: [Int32] = [-1, -1]
        #if canImport(Glibc) || canImport(Musl)
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        #else
        let type = SOCK_STREAM
        #endif
        guard socketpair(AF_UNIX, type, 0, &fds) == 0 else {
            throw InputFeederError.cannotCreate(ProcessProbe.errorText(errno))
        }
        #if canImport(Darwin)
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        #endif
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        readEnd = FileDescriptor(rawValue: fds[0])
        writeEnd = FileDescriptor(rawValue: fds[1])
        lines = input.rendered(scratch: scratch, workspace: workspace)
        answers = input.answers.map { $0.resolved(scratch: scratch, workspace: workspace) }
        ahead = max(0, input.ahead)
        self.pollInterval = pollInterval
    }

    deinit { close() }

    /// Writes the lines as the program answers them, then closes the input; returns at
    /// once (closing the input) when the task is cancelled or the program went away.
    func feed() async {
        defer { close() }
        var sent = 0, answered = 0, answersSize = -1
        while sent < lines.count {
            if Task.isCancelled || closed.withLock({ $0 }) { return }
            if let answers, sent - answered >= 1 + ahead {
                let size = ToolSupport.fileSize(answers) ?? 0
                if size != answersSize {
                    answersSize = size
                    answered = Self.lineCount(answers)
                }
                if sent - answered >= 1 + ahead {
                    try? await Task.sleep(for: pollInterval)
                    continue
                }
            }
            guard await write(lines[sent]) else { return }
            sent += 1
        }
    }

    /// Closes the input: the program reads its end.
    func close() {
        let wasClosed = closed.withLock { value in defer { value = true }; return value }
        if !wasClosed { try? writeEnd.close() }
    }

    private func write(_ data: Data) async -> Bool {
        var offset = 0
        while offset < data.count {
            if Task.isCancelled || closed.withLock({ $0 }) { return false }
            let written = data.withUnsafeBytes { buffer in
                send(writeEnd.rawValue, buffer.baseAddress! + offset, buffer.count - offset, Self.noSignal)
            }
            if written > 0 {
                offset += written
            } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                try? await Task.sleep(for: pollInterval)
            } else {
                return false  // EPIPE: the program ended
            }
        }
        return true
    }

    #if os(Linux)
    private static let noSignal = Int32(MSG_NOSIGNAL)
    #else
    private static let noSignal: Int32 = 0
    #endif

    /// Lines the program has appended to its answers file.
    static func lineCount(_ url: URL) -> Int {
        guard let data = FileManager.default.contents(atPath: url.path) else { return 0 }
        return data.reduce(0) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
    }
}

enum InputFeederError: Error, CustomStringConvertible {
    case cannotCreate(String)

    var description: String { "cannot create the channel for the tool's input: \(self.reason); check the open-files limit (ulimit -n)" }

    private var reason: String {
        switch self { case .cannotCreate(let reason): reason }
    }
}

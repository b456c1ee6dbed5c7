import Foundation
import Testing

@testable import Execution

/// `ProcessRunner.capture`: the probes (`git show`, `ffprobe`, `--version`) go through the
/// one process runner and collect their output without blocking a thread. Part of the
/// serialized runner suite: run beside its timing bounds, they pushed one past 30 s under load.
extension ProcessRunnerTests {
    @Test func collectsStdoutAndOnlyOptionallyStderr() async throws {
        let sandbox = try ScriptSandbox()
        defer { try? FileManager.default.removeItem(at: sandbox.dir) }
        let program = try sandbox.script("talk", "echo out; echo err >&2; exit 3")
        let quiet = try await ProcessRunner.capture(program, arguments: [], workingDirectory: sandbox.dir)
        #expect(quiet.status == .exited(3))
        #expect(!quiet.succeeded)
        #expect(quiet.text == "out\n")
        let both = try await ProcessRunner.capture(program, includeStandardError: true)
        #expect(both.text.contains("out\n") && both.text.contains("err\n"))
    }

    @Test func argumentsArePassedAsIsAndTheWorkingDirectoryIsUsed() async throws {
        let sandbox = try ScriptSandbox()
        defer { try? FileManager.default.removeItem(at: sandbox.dir) }
        let program = try sandbox.script("args", #"pwd; for a in "$@"; do echo "[$a]"; done"#)
        let result = try await ProcessRunner.capture(program, arguments: ["a b", "$HOME", ""], workingDirectory: sandbox.dir)
        #expect(result.succeeded)
        let lines = result.text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(URL(fileURLWithPath: String(lines[0])).resolvingSymlinksInPath().path == sandbox.dir.resolvingSymlinksInPath().path)
        #expect(Array(lines[1...3]) == ["[a b]", "[$HOME]", "[]"])
    }

    @Test func tooMuchOutputAndMissingProgramsAreErrors() async throws {
        let sandbox = try ScriptSandbox()
        defer { try? FileManager.default.removeItem(at: sandbox.dir) }
        // Fits the pipe's buffer, so the child exits whether or not it is read to the end.
        let chatty = try sandbox.script("chatty", "head -c 4000 /dev/zero")
        await #expect(throws: ProcessRunnerError.outputTooLong(executable: chatty, limit: 1000)) {
            _ = try await ProcessRunner.capture(chatty, limit: 1000)
        }
        await #expect(throws: ProcessRunnerError.self) {
            _ = try await ProcessRunner.capture("synthset-no-such-program-\(UUID().uuidString.prefix(6))")
        }
    }
}

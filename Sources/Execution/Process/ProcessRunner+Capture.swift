import Foundation
import Subprocess

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// What a short-lived program printed and how it ended (see ``ProcessRunner/capture(_:arguments:workingDirectory:includeStandardError:limit:gracePeriod:)``).
public struct CapturedOutput: Sendable, Equatable {
    /// How the program ended.
    public var status: ProcessOutcome.Status
    /// Its standard output (and standard error, when asked for), at most the limit given.
    public var output: [UInt8]

    /// Whether the program exited with code 0.
    public var succeeded: Bool { status == .exited(0) }
    /// ``output`` as UTF-8 text (invalid bytes repaired).
    public var text: String { String(decoding: output, as: UTF8.self) }
}

extension ProcessRunner {
    /// Runs a short-lived probe (`git show`, `ffprobe`, `python --version`) to completion
    /// and collects what it prints, at most `limit` bytes.
    ///
    /// Tools that do a task's work run with ``run(_:gracePeriod:)`` and write to a log; this
    /// is for programs whose answer is their output. Like `run`, the child gets its own
    /// session and process group, and cancelling the calling task tears that group down
    /// (TERM, then KILL after `gracePeriod`). The wait is asynchronous: no thread blocks.
    ///
    /// - Parameters:
    ///   - executable: an absolute path, a path relative to `workingDirectory`, or a name
    ///     looked up in `PATH`.
    ///   - workingDirectory: the child's working directory (default: this process's).
    ///   - environment: variables set for the child on top of this process's.
    ///   - includeStandardError: collect stderr with stdout (some programs print their
    ///     version there); otherwise stderr is discarded.
    ///   - removedEnvironment: variables the program does not inherit (secrets that must
    ///     not reach a cluster job through `sbatch`'s exported environment).
    /// - Throws: ``ProcessRunnerError`` when the program cannot be found or launched, or
    ///   prints more than `limit` bytes; `CancellationError` when the task was cancelled.
    public static func capture(
        _ executable: String, arguments: [String] = [], workingDirectory: URL? = nil, environment: [String: String] = [:],
        includeStandardError: Bool = false, limit: Int = 1 << 20, gracePeriod: Duration = .seconds(2),
        removedEnvironment: Set<String> = []
    ) async throws -> CapturedOutput {
        try Task.checkCancellation()
        let directory = workingDirectory ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let path = try resolveExecutable(executable, workingDirectory: directory,
                                         searchPath: InheritedEnvironment.values["PATH"])
        let childEnvironment = Environment.custom(InheritedEnvironment.child(removing: removedEnvironment, adding: environment))
        var options = PlatformOptions()
        options.createSession = true
        options.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: gracePeriod)]
        let status: TerminationStatus
        let output: [UInt8]
        do {
            if includeStandardError {
                let result = try await Subprocess.run(
                    .path(FilePath(path)), arguments: Arguments(arguments), environment: childEnvironment,
                    workingDirectory: FilePath(directory.path),
                    platformOptions: options, input: .none, output: .bytes(limit: limit), error: .combinedWithOutput)
                (status, output) = (result.terminationStatus, result.standardOutput)
            } else {
                let result = try await Subprocess.run(
                    .path(FilePath(path)), arguments: Arguments(arguments), environment: childEnvironment,
                    workingDirectory: FilePath(directory.path),
                    platformOptions: options, input: .none, output: .bytes(limit: limit), error: .discarded)
                (status, output) = (result.terminationStatus, result.standardOutput)
            }
        } catch let error as SubprocessError {
            if Task.isCancelled { throw CancellationError() }
            if error.code == .outputLimitExceeded {
                throw ProcessRunnerError.outputTooLong(executable: path, limit: limit)
            }
            throw ProcessRunnerError.launchFailed(executable: path, reason: "\(error)")
        }
        switch status {
        case .exited(let code): return CapturedOutput(status: .exited(code), output: output)
        case .signaled(let signal): return CapturedOutput(status: .signaled(signal), output: output)
        }
    }
}

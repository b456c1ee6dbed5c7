import ArgumentParser
import Execution
import Foundation
import WorkspaceStore

/// The one place that decides how a command ends: every error a verb throws (its own
/// ``CommandError``s, the libraries' errors, ArgumentParser's) becomes a ``CommandError``,
/// and ``SynthsetCommand/main()`` prints its message and exits with its code.
enum ErrorMapping {
    /// How `error`, thrown while parsing or running a command, ends the process.
    /// Help and version requests are not errors here: see ``isCleanExit(_:)``.
    static func classify(_ error: any Error) -> CommandError {
        switch error {
        case let error as CommandError:
            return error
        case is CancellationError:
            return .interrupted
        case let error as RunError:
            switch error {
            case .preflight(let diagnostics): return .diagnostics(diagnostics)
            }
        case let error as WorkspaceError:
            return .workspace(error.description)
        case let error as WorkspaceLockError:
            return .workspace(error.description)
        case let error as CheckpointStoreError:
            switch error {
            case .cannotCreateDirectory, .cannotOpen, .damaged, .databaseFailed, .newerSchema: return .workspace(error.description)
            // The executor names only tasks and runs it recorded: anything else is our bug.
            case .unknownTask, .unknownRun: return .internalError(error.description)
            }
        case let error as LockFile.ParseError:
            return .user(error.description)
        case let error as ProcessRunnerError:
            return .user(error.description)
        case let error as CocoaError where error.isFileError:
            return .user(fileProblem(error))
        case let error as POSIXError:
            return .user("\(FileErrorReason.of(error)); check the path, its permissions and free disk space")
        default:
            // A database error from inside the store (disk full while recording a run).
            if let storeError = CheckpointStoreError.wrapping(error) { return .workspace(storeError.description) }
        }
        // ArgumentParser's own errors: a bad command line, or a ValidationError from any
        // command's validate() or run(). It answers EX_USAGE (64) for those; we use 2.
        if SynthsetCommand.exitCode(for: error) == .validationFailure {
            return .usage(message: SynthsetCommand.fullMessage(for: error))
        }
        return .internalError(String(reflecting: error))
    }

    /// Whether `error` is ArgumentParser's way of ending after `--help`, `--version`
    /// or a completion script: print its text on stdout and exit 0.
    static func isCleanExit(_ error: any Error) -> Bool {
        !(error is CommandError) && SynthsetCommand.exitCode(for: error) == .success
    }

    /// A file-system error in words, with the path it concerns, and what to check.
    static func fileProblem(_ error: CocoaError) -> String {
        let path = error.filePath ?? error.url?.path
        var text = FileErrorReason.of(error)
        if let path, !text.contains(path) { text = "\(path): " + text }
        return text + "; check the path, its permissions and free disk space"
    }
}

extension SynthsetCommand {
    /// Parses the command line, runs the command, and ends the process through
    /// ``ErrorMapping``: every verb's exit code is decided there.
    public static func main() async {
        do {
            var command = try await asyncParseAsRoot(nil)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch where ErrorMapping.isCleanExit(error) {
            Console.out(fullMessage(for: error) + "\n")
            Foundation.exit(0)
        } catch {
            let outcome = ErrorMapping.classify(error)
            if let message = outcome.message {
                Console.error(message.hasSuffix("\n") ? message : message + "\n")
            }
            Foundation.exit(outcome.exitCode)
        }
    }

    /// ArgumentParser's messages start like ours: `error: ...`.
    public static var _errorPrefix: String { "error: " }
}

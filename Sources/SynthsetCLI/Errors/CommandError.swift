import WorkflowSpec

/// Every way a command can end other than success, with its exit code and what to print.
///
/// Commands throw these (or let a library error through); ``ErrorMapping`` turns anything
/// thrown into one of them, so the exit code of every verb is decided in one place.
/// `Equatable`, so tests compare the mapping's answers.
enum CommandError: Error, Equatable, CustomStringConvertible {
    /// The command line is wrong (unknown option, missing argument, a value out of range).
    /// `message` is ArgumentParser's text: the problem and the usage line.
    case usage(message: String)
    /// The input is invalid and the located diagnostics (`file:line:col: error: ...`) were
    /// already printed.
    case invalidInput
    /// The input is invalid in a way no manifest location names (a missing lock file, an
    /// unreadable git revision, an unwritable `-o` place). The text reads
    /// `what is wrong; how to fix it`.
    case user(String)
    /// The input is invalid and these located diagnostics say where and why (a run's
    /// preflight: a missing tool, a model file that is not there).
    case diagnostics([Diagnostic])
    /// The workspace cannot be used: its checkpoint store is damaged or from a newer
    /// synthset, its folder cannot be created or written, or another run holds it.
    /// `description` already says what to do.
    case workspace(String)
    /// Work finished with failed items, or verify/--frozen found differences; what failed
    /// was already reported.
    case failedItems
    /// Stopped by Ctrl-C or SIGTERM; the next run resumes.
    case interrupted
    /// Something synthset did not expect: a bug, reported as one.
    case internalError(String)

    /// The process exit status: 0 success (not a case), 1 failed items, 2 invalid input
    /// of any kind, 70 an internal error (`EX_SOFTWARE` of sysexits(3)), 130 interrupted.
    var exitCode: Int32 {
        switch self {
        case .usage, .invalidInput, .user, .diagnostics, .workspace: 2
        case .failedItems: 1
        case .interrupted: 130
        case .internalError: 70
        }
    }

    /// What goes to stderr; nil when it was already printed.
    var message: String? {
        switch self {
        case .usage(let message): message
        case .invalidInput, .failedItems, .interrupted: nil
        case .user(let text): "error: \(text)"
        case .diagnostics(let diagnostics): DiagnosticPrinter().render(diagnostics)
        case .workspace(let text): "error: \(text)"
        case .internalError(let detail):
            "internal error: \(detail)\nThis is a bug in synthset \(SynthsetCommand.version), not a problem with your recipe. "
                + "Please report it with the command line, the recipe (and the prompt files it names) and this message."
        }
    }

    var description: String { message ?? "exit \(exitCode)" }
}

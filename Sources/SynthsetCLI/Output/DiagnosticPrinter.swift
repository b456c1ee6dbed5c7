import Foundation
import WorkflowSpec

/// Prints diagnostics to stderr as `file:line:col: error: message; hint`, with the
/// source line and a caret below when known. Only the CLI prints.
struct DiagnosticPrinter {
    var showSnippets = true

    func print(_ diagnostics: [Diagnostic]) {
        if !diagnostics.isEmpty { Console.error(render(diagnostics)) }
    }

    /// The text ``print(_:)`` writes: each diagnostic on its line, then its snippet.
    func render(_ diagnostics: [Diagnostic]) -> String {
        var text = ""
        for diagnostic in diagnostics {
            text += diagnostic.description + "\n"
            if showSnippets, let snippet = diagnostic.snippet, !snippet.isEmpty {
                text += snippet.hasSuffix("\n") ? snippet : snippet + "\n"
            }
        }
        return text
    }
}

/// Where the CLI writes: stdout for results, stderr for diagnostics and progress.
enum Console {
    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// `bytes` to standard output as they are (no `Data` copy of a plan's 300 MB).
    static func out(bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            FileHandle.standardOutput.write(Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: raw.count,
                                                 deallocator: .none))
        }
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static var stderrIsTTY: Bool { isatty(STDERR_FILENO) == 1 }
}

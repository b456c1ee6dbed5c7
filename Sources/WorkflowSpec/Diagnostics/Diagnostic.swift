import Foundation

/// A position in a source file (a manifest or a prompt file), 1-based like compilers print it.
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The file as the user named it (relative paths stay relative so messages are short).
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// One problem found in user input: what is wrong, where, and how to fix it.
///
/// Libraries hand diagnostics to the caller; only the CLI prints them.
public struct Diagnostic: Sendable, Hashable, Codable, CustomStringConvertible, Error {
    public enum Severity: String, Sendable, Hashable, Codable {
        case error
        case warning
        case note
    }

    public var severity: Severity
    /// What is wrong, without trailing punctuation.
    public var message: String
    /// How to fix it; printed after a `; `.
    public var hint: String?
    public var location: SourceLocation?
    /// The source line with a caret under the column, when the source text is at hand.
    public var snippet: String?

    public init(_ severity: Severity = .error, _ message: String, hint: String? = nil,
                at location: SourceLocation? = nil, snippet: String? = nil) {
        self.severity = severity
        self.message = message
        self.hint = hint
        self.location = location
        self.snippet = snippet
    }

    /// `file:line:col: error: what is wrong; how to fix it`.
    public var description: String {
        var text = ""
        if let location { text += "\(location): " }
        text += "\(severity.rawValue): \(message)"
        if let hint { text += "; \(hint)" }
        return text
    }
}

/// Collects diagnostics while a pass keeps going, so one run reports every problem.
public struct DiagnosticBag: Sendable {
    public private(set) var diagnostics: [Diagnostic] = []

    public init() {}

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
    public var warnings: [Diagnostic] { diagnostics.filter { $0.severity == .warning } }

    public mutating func append(_ diagnostic: Diagnostic) {
        diagnostics.append(diagnostic)
    }

    public mutating func append(contentsOf other: [Diagnostic]) {
        diagnostics.append(contentsOf: other)
    }

    public mutating func error(_ message: String, hint: String? = nil, at location: SourceLocation?) {
        diagnostics.append(Diagnostic(.error, message, hint: hint, at: location))
    }

    public mutating func warning(_ message: String, hint: String? = nil, at location: SourceLocation?) {
        diagnostics.append(Diagnostic(.warning, message, hint: hint, at: location))
    }
}

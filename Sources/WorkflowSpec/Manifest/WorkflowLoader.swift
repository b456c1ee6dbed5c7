import Basics
import Foundation
import SceneFormats
import Yams

/// Loads and validates a manifest, reporting every problem at once with its location.
///
/// Reads only the manifest and the prompt files it names; writes nothing.
public struct WorkflowLoader: Sendable {
    /// The manifest versions this build reads.
    public static let supportedVersions = [1]
    /// The tools `uses:` may name and `tools:` may configure.
    public let registry: ToolRegistry

    /// Whether an `llm:` prompt set whose pinned file does not exist yet loads (with no
    /// prompts) instead of being an error: only `synthset prompts refresh` wants that.
    public var allowMissingPinnedPrompts = false

    public init(registry: ToolRegistry) {
        self.registry = registry
    }

    /// The outcome of loading: the workflow when there were no errors, and every
    /// diagnostic (errors and warnings) in the order found.
    public struct Result: Sendable {
        public var workflow: Workflow?
        public var diagnostics: [Diagnostic]
        public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
    }

    /// Loads the manifest at `file` (as the user named it).
    public func load(file: String) -> Result {
        let url = URL(fileURLWithPath: file)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            let exists = FileManager.default.fileExists(atPath: url.path)
            return Result(workflow: nil, diagnostics: [Diagnostic(
                .error, exists ? "cannot read workflow file '\(file)'" : "workflow file '\(file)' does not exist",
                hint: exists ? "check its permissions" : "check the path",
                at: SourceLocation(file: file, line: 1, column: 1))])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return Result(workflow: nil, diagnostics: [Diagnostic(
                .error, "'\(file)' is not UTF-8 text", hint: "save the workflow as UTF-8",
                at: SourceLocation(file: file, line: 1, column: 1))])
        }
        return load(text: text, file: file, directory: url.deletingLastPathComponent().standardizedFileURL)
    }

    /// Loads manifest text; `directory` is where relative paths resolve.
    public func load(text: String, file: String, directory: URL) -> Result {
        let reader = NodeReader(file: file, text: text)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            reader.append(Self.diagnostic(for: error, file: file, text: text))
            return Result(workflow: nil, diagnostics: reader.bag.diagnostics)
        } catch {
            reader.error("cannot parse YAML: \(error)", at: nil)
            return Result(workflow: nil, diagnostics: reader.bag.diagnostics)
        }
        guard let root else {
            reader.append(Diagnostic(.error, "the workflow file is empty",
                                     hint: "start with 'version: 1', 'name:' and 'steps:'",
                                     at: SourceLocation(file: file, line: 1, column: 1)))
            return Result(workflow: nil, diagnostics: reader.bag.diagnostics)
        }
        let parser = ManifestParser(reader: reader, directory: directory, registry: registry,
                                    allowMissingPinnedPrompts: allowMissingPinnedPrompts)
        let workflow = parser.parse(root: root, sourceHash: Self.sha256(Data(text.utf8)))
        let diagnostics = reader.bag.diagnostics
        return Result(workflow: reader.bag.hasErrors ? nil : workflow, diagnostics: diagnostics)
    }

    package static func sha256(_ data: Data) -> String { ContentHash.sha256(data) }

    /// Turns a Yams error into a located diagnostic, keeping Yams' caret snippet.
    package static func diagnostic(for error: YamlError, file: String, text: String) -> Diagnostic {
        func located(_ mark: (line: Int, column: Int), _ message: String, _ hint: String) -> Diagnostic {
            Diagnostic(.error, message, hint: hint,
                       at: SourceLocation(file: file, line: mark.line, column: mark.column),
                       snippet: caretSnippet(text, line: mark.line, column: mark.column))
        }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            let prefix = context.map { "\($0.text) (line \($0.mark.line)): " } ?? ""
            return located((mark.line, mark.column), "YAML syntax error: \(prefix)\(problem)",
                           "check indentation, colons and quotes on this line or the one before")
        case let .duplicatedKeysInMapping(duplicates, context):
            let key = duplicates.first ?? "?"
            let second = secondOccurrence(of: key, after: context.mark, in: text)
                ?? (context.mark.line, context.mark.column)
            return located(second, "duplicate key '\(key)' (first at line \(context.mark.line))",
                           "keys in a mapping must be unique (step ids and prompt ids too): rename or merge one")
        case let .reader(problem, offset, _, _):
            return Diagnostic(.error, "cannot read YAML: \(problem)\(offset.map { " at byte \($0)" } ?? "")",
                              hint: "save the file as UTF-8 text", at: SourceLocation(file: file, line: 1, column: 1))
        default:
            return Diagnostic(.error, "cannot parse YAML: \(error)", at: SourceLocation(file: file, line: 1, column: 1))
        }
    }

    /// Yams reports a duplicate key at its first occurrence; users need the second. Finds
    /// the next line at the same column that starts with the same key.
    private static func secondOccurrence(of key: String, after mark: Mark, in text: String) -> (line: Int, column: Int)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard mark.line < lines.count else { return nil }
        for index in mark.line..<lines.count {
            let line = lines[index]
            let indent = line.prefix { $0 == " " }.count
            let rest = line.dropFirst(indent)
            if indent + 1 == mark.column,
               rest.hasPrefix("\(key):") || rest.hasPrefix("\"\(key)\":") || rest.hasPrefix("'\(key)':") {
                return (index + 1, indent + 1)
            }
        }
        return nil
    }
}

/// The source line at `line` with a caret under `column`, like Yams' `Mark.snippet`.
package func caretSnippet(_ text: String, line: Int, column: Int) -> String {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    guard line >= 1, line <= lines.count else { return "" }
    let content = String(lines[line - 1])
    return content + "\n" + String(repeating: " ", count: max(0, column - 1)) + "^"
}

import Basics
import Foundation
import WorkflowSpec

/// What one task runs, decided when the plan is made: the program, its arguments and
/// environment, the files written before it starts (batch files) and the links staged
/// for it (input images), and the file each item's output appears as. The executor runs
/// exactly this; a runner only starts it and collects what it wrote.
///
/// Paths inside the attempt's scratch folder or the workspace are kept relative
/// (``InvocationPath``) and resolved when an attempt starts; the GPUs an attempt gets
/// are added then too (`CUDA_VISIBLE_DEVICES`). Tools built into synthset run in-process
/// and name themselves in ``builtin`` instead of a program.
public struct TaskInvocation: Sendable, Codable, Hashable {
    /// The program (a path, or a name looked up in PATH); nil for built-in tools.
    public var program: String?
    public var arguments: [InvocationArgument]
    /// Environment added to synthset's own for the program.
    public var environment: [String: String]
    public var workingDirectory: InvocationPath?
    /// Files written before the program starts.
    public var files: [InvocationFile]
    /// Files linked into scratch before the program starts (inputs a tool reads by folder).
    public var links: [InvocationLink]
    /// Where the tool writes each item's output (and its companion files).
    public var outputs: [InvocationOutput]
    /// The in-process tool that runs the task, for tools built into synthset.
    public var builtin: String?
    /// Lines fed to the program's standard input while it runs (nil: no input).
    public var standardInput: InvocationInput?
    /// What a built-in tool is given (its settings and inputs), decided in planning.
    public var parameters: InvocationContent?

    public init(program: String? = nil, arguments: [InvocationArgument] = [], environment: [String: String] = [:],
                workingDirectory: InvocationPath? = nil, files: [InvocationFile] = [], links: [InvocationLink] = [],
                outputs: [InvocationOutput] = [], builtin: String? = nil, standardInput: InvocationInput? = nil,
                parameters: InvocationContent? = nil) {
        self.standardInput = standardInput
        self.parameters = parameters
        self.program = program
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.files = files
        self.links = links
        self.outputs = outputs
        self.builtin = builtin
    }

    /// An in-process tool's invocation: its name and what it is given; its items go to
    /// their planned paths.
    public static func builtin(_ name: String, parameters: InvocationContent? = nil) -> TaskInvocation {
        TaskInvocation(builtin: name, parameters: parameters)
    }

    /// A built-in tool's ``parameters`` as the type its planning encoded them from.
    public func decodedParameters<T: Decodable>(_ type: T.Type) throws -> T {
        guard let parameters else { throw InvocationParametersMissing(tool: builtin ?? program ?? "the tool") }
        return try parameters.decode(type)
    }

    /// The whole command line: program first.
    public func commandLine(scratch: URL, workspace: URL) -> [String] {
        guard let program else { return [] }
        return [program] + arguments.map { $0.resolved(scratch: scratch, workspace: workspace) }
    }

    enum CodingKeys: String, CodingKey {
        case program, arguments, environment, files, links, outputs, builtin
        case workingDirectory = "working_directory"
        case standardInput = "stdin"
        case parameters
    }
}

/// A built-in tool's invocation without the parameters it needs: a plan from another
/// synthset, or a bug in its definition.
public struct InvocationParametersMissing: Error, CustomStringConvertible {
    public var tool: String
    public var description: String { "the plan gives \(tool) no parameters; re-plan with this synthset (if it persists, please report it as a bug)" }
}

/// What a long-lived program reads on its standard input: one JSON line per item,
/// written while it runs. With `answers`, a line is written only when fewer than
/// `ahead` earlier lines are still unanswered there (one answer line per item), so the
/// program never holds more than it is working on plus `ahead`; when the run is
/// interrupted, the input is closed instead, and the program stops after the item in
/// hand. Without `answers` every line is written at once and the input closed.
public struct InvocationInput: Sendable, Codable, Hashable {
    public var lines: [InvocationContent]
    /// The file the program appends one line to per line it has finished.
    public var answers: InvocationPath?
    public var ahead: Int

    public init(lines: [InvocationContent], answers: InvocationPath? = nil, ahead: Int = 1) {
        self.lines = lines
        self.answers = answers
        self.ahead = ahead
    }

    /// Each line's bytes, with paths resolved, newline-terminated.
    public func rendered(scratch: URL, workspace: URL) -> [Data] {
        lines.map { Data(($0.json(scratch: scratch, workspace: workspace) + "\n").utf8) }
    }
}

/// A path in an invocation: inside the attempt's scratch folder, inside the workspace, or
/// absolute. Encoded as `{"scratch": "batch-1.json"}`, `{"workspace": "outputs/..."}` or
/// `{"absolute": "/..."}`.
public enum InvocationPath: Sendable, Codable, Hashable {
    case scratch(String)
    case workspace(String)
    case absolute(String)

    /// The path on this machine, for an attempt's scratch folder and workspace.
    public func resolved(scratch: URL, workspace: URL) -> URL {
        switch self {
        // Not `appendingPathComponent`, which asks the file system (`lstat`) whether the
        // result is a folder: an export's 200,000 sources spent half their resolving on it.
        case .scratch(let path): path.isEmpty ? scratch : scratch.appending(path: path, directoryHint: .inferFromPath)
        case .workspace(let path): path.isEmpty ? workspace : workspace.appending(path: path, directoryHint: .inferFromPath)
        // Nor `URL(fileURLWithPath:)`, which asks the same of the path (a stat per launch).
        case .absolute(let path): URL(filePath: path, directoryHint: .inferFromPath)
        }
    }

    private enum Key: String, CodingKey { case scratch, workspace, absolute }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        if let path = try container.decodeIfPresent(String.self, forKey: .scratch) { self = .scratch(path) }
        else if let path = try container.decodeIfPresent(String.self, forKey: .workspace) { self = .workspace(path) }
        else { self = .absolute(try container.decode(String.self, forKey: .absolute)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        switch self {
        case .scratch(let path): try container.encode(path, forKey: .scratch)
        case .workspace(let path): try container.encode(path, forKey: .workspace)
        case .absolute(let path): try container.encode(path, forKey: .absolute)
        }
    }
}

/// One argument: text, a path resolved at run time, or pieces of both joined (a
/// `command` template such as `--out={output}`). Encoded as a string, a path object, or
/// `{"joined": [...]}`.
public indirect enum InvocationArgument: Sendable, Codable, Hashable, ExpressibleByStringLiteral {
    case text(String)
    case path(InvocationPath)
    case joined([InvocationArgument])

    public init(stringLiteral value: String) { self = .text(value) }

    /// One argument from pieces: the piece itself when there is one.
    public static func pieces(_ pieces: [InvocationArgument]) -> InvocationArgument {
        pieces.count == 1 ? pieces[0] : .joined(pieces)
    }

    public func resolved(scratch: URL, workspace: URL) -> String {
        switch self {
        case .text(let text): text
        case .path(let path): path.resolved(scratch: scratch, workspace: workspace).path
        case .joined(let pieces): pieces.map { $0.resolved(scratch: scratch, workspace: workspace) }.joined()
        }
    }

    private enum Key: String, CodingKey { case joined }

    public init(from decoder: any Decoder) throws {
        if let text = try? decoder.singleValueContainer().decode(String.self) { self = .text(text) }
        else if let pieces = try? decoder.container(keyedBy: Key.self).decode([InvocationArgument].self, forKey: .joined) { self = .joined(pieces) }
        else { self = .path(try InvocationPath(from: decoder)) }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .text(let text):
            var container = encoder.singleValueContainer()
            try container.encode(text)
        case .path(let path): try path.encode(to: encoder)
        case .joined(let pieces):
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(pieces, forKey: .joined)
        }
    }
}

/// A file written into scratch before the program starts: JSON (one value), JSON Lines
/// (one value a line) or text; paths inside are resolved first.
public struct InvocationFile: Sendable, Codable, Hashable {
    public enum Format: String, Sendable, Codable { case json, jsonl, text }

    /// Relative to the scratch folder.
    public var path: String
    public var format: Format
    public var content: InvocationContent

    public init(path: String, format: Format, content: InvocationContent) {
        self.path = path
        self.format = format
        self.content = content
    }

    /// The file's bytes, with paths resolved.
    public func rendered(scratch: URL, workspace: URL) -> Data {
        switch format {
        case .text:
            if case .string(let text) = content { return Data(text.utf8) }
            return Data(content.json(scratch: scratch, workspace: workspace).utf8)
        case .json:
            return Data((content.json(scratch: scratch, workspace: workspace, pretty: true) + "\n").utf8)
        case .jsonl:
            guard case .array(let lines) = content else { return Data(content.json(scratch: scratch, workspace: workspace).utf8) }
            return Data(lines.map { $0.json(scratch: scratch, workspace: workspace) + "\n" }.joined().utf8)
        }
    }
}

/// The content of an invocation file: JSON whose objects keep their order, with paths.
public indirect enum InvocationContent: Sendable, Codable, Hashable {
    case string(String)
    case int(Int)
    case number(Double)
    case bool(Bool)
    case array([InvocationContent])
    case object([Member])
    case path(InvocationPath)

    /// One object member (a struct so the enum stays Codable and Hashable).
    public struct Member: Sendable, Codable, Hashable {
        public var key: String
        public var value: InvocationContent
        public init(_ key: String, _ value: InvocationContent) {
            self.key = key
            self.value = value
        }
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Plain JSON: scalars, arrays and objects as themselves, a path as its
    /// ``InvocationPath`` object (`{"scratch": "batch.json"}`).
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .string(let text):
            var container = encoder.singleValueContainer()
            try container.encode(text)
        case .int(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .number(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .bool(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .array(let values):
            var container = encoder.unkeyedContainer()
            for value in values { try container.encode(value) }
        case .object(let members):
            var container = encoder.container(keyedBy: Key.self)
            for member in members { try container.encode(member.value, forKey: Key(member.key)) }
        case .path(let path):
            try path.encode(to: encoder)
        }
    }

    /// Reads what ``encode(to:)`` writes; an object with the one key `scratch`,
    /// `workspace` or `absolute` is a path.
    public init(from decoder: any Decoder) throws {
        if let container = try? decoder.container(keyedBy: Key.self) {
            let keys = container.allKeys.map(\.stringValue)
            if keys.count == 1, ["scratch", "workspace", "absolute"].contains(keys[0]),
               let path = try? InvocationPath(from: decoder) {
                self = .path(path)
                return
            }
            self = .object(try container.allKeys.map { Member($0.stringValue, try container.decode(InvocationContent.self, forKey: $0)) })
            return
        }
        if var container = try? decoder.unkeyedContainer() {
            var values: [InvocationContent] = []
            while !container.isAtEnd { values.append(try container.decode(InvocationContent.self)) }
            self = .array(values)
            return
        }
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int.self) { self = .int(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else { self = .string(try container.decode(String.self)) }
    }

    /// The JSON `value` encodes to (a path stays a path: ``InvocationPath`` encodes as one).
    public init(encoding value: some Encodable) throws {
        self = try JSONDecoder().decode(InvocationContent.self, from: JSONEncoder().encode(value))
    }

    /// The content read back as `type` (what ``init(encoding:)`` was given).
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: JSONEncoder().encode(self))
    }

    /// An object from members in order.
    public static func object(_ members: KeyValuePairs<String, InvocationContent>) -> InvocationContent {
        .object(members.map { Member($0.key, $0.value) })
    }

    /// The JSON text with paths resolved.
    public func json(scratch: URL, workspace: URL, pretty: Bool = false) -> String {
        var out = ""
        write(&out, scratch: scratch, workspace: workspace, pretty: pretty, depth: 0)
        return out
    }

    private func write(_ out: inout String, scratch: URL, workspace: URL, pretty: Bool, depth: Int) {
        let newline = pretty ? "\n" + String(repeating: "  ", count: depth + 1) : ""
        let close = pretty ? "\n" + String(repeating: "  ", count: depth) : ""
        switch self {
        case .string(let text): out += Self.quoted(text)
        case .int(let value): out += String(value)
        case .number(let value): out += value.isFinite ? (value == value.rounded() && abs(value) < 1e15 ? String(format: "%.1f", value) : String(value)) : "null"
        case .bool(let value): out += value ? "true" : "false"
        case .path(let path): out += Self.quoted(path.resolved(scratch: scratch, workspace: workspace).path)
        case .array(let values):
            out += "["
            for (index, value) in values.enumerated() {
                out += (index > 0 ? "," : "") + newline
                value.write(&out, scratch: scratch, workspace: workspace, pretty: pretty, depth: depth + 1)
            }
            out += (values.isEmpty ? "" : close) + "]"
        case .object(let members):
            out += "{"
            for (index, member) in members.enumerated() {
                out += (index > 0 ? "," : "") + newline + Self.quoted(member.key) + (pretty ? ": " : ":")
                member.value.write(&out, scratch: scratch, workspace: workspace, pretty: pretty, depth: depth + 1)
            }
            out += (members.isEmpty ? "" : close) + "}"
        }
    }

    static func quoted(_ text: String) -> String {
        let out = CanonicalJSONWriter()
        out.string(text)
        return String(decoding: out.bytes, as: UTF8.self)
    }
}

/// A file linked into scratch (`at`, relative to it) from `source`.
public struct InvocationLink: Sendable, Codable, Hashable {
    public var source: InvocationPath
    public var at: String

    public init(source: InvocationPath, at: String) {
        self.source = source
        self.at = at
    }
}

/// Where the tool writes one item's output, and its companions with the workspace path
/// each goes to.
public struct InvocationOutput: Sendable, Codable, Hashable {
    public var item: String
    public var file: InvocationPath
    public var companions: [Companion]

    public struct Companion: Sendable, Codable, Hashable {
        public var file: InvocationPath
        public var destination: String
        public init(file: InvocationPath, destination: String) {
            self.file = file
            self.destination = destination
        }
    }

    public init(item: String, file: InvocationPath, companions: [Companion] = []) {
        self.item = item
        self.file = file
        self.companions = companions
    }
}

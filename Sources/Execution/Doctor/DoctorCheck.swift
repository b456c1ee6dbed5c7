import Foundation
import Planning
import WorkflowSpec

/// One thing `synthset doctor` checks: a name (shown, and unique: two steps of one tool
/// family give one check) and a probe that looks at this machine. A tool contributes its
/// checks through ``RunnableTool/doctorChecks(for:context:)``; ``Doctor`` adds the
/// machine's (GPUs, ffmpeg, disk).
public struct DoctorCheck: Sendable {
    /// What is checked, e.g. `cosmos-predict2: examples/text2image.py`.
    public var name: String
    public var probe: @Sendable () async -> DoctorOutcome

    public init(_ name: String, probe: @escaping @Sendable () async -> DoctorOutcome) {
        self.name = name
        self.probe = probe
    }
}

/// What a check found: ok, or failed with how to fix it. Warnings say what could not be
/// checked; they do not fail the doctor.
public struct DoctorOutcome: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable { case ok, warning, failed }

    public var status: Status
    public var detail: String
    /// How to make the check pass (failed and warning only).
    public var fix: String?

    public static func ok(_ detail: String) -> DoctorOutcome { DoctorOutcome(status: .ok, detail: detail, fix: nil) }
    public static func failed(_ detail: String, fix: String) -> DoctorOutcome { DoctorOutcome(status: .failed, detail: detail, fix: fix) }
    public static func warning(_ detail: String, fix: String) -> DoctorOutcome { DoctorOutcome(status: .warning, detail: detail, fix: fix) }
}

/// What a tool's checks may look at: the workflow and its plan.
public struct DoctorContext: Sendable {
    public var workflow: Workflow
    public var plan: Plan

    public init(workflow: Workflow, plan: Plan) {
        self.workflow = workflow
        self.plan = plan
    }
}

/// The checks most tools are made of.
extension DoctorCheck {
    /// A tool family's checkout, `tools.<family>.root`: set, and a folder.
    public static func checkout(_ family: String, workflow: Workflow, clone: String) -> DoctorCheck {
        let root = ToolSupport.root(family, workflow: workflow)
        return DoctorCheck("\(family): checkout (tools.\(family).root)") {
            guard let root else {
                return .failed("tools.\(family).root is not set",
                               fix: "git clone \(clone) and add 'tools: { \(family): { root: <that folder>, python: <its python> } }'")
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                return .failed("\(root.path) is not a folder", fix: "git clone \(clone) \(root.path), or point tools.\(family).root at your checkout")
            }
            return .ok(root.path)
        }
    }

    /// A file a tool needs (a script, a checkpoint, a config).
    public static func file(_ name: String, _ path: String, fix: String) -> DoctorCheck {
        DoctorCheck(name) {
            FileManager.default.fileExists(atPath: path) ? .ok(path) : .failed("\(path) does not exist", fix: fix)
        }
    }

    /// The family's interpreter runs and imports `modules`, from the checkout with the
    /// checkout first on PYTHONPATH and `tools.<family>.env`, as the tool's runs do.
    public static func pythonImports(_ family: String, workflow: Workflow, modules: [String], fix: String) -> DoctorCheck {
        let python = ToolSupport.python(family, workflow: workflow)
        let root = ToolSupport.root(family, workflow: workflow)
        let environment = InvocationBuilder.environment(family, workflow: workflow, checkoutOnPath: true)
        return DoctorCheck("\(family): \(python) imports \(modules.joined(separator: ", "))") {
            guard ToolSupport.findExecutable(python, environment: environment) != nil else {
                return .failed("the interpreter '\(python)' was not found",
                               fix: "set tools.\(family).python to the Python of the environment the tool is installed in")
            }
            let script = modules.map { "import \($0)" }.joined(separator: "\n") + "\nimport sys\nprint(sys.version.split()[0])"
            let directory = root.flatMap { FileManager.default.fileExists(atPath: $0.path) ? $0 : nil }
            guard let probe = try? await ProcessRunner.capture(python, arguments: ["-c", script], workingDirectory: directory,
                                                               environment: environment, includeStandardError: true) else {
                return .failed("'\(python)' could not be started", fix: "set tools.\(family).python to a working interpreter")
            }
            let lines = probe.text.split(whereSeparator: \.isNewline).map(String.init)
            guard probe.succeeded else {
                let why = lines.last { $0.contains("Error") } ?? lines.last ?? "exit status \(probe.status)"
                return .failed(why, fix: fix)
            }
            return .ok("Python \(lines.last ?? "?")")
        }
    }

    /// A program runs and prints its version (`ffmpeg -version`).
    public static func program(_ name: String, _ program: String, versionArguments: [String], fix: String) -> DoctorCheck {
        DoctorCheck(name) {
            guard ToolSupport.findExecutable(program) != nil else { return .failed("'\(program)' was not found", fix: fix) }
            guard let line = ToolVersions.firstLine(await ToolVersions.run(program, versionArguments)) else {
                return .failed("'\(program) \(versionArguments.joined(separator: " "))' failed", fix: fix)
            }
            return .ok(line)
        }
    }
}

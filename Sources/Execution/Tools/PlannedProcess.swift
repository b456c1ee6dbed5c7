import Basics
import Foundation
import Planning
import WorkflowSpec

/// Runs the process a task's planned invocation (``TaskInvocation``) names, for one
/// attempt: writes its files and stages its links in scratch, starts the program in its
/// working directory with the attempt's GPUs, and hands over each planned output as soon
/// as it is complete. Decides nothing of its own: what runs is the plan's.
struct PlannedProcess: Sendable {
    var collector = BatchCollector()

    /// The attempt's scratch folder and workspace, to resolve planned paths against.
    static func resolve(_ path: InvocationPath, _ invocation: Invocation) -> URL {
        path.resolved(scratch: invocation.scratch, workspace: invocation.workspace.root)
    }

    /// The outputs the invocation names, for the items of this attempt.
    static func expected(_ invocation: Invocation) -> [ExpectedOutput] {
        let items = Dictionary(invocation.items.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return invocation.planned.outputs.compactMap { output in
            guard let item = items[output.item] else { return nil }
            return ExpectedOutput(item: item, file: resolve(output.file, invocation),
                                  companions: output.companions.map { (resolve($0.file, invocation), $0.destination) })
        }
    }

    /// Writes the planned files and links, and returns the process to start.
    /// `deferringLogHeader`: the log's first line goes in the spec (``ProcessSpec/logHeader``),
    /// written when the log is opened for the tool, instead of here with an open of its own.
    static func prepare(_ invocation: Invocation, deferringLogHeader: Bool = false) throws -> ProcessSpec {
        let planned = invocation.planned, scratch = invocation.scratch, workspace = invocation.workspace.root
        guard let program = planned.program else { throw PlannedProcessError.noProgram(invocation.step.uses.rawValue) }
        let fm = FileManager.default
        for file in planned.files {
            let url = scratch.appendingPathComponent(file.path)
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try UnsyncedFile.write(file.rendered(scratch: scratch, workspace: workspace), to: url)
        }
        for link in planned.links {
            let url = scratch.appendingPathComponent(link.at)
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try? fm.removeItem(at: url)
            try fm.createSymbolicLink(at: url, withDestinationURL: resolve(link.source, invocation))
        }
        for output in planned.outputs {
            // Tools write into folders they expect to exist (scratch itself does).
            if case .scratch(let path) = output.file, !path.utf8.contains(UInt8(ascii: "/")) { continue }
            try fm.createDirectory(at: resolve(output.file, invocation).deletingLastPathComponent(), withIntermediateDirectories: true)
        }
        var environment = planned.environment
        environment.merge(invocation.gpuEnvironment) { _, gpu in gpu }
        // A planned PYTHONPATH comes first; the one synthset inherited stays after it.
        if let path = environment["PYTHONPATH"], let inherited = ProcessInfo.processInfo.environment["PYTHONPATH"], !inherited.isEmpty {
            environment["PYTHONPATH"] = path + ":" + inherited
        }
        let arguments = planned.arguments.map { $0.resolved(scratch: scratch, workspace: workspace) }
        let header = "synthset: running \(invocation.items.count) item(s): \(ToolSupport.commandLine([program] + arguments))"
            + (planned.standardInput.map { " < \($0.lines.count) line(s)" } ?? "")
        if !deferringLogHeader { ToolSupport.log(header, to: invocation.logFile) }
        var spec = ProcessSpec(executable: program, arguments: arguments, environment: environment,
                               workingDirectory: planned.workingDirectory.map { resolve($0, invocation) } ?? scratch,
                               logFile: invocation.logFile)
        if deferringLogHeader { spec.logHeader = header }
        return spec
    }

    /// Prepares and runs the process, collecting the planned outputs.
    func run(_ invocation: Invocation, produced: @Sendable (ProducedOutput) async -> Void) async throws -> BatchCollector.Result {
        var spec = try Self.prepare(invocation, deferringLogHeader: true)
        guard let input = invocation.planned.standardInput else {
            return try await collector.run(spec, expected: Self.expected(invocation), gracePeriod: invocation.gracePeriod,
                                           ended: invocation.toolEnded, slot: invocation.slot, produced: produced)
        }
        // The planned input is fed while the program runs, and closed (so it stops after
        // the item in hand) as soon as the run is interrupted.
        let feeder = try InputFeeder(input, scratch: invocation.scratch, workspace: invocation.workspace.root)
        spec.standardInput = feeder.readEnd
        let feeding = Task { await feeder.feed() }
        defer {
            feeding.cancel()
            feeder.close()
        }
        return try await withTaskCancellationHandler {
            try await collector.run(spec, expected: Self.expected(invocation), gracePeriod: invocation.gracePeriod,
                                    ended: invocation.toolEnded, slot: invocation.slot, produced: produced)
        } onCancel: {
            feeding.cancel()
            feeder.close()
        }
    }

    /// Runs the process, hands over the outputs found, and fails the rest with `reason`.
    func runAndCollect(_ invocation: Invocation, produced: @Sendable (ProducedOutput) async -> Void,
                       reason: (ExpectedOutput, ProcessOutcome) -> String) async throws -> InvocationOutcome {
        let result = try await run(invocation, produced: produced)
        var failures: [String: String] = [:]
        for output in Self.expected(invocation) where !result.handedOver.contains(output.item.id) {
            failures[output.item.id] = reason(output, result.outcome)
        }
        var exitCode: Int32?
        if case .exited(let code) = result.outcome.status { exitCode = code }
        return InvocationOutcome(failures: failures, exitCode: exitCode)
    }
}

enum PlannedProcessError: Error, CustomStringConvertible {
    case noProgram(String)

    var description: String {
        switch self {
        case .noProgram(let tool): "the plan has no program for this task of \(tool) (a bug in its definition; please report it)"
        }
    }
}

/// Building blocks for the definitions' invocations: tool locations, option flags and
/// the multi-GPU launcher, all decided from the workflow alone (no file system).
enum InvocationBuilder {
    /// `python -m torch.distributed.run --nproc_per_node=N <script>` for `gpus > 1`
    /// (the tool's own Python, whatever `torchrun` is on PATH), else `python -m <module>`.
    static func python(_ python: String, script: String, gpus: Int) -> (program: String, arguments: [InvocationArgument]) {
        if gpus > 1 {
            return (python, ["-m", "torch.distributed.run", .text("--nproc_per_node=\(gpus)"), .text("examples/\(script).py")])
        }
        return (python, ["-m", .text("examples.\(script)")])
    }

    static func text(_ values: [String]) -> [InvocationArgument] { values.map(InvocationArgument.text) }

    /// A tool's `tools.<family>.env`; for multi-GPU runs the checkout goes first on
    /// PYTHONPATH, since `examples/x.py` run as a file puts examples/ there instead.
    static func environment(_ family: String, workflow: Workflow, gpus: Int) -> [String: String] {
        environment(family, workflow: workflow, checkoutOnPath: gpus > 1)
    }

    /// A tool's `tools.<family>.env`, with the checkout first on PYTHONPATH when
    /// `checkoutOnPath` (a script outside the checkout that imports its packages).
    static func environment(_ family: String, workflow: Workflow, checkoutOnPath: Bool) -> [String: String] {
        var environment = workflow.tools[family]?.environment ?? [:]
        if checkoutOnPath, let root = ToolSupport.root(family, workflow: workflow) {
            environment["PYTHONPATH"] = [root.path, environment["PYTHONPATH"]].compactMap { $0 }.joined(separator: ":")
        }
        return environment
    }

    /// The checkout as the working directory, when `tools.<family>.root` is set.
    static func checkout(_ family: String, workflow: Workflow) -> InvocationPath? {
        ToolSupport.root(family, workflow: workflow).map { .absolute($0.path) }
    }
}

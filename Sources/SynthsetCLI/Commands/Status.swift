import ArgumentParser
import Execution
import Foundation
import Planning
import WorkspaceStore

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show done, pending, failed and running items per step, from the checkpoint store.",
        discussion: """
            Reads the store without writing to it, so it is safe beside a running run. A run \
            whose process is gone is shown as interrupted. Exit 1 when items failed.
            """)

    @Argument(help: "The workflow file.")
    var workflow: String

    @Option(help: "Workspace folder (default .synthset/<name>/ beside the workflow).")
    var workspace: String?

    @Flag(help: "Print the status as JSON.")
    var json = false

    func run() async throws {
        let outcome = WorkflowService.loadAndPlan(file: workflow, options: PlanOptions())
        DiagnosticPrinter().print(outcome.diagnostics.filter { $0.severity == .error })
        guard let loaded = outcome.workflow, let plan = outcome.plan else { throw CommandError.invalidInput }
        let report = try WorkspaceInspector(plan: plan, workspace: WorkflowService.workspace(for: loaded, override: workspace)).report()
        // Exit 1 when items failed, as `run` does, so scripts can check a workspace.
        let failed = report.steps.contains { $0.failed > 0 }
        if json {
            Console.out(JSONOutput.line(report))
            if failed { throw CommandError.failedItems }
            return
        }
        var text = "workspace \(report.workspace)\n"
        if let lastRun = report.lastRun { text += "last: \(lastRun)\n" }
        if let holder = report.lockedBy { text += "running now: \(holder)\n" }
        let header = ["step", "uses", "done", "pending", "failed", "running", "items/s"]
        var rows = [header]
        for step in report.steps {
            rows.append([step.step, step.uses, "\(step.done)/\(step.total)", String(step.pending), String(step.failed),
                         String(step.running), step.itemsPerSecond.map { String(format: "%.2f", $0) } ?? "-"])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            text += row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
        }
        for step in report.steps where !step.failures.isEmpty {
            text += "\nfailed in \(step.step):\n"
            for failure in step.failures {
                text += "  \(failure.item.prefix(12)) after \(failure.attempts) attempt(s): \(failure.error)\(failure.log.map { " (log: \($0))" } ?? "")\n"
            }
        }
        Console.out(text)
        if failed { throw CommandError.failedItems }
    }
}

struct Clean: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove outputs no longer in the plan (--orphans) or the whole workspace (--all).")

    @Argument(help: "The workflow file.")
    var workflow: String

    @Option(help: "Workspace folder (default .synthset/<name>/ beside the workflow).")
    var workspace: String?

    @Flag(help: "Remove outputs and records of items the current plan no longer has.")
    var orphans = false

    @Flag(help: "Remove the whole workspace: outputs, logs and checkpoint store.")
    var all = false

    @Flag(help: "Only list what would be removed.")
    var dryRun = false

    func validate() throws {
        if orphans == all { throw ValidationError("say what to remove: --orphans or --all") }
    }

    func run() async throws {
        let outcome = WorkflowService.loadAndPlan(file: workflow, options: PlanOptions())
        DiagnosticPrinter().print(outcome.diagnostics.filter { $0.severity == .error })
        guard let loaded = outcome.workflow, let plan = outcome.plan else { throw CommandError.invalidInput }
        let target = WorkflowService.workspace(for: loaded, override: workspace)
        if all {
            // Holds the workspace's lock until the folder is gone (renamed aside, then deleted).
            if !dryRun { try WorkspaceInspector.removeWorkspace(target) }
            Console.out("\(dryRun ? "would remove" : "removed") \(target.root.path)\n")
            return
        }
        let removed = try WorkspaceInspector(plan: plan, workspace: target).removeOrphans(dryRun: dryRun)
        for path in removed { Console.out("\(dryRun ? "would remove" : "removed") \(path)\n") }
        Console.out("\(removed.count) orphaned output\(removed.count == 1 ? "" : "s")\n")
    }
}

import ArgumentParser
import Execution
import Foundation
import Planning

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check that this machine can run a workflow: tools, scripts, imports, checkpoints, GPUs, ffmpeg, disk.",
        discussion: """
            Plans the workflow, then checks what its plan needs: every tool's checkout and the \
            scripts it calls, that each tool's Python runs and imports what the tool imports, \
            the checkpoints the steps load, nvidia-smi's driver, GPU count, model and memory \
            against 'hardware', ffmpeg and ffprobe with their versions, and free disk for the \
            planned outputs; with --executor slurm (or executor: { kind: slurm }), Slurm's \
            commands and a test job that must see the workspace instead of the local GPUs. \
            Writes nothing but that test job's files, which it removes. Each failed check says how to fix it. Exit 0 when \
            every check passes, 2 when any fails (or the workflow is invalid).
            """)

    @Argument(help: "The workflow file.")
    var workflow: String

    @Option(help: "Workspace folder (default .synthset/<name>/ beside the workflow), for the disk check.")
    var workspace: String?

    @Flag(help: "Print the checks as JSON.")
    var json = false

    @OptionGroup var cluster: ExecutorOptions

    func run() async throws {
        let outcome = WorkflowService.loadAndPlan(file: workflow, options: PlanOptions())
        DiagnosticPrinter().print(outcome.diagnostics.filter { $0.severity == .error })
        guard let loaded = outcome.workflow, let plan = outcome.plan else { throw CommandError.invalidInput }
        let report = await Doctor.run(workflow: loaded, plan: plan, workspace: WorkflowService.workspace(for: loaded, override: workspace),
                                      executor: cluster.settings(for: loaded))
        if json {
            Console.out(JSONOutput.line(report))
        } else {
            var text = ""
            for check in report.checks {
                let mark = switch check.status {
                case .ok: "ok    "
                case .warning: "warn  "
                case .failed: "FAIL  "
                }
                text += mark + check.name + ": " + check.detail + "\n"
                if let fix = check.fix, check.status != .ok { text += "      fix: " + fix + "\n" }
            }
            let failed = report.checks.filter { $0.status == .failed }.count
            text += failed == 0
                ? "ready: \(report.checks.count) check\(report.checks.count == 1 ? "" : "s") passed\n"
                : "\(failed) of \(report.checks.count) checks failed\n"
            Console.out(text)
        }
        if !report.ok { throw CommandError.invalidInput }
    }
}

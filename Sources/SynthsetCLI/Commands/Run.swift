import ArgumentParser
import Execution
import Foundation
import Planning
import WorkflowSpec

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a workflow, resuming whatever an earlier run left undone.",
        discussion: """
            Finished items are never redone: re-running plans again and runs only items \
            that are not recorded as done or whose file is gone or changed size. Ctrl-C \
            stops scheduling, stops running tools (TERM, then KILL after --grace seconds) \
            and exits 130; the next run resumes.
            """)

    @Argument(help: "The workflow file.")
    var workflow: String

    @Option(help: "Workspace folder (default .synthset/<name>/ beside the workflow).")
    var workspace: String?

    @Option(help: "CPU slots (default: the number of cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Keep running independent work after an item fails.")
    var keepGoing = false

    @Option(help: "Retries per task after the first attempt (a step's retries: overrides).")
    var retries: Int = 2

    @Option(parsing: .upToNextOption, help: "Run only these steps.")
    var only: [String] = []

    @Option(help: "Seconds a stopped tool gets between SIGTERM and SIGKILL.")
    var grace: Double = 10

    @Option(help: "Plan for this many GPUs instead of hardware.count.")
    var gpus: Int?

    @Flag(help: "Write one JSON event per line on stdout instead of progress.")
    var json = false

    func validate() throws {
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if retries < 0 { throw ValidationError("--retries cannot be negative") }
        if grace < 0 { throw ValidationError("--grace cannot be negative") }
    }

    func run() async throws {
        var planOptions = PlanOptions(gpuCount: gpus, cpuSlots: jobs)
        planOptions.measured = WorkflowService.measuredTimings(file: workflow, workspace: workspace)
        let outcome = WorkflowService.loadAndPlan(file: workflow, options: planOptions)
        DiagnosticPrinter().print(outcome.diagnostics)
        guard let loaded = outcome.workflow, let plan = outcome.plan else { throw Exit.invalidInput }
        let options = RunOptions(workspace: WorkflowService.workspace(for: loaded, override: workspace), jobs: jobs,
                                 keepGoing: keepGoing, retries: retries, only: Set(only),
                                 gracePeriod: .milliseconds(Int(grace * 1000)),
                                 // Hidden, for tests: the first retry delay in seconds (default 2).
                                 retryBackoff: ProcessInfo.processInfo.environment["SYNTHSET_RETRY_BACKOFF"].flatMap(Double.init) ?? 2)
        let executor = Executor(workflow: loaded, plan: plan, options: options)
        let reporter = ProgressReporter(mode: json ? .json : (Console.stderrIsTTY ? .tty : .plain), plan: plan)
        let summary: RunSummary
        do {
            summary = try await SignalHandling.runCancellingOnSignal {
                try await executor.run(events: reporter.handle)
            }
        } catch let error as RunError {
            if case .preflight(let diagnostics) = error { DiagnosticPrinter().print(diagnostics) } else { Console.error("error: \(error)\n") }
            throw Exit.invalidInput
        } catch let error as WorkspaceLockError {
            Console.error("error: \(error)\n")
            throw Exit.invalidInput
        }
        reporter.finish(summary)
        if summary.interrupted { throw Exit.interrupted }
        if !summary.failed.isEmpty { throw Exit.failedItems }
    }
}

import ArgumentParser
import Execution
import Foundation
import WorkflowSpec

extension ExecutorSettings.Kind: ExpressibleByArgument {}

/// Where `run` runs the tasks (and what `plan` shows of it): the manifest's `executor:`
/// block, each key overridden by its flag.
struct ExecutorOptions: ParsableArguments {
    @Option(help: "Where tasks run: local (default) or slurm (each task a job submitted with sbatch).")
    var executor: ExecutorSettings.Kind?

    @Option(help: "Slurm partition (sbatch --partition).")
    var partition: String?

    @Option(help: "Slurm account (sbatch --account).")
    var account: String?

    @Option(help: "Tasks queued or running on the cluster at once, also the % cap of job arrays (default 64).")
    var maxJobs: Int?

    func validate() throws {
        if let maxJobs { try NumericOption.check("--max-jobs", maxJobs, in: 1...100_000) }
        for (name, value) in [("--partition", partition), ("--account", account)] {
            if let value, value.isEmpty || value.contains(where: { $0.isWhitespace || $0 == "," }) {
                throw ValidationError("\(name) '\(value)' is not a Slurm name; write one name, e.g. 'gpu'")
            }
        }
    }

    /// The manifest's settings with the flags applied.
    func settings(for workflow: Workflow) -> ExecutorSettings {
        var settings = workflow.executor ?? ExecutorSettings()
        if let executor { settings.kind = executor }
        if let partition { settings.partition = partition }
        if let account { settings.account = account }
        if let maxJobs { settings.maxJobs = maxJobs }
        return settings
    }
}

/// `synthset worker JOBFILE`: what a cluster job runs on its node (hidden; the
/// coordinator writes the job file and submits the job).
struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one task of a cluster job on this node (started by the Slurm executor's jobs).",
        shouldDisplay: false)

    @Argument(help: "The job file the coordinator wrote.")
    var jobFile: String

    @Option(help: "The element of a job array to run (default: SLURM_ARRAY_TASK_ID, else 0).")
    var index: Int?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let element = index ?? environment["SLURM_ARRAY_TASK_ID"].flatMap(Int.init) ?? 0
        let outcome: ClusterWorker.Outcome
        do {
            outcome = try await SignalHandling.runCancellingOnSignal {
                try await ClusterWorker.run(jobFile: URL(fileURLWithPath: jobFile), index: element) { event in
                    // Plain lines into the job's Slurm output file.
                    switch event {
                    case .taskStarted(let start): Console.out("task \(start.taskID) (\(start.step)) attempt \(start.attempt): \(start.items) item(s), log \(start.logPath)\n")
                    case .itemDone(let step, let id, let path): Console.out("done \(step) \(id.prefix(12)) \(path)\n")
                    case .itemFailed(let step, let id, let error): Console.out("failed \(step) \(id.prefix(12)): \(error)\n")
                    case .warning(let text): Console.out("warning: \(text)\n")
                    case .started, .taskFinished: break
                    }
                }
            }
        } catch let error as ClusterWorkerError {
            throw CommandError.user("\(error)")
        }
        Console.out("worker: \(outcome.done) done, \(outcome.failed) failed\(outcome.interrupted ? ", interrupted" : "")\n")
        if outcome.interrupted { throw CommandError.interrupted }
        if outcome.failed > 0 { throw CommandError.failedItems }
    }
}

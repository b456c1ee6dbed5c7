import ArgumentParser
import Execution
import Foundation
import Planning
import WorkflowSpec
import WorkspaceStore

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a workflow, resuming whatever an earlier run left undone.",
        discussion: """
            Finished items are never redone: re-running plans again and runs only items \
            that are not recorded as done or whose file is gone or changed size. Ctrl-C \
            stops scheduling, stops running tools (TERM, then KILL after --grace seconds) \
            and exits 130; the next run resumes.
            After a run in which every planned item is done, the lock file <workflow>.lock \
            beside the recipe is rewritten (items, output hashes, prompts, tool versions, \
            dataset fingerprint). With --frozen the lock is never written: the run refuses \
            to start (exit 1) when the recipe's plan no longer matches the lock, and fails \
            (exit 1) when an output's hash differs from the lock.
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

    @Option(parsing: .upToNextOption, help: "Run only these steps; their inputs must be made already.")
    var only: [String] = []

    @Option(parsing: .upToNextOption, help: "Redo these steps and everything that depends on them, even where done.")
    var forcerun: [String] = []

    @Option(help: "Make what this step needs and the step itself, then stop.")
    var until: String?

    @Flag(help: "Show the work still to do (items, invocations, GPU-hours, dollars) and write nothing.")
    var dryRun = false

    @Option(help: "Seconds a stopped tool gets between SIGTERM and SIGKILL.")
    var grace: Double = 10

    @Option(help: "Plan for this many GPUs instead of hardware.count.")
    var gpus: Int?

    @Flag(help: "Refuse to run unless the plan matches <workflow>.lock; never rewrite the lock.")
    var frozen = false

    @Flag(help: "Write one JSON event per line on stdout instead of progress.")
    var json = false

    @OptionGroup var limits: MaxItemsOption

    @OptionGroup var cluster: ExecutorOptions

    @Flag(help: "With --executor slurm: submit what is ready and exit; a later run (or status) picks the jobs up.")
    var detach = false

    @Flag(help: "With --executor slurm: scancel this run's jobs on Ctrl-C (default: leave them running to re-attach).")
    var cancelOnInterrupt = false

    func validate() throws {
        try NumericOption.check("--jobs", jobs, in: 1...NumericOption.maxJobs)
        try NumericOption.check("--retries", retries, in: 0...1000)
        try NumericOption.check("--grace", grace, in: 0...NumericOption.maxGrace)
        if let gpus { try NumericOption.check("--gpus", gpus, in: 1...NumericOption.maxGPUs) }
    }

    func run() async throws {
        var planOptions = PlanOptions(gpuCount: gpus, cpuSlots: jobs, maxItems: limits.maxItems)
        planOptions.measured = WorkflowService.measuredTimings(file: workflow, workspace: workspace)
        let outcome = WorkflowService.loadAndPlan(file: workflow, options: planOptions)
        DiagnosticPrinter().print(outcome.diagnostics)
        guard let loaded = outcome.workflow, let plan = outcome.plan else { throw CommandError.invalidInput }
        let lockURL = LockFile.url(forRecipe: workflow)
        var frozenLock: LockFile?
        if frozen {
            let lock: LockFile
            do { lock = try LockFile.read(from: lockURL) } catch {
                throw CommandError.user("--frozen needs the lock file: \(error); run once without --frozen to write it")
            }
            let differences = Reproduction.planDifferences(lock: lock, workflow: loaded, plan: plan)
            if !differences.isEmpty {
                Console.error("error: --frozen: the plan of \(workflow) no longer matches \(lockURL.lastPathComponent):\n"
                              + differences.map { "  \($0)\n" }.joined())
                throw CommandError.failedItems
            }
            if lock.recipeSHA256 != loaded.sourceHash {
                Console.error("note: \(workflow) changed since the lock was written, but plans the same items\n")
            }
            frozenLock = lock
        }
        var options = RunOptions(workspace: WorkflowService.workspace(for: loaded, override: workspace), jobs: jobs,
                                 keepGoing: keepGoing, retries: retries, only: Set(only),
                                 gracePeriod: .milliseconds(Int(grace * 1000)))
        options.forcerun = Set(forcerun)
        options.until = until
        if dryRun {
            try dryRun(workflow: loaded, plan: plan, options: options)
            return
        }
        // Undocumented knob for tests that exercise retries without waiting seconds.
        if let backoff = ProcessInfo.processInfo.environment["SYNTHSET_RETRY_BACKOFF"].flatMap(Double.init) {
            options.retryBackoff = backoff
        }
        let reporter = ProgressReporter(mode: json ? .json : (Console.stderrIsTTY ? .tty : .plain), plan: plan)
        let settings = cluster.settings(for: loaded)
        if settings.kind != .slurm && (detach || cancelOnInterrupt) {
            throw CommandError.user("--detach and --cancel-on-interrupt need --executor slurm (or executor: { kind: slurm } in the recipe)")
        }
        // A preflight problem, a held lock or an unusable workspace ends the run here;
        // ErrorMapping says how.
        let summary: RunSummary
        if settings.kind == .slurm {
            var clusterOptions = ClusterRunOptions(settings: settings, workerBinary: Self.executablePath())
            clusterOptions.detach = detach
            clusterOptions.cancelOnInterrupt = cancelOnInterrupt
            // Undocumented knob for tests: look at the queue more often than every 5 s.
            if let poll = ProcessInfo.processInfo.environment["SYNTHSET_SLURM_POLL"].flatMap(Double.init) { clusterOptions.pollSeconds = poll }
            let executor = SlurmExecutor(workflow: loaded, plan: plan, options: options, cluster: clusterOptions)
            summary = try await SignalHandling.runCancellingOnSignal { try await executor.run(events: reporter.handle) }
        } else {
            let executor = Executor(workflow: loaded, plan: plan, options: options)
            summary = try await SignalHandling.runCancellingOnSignal { try await executor.run(events: reporter.handle) }
        }
        reporter.finish(summary)
        if summary.detached {
            Console.error("submitted; \(summary.clusterJobsLeft.count) Slurm job(s) queued or running (\(Self.jobList(summary.clusterJobsLeft)));\n"
                          + "run `synthset run \(workflow) --executor slurm` again to follow them and submit what they unblock\n")
            return
        }
        if summary.interrupted && !summary.clusterJobsLeft.isEmpty {
            Console.error("\(summary.clusterJobsLeft.count) Slurm job(s) keep running (\(Self.jobList(summary.clusterJobsLeft))); "
                          + "re-attach with `synthset run \(workflow) --executor slurm`, or cancel them with scancel\n")
        }
        if summary.interrupted { throw CommandError.interrupted }
        if !summary.failed.isEmpty { throw CommandError.failedItems }
        try await finishLock(workflow: loaded, plan: plan, workspace: options.workspace, lockURL: lockURL, frozen: frozenLock)
    }

    /// This executable, absolute: what the cluster's jobs run as `synthset worker`.
    static func executablePath() -> String {
        let link = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        if link != "/proc/self/exe" { return link }
        return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    }

    static func jobList(_ ids: [String]) -> String {
        ids.count > 8 ? ids.prefix(8).joined(separator: ", ") + ", ..." : ids.joined(separator: ", ")
    }

    /// What the run would do, from the store as it is; opens an existing store read-only
    /// in effect (no run is recorded, no lock taken) and creates nothing.
    func dryRun(workflow loaded: Workflow, plan: Plan, options: RunOptions) throws {
        let done: Set<String>
        do { done = try options.workspace.doneItemsIfAny(of: plan) } catch {
            Console.error("error: cannot read the workspace \(options.workspace.root.path): \(error)\n")
            throw CommandError.invalidInput
        }
        let (scope, errors) = RunScope.make(plan: plan, workflow: loaded, options: options, done: done)
        if !errors.isEmpty {
            DiagnosticPrinter().print(errors)
            throw CommandError.invalidInput
        }
        let work = plan.work(items: scope.toDo)
        if json {
            Console.out(JSONOutput.line(work))
            return
        }
        var text = "dry run of \(workflow) in \(options.workspace.root.path): \(done.count) of \(plan.items.count) items done\n"
        if work.items == 0 {
            text += "nothing to do\n"
        } else {
            text += "\n" + WorkTable.render(work, plan: plan) + "\nwould make " + WorkTable.line(work) + "; nothing was written\n"
        }
        Console.out(text)
    }

    /// Writes the lock after a complete run, or, with --frozen, checks the outputs against it.
    func finishLock(workflow loaded: Workflow, plan: Plan, workspace: Workspace, lockURL: URL, frozen: LockFile?) async throws {
        let tools = await ToolVersions.probe(loaded, synthsetVersion: SynthsetCommand.version)
        guard let store = try? CheckpointStore(path: workspace.store) else { return }
        let inputs = Reproduction.lockInputs(workflow: loaded, plan: plan, tools: tools)
        // No item changed since this lock was written from the same recipe, plan and tools,
        // and the file is as written: building it again would give the same bytes.
        if frozen == nil, Reproduction.lockIsCurrent(at: lockURL, inputs: inputs, store: store) { return }
        let itemChanges = try? store.itemChangeCount()
        guard let produced = try Reproduction.lock(workflow: loaded, plan: plan, store: store, tools: tools, workspace: workspace)
        else { return }  // a partial run (--only, blocked items) writes no lock
        if let frozen {
            // Re-hash the files on disk as `verify` does: the store's hashes say what was
            // committed, not whether the file was changed since.
            let onDisk = Verifier(lock: frozen, workspace: workspace).verify().failures.map { finding in
                "\(finding.problem.rawValue) \(finding.path) (\(finding.step) item \(finding.item.prefix(12)))"
            }
            let differences = Reproduction.outputDifferences(locked: frozen, produced: produced) + onDisk
            if !differences.isEmpty {
                Console.error("error: --frozen: outputs differ from \(lockURL.lastPathComponent):\n" + differences.map { "  \($0)\n" }.joined())
                throw CommandError.failedItems
            }
            return
        }
        do {
            try Reproduction.write(produced, to: lockURL, inputs: inputs, itemChanges: itemChanges, store: store)
        } catch {
            Console.error("warning: \(error)\n")
        }
    }
}

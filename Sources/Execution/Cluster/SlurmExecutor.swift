import Basics
import Foundation
import WorkspaceStore
import Planning
import WorkflowSpec

/// How a cluster run differs from a local one.
public struct ClusterRunOptions: Sendable {
    /// The manifest's `executor:` with the command line's flags applied.
    public var settings: ExecutorSettings
    /// Submit what is ready and return; a later `run` adopts the jobs.
    public var detach = false
    /// `scancel` this run's jobs on Ctrl-C instead of leaving them queued.
    public var cancelOnInterrupt = false
    /// Seconds between two looks at the queue.
    public var pollSeconds = SlurmDefaults.pollSeconds
    /// The `synthset` the jobs run (this executable, which the nodes must see at the same path).
    public var workerBinary: String

    public init(settings: ExecutorSettings, workerBinary: String) {
        self.settings = settings
        self.workerBinary = workerBinary
    }
}

/// `run --executor slurm`: the coordinator. It submits each ready task as a Slurm job
/// (equal tasks of a step as one job array) that runs `synthset worker` on a node, tracks
/// the jobs with `squeue`, ingests the workers' completion records into the store (it is
/// the store's only writer), retries failed attempts (only their missing items), and
/// records every submission before `sbatch` runs, so a restarted coordinator adopts the
/// jobs of a killed one instead of submitting them again.
public struct SlurmExecutor: Sendable {
    public let workflow: Workflow
    public let plan: Plan
    public let options: RunOptions
    public let cluster: ClusterRunOptions

    public init(workflow: Workflow, plan: Plan, options: RunOptions, cluster: ClusterRunOptions) {
        self.workflow = workflow
        self.plan = plan
        self.options = options
        self.cluster = cluster
    }

    /// Problems that stop the run before anything is submitted: the local preflight
    /// (tools the definitions need) and Slurm's commands.
    public func preflight() async -> [Diagnostic] {
        var problems = await Executor(workflow: workflow, plan: plan, options: options).preflight()
        for command in ["sbatch", "squeue", "scancel"] where ToolSupport.findExecutable(command) == nil {
            problems.append(Diagnostic(.error, "--executor slurm needs \(command), which is not on PATH",
                                       hint: "run synthset on a machine that submits to the cluster (a login node), or run without --executor slurm",
                                       at: workflow.location(of: "executor")))
        }
        return problems
    }

    public func run(events: @escaping @Sendable (RunEvent) -> Void) async throws -> RunSummary {
        let problems = await preflight()
        if problems.contains(where: { $0.severity == .error }) { throw RunError.preflight(problems) }
        let workspace = options.workspace
        let (lock, store) = try workspace.openForRun(argv: options.argv, events: events)
        defer { lock.release() }
        let script = workspace.cluster.appendingPathComponent("job.sh")
        do {
            for folder in [workspace.clusterJobs, workspace.clusterRecords, workspace.clusterScratch] {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            }
            try Data(Self.jobScript.utf8).write(to: script, options: .atomic)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        } catch {
            throw WorkspaceError.cannotWrite(path: workspace.cluster.path, reason: FileErrorReason.of(error, path: workspace.cluster))
        }
        // The coordinator's own scratch (uploads run here) holds only unverified partial
        // outputs; the workers' scratch is elsewhere (cluster/tmp), untouched while they run.
        try? FileManager.default.removeItem(at: workspace.scratch)
        let runID = try store.beginRun(argv: options.argv, planHash: plan.hash, estimatedGPUSeconds: nil)
        var coordinator = try Coordinator(executor: self, store: store, runID: runID, script: script, events: events)
        let started = Date()
        var summary = try await coordinator.run()
        let gpuSeconds = plan.gpuSeconds((try? store.allTasks().filter { $0.runID == runID }) ?? [])
        let status: RunStatus = summary.interrupted || summary.detached ? .interrupted : (summary.failed.isEmpty ? .succeeded : .failed)
        try store.finishRun(runID, status: status, actualGPUSeconds: gpuSeconds)
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }

    /// The batch script of every job: it runs its arguments (`synthset worker JOBFILE`,
    /// given to `sbatch` after the script), so no path or name is ever put in shell text.
    static let jobScript = """
        #!/bin/sh
        # A synthset cluster job: runs `synthset worker JOBFILE`, given as sbatch's script arguments.
        exec "$@"

        """
}

/// The coordinator's state: the local scheduler's task states (what is done, ready,
/// failed, retried) plus the submissions in flight.
struct Coordinator {
    let executor: SlurmExecutor
    let store: CheckpointStore
    let runID: Int64
    let script: URL
    let events: @Sendable (RunEvent) -> Void
    let workspace: Workspace
    let client: SlurmClient
    var scheduler: Scheduler
    /// Open submissions by task index.
    var inFlight: [Int: ClusterJobRecord] = [:]
    /// Store attempt = base + the scheduler's attempt of this run (attempt numbers stay
    /// unique across runs; each run gets its own retries, as a local run does).
    var attemptBase: [String: Int] = [:]
    /// Polls a job was missing from both `squeue` and accounting.
    var missing: [Int64: Int] = [:]
    /// Submissions of earlier runs whose items are all done already (or no longer
    /// planned): settled with what the queue says of them, never waited for.
    var finishedElsewhere: [ClusterJobRecord] = []
    /// The last failure of `squeue`, reported once until it answers again.
    var queueProblem: SlurmError?
    /// Items of a submission ingested while it still ran, by row id.
    var ingestedSoFar: [Int64: [String]] = [:]
    var taskIndex: [String: Int] = [:]

    init(executor: SlurmExecutor, store: CheckpointStore, runID: Int64, script: URL, events: @escaping @Sendable (RunEvent) -> Void) throws {
        self.executor = executor
        self.store = store
        self.runID = runID
        self.script = script
        self.events = events
        workspace = executor.options.workspace
        client = SlurmClient(withheldEnvironment: Set(executor.workflow.steps.compactMap { $0.upload?.apiKeyEnvironment }))
        let local = Executor(workflow: executor.workflow, plan: executor.plan, options: executor.options)
        // What earlier workers finished while no coordinator was looking goes in first.
        let open = try store.openClusterJobs()
        for job in open { _ = try? CompletionRecords(folder: CompletionRecords.folder(in: workspace, task: job.taskID, attempt: job.attempt))
            .ingest(into: store, workspace: workspace) }
        let done = try workspace.doneItems(of: executor.plan, store: store)
        let scope = RunScope.make(plan: executor.plan, workflow: executor.workflow, options: executor.options, done: done).scope
        scheduler = Scheduler(executor: local, store: store, runID: runID, workspace: workspace, done: done, scope: scope)
        for (index, state) in scheduler.states.enumerated() { taskIndex[state.task.id] = index }
        for job in try store.allClusterJobs() { attemptBase[job.taskID] = max(attemptBase[job.taskID] ?? 0, job.attempt) }
        // Adopt what a killed or detached coordinator left queued or running.
        for job in open {
            guard let index = taskIndex[job.taskID], !scheduler.states[index].finished else {
                // Its items are done (ingested above) or no longer planned: nothing to wait
                // for, only its end to record.
                finishedElsewhere.append(job)
                continue
            }
            inFlight[index] = job
            scheduler.states[index].running = true
            attemptBase[job.taskID] = job.attempt - 1
        }
    }

    var maxJobs: Int { executor.cluster.settings.maxJobs ?? SlurmDefaults.maxJobs }

    mutating func run() async throws -> RunSummary {
        defer { scheduler.scratch.removeIdle() }
        events(.started(scheduler.startEvent()))
        let adopted = (inFlight.values + finishedElsewhere).map { $0.jobID ?? $0.jobName }.sorted()
        if !adopted.isEmpty {
            events(.warning("re-attached to \(adopted.count) job(s) an earlier run submitted: \(adopted.prefix(8).joined(separator: ", "))\(adopted.count > 8 ? ", ..." : "")"))
        }
        var stopScheduling = false
        var submittedOnce = false
        while true {
            if Task.isCancelled { return await interrupted() }
            do {
                try await poll(stopScheduling: &stopScheduling)
                if !stopScheduling && !(executor.cluster.detach && submittedOnce) {
                    try await submitReady(stopScheduling: &stopScheduling)
                    submittedOnce = true
                }
            } catch {
                if Task.isCancelled { return await interrupted() }
                throw error
            }
            // Detached: leave once the ready work is submitted; with nothing in flight the
            // run simply finishes (and writes its lock) as any run does.
            if executor.cluster.detach && submittedOnce && !(inFlight.isEmpty && finishedElsewhere.isEmpty) {
                var summary = scheduler.summary(interrupted: false)
                summary.blocked = 0
                summary.detached = true
                summary.clusterJobsLeft = (inFlight.values + finishedElsewhere).compactMap(\.jobID).sorted()
                return summary
            }
            if inFlight.isEmpty && finishedElsewhere.isEmpty {
                let waiting = scheduler.states.indices.contains { index in
                    !scheduler.states[index].finished && (scheduler.states[index].notBefore.map { $0 > Date() } ?? false)
                }
                if stopScheduling || !waiting { break }
            }
            try? await Task.sleep(for: .seconds(executor.cluster.pollSeconds))
        }
        return scheduler.summary(interrupted: false)
    }

    /// Settles the submissions whose items were done before they were seen to end, once
    /// the queue says they ended (or, gone from it, on the second look).
    mutating func settleFinishedElsewhere(queue: [String: SlurmClient.JobStatus]) {
        finishedElsewhere = finishedElsewhere.filter { job in
            let status = job.jobID.flatMap { SlurmClient.status(of: $0, in: queue) } ?? queue.values.first { status in
                status.name == job.jobName && (job.arrayIndex == nil ? !status.id.contains("_") : status.id.hasSuffix("_\(job.arrayIndex!)"))
            }
            if let status, !SlurmClient.isTerminal(status.state) { return true }
            if status == nil {
                missing[job.id!, default: 0] += 1
                if missing[job.id!]! < 2 { return true }
            }
            if let status, job.jobID == nil { try? store.recordClusterJobIDs([job.id!: status.id], state: status.state) }
            let planned = executor.plan.tasks.contains { $0.id == job.taskID }
            let ingested = try? records(job).ingest(into: store, workspace: workspace)
            records(job).settle(into: store, task: job.taskID, runID: job.runID, attempt: job.attempt, finished: ingested?.finished)
            try? store.settleClusterJob(job.id!, state: status?.state ?? (ingested?.finished?.status == .succeeded ? "COMPLETED" : "ENDED"),
                                        reason: planned ? nil : "no longer in the plan")
            removeScratch(of: job)
            return false
        }
    }

    /// Ctrl-C: leave the jobs queued (a later run adopts them) or cancel them.
    mutating func interrupted() async -> RunSummary {
        let ids = inFlight.values.compactMap(\.jobID).sorted()
        var summary = scheduler.summary(interrupted: true)
        if executor.cluster.cancelOnInterrupt {
            // Not cancellable itself: this task is cancelled already, and scancel must run.
            let client = self.client
            await Task.detached { await client.cancel(ids) }.value
            for (_, job) in inFlight {
                _ = try? records(job).ingest(into: store, workspace: workspace)
                try? store.settleClusterJob(job.id!, state: "CANCELLED", reason: "cancelled: the coordinator was interrupted (--cancel-on-interrupt)")
            }
        } else {
            summary.clusterJobsLeft = ids
        }
        return summary
    }

    func records(_ job: ClusterJobRecord) -> CompletionRecords {
        CompletionRecords(folder: CompletionRecords.folder(in: workspace, task: job.taskID, attempt: job.attempt))
    }

    // MARK: Tracking

    mutating func poll(stopScheduling: inout Bool) async throws {
        guard !inFlight.isEmpty || !finishedElsewhere.isEmpty else { return }
        let queue: [String: SlurmClient.JobStatus]
        do {
            queue = try await client.queue()
            queueProblem = nil
            settleFinishedElsewhere(queue: queue)
        } catch let error as SlurmError {
            // slurmctld restarting, a network blip: say so once and look again next time.
            if queueProblem == nil { events(.warning("\(error); trying again every \(Int(executor.cluster.pollSeconds)) s")) }
            queueProblem = error
            return
        }
        // Submissions recorded but never answered by sbatch (a coordinator killed in
        // between): the job, if sbatch got that far, carries the recorded name.
        for (index, job) in inFlight where job.jobID == nil {
            let named = queue.values.filter { $0.name == job.jobName }
            let match = named.first { status in
                job.arrayIndex == nil ? !status.id.contains("_") : status.id.hasSuffix("_\(job.arrayIndex!)")
            }
            if let match {
                try store.recordClusterJobIDs([job.id!: match.id], state: match.state)
                inFlight[index]?.jobID = match.id
            } else if FileManager.default.fileExists(atPath: records(job).folder.path) {
                inFlight[index]?.jobID = job.jobName  // ran and left the queue: settled from its records
            } else {
                // Never reached Slurm: forget it; the task is submitted as if for the first time.
                try store.removeClusterSubmission(job.id!)
                inFlight[index] = nil
                scheduler.states[index].running = false
            }
        }
        var unknown = inFlight.values.compactMap(\.jobID).filter { SlurmClient.status(of: $0, in: queue) == nil }
        let accounted = await client.accounting(unknown)
        unknown.removeAll { accounted[$0] != nil }
        var changed: [Int64: String] = [:]
        for index in inFlight.keys.sorted() {
            guard let job = inFlight[index], let jobID = job.jobID else { continue }
            let records = self.records(job)
            let ingested = try records.ingest(into: store, workspace: workspace)
            report(ingested, task: scheduler.states[index].task)
            ingestedSoFar[job.id!, default: []] += ingested.done
            var state = SlurmClient.status(of: jobID, in: queue)?.state ?? accounted[jobID]
            if state == nil {
                // Gone from the queue and no accounting: its records say how it ended;
                // without them, two looks in a row make it lost.
                if let finished = ingested.finished {
                    state = finished.status == .succeeded ? "COMPLETED" : "FAILED"
                } else {
                    missing[job.id!, default: 0] += 1
                    if missing[job.id!]! >= 2 { state = "LOST" }
                }
            }
            guard let state else { continue }
            if state != job.state { changed[job.id!] = state; inFlight[index]?.state = state }
            if SlurmClient.isTerminal(state) || state == "LOST" {
                // The worker may have written its last records after the previous look.
                var final = ingested
                let late = try records.ingest(into: store, workspace: workspace)
                report(late, task: scheduler.states[index].task)
                final.done = ingestedSoFar.removeValue(forKey: job.id!) ?? []
                final.done += late.done
                final.failed.merge(late.failed) { first, _ in first }
                final.finished = final.finished ?? late.finished
                await settle(index: index, job: inFlight[index]!, state: state, ingested: final, stopScheduling: &stopScheduling)
            }
        }
        if !changed.isEmpty { try store.updateClusterJobStates(changed) }
    }

    func report(_ ingested: IngestedRecords, task: PlannedTask) {
        for id in ingested.done {
            events(.itemDone(step: task.step, itemID: id, path: scheduler.items[id]?.path ?? ""))
        }
    }

    /// Handles the end of one submission: what its records say is done is done; the rest
    /// failed for the worker's reason or the job's end state, and is retried alone.
    mutating func settle(index: Int, job: ClusterJobRecord, state: String, ingested: IngestedRecords, stopScheduling: inout Bool) async {
        let task = scheduler.states[index].task
        let done = Set(ingested.done).union(job.items.filter { scheduler.done.contains($0) })
        let missingItems = job.items.filter { !done.contains($0) }
        var reason: String?
        if state == "LOST" {
            reason = "Slurm job \(job.jobID ?? job.jobName) left the queue without a completion record (the node failed, or the job was purged before it was seen)"
        } else if state != "COMPLETED" {
            let details = await client.exitDetails(job.jobID ?? "")
            reason = "Slurm job \(job.jobID ?? job.jobName) ended \(state)"
                + (details.exitCode.map { " (exit code \($0)\(details.reason.map { $0 == "None" ? "" : ", \($0)" } ?? ""))" } ?? "")
        } else if !missingItems.isEmpty {
            reason = "Slurm job \(job.jobID ?? job.jobName) completed without producing \(missingItems.count) item(s)"
        }
        var failures: [String: String] = [:]
        for id in missingItems { failures[id] = ingested.failed[id] ?? reason ?? "not produced" }
        let logPath = workspace.relative(workspace.logs.appendingPathComponent(task.step)
            .appendingPathComponent("\(task.id)-r\(job.runID)-a\(job.attempt).log"))
        if ingested.finished == nil {
            // The worker never got to record its end (killed, timed out, out of memory).
            let now = Date()
            try? store.taskStarted(TaskRecord(id: task.id, runID: job.runID, step: task.step, tool: task.uses.rawValue, model: task.model,
                                              gpu: nil, attempt: job.attempt, status: .running, startedAt: job.submittedAt,
                                              itemCount: job.items.count, logPath: logPath))
            try? store.recordItems(failures.map { id, error in
                ItemRecord(id: id, step: task.step, path: scheduler.items[id]?.path ?? "", status: .failed, attempts: job.attempt,
                           startedAt: job.submittedAt, finishedAt: now, logPath: logPath, error: error, taskID: task.id,
                           runID: job.runID, tool: task.uses.rawValue, model: task.model)
            })
            records(job).settle(into: store, task: task.id, runID: job.runID, attempt: job.attempt,
                                finished: .init(status: .failed, exitCode: nil, duration: now.timeIntervalSince(job.submittedAt),
                                                loadSeconds: nil, itemCount: job.items.count, error: reason))
        } else {
            records(job).settle(into: store, task: task.id, runID: job.runID, attempt: job.attempt, finished: ingested.finished)
        }
        try? store.settleClusterJob(job.id!, state: state, reason: failures.isEmpty ? nil : (reason ?? failures.values.first))
        removeScratch(of: job)
        inFlight[index] = nil
        let attempt = job.attempt - (attemptBase[task.id] ?? 0)
        for (id, error) in failures.sorted(by: { $0.key < $1.key }) { events(.itemFailed(step: task.step, itemID: id, error: error)) }
        let willRetry = !failures.isEmpty && attempt <= scheduler.retries(for: task.step)
        events(.taskFinished(TaskEnd(taskID: task.id, step: task.step, attempt: job.attempt, succeeded: failures.isEmpty,
                                     itemsDone: ingested.done.count, itemsFailed: failures.count,
                                     seconds: Date().timeIntervalSince(job.submittedAt), logPath: logPath,
                                     logTail: failures.isEmpty ? [] : ProcessRunner.logTail(workspace.url(logPath), lines: 12),
                                     error: failures.isEmpty ? nil : (reason ?? failures.values.first), willRetry: willRetry)))
        scheduler.complete(Scheduler.TaskResult(index: index, attempt: attempt, done: Array(ingested.done), failures: failures,
                                                interrupted: false, vram: task.vramGB, logPath: logPath),
                           stopScheduling: &stopScheduling)
    }

    /// A killed worker leaves its scratch folder (`cluster/tmp/<slurm job>/<task>-a<n>`):
    /// nothing in it is trusted, so it goes once the attempt is settled.
    func removeScratch(of job: ClusterJobRecord) {
        let fm = FileManager.default
        for folder in (try? fm.contentsOfDirectory(atPath: workspace.clusterScratch.path)) ?? [] {
            let parent = workspace.clusterScratch.appendingPathComponent(folder, isDirectory: true)
            try? fm.removeItem(at: parent.appendingPathComponent("\(job.taskID)-a\(job.attempt)"))
            if (try? fm.contentsOfDirectory(atPath: parent.path))?.isEmpty == true { try? fm.removeItem(at: parent) }
        }
    }

    // MARK: Submitting

    mutating func submitReady(stopScheduling: inout Bool) async throws {
        var capacity = maxJobs - inFlight.count
        var ready: [(index: Int, items: [String])] = []
        for index in scheduler.states.indices where !scheduler.states[index].finished && !scheduler.states[index].running {
            if let notBefore = scheduler.states[index].notBefore, notBefore > Date() { continue }
            let items = scheduler.runnable(index)
            if items.isEmpty { continue }
            // Wait for more inputs when a batch would otherwise start half-empty.
            if items.count < scheduler.states[index].remaining.count && scheduler.waitingOnInputs(index) { continue }
            if scheduler.states[index].task.device == .network {
                // Uploads run here: they keep their own records in the store, and compute
                // nodes are often offline.
                await runLocally(index: index, items: items, stopScheduling: &stopScheduling)
                continue
            }
            guard capacity > 0 else { break }
            capacity -= 1
            ready.append((index, items))
        }
        guard !ready.isEmpty else { return }
        let byTask = Dictionary(uniqueKeysWithValues: ready.map { ($0.index, $0.items) })
        let tasks = ready.map { scheduler.states[$0.index].task }
        for group in ClusterJobShape.groups(tasks, settings: executor.cluster.settings, maxJobs: maxJobs) {
            let indices = group.map { taskIndex[$0.id]! }
            await submit(indices.map { ($0, byTask[$0]!) }, stopScheduling: &stopScheduling)
        }
    }

    mutating func runLocally(index: Int, items: [String], stopScheduling: inout Bool) async {
        let local = Executor(workflow: executor.workflow, plan: executor.plan, options: executor.options)
        let runner = TaskRunner(executor: local, store: store, runID: runID, workspace: workspace,
                                committer: OutputCommitter(workspace: workspace), items: scheduler.items,
                                scratch: scheduler.scratch)
        let state = scheduler.states[index]
        scheduler.states[index].running = true
        let result = await runner.execute(index: index, task: state.task, items: items.compactMap { scheduler.items[$0] }, gpus: [],
                                          attempt: (attemptBase[state.task.id] ?? 0) + state.attempt, events: events)
        var adjusted = result
        adjusted.attempt = state.attempt
        scheduler.complete(adjusted, stopScheduling: &stopScheduling)
    }

    /// One `sbatch`: a plain job for one task, a job array for several of one shape.
    mutating func submit(_ batch: [(index: Int, items: [String])], stopScheduling: inout Bool) async {
        let workflow = executor.workflow, plan = executor.plan, settings = executor.cluster.settings
        let first = scheduler.states[batch[0].index].task
        let shape = ClusterJobShape(task: first, settings: settings)
        var elements: [ClusterJobFile.Element] = []
        for (index, ids) in batch {
            var task = scheduler.states[index].task
            let items = ids.compactMap { scheduler.items[$0] }
            if ids.count != task.items.count, let step = workflow.plannedStep(task.step) {
                let known = scheduler.items
                task.invocation = step.planning.invocation(for: items, context: InvocationContext(workflow: workflow, step: step, items: { known[$0] }))
            }
            task.items = ids
            let inputIDs = Set(items.flatMap(\.inputs))
            let attempt = (attemptBase[task.id] ?? 0) + scheduler.states[index].attempt
            elements.append(.init(task: task, attempt: attempt, items: items, inputs: inputIDs.sorted().compactMap { scheduler.items[$0] }))
        }
        // Unique per submission, never derived from the tasks alone: a name the queue still
        // lists from an earlier workspace of the same recipe must not be adopted.
        let name = "\(workflow.name).\(first.step).\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased())"
        let jobFile = workspace.clusterJobs.appendingPathComponent("\(name).json")
        let job = ClusterJobFile(workflow: URL(fileURLWithPath: workflow.file).standardizedFileURL.path, recipeSHA256: workflow.sourceHash,
                                 workspace: workspace.root.standardizedFileURL.path, runID: runID, gpuModel: plan.hardware.gpu,
                                 graceSeconds: Double(executor.options.gracePeriod.components.seconds), elements: elements)
        let isArray = elements.count > 1
        let rows: [Int64]
        do {
            for element in elements {
                try? FileManager.default.removeItem(at: CompletionRecords.folder(in: workspace, task: element.task.id, attempt: element.attempt))
            }
            try job.write(to: jobFile)
            rows = try store.recordClusterSubmissions(elements.enumerated().map { offset, element in
                ClusterJobRecord(taskID: element.task.id, attempt: element.attempt, step: element.task.step, runID: runID,
                                 scheduler: "slurm", jobName: name, arrayIndex: isArray ? offset : nil,
                                 jobFile: workspace.relative(jobFile), items: element.task.items, state: "SUBMITTING")
            })
        } catch {
            fail(batch, reason: "cannot write the job file \(jobFile.path): \(error)", stopScheduling: &stopScheduling)
            return
        }
        let logs = workspace.logs.appendingPathComponent(first.step)
        try? FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let minutes = ClusterJobShape.timeLimitMinutes(seconds: elements.map(\.task.seconds).max() ?? 0, settings: settings)
        var arguments = ["--job-name=\(name)", "--chdir=\(workspace.root.path)", "--time=\(ClusterJobShape.timeLimit(minutes: minutes))",
                         "--output=" + logs.appendingPathComponent(isArray ? "slurm-%A_%a.out" : "slurm-%j.out").path]
        arguments += shape.sbatchArguments
        if let partition = settings.partition { arguments.append("--partition=\(partition)") }
        if let account = settings.account { arguments.append("--account=\(account)") }
        if isArray { arguments.append("--array=0-\(elements.count - 1)%\(maxJobs)") }
        arguments += [script.path, executor.cluster.workerBinary, "worker", jobFile.path]
        let jobID: String
        do {
            jobID = try await client.submit(arguments: arguments, workingDirectory: workspace.root)
        } catch {
            for row in rows { try? store.removeClusterSubmission(row) }
            fail(batch, reason: "\(error)", stopScheduling: &stopScheduling)
            return
        }
        var ids: [Int64: String] = [:]
        for (offset, row) in rows.enumerated() { ids[row] = isArray ? "\(jobID)_\(offset)" : jobID }
        try? store.recordClusterJobIDs(ids, state: "PENDING")
        for (offset, (index, items)) in batch.enumerated() {
            let element = elements[offset]
            inFlight[index] = ClusterJobRecord(taskID: element.task.id, attempt: element.attempt, step: element.task.step, runID: runID,
                                               scheduler: "slurm", jobName: name, jobID: ids[rows[offset]], arrayIndex: isArray ? offset : nil,
                                               jobFile: workspace.relative(jobFile), items: items, state: "PENDING")
            inFlight[index]?.id = rows[offset]
            scheduler.states[index].running = true
            let logPath = workspace.relative(logs.appendingPathComponent("\(element.task.id)-r\(runID)-a\(element.attempt).log"))
            events(.taskStarted(TaskStart(taskID: element.task.id, step: element.task.step, attempt: element.attempt,
                                          items: items.count, gpus: [], logPath: logPath)))
        }
    }

    /// Fails the items of a submission that never reached Slurm (retried like any failure).
    mutating func fail(_ batch: [(index: Int, items: [String])], reason: String, stopScheduling: inout Bool) {
        for (index, items) in batch {
            let task = scheduler.states[index].task
            var failures: [String: String] = [:]
            for id in items { failures[id] = reason; events(.itemFailed(step: task.step, itemID: id, error: reason)) }
            scheduler.complete(Scheduler.TaskResult(index: index, attempt: scheduler.states[index].attempt, done: [], failures: failures,
                                                    interrupted: false, vram: nil, logPath: ""),
                               stopScheduling: &stopScheduling)
        }
    }
}

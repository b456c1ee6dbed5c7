import ArgumentParser
import Execution
import Foundation
import Planning
import WorkflowSpec
import WorkspaceStore

extension PlanRenderer.Format: ExpressibleByArgument {}

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show the items, tasks, GPU-hours, wall-clock time and cost of a workflow before running it.",
        discussion: """
            Figures come from the versioned catalog (NVIDIA's published table; derived and \
            assumed figures are marked), the manifest's catalog: overrides, and, once runs \
            exist in the workspace, the timings measured there. GPUs in the catalog: \
            \(Catalog.builtIn.gpus.map(\.id).joined(separator: ", ")).
            """)

    @Argument(help: "The workflow file.")
    var workflow: String

    @Option(help: "Output format: table, json, dot or mermaid.")
    var format: PlanRenderer.Format = .table

    @Option(help: "Plan for this catalog GPU instead of hardware.gpu.")
    var gpu: String?

    @Option(help: "Plan for this many GPUs instead of hardware.count.")
    var gpus: Int?

    @Option(help: "Workspace whose measured timings to use (default .synthset/<name> beside the workflow).")
    var workspace: String?

    @OptionGroup var limits: MaxItemsOption

    @Flag(help: "List, per step, where each figure (seconds per item, load seconds) comes from.")
    var explain = false

    @OptionGroup var cluster: ExecutorOptions

    func validate() throws {
        if let gpus { try NumericOption.check("--gpus", gpus, in: 1...NumericOption.maxGPUs) }
    }

    func run() async throws {
        var options = PlanOptions(gpu: gpu, gpuCount: gpus, cpuSlots: ProcessInfo.processInfo.activeProcessorCount,
                                  maxItems: limits.maxItems)
        options.measured = WorkflowService.measuredTimings(file: workflow, workspace: workspace)
        let outcome = WorkflowService.loadAndPlan(file: workflow, options: options)
        DiagnosticPrinter().print(outcome.diagnostics)
        guard var plan = outcome.plan, let loaded = outcome.workflow else { throw CommandError.invalidInput }
        let settings = cluster.settings(for: loaded)
        if format == .json {
            // JSON shows what each task will run (synthset-plan/1, docs/plan-format.md),
            // and with a Slurm executor the jobs that carry them.
            if settings.kind == .slurm {
                Planner.attachInvocations(to: &plan, workflow: loaded)
                let extra = ["cluster": PlannedCluster(plan: plan, settings: settings).json]
                PlanRenderer.writeJSON(plan, adding: extra) { Console.out(bytes: $0) }
            } else {
                let invocations = PlanRenderer.preparingInvocations(plan, workflow: loaded)
                PlanRenderer.writeJSON(plan, invocations: invocations) { Console.out(bytes: $0) }
                _ = Unmanaged.passRetained(invocations)
            }
        } else {
            Console.out(PlanRenderer.render(plan, as: format))
        }
        if format == .table {
            Console.out(Self.estimateNotes(plan, error: WorkflowService.lastEstimateError(file: workflow, workspace: workspace)))
            if let loaded = outcome.workflow {
                Console.out(Self.remainingWork(plan, workspace: WorkflowService.workspace(for: loaded, override: workspace)))
            }
            if explain { Console.out(Self.explanation(plan)) }
            if settings.kind == .slurm { Console.out(Self.clusterJobs(plan, settings: settings)) }
        }
        // The process ends next: leave the plan to the OS instead of freeing a million
        // items one by one (a tenth of the run on large plans).
        _ = Unmanaged.passRetained(KeptUntilExit(plan))
    }

    /// In a workspace where some items are done: the work still to do (what `run` would do).
    static func remainingWork(_ plan: Plan, workspace: Workspace) -> String {
        guard let done = try? workspace.doneItemsIfAny(of: plan), !done.isEmpty else { return "" }
        let toDo = Set(plan.items.lazy.map(\.id).filter { !done.contains($0) })
        let work = plan.work(items: toDo)
        if work.items == 0 { return "in \(workspace.root.path): every item is done; nothing left to run\n" }
        return "in \(workspace.root.path): \(done.count) of \(plan.items.count) items done; still to do: " + WorkTable.line(work) + "\n"
            + WorkTable.render(work, plan: plan)
    }

    /// The Slurm jobs a cluster run submits (`plan --executor slurm`): per step, a job or a
    /// job array with its `%` cap, resources and time limit.
    static func clusterJobs(_ plan: Plan, settings: ExecutorSettings) -> String {
        let cluster = PlannedCluster(plan: plan, settings: settings)
        let jobs = cluster.jobs
        var rows = [["step", "submission", "gres", "cpus", "mem", "time limit"]]
        for job in jobs {
            let submission = job.tasks > 1 ? "array of \(job.tasks) (%\(job.concurrency ?? job.tasks))" : "1 job"
            let memory = job.memoryMB % 1024 == 0 ? "\(job.memoryMB / 1024)G" : "\(job.memoryMB)M"
            rows.append([job.step, submission, job.gpus > 0 ? "gpu:\(job.gpus)" : "-", String(job.cpus), memory, job.timeLimit])
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        var text = "\nslurm: \(jobs.count) submission\(jobs.count == 1 ? "" : "s") (\(jobs.map(\.tasks).reduce(0, +)) jobs) when every task is ready"
        text += [settings.partition.map { ", partition \($0)" }, settings.account.map { ", account \($0)" }].compactMap { $0 }.joined() + "\n"
        for row in rows {
            text += "  " + row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
        }
        let local = cluster.coordinatorTasks.count
        if local > 0 { text += "  and \(local) upload task(s) run by the coordinator itself\n" }
        return text
    }

    /// Per step, each figure with its basis and source (`plan --explain`).
    static func explanation(_ plan: Plan) -> String {
        var text = "\nwhere the figures come from:\n"
        for step in plan.steps {
            text += "  \(step.id) (\(step.uses.rawValue)\(step.model.map { " \($0)" } ?? "")):\n"
            if let perItem = step.secondsPerItem {
                text += "    s/item \(Self.number(perItem.value, decimals: perItem.value < 1 ? 3 : 2)) [\(perItem.basis.rawValue)] \(perItem.source)\n"
            } else {
                text += "    s/item: no figure; the step is left out of the estimate (loads included)\n"
            }
            if let load = step.loadSeconds {
                text += "    load s \(Self.number(load.value, decimals: 1)) [\(load.basis.rawValue)] \(load.source)\n"
            }
        }
        return text
    }

    /// Which figures were measured in the workspace (with sample counts), and how far the
    /// last run's estimate was from what it actually took.
    static func number(_ value: Double, decimals: Int = 2) -> String { String(format: "%.\(decimals)f", value) }

    static func estimateNotes(_ plan: Plan, error: WorkflowService.EstimateError?) -> String {
        var lines: [String] = []
        var measured: [String] = []
        var catalog: [String] = []
        for step in plan.steps {
            let figures = [("s/item", step.secondsPerItem), ("load s", step.loadSeconds)].filter { $0.1 != nil }
            for (name, figure) in figures {
                guard let figure else { continue }
                // Store-measured figures carry a sample count; the catalog's benchmarks do not.
                if figure.basis == .measured, let samples = figure.samples, samples > 0 {
                    measured.append("\(step.id) \(name) \(Self.number(figure.value, decimals: figure.value < 1 ? 3 : 2)) (\(samples) task\(samples == 1 ? "" : "s"))")
                } else {
                    catalog.append("\(step.id) \(name)")
                }
            }
        }
        if !measured.isEmpty {
            lines.append("measured in this workspace: " + measured.joined(separator: "; "))
            if !catalog.isEmpty { lines.append("from the catalog or manifest: " + catalog.joined(separator: ", ")) }
        }
        if let error {
            var line = "last run #\(error.runID) (\(error.status)): estimated \(Self.number(error.estimatedGPUHours)) GPU-h, actual \(Self.number(error.actualGPUHours)) GPU-h"
            if let relative = error.relativeError { line += String(format: " (estimate error %+.0f%%)", relative * 100) }
            lines.append(line)
        }
        return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    }
}

private final class KeptUntilExit {
    let value: Plan
    init(_ value: Plan) { self.value = value }
}

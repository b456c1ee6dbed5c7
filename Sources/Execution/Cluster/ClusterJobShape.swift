import Foundation
import WorkspaceStore
import Planning
import WorkflowSpec

/// How a task goes to Slurm: its resources, its time limit, and which tasks share one
/// job array. Decided from the plan and the executor settings alone, so `plan --executor
/// slurm` shows exactly what `run --executor slurm` submits.
public struct ClusterJobShape: Sendable, Hashable {
    public var step: String
    public var gpus: Int
    public var cpus: Int
    public var memoryMB: Int

    public init(task: PlannedTask, settings: ExecutorSettings) {
        step = task.step
        gpus = task.device == .gpu ? max(1, task.gpus) : 0
        cpus = settings.cpusPerTask ?? (gpus > 0 ? 4 * gpus : 1)
        let gigabytes = settings.memoryGB ?? (gpus > 0 ? 16 * Double(gpus) : 2)
        memoryMB = max(1, Int((gigabytes * 1024).rounded(.up)))
    }

    /// `--time` for tasks estimated at `seconds`: the estimate times the margin plus five
    /// minutes (model downloads, a slow node), whole minutes, at least ten.
    public static func timeLimitMinutes(seconds: Double, settings: ExecutorSettings) -> Int {
        let margin = settings.timeMargin ?? 1.5
        return max(10, Int(((seconds * margin + 300) / 60).rounded(.up)))
    }

    /// Slurm's `D-HH:MM:SS` form.
    public static func timeLimit(minutes: Int) -> String {
        let days = minutes / 1440, hours = (minutes % 1440) / 60, rest = minutes % 60
        return days > 0 ? String(format: "%d-%02d:%02d:00", days, hours, rest) : String(format: "%02d:%02d:00", hours, rest)
    }

    /// Tasks in groups that go as one submission: equal shapes of one step, in plan
    /// order, at most `maxJobs` per group.
    public static func groups(_ tasks: [PlannedTask], settings: ExecutorSettings, maxJobs: Int) -> [[PlannedTask]] {
        var order: [ClusterJobShape] = []
        var byShape: [ClusterJobShape: [PlannedTask]] = [:]
        for task in tasks {
            let shape = ClusterJobShape(task: task, settings: settings)
            if byShape[shape] == nil { order.append(shape) }
            byShape[shape, default: []].append(task)
        }
        return order.flatMap { shape in
            let tasks = byShape[shape]!
            return stride(from: 0, to: tasks.count, by: max(1, maxJobs)).map { Array(tasks[$0..<min($0 + max(1, maxJobs), tasks.count)]) }
        }
    }

    /// The resource arguments of `sbatch` for this shape.
    var sbatchArguments: [String] {
        var arguments = ["--cpus-per-task=\(cpus)", "--mem=\(memoryMB)M"]
        if gpus > 0 { arguments.append("--gres=gpu:\(gpus)") }
        return arguments
    }
}

/// One job (or job array) of `plan --executor slurm`.
public struct PlannedClusterJob: Sendable, Codable, Hashable {
    public var step: String
    /// Tasks in it: more than one is a job array.
    public var tasks: Int
    /// The plan's ids of those tasks, in array index order.
    public var taskIDs: [String]
    /// The array's `%` cap, for arrays.
    public var concurrency: Int?
    public var gpus: Int
    public var cpus: Int
    public var memoryMB: Int
    /// `--time`, `D-HH:MM:SS`.
    public var timeLimit: String

    enum CodingKeys: String, CodingKey {
        case step, tasks, concurrency, gpus, cpus
        case memoryMB = "memory_mb"
        case timeLimit = "time_limit"
        case taskIDs = "task_ids"
    }

    /// The jobs a cluster run of the whole plan submits, when every task of a step is
    /// ready at once (the coordinator submits what is ready, so a partly done step or a
    /// retry goes as a smaller job).
    public static func jobs(for plan: Plan, settings: ExecutorSettings) -> [PlannedClusterJob] {
        let maxJobs = settings.maxJobs ?? SlurmDefaults.maxJobs
        let local = Set(plan.tasks.filter { $0.device == .network }.map(\.id))
        return ClusterJobShape.groups(plan.tasks.filter { !local.contains($0.id) }, settings: settings, maxJobs: maxJobs).map { group in
            let shape = ClusterJobShape(task: group[0], settings: settings)
            let minutes = ClusterJobShape.timeLimitMinutes(seconds: group.map(\.seconds).max() ?? 0, settings: settings)
            return PlannedClusterJob(step: shape.step, tasks: group.count, taskIDs: group.map(\.id), concurrency: group.count > 1 ? maxJobs : nil,
                                     gpus: shape.gpus, cpus: shape.cpus, memoryMB: shape.memoryMB,
                                     timeLimit: ClusterJobShape.timeLimit(minutes: minutes))
        }
    }
}

/// What a cluster run of the plan submits, as `plan --executor slurm --format json` shows
/// it (the top-level `cluster` member; docs/plan-format.md).
public struct PlannedCluster: Sendable, Codable, Hashable {
    public var executor: String
    public var partition: String?
    public var account: String?
    /// The cap on tasks queued or running at once.
    public var maxJobs: Int
    public var jobs: [PlannedClusterJob]
    /// Tasks the coordinator runs itself (uploads), never submitted.
    public var coordinatorTasks: [String]

    enum CodingKeys: String, CodingKey {
        case executor, partition, account, jobs
        case maxJobs = "max_jobs"
        case coordinatorTasks = "coordinator_tasks"
    }

    public init(plan: Plan, settings: ExecutorSettings) {
        executor = settings.kind.rawValue
        partition = settings.partition
        account = settings.account
        maxJobs = settings.maxJobs ?? SlurmDefaults.maxJobs
        jobs = PlannedClusterJob.jobs(for: plan, settings: settings)
        coordinatorTasks = plan.tasks.filter { $0.device == .network }.map(\.id)
    }

    /// Compact, key-sorted JSON, the form ``PlanRenderer/json(_:adding:)`` takes.
    public var json: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(self)) ?? Data("null".utf8))
    }
}

/// Defaults of the cluster executor.
public enum SlurmDefaults {
    /// Tasks queued or running at once when neither `--max-jobs` nor `executor.max_jobs` says.
    public static let maxJobs = 64
    /// Seconds between two looks at the queue.
    public static let pollSeconds = 5.0
}

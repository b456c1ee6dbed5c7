import Foundation

/// `executor:` — where `synthset run` runs the tasks: on this machine (the default) or as
/// jobs of a Slurm cluster. Command-line flags (`--executor`, `--partition`, ...) override
/// each key. None of it is part of any item's identity: the same recipe makes the same
/// items wherever it runs.
public struct ExecutorSettings: Sendable, Hashable {
    /// Where tasks run.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case local, slurm
    }

    public var kind: Kind
    /// `sbatch --partition`.
    public var partition: String?
    /// `sbatch --account`.
    public var account: String?
    /// Tasks queued or running on the cluster at once (also the `%` cap of job arrays).
    public var maxJobs: Int?
    /// `sbatch --cpus-per-task` (default: 1 for CPU tasks, 4 per GPU for GPU tasks).
    public var cpusPerTask: Int?
    /// `sbatch --mem` in GB (default: 2 for CPU tasks, 16 per GPU for GPU tasks).
    public var memoryGB: Double?
    /// `--time` is the task's estimate times this factor plus five minutes (default 1.5).
    public var timeMargin: Double?

    public init(kind: Kind = .local, partition: String? = nil, account: String? = nil, maxJobs: Int? = nil,
                cpusPerTask: Int? = nil, memoryGB: Double? = nil, timeMargin: Double? = nil) {
        self.kind = kind
        self.partition = partition
        self.account = account
        self.maxJobs = maxJobs
        self.cpusPerTask = cpusPerTask
        self.memoryGB = memoryGB
        self.timeMargin = timeMargin
    }

    /// The manifest keys, in the order the schema lists them.
    static let keys = ["kind", "partition", "account", "max_jobs", "cpus_per_task", "mem_gb", "time_margin"]
}

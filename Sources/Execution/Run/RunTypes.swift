import Foundation
import Planning
import WorkflowSpec
import WorkspaceStore

/// How `synthset run` runs.
public struct RunOptions: Sendable {
    public var workspace: Workspace
    /// CPU slots.
    public var jobs: Int
    /// Keep running independent work after a failure.
    public var keepGoing: Bool
    /// Attempts after the first, unless a step sets `retries:`.
    public var retries: Int
    /// Run only these steps (empty: all); their inputs must be done already.
    public var only: Set<String>
    /// Redo these steps and every step downstream of them, even where items are done.
    public var forcerun: Set<String> = []
    /// Make only what this step needs (its ancestors) and the step itself, then stop.
    public var until: String?
    /// Time children get between SIGTERM and SIGKILL.
    public var gracePeriod: Duration
    /// First retry delay; doubles each attempt, capped at a minute.
    public var retryBackoff: Double
    /// The command line, recorded with the run.
    public var argv: [String]

    public init(workspace: Workspace, jobs: Int = ProcessInfo.processInfo.activeProcessorCount, keepGoing: Bool = false,
                retries: Int = 2, only: Set<String> = [], gracePeriod: Duration = .seconds(10),
                retryBackoff: Double = 2, argv: [String] = CommandLine.arguments) {
        self.workspace = workspace
        self.jobs = jobs
        self.keepGoing = keepGoing
        self.retries = retries
        self.only = only
        self.gracePeriod = gracePeriod
        self.retryBackoff = retryBackoff
        self.argv = argv
    }
}

/// Progress and results, in the order they happen. The CLI renders them.
public enum RunEvent: Sendable {
    case started(RunStart)
    case taskStarted(TaskStart)
    case itemDone(step: String, itemID: String, path: String)
    case itemFailed(step: String, itemID: String, error: String)
    case taskFinished(TaskEnd)
    case warning(String)
}

public struct RunStart: Sendable, Codable {
    public var runID: Int64
    public var workspace: String
    /// Items per step still to produce and already done.
    public var pending: [String: Int]
    public var done: [String: Int]
    public var total: [String: Int]
    /// Estimated seconds per item per step, for ETAs before measurements exist.
    public var estimatedSecondsPerItem: [String: Double]
}

public struct TaskStart: Sendable, Codable {
    public var taskID: String
    public var step: String
    public var attempt: Int
    public var items: Int
    public var gpus: [Int]
    public var logPath: String
}

public struct TaskEnd: Sendable, Codable {
    public var taskID: String
    public var step: String
    public var attempt: Int
    public var succeeded: Bool
    /// Items the task made and put in place; each is reported done by its own
    /// ``RunEvent/itemDone(step:itemID:path:)`` once committed, which in a local run
    /// may come after this event (the run commits items across tasks).
    public var itemsDone: Int
    public var itemsFailed: Int
    public var seconds: Double
    public var logPath: String
    /// The last lines of the log when items failed.
    public var logTail: [String]
    public var error: String?
    /// Whether the failed items will be tried again.
    public var willRetry: Bool
}

/// What a run did.
public struct RunSummary: Sendable, Codable {
    public var runID: Int64
    /// Items produced by this run.
    public var produced: Int
    /// Items that were already done.
    public var alreadyDone: Int
    public var failed: [FailedItem]
    /// Items not run because an input failed or was out of `--only`'s scope.
    public var blocked: Int
    public var interrupted: Bool
    public var seconds: Double
    public var workspace: String
    /// Cluster runs: jobs still queued or running when the coordinator stopped (after
    /// `--detach`, or an interrupt without `--cancel-on-interrupt`); a later run adopts them.
    public var clusterJobsLeft: [String] = []
    /// Cluster runs: the coordinator submitted what was ready and left (`--detach`).
    public var detached = false

    public struct FailedItem: Sendable, Codable {
        public var step: String
        public var itemID: String
        public var error: String
        public var logPath: String?
    }
}

/// Why a run could not start.
public enum RunError: Error, CustomStringConvertible, Sendable {
    case preflight([Diagnostic])
    /// A local run in a workspace whose Slurm jobs are still queued or running: they
    /// would write the same outputs.
    case clusterJobsInFlight(workspace: String, jobs: [String])

    public var description: String {
        switch self {
        case .clusterJobsInFlight(let workspace, let jobs):
            "\(jobs.count) Slurm job(s) of \(workspace) are still queued or running (\(jobs.prefix(8).joined(separator: ", "))\(jobs.count > 8 ? ", ..." : "")); "
                + "pick them up with --executor slurm, or scancel them and run again"
        case .preflight(let diagnostics): diagnostics.map(\.description).joined(separator: "\n")
        }
    }
}

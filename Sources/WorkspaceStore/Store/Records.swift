import Foundation
import GRDB

// MARK: - Statuses

/// Lifecycle state of a run recorded in the checkpoint store.
public enum RunStatus: String, Codable, Sendable, CaseIterable, Hashable {
    /// The run is in progress (or its process died without finishing it; see
    /// ``CheckpointStore/markAbandonedRuns()``).
    case running
    /// Every task of the run succeeded.
    case succeeded
    /// The run finished with at least one failed task.
    case failed
    /// The run was stopped before finishing (signal, crash, cancellation).
    case interrupted
}

/// Lifecycle state of one task attempt.
public enum TaskStatus: String, Codable, Sendable, CaseIterable, Hashable {
    /// The task's process is running.
    case running
    /// The task's process exited successfully.
    case succeeded
    /// The task's process failed.
    case failed
    /// The task was stopped before finishing.
    case interrupted
}

/// State of one produced item (an output file identified by its content hash id).
public enum ItemStatus: String, Codable, Sendable, CaseIterable, Hashable {
    /// The item's output exists and is committed.
    case done
    /// Producing the item failed.
    case failed
    /// The item is being produced.
    case running
}

// MARK: - Records

/// One row of the `runs` table: one invocation of the executor.
public struct RunRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    /// Table name.
    public static let databaseTableName = "runs"

    /// Auto-incremented run id; `nil` before insertion.
    public var id: Int64?
    /// When the run started.
    public var startedAt: Date
    /// When the run finished, if it did.
    public var finishedAt: Date?
    /// Current status.
    public var status: RunStatus
    /// Process id of the executor that owns the run.
    public var pid: Int32
    /// Host name of the machine running the executor.
    public var host: String
    /// Command line of the executor (stored as JSON text).
    public var argv: [String]
    /// Hash of the plan being executed.
    public var planHash: String
    /// GPU seconds the planner estimated for the run.
    public var estimatedGPUSeconds: Double?
    /// GPU seconds actually spent, when known.
    public var actualGPUSeconds: Double?

    /// Creates a run record.
    public init(
        id: Int64? = nil, startedAt: Date, finishedAt: Date? = nil, status: RunStatus,
        pid: Int32, host: String, argv: [String], planHash: String,
        estimatedGPUSeconds: Double? = nil, actualGPUSeconds: Double? = nil
    ) {
        self.id = id
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.status = status
        self.pid = pid
        self.host = host
        self.argv = argv
        self.planHash = planHash
        self.estimatedGPUSeconds = estimatedGPUSeconds
        self.actualGPUSeconds = actualGPUSeconds
    }

    /// Column names.
    public enum CodingKeys: String, CodingKey {
        case id
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case status, pid, host, argv
        case planHash = "plan_hash"
        case estimatedGPUSeconds = "estimated_gpu_seconds"
        case actualGPUSeconds = "actual_gpu_seconds"
    }

    /// Dates are stored as unix seconds (REAL).
    public static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy {
        .timeIntervalSince1970
    }
}

/// One row of the `tasks` table: one attempt of one planner task.
///
/// The primary key is `(id, run_id, attempt)`.
public struct TaskRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    /// Table name.
    public static let databaseTableName = "tasks"

    /// The planner's task id.
    public var id: String
    /// The run this attempt belongs to.
    public var runID: Int64
    /// Step name.
    public var step: String
    /// Tool name.
    public var tool: String
    /// Model name, if the tool uses one.
    public var model: String?
    /// GPU assignment (e.g. `"0"`), or `nil` for CPU tasks.
    public var gpu: String?
    /// Attempt number, starting at 1.
    public var attempt: Int
    /// Current status.
    public var status: TaskStatus
    /// When the attempt started.
    public var startedAt: Date
    /// When the attempt finished.
    public var finishedAt: Date?
    /// Wall-clock duration in seconds.
    public var duration: Double?
    /// Exit code of the tool process, if it exited normally.
    public var exitCode: Int32?
    /// Seconds spent loading the model, when the tool reports it.
    public var loadSeconds: Double?
    /// Number of items the task processes.
    public var itemCount: Int
    /// Path of the task's log file.
    public var logPath: String
    /// Error summary for failed attempts.
    public var error: String?

    /// Creates a task record.
    public init(
        id: String, runID: Int64, step: String, tool: String, model: String? = nil,
        gpu: String? = nil, attempt: Int = 1, status: TaskStatus = .running,
        startedAt: Date = Date(), finishedAt: Date? = nil, duration: Double? = nil,
        exitCode: Int32? = nil, loadSeconds: Double? = nil, itemCount: Int,
        logPath: String, error: String? = nil
    ) {
        self.id = id
        self.runID = runID
        self.step = step
        self.tool = tool
        self.model = model
        self.gpu = gpu
        self.attempt = attempt
        self.status = status
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.duration = duration
        self.exitCode = exitCode
        self.loadSeconds = loadSeconds
        self.itemCount = itemCount
        self.logPath = logPath
        self.error = error
    }

    /// Column names.
    public enum CodingKeys: String, CodingKey {
        case id
        case runID = "run_id"
        case step, tool, model, gpu, attempt, status
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case duration
        case exitCode = "exit_code"
        case loadSeconds = "load_seconds"
        case itemCount = "item_count"
        case logPath = "log_path"
        case error
    }

    /// Dates are stored as unix seconds (REAL).
    public static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy {
        .timeIntervalSince1970
    }
}

/// One row of the `items` table: one output item, keyed by its content-hash id.
public struct ItemRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    /// Table name.
    public static let databaseTableName = "items"

    /// Item id (content hash of the item's inputs), primary key.
    public var id: String
    /// Step that produces the item.
    public var step: String
    /// Output path, relative to the workspace.
    public var path: String
    /// SHA-256 of the output file (hex), once done.
    public var sha256: String?
    /// Size of the output file in bytes, once done.
    public var bytes: Int64?
    /// Current status.
    public var status: ItemStatus
    /// Number of attempts made so far.
    public var attempts: Int
    /// When the latest attempt started.
    public var startedAt: Date?
    /// When the latest attempt finished.
    public var finishedAt: Date?
    /// Duration of the latest attempt in seconds.
    public var duration: Double?
    /// GPU used by the latest attempt.
    public var gpu: String?
    /// Log file of the latest attempt.
    public var logPath: String?
    /// Error summary when failed.
    public var error: String?
    /// Task that produced (or tried to produce) the item.
    public var taskID: String?
    /// Run that produced (or tried to produce) the item.
    public var runID: Int64?
    /// Tool that produced the item.
    public var tool: String?
    /// Model that produced the item.
    public var model: String?

    /// Creates an item record.
    public init(
        id: String, step: String, path: String, sha256: String? = nil, bytes: Int64? = nil,
        status: ItemStatus, attempts: Int = 1, startedAt: Date? = nil, finishedAt: Date? = nil,
        duration: Double? = nil, gpu: String? = nil, logPath: String? = nil, error: String? = nil,
        taskID: String? = nil, runID: Int64? = nil, tool: String? = nil, model: String? = nil
    ) {
        self.id = id
        self.step = step
        self.path = path
        self.sha256 = sha256
        self.bytes = bytes
        self.status = status
        self.attempts = attempts
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.duration = duration
        self.gpu = gpu
        self.logPath = logPath
        self.error = error
        self.taskID = taskID
        self.runID = runID
        self.tool = tool
        self.model = model
    }

    /// Column names.
    public enum CodingKeys: String, CodingKey {
        case id, step, path, sha256, bytes, status, attempts
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case duration, gpu
        case logPath = "log_path"
        case error
        case taskID = "task_id"
        case runID = "run_id"
        case tool, model
    }

    /// Dates are stored as unix seconds (REAL).
    public static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy {
        .timeIntervalSince1970
    }
}

/// One row of the `uploads` table: an item uploaded to a target.
public struct UploadRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    /// Table name.
    public static let databaseTableName = "uploads"

    /// Uploaded item id.
    public var itemID: String
    /// Upload target (e.g. a dataset repository URL).
    public var target: String
    /// When the upload completed.
    public var uploadedAt: Date

    /// Creates an upload record.
    public init(itemID: String, target: String, uploadedAt: Date = Date()) {
        self.itemID = itemID
        self.target = target
        self.uploadedAt = uploadedAt
    }

    /// Column names.
    public enum CodingKeys: String, CodingKey {
        case itemID = "item_id"
        case target
        case uploadedAt = "uploaded_at"
    }

    /// Dates are stored as unix seconds (REAL).
    public static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy {
        .timeIntervalSince1970
    }
}

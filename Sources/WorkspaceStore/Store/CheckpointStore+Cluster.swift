import Foundation
import GRDB

/// One submission of one task to a cluster scheduler: a job, or one element of a job
/// array. Written by the coordinator only (the store is never opened on a compute node).
public struct ClusterJobRecord: Sendable, Equatable {
    /// Row id.
    public var id: Int64?
    public var taskID: String
    public var attempt: Int
    public var step: String
    /// The run that submitted it.
    public var runID: Int64
    /// `slurm`.
    public var scheduler: String
    /// The job's name (`sbatch --job-name`), unique per submission: how a coordinator that
    /// was killed between `sbatch` and recording the id finds the job again.
    public var jobName: String
    /// `12` for a job, `12_3` for element 3 of array 12; nil until `sbatch` answered.
    public var jobID: String?
    public var arrayIndex: Int?
    /// The job file on the shared file system (workspace-relative).
    public var jobFile: String
    /// The items this attempt makes.
    public var items: [String]
    /// The scheduler's state (`PENDING`, `RUNNING`, `COMPLETED`, `FAILED`, `TIMEOUT`, ...),
    /// or `SUBMITTING` before `sbatch` answered.
    public var state: String
    /// Why it ended the way it did, for failed attempts.
    public var reason: String?
    public var submittedAt: Date
    public var endedAt: Date?
    /// Whether the coordinator has handled its end (ingested, retried or failed its items).
    public var settled: Bool

    public init(taskID: String, attempt: Int, step: String, runID: Int64, scheduler: String, jobName: String,
                jobID: String? = nil, arrayIndex: Int? = nil, jobFile: String, items: [String], state: String,
                reason: String? = nil, submittedAt: Date = Date(), endedAt: Date? = nil, settled: Bool = false) {
        self.taskID = taskID
        self.attempt = attempt
        self.step = step
        self.runID = runID
        self.scheduler = scheduler
        self.jobName = jobName
        self.jobID = jobID
        self.arrayIndex = arrayIndex
        self.jobFile = jobFile
        self.items = items
        self.state = state
        self.reason = reason
        self.submittedAt = submittedAt
        self.endedAt = endedAt
        self.settled = settled
    }

    init(row: Row) {
        let items = (row["items"] as String).split(separator: ",").map(String.init)
        self.init(taskID: row["task_id"], attempt: row["attempt"], step: row["step"], runID: row["run_id"],
                  scheduler: row["scheduler"], jobName: row["job_name"], jobID: row["job_id"], arrayIndex: row["array_index"],
                  jobFile: row["job_file"], items: items, state: row["state"], reason: row["reason"],
                  submittedAt: Date(timeIntervalSince1970: row["submitted_at"]),
                  endedAt: (row["ended_at"] as Double?).map(Date.init(timeIntervalSince1970:)), settled: row["settled"])
        id = row["id"]
    }
}

extension CheckpointStore {
    /// Records submissions about to be made (state `SUBMITTING`, no job id yet) and returns
    /// their row ids, in order. Written before `sbatch` runs, so a coordinator killed in
    /// between finds the job by its name instead of submitting it again.
    public func recordClusterSubmissions(_ records: [ClusterJobRecord]) throws -> [Int64] {
        try database.write { db in
            try records.map { record in
                try db.execute(
                    sql: """
                        INSERT INTO cluster_jobs (task_id, attempt, step, run_id, scheduler, job_name, job_id, array_index,
                            job_file, items, state, reason, submitted_at, ended_at, settled)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [record.taskID, record.attempt, record.step, record.runID, record.scheduler, record.jobName,
                                record.jobID, record.arrayIndex, record.jobFile, record.items.joined(separator: ","),
                                record.state, record.reason, record.submittedAt.timeIntervalSince1970,
                                record.endedAt?.timeIntervalSince1970, record.settled])
                return db.lastInsertedRowID
            }
        }
    }

    /// Sets the job ids `sbatch` (or a look-up by name) gave: `<id>` for a plain job,
    /// `<id>_<index>` for the elements of an array.
    public func recordClusterJobIDs(_ ids: [Int64: String], state: String) throws {
        try database.write { db in
            for (row, jobID) in ids {
                try db.execute(sql: "UPDATE cluster_jobs SET job_id = ?, state = ? WHERE id = ?", arguments: [jobID, state, row])
            }
        }
    }

    /// Updates the state of open submissions (what `squeue` says now).
    public func updateClusterJobStates(_ states: [Int64: String]) throws {
        try database.write { db in
            for (row, state) in states {
                try db.execute(sql: "UPDATE cluster_jobs SET state = ? WHERE id = ? AND settled = 0", arguments: [state, row])
            }
        }
    }

    /// Marks a submission handled: it ended in `state`, for `reason` when it failed.
    public func settleClusterJob(_ row: Int64, state: String, reason: String?) throws {
        try database.write { db in
            try db.execute(sql: "UPDATE cluster_jobs SET state = ?, reason = ?, ended_at = ?, settled = 1 WHERE id = ?",
                           arguments: [state, reason, Date().timeIntervalSince1970, row])
        }
    }

    /// Forgets a submission that never reached the scheduler (`sbatch` refused it, or a
    /// killed coordinator recorded it but never ran `sbatch`).
    public func removeClusterSubmission(_ row: Int64) throws {
        try database.write { db in try db.execute(sql: "DELETE FROM cluster_jobs WHERE id = ?", arguments: [row]) }
    }

    /// Submissions not settled yet (queued, running, or ended and not yet handled), oldest first.
    public func openClusterJobs() throws -> [ClusterJobRecord] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM cluster_jobs WHERE settled = 0 ORDER BY id").map(ClusterJobRecord.init(row:))
        }
    }

    /// Every submission ever recorded, oldest first.
    public func allClusterJobs() throws -> [ClusterJobRecord] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM cluster_jobs ORDER BY id").map(ClusterJobRecord.init(row:))
        }
    }
}

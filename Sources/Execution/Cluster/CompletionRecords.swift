import Foundation
import WorkspaceStore

/// What a cluster worker writes instead of the store: one JSON file per event of one task
/// attempt, in `<workspace>/cluster/records/<task>-a<attempt>/`, each written to a
/// temporary name and renamed into place, so the coordinator never reads a half-written
/// one. SQLite over NFS is unsafe; files renamed into place are not. The coordinator is
/// the only writer of the store: it ingests these records and removes them.
struct CompletionRecords: TaskRecorder {
    let folder: URL

    static func folder(in workspace: Workspace, task: String, attempt: Int) -> URL {
        workspace.clusterRecords.appendingPathComponent("\(task)-a\(attempt)", isDirectory: true)
    }

    /// A finished item and its files, as the worker committed them.
    struct DoneItem: Codable {
        var record: ItemRecord
        var files: [File]

        struct File: Codable {
            var path: String
            var bytes: Int64
            var sha256: String
        }
    }

    /// How the attempt ended, written last.
    struct Finished: Codable {
        var status: TaskStatus
        var exitCode: Int32?
        var duration: Double
        var loadSeconds: Double?
        var itemCount: Int?
        var error: String?
    }

    static let started = "started.json", failed = "failed.json", finished = "finished.json", itemPrefix = "item-"

    func write(_ value: some Encodable, as name: String) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // `.atomic` writes a temporary file beside the target and renames it into place.
        try encoder.encode(value).write(to: folder.appendingPathComponent(name), options: .atomic)
    }

    func taskStarted(_ task: TaskRecord) throws { try write(task, as: Self.started) }

    func recordItem(_ item: ItemRecord, files: [ItemFile]) throws {
        try write(DoneItem(record: item, files: files.map { .init(path: $0.path, bytes: $0.bytes, sha256: $0.sha256) }),
                  as: Self.itemPrefix + item.id + ".json")
    }

    func recordFailedItems(_ items: [ItemRecord]) throws {
        guard !items.isEmpty else { return }
        try write(items, as: Self.failed)
    }

    func taskFinished(id: String, runID: Int64, attempt: Int, status: TaskStatus, exitCode: Int32?, duration: Double,
                      loadSeconds: Double?, itemCount: Int?, error: String?) throws {
        try write(Finished(status: status, exitCode: exitCode, duration: duration, loadSeconds: loadSeconds,
                           itemCount: itemCount, error: error), as: Self.finished)
    }
}

/// What the coordinator took from one attempt's records.
struct IngestedRecords {
    var done: [String] = []
    /// Items the worker gave up on, with its reason.
    var failed: [String: String] = [:]
    /// How the worker said the attempt ended; nil while it runs or when it never got there.
    var finished: CompletionRecords.Finished?
}

extension CompletionRecords {
    /// Moves what the worker wrote so far into the store and removes it from the folder:
    /// finished items (only when the file on disk still has the committed size), the
    /// attempt's task row, and at the end how it ended. Safe to call again after a crash
    /// between the store's commit and the removal: recording an item twice is one row.
    func ingest(into store: CheckpointStore, workspace: Workspace) throws -> IngestedRecords {
        var result = IngestedRecords()
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: folder.path) else { return result }
        let decoder = JSONDecoder()
        func read<T: Decodable>(_ type: T.Type, _ name: String) -> T? {
            (try? Data(contentsOf: folder.appendingPathComponent(name))).flatMap { try? decoder.decode(type, from: $0) }
        }
        if names.contains(Self.started), let task = read(TaskRecord.self, Self.started) {
            try store.taskStarted(task)
            try? fm.removeItem(at: folder.appendingPathComponent(Self.started))
        }
        for name in names.sorted() where name.hasPrefix(Self.itemPrefix) && name.hasSuffix(".json") {
            guard let item = read(DoneItem.self, name) else { continue }  // a temporary name, or not ours
            let size = (try? fm.attributesOfItem(atPath: workspace.url(item.record.path).path)[.size] as? Int).map(Int64.init)
            let isFolder = (try? workspace.url(item.record.path).resourceValues(forKeys: [.isDirectoryKey]).isDirectory) ?? false
            if isFolder || size == item.record.bytes {
                try store.recordItem(item.record, files: item.files.map { ItemFile(path: $0.path, bytes: $0.bytes, sha256: $0.sha256) })
                result.done.append(item.record.id)
            }
            try? fm.removeItem(at: folder.appendingPathComponent(name))
        }
        if let finished = read(Finished.self, Self.finished) {
            if let failed = read([ItemRecord].self, Self.failed) {
                try store.recordItems(failed)
                for record in failed { result.failed[record.id] = record.error ?? "failed" }
            }
            result.finished = finished
        }
        return result
    }

    /// Records the attempt's end in the store's task row, then removes the folder.
    func settle(into store: CheckpointStore, task: String, runID: Int64, attempt: Int, finished: Finished?) {
        if let finished {
            try? store.taskFinished(id: task, runID: runID, attempt: attempt, status: finished.status, exitCode: finished.exitCode,
                                    duration: finished.duration, loadSeconds: finished.loadSeconds, itemCount: finished.itemCount,
                                    error: finished.error)
        }
        try? FileManager.default.removeItem(at: folder)
    }
}

extension Workspace {
    /// What the cluster executor keeps on the shared file system: job files, the job
    /// script, completion records and the workers' scratch space.
    var cluster: URL { root.appendingPathComponent("cluster", isDirectory: true) }
    var clusterRecords: URL { cluster.appendingPathComponent("records", isDirectory: true) }
    var clusterJobs: URL { cluster.appendingPathComponent("jobs", isDirectory: true) }
    var clusterScratch: URL { cluster.appendingPathComponent("tmp", isDirectory: true) }
}

/// Submissions of earlier cluster runs seen from a local run: what their workers
/// finished is ingested, ended ones are settled; those Slurm still runs are returned
/// (the local run refuses to start beside them).
enum ClusterLeftovers {
    static func settleEnded(store: CheckpointStore, workspace: Workspace) async -> [String] {
        guard let open = try? store.openClusterJobs(), !open.isEmpty else { return [] }
        // Without squeue here nothing can be known: every one counts as still running.
        guard let queue = try? await SlurmClient().queue() else { return open.map { $0.jobID ?? $0.jobName } }
        var live: [String] = []
        for job in open {
            let records = CompletionRecords(folder: CompletionRecords.folder(in: workspace, task: job.taskID, attempt: job.attempt))
            let statuses = job.jobID.map { [SlurmClient.status(of: $0, in: queue)].compactMap { $0 } } ?? queue.values.filter { $0.name == job.jobName }
            if statuses.contains(where: { !SlurmClient.isTerminal($0.state) }) {
                live.append(job.jobID ?? job.jobName)
                continue
            }
            let ingested = try? records.ingest(into: store, workspace: workspace)
            records.settle(into: store, task: job.taskID, runID: job.runID, attempt: job.attempt, finished: ingested?.finished)
            try? store.settleClusterJob(job.id!, state: job.jobID.flatMap { SlurmClient.status(of: $0, in: queue)?.state } ?? "ENDED",
                                        reason: "settled by a local run")
        }
        return live.sorted()
    }
}

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Planning
import WorkflowSpec

/// Reads a workspace against a plan for `status` and `clean`, without running anything.
public struct WorkspaceInspector: Sendable {
    public let plan: Plan
    public let workspace: Workspace

    public init(plan: Plan, workspace: Workspace) {
        self.plan = plan
        self.workspace = workspace
    }

    public struct StepStatus: Sendable, Codable {
        public var step: String
        public var uses: String
        public var total: Int
        public var done: Int
        public var failed: Int
        public var running: Int
        public var pending: Int
        /// Items per second measured over this step's finished tasks.
        public var itemsPerSecond: Double?
        public var failures: [Failure]
    }

    public struct Failure: Sendable, Codable {
        public var item: String
        public var error: String
        public var attempts: Int
        public var log: String?
    }

    public struct Report: Sendable, Codable {
        public var workspace: String
        public var steps: [StepStatus]
        public var lastRun: String?
        public var lockedBy: String?
    }

    public func report() throws -> Report {
        let store = try CheckpointStore.openForReading(path: workspace.store)
        let records = try store?.items(ids: plan.items.map(\.id)) ?? [:]
        var steps: [StepStatus] = []
        let tasks = try store.flatMap { store in try store.lastRun().map { try store.tasks(runID: $0.id ?? 0) } } ?? []
        for step in plan.steps {
            var status = StepStatus(step: step.id, uses: step.uses.rawValue, total: 0, done: 0, failed: 0, running: 0,
                                    pending: 0, itemsPerSecond: nil, failures: [])
            for item in plan.items where item.step == step.id {
                status.total += 1
                switch records[item.id]?.status {
                case .done?:
                    if FileManager.default.fileExists(atPath: workspace.url(item.path).path) { status.done += 1 } else { status.pending += 1 }
                case .failed?:
                    status.failed += 1
                    if let record = records[item.id], status.failures.count < 50 {
                        status.failures.append(Failure(item: item.id, error: record.error ?? "unknown error",
                                                       attempts: record.attempts, log: record.logPath))
                    }
                case .running?: status.running += 1
                default: status.pending += 1
                }
            }
            let finished = tasks.filter { $0.step == step.id && $0.status == .succeeded }
            let seconds = finished.reduce(0) { $0 + ($1.duration ?? 0) }
            let count = finished.reduce(0) { $0 + $1.itemCount }
            if seconds > 0 { status.itemsPerSecond = Double(count) / seconds }
            steps.append(status)
        }
        let lastRun = try store?.lastRun().map { run in
            // A run still marked running whose process is gone was killed: say so
            // (the next run records it as interrupted).
            let gone = run.status == .running && run.host == ProcessProbe.hostName() && !ProcessProbe.isAlive(run.pid)
            let status = gone ? "interrupted (pid \(run.pid) ended without finishing)" : run.status.rawValue
            return "run \(run.id ?? 0) \(status), started \(ISO8601DateFormatter().string(from: run.startedAt))"
        }
        let holder = WorkspaceLock.runningHolder(directory: workspace.root).map { "pid \($0.pid) on \($0.host) since \(ISO8601DateFormatter().string(from: $0.startedAt))" }
        return Report(workspace: workspace.root.path, steps: steps, lastRun: lastRun, lockedBy: holder)
    }

    /// A workspace path up to the first dot of its last component (`outputs/l/ab.stats.json`
    /// → `outputs/l/ab`).
    static func stem(_ path: String) -> String {
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        return String(path[..<(path[slash...].firstIndex(of: ".") ?? path.endIndex)])
    }

    /// Removes a whole workspace (`clean --all`) under its lock, held until the folder
    /// is gone: the folder is first renamed aside (one atomic step, after which a new
    /// run starts a fresh workspace instead of racing the deletion), then deleted.
    /// Links inside are removed, never followed.
    public static func removeWorkspace(_ workspace: Workspace) throws {
        guard FileManager.default.fileExists(atPath: workspace.root.path) else { return }
        let (lock, _) = try WorkspaceLock.acquire(directory: workspace.root, command: "synthset clean --all")
        defer { lock.release() }
        let aside = workspace.root.deletingLastPathComponent()
            .appendingPathComponent(".\(workspace.root.lastPathComponent).removing-\(UUID().uuidString)")
        guard rename(workspace.root.path, aside.path) == 0 else {
            throw WorkspaceError.cannotWrite(path: workspace.root.path, reason: ProcessProbe.errorText(errno))
        }
        try removeTree(aside)
    }

    /// Deletes `url` and, for a real folder, everything in it; a symbolic link is
    /// unlinked, never followed (`lstat`), so nothing outside the tree is touched.
    static func removeTree(_ url: URL) throws {
        var info = stat()
        guard lstat(url.path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            for name in try FileManager.default.contentsOfDirectory(atPath: url.path) {
                try removeTree(url.appendingPathComponent(name))
            }
            guard rmdir(url.path) == 0 else { throw WorkspaceError.cannotWrite(path: url.path, reason: ProcessProbe.errorText(errno)) }
        } else if unlink(url.path) != 0 {
            throw WorkspaceError.cannotWrite(path: url.path, reason: ProcessProbe.errorText(errno))
        }
    }

    /// Removes outputs and records of items no longer in the plan, and scratch files.
    /// Takes the workspace lock so it never races a run. Returns the paths removed.
    public func removeOrphans(dryRun: Bool = false) throws -> [String] {
        let (lock, _) = try WorkspaceLock.acquire(directory: workspace.root, command: "synthset clean")
        defer { lock.release() }
        // An item's file and its companions (`<id16>.json` beside a procedural image,
        // `<id16>.stats.json` beside labels): every file whose name up to its first dot is
        // a planned item's.
        let keep = Set(plan.items.map(\.path))
        let stems = Set(plan.items.map { Self.stem($0.path) })
        var removed: [String] = []
        let outputs = workspace.url("outputs")
        if let enumerator = FileManager.default.enumerator(at: outputs, includingPropertiesForKeys: [.isDirectoryKey, .isSymbolicLinkKey]) {
            for case let url as URL in enumerator {
                let relative = workspace.relative(url)
                // A link counts as a file: removed itself, never descended into.
                let isLink = (try? url.resourceValues(forKeys: [.isSymbolicLinkKey]).isSymbolicLink) ?? false
                let isDirectory = !isLink && ((try? url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) ?? false)
                if isLink { enumerator.skipDescendants() }
                if keep.contains(relative) || (!isDirectory && stems.contains(Self.stem(relative))) {
                    if isDirectory { enumerator.skipDescendants() }
                    continue
                }
                if isDirectory {
                    if keep.contains(where: { $0.hasPrefix(relative + "/") }) { continue }
                    enumerator.skipDescendants()
                }
                removed.append(relative)
                if !dryRun { try Self.removeTree(url) }
            }
        }
        if FileManager.default.fileExists(atPath: workspace.store.path) {
            let store = try CheckpointStore(path: workspace.store)  // under the lock: may migrate
            let planned = Set(plan.items.map(\.id))
            let stale = try store.allItems().map(\.id).filter { !planned.contains($0) }
            if !dryRun { try store.deleteItems(ids: stale) }
        }
        if !dryRun { try? FileManager.default.removeItem(at: workspace.scratch) }
        return removed
    }
}

import Foundation
import WorkspaceStore
import Planning
import WorkflowSpec

/// A job file: what one cluster job runs, each element of a job array one task attempt.
/// Written by the coordinator on the shared file system; read by `synthset worker` on the
/// node. It carries the planned invocation of exactly the items to make, so the node
/// runs what the plan says without planning again.
struct ClusterJobFile: Codable, Sendable {
    static let currentFormat = "synthset-cluster-job/1"

    var format = Self.currentFormat
    /// The recipe, absolute, and the SHA-256 of its bytes at submission.
    var workflow: String
    var recipeSHA256: String
    var workspace: String
    var runID: Int64
    /// The plan's `hardware.gpu`, recorded with GPU items.
    var gpuModel: String?
    var graceSeconds: Double
    var elements: [Element]

    struct Element: Codable, Sendable {
        /// The task with only the items to make and the invocation for exactly those.
        var task: PlannedTask
        var attempt: Int
        /// The items to make, then the items they read (for their paths).
        var items: [PlannedItem]
        var inputs: [PlannedItem]
    }

    func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try encoder.encode(self).write(to: url, options: .atomic)
    }
}

/// Why a worker could not run its task.
public enum ClusterWorkerError: Error, Sendable, CustomStringConvertible {
    case unreadableJobFile(path: String, reason: String)
    case noElement(path: String, index: Int, count: Int)
    case recipeChanged(path: String)
    case recipeInvalid(path: String, problems: [Diagnostic])
    case unknownStep(String)

    public var description: String {
        switch self {
        case .unreadableJobFile(let path, let reason):
            "cannot read the job file \(path): \(reason); is the workspace on a file system the nodes share?"
        case .noElement(let path, let index, let count):
            "the job file \(path) has \(count) task(s), no element \(index) (SLURM_ARRAY_TASK_ID)"
        case .recipeChanged(let path):
            "\(path) changed since this job was submitted; the coordinator resubmits its items from the new plan"
        case .recipeInvalid(let path, let problems):
            "\(path) no longer loads: " + problems.filter { $0.severity == .error }.map(\.message).joined(separator: "; ")
        case .unknownStep(let step):
            "the recipe has no step '\(step)' any more; the coordinator resubmits from the new plan"
        }
    }
}

/// `synthset worker`: runs one task attempt of a cluster job on the node it landed on.
/// It writes verified outputs by temporary file and rename, exactly as a local run, and
/// records each item in a completion record (``CompletionRecords``); it never opens the
/// checkpoint store. Its GPUs are the ones Slurm gave the job (`CUDA_VISIBLE_DEVICES`).
public enum ClusterWorker {
    /// How the attempt ended, for the worker's exit code.
    public struct Outcome: Sendable {
        public var done: Int
        public var failed: Int
        public var interrupted: Bool
    }

    /// Runs element `index` of the job file (the array task id; 0 for a plain job).
    public static func run(jobFile path: URL, index: Int, environment: [String: String] = ProcessInfo.processInfo.environment,
                           events: @escaping @Sendable (RunEvent) -> Void) async throws -> Outcome {
        let job: ClusterJobFile
        do {
            job = try JSONDecoder().decode(ClusterJobFile.self, from: Data(contentsOf: path))
        } catch {
            throw ClusterWorkerError.unreadableJobFile(path: path.path, reason: "\(error)")
        }
        guard job.elements.indices.contains(index) else {
            throw ClusterWorkerError.noElement(path: path.path, index: index, count: job.elements.count)
        }
        let element = job.elements[index]
        let loaded = WorkflowLoader().load(file: job.workflow)
        guard let workflow = loaded.workflow else { throw ClusterWorkerError.recipeInvalid(path: job.workflow, problems: loaded.diagnostics) }
        guard workflow.sourceHash == job.recipeSHA256 else { throw ClusterWorkerError.recipeChanged(path: job.workflow) }
        guard workflow.plannedStep(element.task.step) != nil else { throw ClusterWorkerError.unknownStep(element.task.step) }
        let workspace = Workspace(root: URL(fileURLWithPath: job.workspace, isDirectory: true))
        let records = CompletionRecords(folder: CompletionRecords.folder(in: workspace, task: element.task.id, attempt: element.attempt))
        var items: [String: PlannedItem] = [:]
        for item in element.inputs + element.items { items[item.id] = item }
        // Scratch per job: a retry on another node never meets this attempt's leftovers.
        let jobID = environment["SLURM_JOB_ID"] ?? "\(getpid())"
        let runner = TaskRunner(workflow: workflow, recorder: records, runID: job.runID, workspace: workspace,
                                committer: OutputCommitter(workspace: workspace), items: items, gpuModel: job.gpuModel,
                                gracePeriod: .milliseconds(Int(job.graceSeconds * 1000)), retries: 0,
                                scratch: ScratchFolders(root: workspace.clusterScratch.appendingPathComponent(jobID, isDirectory: true)))
        let result = await runner.execute(index: 0, task: element.task, items: element.items, gpus: gpus(environment),
                                          attempt: element.attempt, events: events)
        try? FileManager.default.removeItem(at: workspace.clusterScratch.appendingPathComponent(jobID, isDirectory: true))
        return Outcome(done: result.done.count, failed: result.failures.count, interrupted: result.interrupted)
    }

    /// The GPU slots of the job: one per device Slurm bound to it (`CUDA_VISIBLE_DEVICES`),
    /// which ``VisibleDevices`` maps back to those devices (an index or a UUID each) for
    /// the tool; none when Slurm bound none.
    static func gpus(_ environment: [String: String]) -> [Int] {
        Array((VisibleDevices.parse(environment["CUDA_VISIBLE_DEVICES"]) ?? []).indices)
    }
}

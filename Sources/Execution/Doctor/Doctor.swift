import Foundation
import Planning
import WorkflowSpec
import WorkspaceStore

/// `synthset doctor`: is this machine ready to run a workflow's plan? Each tool's own
/// checks (``RunnableTool/doctorChecks(for:context:)``: its checkout, scripts,
/// interpreter imports, checkpoints), then the machine's: the GPUs nvidia-smi shows
/// against `hardware`, ffprobe where clips are checked, and free disk for the planned
/// outputs. Nothing is written.
public enum Doctor {
    /// One check's name and what it found.
    public struct Result: Sendable, Codable, Equatable {
        public var name: String
        public var status: DoctorOutcome.Status
        public var detail: String
        public var fix: String?
    }

    public struct Report: Sendable, Codable {
        public var checks: [Result]
        /// No check failed (warnings allowed).
        public var ok: Bool
    }

    /// Every check for the plan, tools' first (in step order), then the machine's; one per
    /// name.
    /// With a Slurm `executor`, the cluster's checks replace the local GPUs' (the login
    /// node running synthset has none; the jobs get theirs from Slurm).
    public static func checks(workflow: Workflow, plan: Plan, workspace: Workspace, executor: ExecutorSettings? = nil) -> [DoctorCheck] {
        let context = DoctorContext(workflow: workflow, plan: plan)
        var checks: [DoctorCheck] = []
        for step in workflow.steps {
            guard let tool = step.tool as? any RunnableTool else { continue }
            checks += tool.doctorChecks(for: step, context: context)
        }
        let executor = executor ?? workflow.executor ?? ExecutorSettings()
        if executor.kind == .slurm { checks += clusterChecks(workspace: workspace, settings: executor) }
        checks += machineChecks(workflow: workflow, plan: plan, workspace: workspace, localGPUs: executor.kind == .local)
        var seen = Set<String>()
        return checks.filter { seen.insert($0.name).inserted }
    }

    /// Runs the checks one after the other (their output order is the report's).
    public static func run(workflow: Workflow, plan: Plan, workspace: Workspace, executor: ExecutorSettings? = nil) async -> Report {
        var results: [Result] = []
        for check in checks(workflow: workflow, plan: plan, workspace: workspace, executor: executor) {
            let outcome = await check.probe()
            results.append(Result(name: check.name, status: outcome.status, detail: outcome.detail, fix: outcome.fix))
        }
        return Report(checks: results, ok: !results.contains { $0.status == .failed })
    }

    // MARK: the machine

    static func machineChecks(workflow: Workflow, plan: Plan, workspace: Workspace, localGPUs: Bool = true) -> [DoctorCheck] {
        var checks: [DoctorCheck] = []
        if localGPUs && plan.tasks.contains(where: { $0.device == .gpu }) { checks += gpuChecks(plan.hardware) }
        if plan.items.contains(where: { $0.kind == .video }) {
            checks.append(.program("machine: ffprobe (counts the frames of every clip)", "ffprobe", versionArguments: ["-version"],
                                   fix: "install ffmpeg, which brings ffprobe: apt-get install ffmpeg (or brew install ffmpeg)"))
        }
        checks.append(diskCheck(plan: plan, workspace: workspace))
        return checks
    }

    /// `--executor slurm`: Slurm's commands answer (``ClusterChecks/slurmCommands()``) and a
    /// test job sees the workspace (``ClusterChecks/sharedFilesystem(workspace:settings:timeout:)``).
    static func clusterChecks(workspace: Workspace, settings: ExecutorSettings) -> [DoctorCheck] {
        [
            DoctorCheck("cluster: Slurm commands (sbatch, squeue, scancel, scontrol)") {
                outcome(await ClusterChecks.slurmCommands(), ok: "on PATH, and squeue answers")
            },
            DoctorCheck("cluster: the workspace is visible from the compute nodes") {
                outcome(await ClusterChecks.sharedFilesystem(workspace: workspace, settings: settings),
                        ok: "a test job read a file written here in \(workspace.root.path)")
            },
        ]
    }

    /// A check's outcome from diagnostics: failed on an error, a warning on a warning,
    /// else ok (with any notes).
    static func outcome(_ diagnostics: [Diagnostic], ok: String) -> DoctorOutcome {
        let errors = diagnostics.filter { $0.severity == .error }, warnings = diagnostics.filter { $0.severity == .warning }
        if let first = errors.first {
            return .failed(errors.map(\.message).joined(separator: "; "), fix: first.hint ?? "see the message")
        }
        if let first = warnings.first {
            return .warning(warnings.map(\.message).joined(separator: "; "), fix: first.hint ?? "see the message")
        }
        let notes = diagnostics.map { $0.message + ($0.hint.map { " (\($0))" } ?? "") }
        return .ok(([ok] + notes).joined(separator: "; "))
    }

    /// nvidia-smi read once, then one check per thing `hardware` says: the driver
    /// answers, the GPU count, their model, their memory.
    static func gpuChecks(_ hardware: PlannedHardware, program: String = "nvidia-smi") -> [DoctorCheck] {
        let reading = Once { await GPUInventory.read(program: program) }
        let visible = VisibleDevices.current
        func check(_ name: String, _ kind: GPUCheck.Problem.Kind, ok: @escaping @Sendable ([GPUInfo]) -> String) -> DoctorCheck {
            DoctorCheck(name) {
                switch await reading.value() {
                case .noTool:
                    return .failed("nvidia-smi is not on PATH", fix: "install the NVIDIA driver (it brings nvidia-smi), or run doctor on the GPU machine")
                case .failed(let why):
                    return .failed(why, fix: "run nvidia-smi to see what is wrong (a driver/library version mismatch is fixed by a reboot)")
                case .gpus(let gpus):
                    let problems = GPUCheck.problems(hardware, gpus: gpus, visible: visible).filter { $0.kind == kind }
                    guard let first = problems.first else { return .ok(ok(VisibleDevices.filter(gpus, visible: visible))) }
                    return .failed(problems.map(\.message).joined(separator: "; "), fix: first.hint)
                }
            }
        }
        let declared = hardware.name ?? hardware.gpu ?? "the declared GPU"
        return [
            check("machine: nvidia-smi driver", .devices) { gpus in
                "driver \(gpus.first?.driver ?? "?"); \(gpus.count) GPU\(gpus.count == 1 ? "" : "s") visible"
                    + (visible.map { " (CUDA_VISIBLE_DEVICES=\($0.joined(separator: ",")))" } ?? "")
            },
            check("machine: GPU count (hardware.count \(hardware.count))", .count) { gpus in "\(gpus.count) usable, \(hardware.count) used at once" },
            check("machine: GPU model (hardware.gpu \(hardware.gpu ?? "?"))", .model) { gpus in
                "\(Set(gpus.prefix(hardware.count).map(\.name)).sorted().joined(separator: ", ")) matches \(declared)"
            },
            check("machine: GPU memory (\(hardware.vramGB.map { GPUCheck.format($0) } ?? "?") GB planned)", .memory) { gpus in
                gpus.prefix(hardware.count).map { "GPU \($0.index): \(GPUCheck.format($0.memoryGB)) GB" }.joined(separator: ", ")
            },
        ]
    }

    /// Sizes synthset assumes for outputs it cannot know before they exist (bytes):
    /// a Cosmos JPEG at 1360x768, a 93-frame 720p clip, a frame, a label file; a dataset
    /// copies each image three times (images/, pascal-voc/, edge-impulse/) where the file
    /// system cannot clone.
    static let assumedBytes: [ToolKind.Output: Int64] = [.image: 300_000, .video: 8_000_000, .labels: 10_000, .file: 1_000_000]

    /// Bytes the plan's items not yet done will take (``assumedBytes``).
    static func plannedBytes(_ plan: Plan, done: Set<String>) -> Int64 {
        var total: Int64 = 0
        for item in plan.items where !done.contains(item.id) {
            if item.kind == .dataset {
                total += Int64(item.inputs.count) * 3 * (assumedBytes[.image] ?? 0)
            } else if let bytes = assumedBytes[item.kind] {
                total += bytes
            }
        }
        return total
    }

    /// Free bytes of the file system holding `folder`, nil when it cannot be read.
    static func freeBytes(_ folder: URL) -> Int64? {
        ((try? FileManager.default.attributesOfFileSystem(forPath: folder.path))?[.systemFreeSize] as? NSNumber)?.int64Value
    }

    static func diskCheck(plan: Plan, workspace: Workspace, free freeBytes: @escaping @Sendable (URL) -> Int64? = freeBytes) -> DoctorCheck {
        DoctorCheck("machine: free disk for the planned outputs") {
            let done = (try? workspace.doneItemsIfAny(of: plan)) ?? []
            let needed = plannedBytes(plan, done: done)
            // The workspace may not exist yet: its nearest existing folder's file system.
            var folder = workspace.root
            while !FileManager.default.fileExists(atPath: folder.path) && folder.path != "/" { folder.deleteLastPathComponent() }
            guard let free = freeBytes(folder) else {
                return .warning("cannot read the free space of \(folder.path)", fix: "check the disk with df -h \(folder.path)")
            }
            let gb = { (bytes: Int64) in String(format: "%.1f GB", Double(bytes) / 1e9) }
            let detail = "about \(gb(needed)) to write (assumed sizes), \(gb(free)) free on \(folder.path)"
            if free < needed + needed / 5 {
                return .failed(detail, fix: "free \(gb(needed + needed / 5 - free)) there, or run with --workspace on a bigger disk")
            }
            return .ok(detail)
        }
    }
}

/// A value computed once, the first time it is asked for, shared by every asker.
actor Once<Value: Sendable> {
    private let work: @Sendable () async -> Value
    private var task: Task<Value, Never>?

    init(_ work: @escaping @Sendable () async -> Value) {
        self.work = work
    }

    func value() async -> Value {
        if let task { return await task.value }
        let started = Task { await work() }
        task = started
        return await started.value
    }
}

import Foundation
import WorkflowSpec

/// One output artifact: an image, a clip, a frame, a label file, a dataset.
public struct PlannedItem: Sendable, Codable, Hashable, Identifiable {
    public var id: String
    public var step: String
    public var kind: ToolKind.Output
    public var seed: Int?
    public var prompt: String?
    public var negative: String?
    /// Which prompt it came from, for people: `can_line[3]`, `inline`, `inherited`.
    public var promptRef: String?
    public var inputs: [String]
    public var frameIndex: Int?
    /// Output path relative to the workspace.
    public var path: String
    public var signature: ItemSignature

    enum CodingKeys: String, CodingKey {
        case id, step, kind, seed, prompt, negative, inputs, path, signature
        case promptRef = "prompt_ref"
        case frameIndex = "frame_index"
    }
}

/// One tool invocation producing a batch of items.
public struct PlannedTask: Sendable, Codable, Hashable, Identifiable {
    public var id: String
    public var step: String
    public var uses: ToolKind
    public var model: String?
    /// The seed of the whole batch, for tools that take one `--seed` per invocation.
    public var seed: Int?
    public var items: [String]
    /// Tasks whose items this task reads.
    public var dependsOn: [String]
    public var device: ToolKind.Device
    /// GPUs one invocation occupies.
    public var gpus: Int
    /// VRAM one invocation needs per GPU, when known.
    public var vramGB: Double?
    /// Estimated seconds: model load plus items times seconds per item.
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case id, step, uses, model, seed, items, device, gpus, seconds
        case dependsOn = "depends_on"
        case vramGB = "vram_gb"
    }
}

/// Per-step summary: counts, figures and the VRAM check.
public struct StepPlan: Sendable, Codable, Hashable {
    public enum VRAMFit: String, Sendable, Codable, Hashable {
        case fits, misfit, unknown
        case notApplicable = "n/a"
    }

    public var id: String
    public var uses: ToolKind
    public var model: String?
    public var from: [String]
    public var device: ToolKind.Device
    public var items: Int
    public var tasks: Int
    public var modelLoads: Int
    public var gpuHours: Double
    /// Seconds of busy time (GPU or CPU) for the step.
    public var busySeconds: Double
    public var vramNeededGB: Double?
    public var vramFit: VRAMFit
    public var secondsPerItem: Figure?
    public var loadSeconds: Figure?

    enum CodingKeys: String, CodingKey {
        case id, uses, model, from, device, items, tasks
        case modelLoads = "model_loads"
        case gpuHours = "gpu_hours"
        case busySeconds = "busy_seconds"
        case vramNeededGB = "vram_needed_gb"
        case vramFit = "vram_fit"
        case secondsPerItem = "seconds_per_item"
        case loadSeconds = "load_seconds"
    }
}

/// The hardware a plan was made for, after `--gpu`/`--gpus` and manifest overrides.
public struct PlannedHardware: Sendable, Codable, Hashable {
    public var gpu: String?
    public var name: String?
    public var count: Int
    public var vramGB: Double?
    public var pricePerGPUHour: Double?
    public var cpuSlots: Int

    enum CodingKeys: String, CodingKey {
        case gpu, name, count
        case vramGB = "vram_gb"
        case pricePerGPUHour = "price_per_gpu_hour"
        case cpuSlots = "cpu_slots"
    }
}

public struct PlanTotals: Sendable, Codable, Hashable {
    public var items: Int
    public var tasks: Int
    public var modelLoads: Int
    public var gpuHours: Double
    /// Wall-clock hours from scheduling the task DAG on the GPU and CPU slots.
    public var wallHours: Double
    /// Dollars: GPU-hours times the price per GPU-hour (nil without a price).
    public var cost: Double?

    enum CodingKeys: String, CodingKey {
        case items, tasks, cost
        case modelLoads = "model_loads"
        case gpuHours = "gpu_hours"
        case wallHours = "wall_hours"
    }
}

/// The plan: every item and task, the step DAG and estimates. A value made without I/O
/// (beyond the prompt files the loader read); the executor only consumes it.
public struct Plan: Sendable, Codable, Hashable {
    /// The plan JSON's format id; bumped on incompatible changes.
    public static let format = "synthset-plan/1"

    public var format: String = Plan.format
    public var workflow: String
    public var manifestSHA256: String
    public var catalogVersion: String
    public var hardware: PlannedHardware
    public var steps: [StepPlan]
    public var items: [PlannedItem]
    public var tasks: [PlannedTask]
    public var totals: PlanTotals
    public var diagnostics: [Diagnostic]

    enum CodingKeys: String, CodingKey {
        case format, workflow, hardware, steps, items, tasks, totals, diagnostics
        case manifestSHA256 = "manifest_sha256"
        case catalogVersion = "catalog_version"
    }

    /// A hash of the item ids in order: equal plans produce equal datasets.
    public var hash: String { ContentHash.sha256(items.map(\.id).joined(separator: "\n")) }

    public func itemsByID() -> [String: PlannedItem] {
        Dictionary(items.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

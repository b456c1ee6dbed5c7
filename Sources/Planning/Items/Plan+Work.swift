import Foundation

/// What producing some of a plan's items costs: per step the items, the invocations
/// they need and their GPU-hours, with totals and dollars. The answer to "what will this
/// run do" (the items not done yet) and "what does this change cost" (the items a recipe
/// change adds or changes), priced the way the plan prices whole steps.
public struct WorkEstimate: Sendable, Codable, Hashable {
    public struct StepWork: Sendable, Codable, Hashable {
        public var step: String
        public var items: Int
        /// Tool invocations that hold at least one of the items.
        public var invocations: Int
        /// Zero for CPU steps and for steps left out of the estimate.
        public var gpuHours: Double

        enum CodingKeys: String, CodingKey {
            case step, items, invocations
            case gpuHours = "gpu_hours"
        }
    }

    /// Steps with work, in plan order.
    public var steps: [StepWork]
    public var items: Int
    public var invocations: Int
    public var gpuHours: Double
    /// Dollars at the plan's price per GPU-hour (nil without a price).
    public var cost: Double?

    enum CodingKeys: String, CodingKey {
        case steps, items, invocations, cost
        case gpuHours = "gpu_hours"
    }
}

extension Plan {
    /// The cost of producing `selected` (item ids): every task holding `k` of them is one
    /// invocation of `load + k x per item` seconds on its GPUs, as the executor runs a
    /// resumed task with only its missing items.
    public func work(items selected: Set<String>) -> WorkEstimate {
        let stepPlans = Dictionary(steps.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var byStep: [String: WorkEstimate.StepWork] = [:]
        for task in tasks {
            let count = selected.isEmpty ? 0 : task.items.reduce(0) { $0 + (selected.contains($1) ? 1 : 0) }
            guard count > 0 else { continue }
            var entry = byStep[task.step] ?? WorkEstimate.StepWork(step: task.step, items: 0, invocations: 0, gpuHours: 0)
            entry.items += count
            entry.invocations += 1
            if task.device == .gpu, let step = stepPlans[task.step], let perItem = step.secondsPerItem?.value {
                let seconds = (step.loadSeconds?.value ?? 0) + Double(count) * perItem
                entry.gpuHours += seconds * Double(max(1, task.gpus)) / 3600
            }
            byStep[task.step] = entry
        }
        let ordered = steps.compactMap { byStep[$0.id] }
        let gpuHours = ordered.reduce(0) { $0 + $1.gpuHours }
        return WorkEstimate(steps: ordered, items: ordered.reduce(0) { $0 + $1.items },
                            invocations: ordered.reduce(0) { $0 + $1.invocations }, gpuHours: gpuHours,
                            cost: hardware.pricePerGPUHour.map { $0 * gpuHours })
    }
}

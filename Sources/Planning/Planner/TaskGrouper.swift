import WorkflowSpec

/// Groups a step's items into tool invocations the way the tool can take them.
enum TaskGrouper {
    static func group(step: Step, items: [PlannedItem], itemIndex: [String: PlannedItem], producer: [String: String],
                      perItem: Double, load: Double, vram: Double?, gpus: Int) -> [PlannedTask] {
        let maxBatch = step.maxBatch ?? Planner.defaultMaxBatch(step.uses)
        var groups: [[PlannedItem]] = []
        switch step.uses {
        case .text2image, .video2world, .text2world:
            // One --seed and one --negative_prompt per invocation (cosmos-predict2.md:
            // every batch item is re-seeded with the same seed).
            groups = orderedGroups(items) { "\($0.seed ?? 0)\u{1}\($0.negative ?? "")" }
        case .video2worldBestOfN, .export, .edgeImpulseUpload:
            groups = items.map { [$0] }
        case .extractFrames:
            groups = orderedGroups(items) { $0.inputs.first ?? "" }
        case .command:
            groups = step.command?.granularity == .batch ? [items] : items.map { [$0] }
        case .predict25Text2World, .predict25Image2World, .predict25Video2World, .proceduralScenes, .label:
            groups = [items]
        }
        let chunked: [[PlannedItem]]
        switch step.uses {
        case .extractFrames, .export, .edgeImpulseUpload, .video2worldBestOfN: chunked = groups
        default: chunked = groups.flatMap { chunk($0, size: maxBatch) }
        }
        let isGPU = step.device == .gpu
        return chunked.filter { !$0.isEmpty }.map { batch in
            let ids = batch.map(\.id)
            var dependencies: [String] = []
            var seen = Set<String>()
            for item in batch {
                for input in item.inputs {
                    if let task = producer[input], seen.insert(task).inserted { dependencies.append(task) }
                }
            }
            let seed = step.uses.seedsPerSample ? nil : batch.first?.seed
            return PlannedTask(
                id: String(ContentHash.sha256("task\n" + ids.joined(separator: "\n")).prefix(16)),
                step: step.id, uses: step.uses, model: step.model, seed: seed, items: ids,
                dependsOn: dependencies, device: step.device,
                gpus: isGPU ? gpus : 0, vramGB: isGPU ? vram : nil,
                seconds: load + Double(batch.count) * perItem)
        }
    }

    /// Groups by key, groups in order of first appearance, items in their order.
    static func orderedGroups(_ items: [PlannedItem], key: (PlannedItem) -> String) -> [[PlannedItem]] {
        var order: [String] = []
        var groups: [String: [PlannedItem]] = [:]
        for item in items {
            let k = key(item)
            if groups[k] == nil { order.append(k) }
            groups[k, default: []].append(item)
        }
        return order.map { groups[$0]! }
    }

    static func chunk(_ items: [PlannedItem], size: Int) -> [[PlannedItem]] {
        stride(from: 0, to: items.count, by: max(1, size)).map { Array(items[$0..<min($0 + max(1, size), items.count)]) }
    }
}

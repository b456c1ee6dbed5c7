import Basics
import Crypto
import WorkflowSpec

/// Groups a step's items into tool invocations the way the tool can take them
/// (``PlanningTool/groupItems(_:of:)``), split by `max_batch`.
package enum TaskGrouper {
    struct Grouped {
        var tasks: [PlannedTask]
        /// The items of each task, as indices into the step's items.
        var members: [[Int]]
    }

    /// `producer` gives the index of the task that makes an upstream item, `taskID` a
    /// task's id from its index.
    static func group(step: Step, items: [PlannedItem], producer: (String) -> Int?, taskID: (Int) -> String,
                      perItem: Double, load: Double, vram: Double?, gpus: Int, gpuSlots: Int) -> Grouped {
        let groups = step.planning.groupItems(items, of: step)
        // Tools with a fixed grouping take no `max_batch`; the others' groups are split by it.
        let limit = step.planning.batchLimit(step, items: items.count, gpuSlots: gpuSlots)
        let chunked = limit.map { size in groups.flatMap { chunk($0, size: size) } } ?? groups
        let members = chunked.filter { !$0.isEmpty }
        let isGPU = step.device == .gpu
        let tasks = members.map { batch in
            var dependencies: [Int] = []
            var seen = Set<Int>()
            for index in batch {
                for input in items[index].inputs {
                    if let task = producer(input), seen.insert(task).inserted { dependencies.append(task) }
                }
            }
            let ids = batch.map { items[$0].id }
            let seed = step.tool.seedsPerSample ? nil : batch.first.flatMap { items[$0].seed }
            return PlannedTask(
                id: hashID(ids), step: step.id, uses: step.uses, model: step.model, seed: seed, items: ids,
                dependsOn: dependencies.map(taskID), device: step.device,
                gpus: isGPU ? gpus : 0, vramGB: isGPU ? vram : nil,
                seconds: load + Double(batch.count) * perItem, invocation: nil)
        }
        return Grouped(tasks: tasks, members: members)
    }

    /// The first 16 hex digits of SHA-256 over "task\n" and the item ids joined by "\n",
    /// hashed piece by piece instead of joined first.
    static func hashID(_ ids: [String]) -> String {
        var hasher = SHA256()
        hasher.update(data: Array("task\n".utf8))
        for (index, id) in ids.enumerated() {
            if index > 0 { hasher.update(data: [UInt8(ascii: "\n")]) }
            var id = id
            id.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        }
        return String(ContentHash.hex(hasher.finalize()).prefix(16))
    }

    package struct SeedAndNegative: Hashable {
        package var seed: Int
        package var negative: String
        package init(seed: Int, negative: String) { self.seed = seed; self.negative = negative }
    }

    /// Groups by key, groups in order of first appearance, items in their order.
    package static func orderedGroups<Key: Hashable>(_ items: [PlannedItem], key: (PlannedItem) -> Key) -> [[Int]] {
        var groups: [[Int]] = []
        var groupOf: [Key: Int] = [:]
        var last: (key: Key, group: Int)?
        for index in items.indices {
            let k = key(items[index])
            // Neighbours mostly share a key: skip the lookup for them.
            if let last, last.key == k {
                groups[last.group].append(index)
                continue
            }
            let group = groupOf[k] ?? {
                groups.append([])
                groupOf[k] = groups.count - 1
                return groups.count - 1
            }()
            groups[group].append(index)
            last = (k, group)
        }
        return groups
    }

    static func chunk(_ items: [Int], size: Int) -> [[Int]] {
        stride(from: 0, to: items.count, by: max(1, size)).map { Array(items[$0..<min($0 + max(1, size), items.count)]) }
    }
}

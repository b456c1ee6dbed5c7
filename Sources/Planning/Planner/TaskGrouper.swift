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

    /// `producers` finds the task that makes an upstream item; `taskIDs` are the ids of the
    /// tasks planned so far, by index.
    ///
    /// The inputs' producers are found on every core, and the tasks are built on every core:
    /// for a million items, finding them one after the other was the longest stretch of
    /// planning that used one core.
    static func group(step: Step, items: [PlannedItem], producers: Producers, taskIDs: [String],
                      perItem: Double, load: Double, vram: Double?, gpus: Int, gpuSlots: Int) -> Grouped {
        let groups = step.planning.groupItems(items, of: step)
        // Tools with a fixed grouping take no `max_batch`; the others' groups are split by it.
        let limit = step.planning.batchLimit(step, items: items.count, gpuSlots: gpuSlots)
        let chunked = limit.map { size in groups.flatMap { chunk($0, size: size) } } ?? groups
        let members = chunked.filter { !$0.isEmpty }
        let isGPU = step.device == .gpu
        let seedsPerSample = step.tool.seedsPerSample
        let tasks = items.withUnsafeBufferPointer { buffer in
            let dependencies = dependencies(of: members, items: buffer, producers: producers)
            let items = UncheckedSendable(buffer)
            return Parallel.map(members.count) { task -> PlannedTask in
                let batch = members[task], items = items.value
                let ids = batch.map { items[$0].id }
                let seed = seedsPerSample ? nil : batch.first.flatMap { items[$0].seed }
                return PlannedTask(
                    id: hashID(ids), step: step.id, uses: step.uses, model: step.model, seed: seed, items: ids,
                    dependsOn: dependencies[task].map { taskIDs[$0] }, device: step.device,
                    gpus: isGPU ? gpus : 0, vramGB: isGPU ? vram : nil,
                    seconds: load + Double(batch.count) * perItem, invocation: nil)
            }
        }
        return Grouped(tasks: tasks, members: members)
    }

    /// Finds the task that makes an item of the plan from its id: through the plan's index
    /// of items, or, first, at the position after the last one found for the same input
    /// (a step's items mostly read their upstream items in order: image i, then i + 1).
    ///
    /// `@unchecked Sendable`: it holds read-only views of the planner's arrays, which the
    /// planner keeps alive and unchanged while it waits for the grouping to return.
    struct Producers: @unchecked Sendable {
        let items: UnsafeBufferPointer<PlannedItem>
        let index: ItemIndex
        /// The index of the task that makes each item, by the item's position; -1 for none.
        let taskOfItem: UnsafeBufferPointer<Int>

        /// For a step that reads nothing planned (the other runner's grouping).
        static let none = Producers(items: UnsafeBufferPointer(start: nil, count: 0), index: ItemIndex(),
                                    taskOfItem: UnsafeBufferPointer(start: nil, count: 0))

        /// The task that makes `id`, trying `guess` before the index; `guess` moves to the
        /// position after the one found.
        func task(of id: String, guess: inout Int) -> Int? {
            let position: Int
            if guess >= 0, guess < items.count, items[guess].id == id {
                position = guess
            } else {
                guard let found = index.find(id, in: items) else { return nil }
                position = found
            }
            guess = position + 1
            let task = taskOfItem[position]
            return task >= 0 ? task : nil
        }
    }

    /// The tasks each task reads from, as indices into the plan's tasks, each once, in the
    /// order its items' inputs first name them. The inputs of all the tasks are looked up
    /// as one run split among the cores, so that one task over every upstream item (an
    /// export) is spread too.
    static func dependencies(of members: [[Int]], items: UnsafeBufferPointer<PlannedItem>, producers: Producers) -> [[Int]] {
        // Every input in task order, then item order: where each item's inputs start.
        let order = members.flatMap { $0 }
        var inputStart: [Int] = []
        inputStart.reserveCapacity(order.count + 1)
        var total = 0
        for index in order {
            inputStart.append(total)
            total += items[index].inputs.count
        }
        inputStart.append(total)
        guard total > 0 else { return members.map { _ in [] } }
        let runs = Parallel.runs(total)
        let sendableItems = UncheckedSendable(items)
        let found = Parallel.map(runs.count) { [inputStart] run -> [Int] in
            let items = sendableItems.value, range = runs[run]
            var tasks: [Int] = []
            tasks.reserveCapacity(range.count)
            // The item holding the run's first input, then on through the run.
            var item = firstAbove(range.lowerBound, in: inputStart) - 1
            var guesses = [-1, -1, -1, -1]
            var flat = range.lowerBound
            while flat < range.upperBound {
                let inputs = items[order[item]].inputs
                var input = flat - inputStart[item]
                while input < inputs.count, flat < range.upperBound {
                    tasks.append(producers.task(of: inputs[input], guess: &guesses[min(input, guesses.count - 1)]) ?? -1)
                    input += 1
                    flat += 1
                }
                item += 1
            }
            return tasks
        }.flatMap { $0 }
        var itemStart = 0
        return members.map { batch in
            var dependencies: [Int] = []
            var seen = Set<Int>()
            for task in found[inputStart[itemStart]..<inputStart[itemStart + batch.count]] where task >= 0 {
                // A few dependencies are searched; past that, a set.
                if dependencies.count < 16 {
                    if !dependencies.contains(task) { dependencies.append(task) }
                    if dependencies.count == 16 { seen = Set(dependencies) }
                } else if seen.insert(task).inserted {
                    dependencies.append(task)
                }
            }
            itemStart += batch.count
            return dependencies
        }
    }

    /// The index of the first value above `value` in ascending `sorted`; its count when none is.
    static func firstAbove(_ value: Int, in sorted: [Int]) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] > value { high = middle } else { low = middle + 1 }
        }
        return low
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
        // The buffer hands `key` each item in place; the array's subscript copies it.
        items.withUnsafeBufferPointer { items in
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
        }
        return groups
    }

    static func chunk(_ items: [Int], size: Int) -> [[Int]] {
        stride(from: 0, to: items.count, by: max(1, size)).map { Array(items[$0..<min($0 + max(1, size), items.count)]) }
    }
}

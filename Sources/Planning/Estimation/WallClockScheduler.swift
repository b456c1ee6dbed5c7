import WorkflowSpec

/// Estimates wall-clock time by list-scheduling the task DAG on GPU and CPU slots, not by
/// dividing GPU-hours by the GPU count.
///
/// Ready tasks start in order of their bottom level (the longest path from the task to
/// the end of the DAG, the classic critical-path priority). A GPU task takes `gpus`
/// slots (at most the GPUs there are); network tasks run unbounded. O(T log T + E).
public enum WallClockScheduler {
    public static func makespan(tasks: [PlannedTask], gpuSlots: Int, cpuSlots: Int) -> Double {
        guard !tasks.isEmpty else { return 0 }
        let index = Dictionary(tasks.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
        var dependents = [[Int]](repeating: [], count: tasks.count)
        var waiting = [Int](repeating: 0, count: tasks.count)
        for (i, task) in tasks.enumerated() {
            let deps = Set(task.dependsOn.compactMap { index[$0] })
            waiting[i] = deps.count
            for dep in deps { dependents[dep].append(i) }
        }
        // Tasks arrive in topological order, so bottom levels fill in reverse.
        var bottom = [Double](repeating: 0, count: tasks.count)
        for i in tasks.indices.reversed() {
            bottom[i] = tasks[i].seconds + (dependents[i].map { bottom[$0] }.max() ?? 0)
        }
        let gpuTotal = max(1, gpuSlots)
        var free: [ToolKind.Device: Int] = [.gpu: gpuTotal, .cpu: max(1, cpuSlots), .network: Int.max]
        var ready: [ToolKind.Device: Heap<Int>] = [:]
        for device in [ToolKind.Device.gpu, .cpu, .network] {
            ready[device] = Heap { bottom[$0] > bottom[$1] || (bottom[$0] == bottom[$1] && $0 < $1) }
        }
        var running = Heap<(end: Double, task: Int)> { $0.end < $1.end || ($0.end == $1.end && $0.task < $1.task) }
        func need(_ i: Int) -> Int { tasks[i].device == .gpu ? min(max(1, tasks[i].gpus), gpuTotal) : 1 }
        for i in tasks.indices where waiting[i] == 0 { ready[tasks[i].device]!.push(i) }
        var now = 0.0
        var finished = 0
        while finished < tasks.count {
            for device in [ToolKind.Device.gpu, .cpu, .network] {
                while let top = ready[device]!.peek, need(top) <= free[device]! {
                    _ = ready[device]!.pop()
                    if device != .network { free[device]! -= need(top) }
                    running.push((now + tasks[top].seconds, top))
                }
            }
            guard let next = running.pop() else { break }
            now = next.end
            finished += 1
            if tasks[next.task].device != .network { free[tasks[next.task].device]! += need(next.task) }
            for dependent in dependents[next.task] {
                waiting[dependent] -= 1
                if waiting[dependent] == 0 { ready[tasks[dependent].device]!.push(dependent) }
            }
        }
        return now
    }
}

/// A binary heap ordered by `areInOrder` (the first element is the one that sorts first).
struct Heap<Element> {
    private var storage: [Element] = []
    private let areInOrder: (Element, Element) -> Bool

    init(_ areInOrder: @escaping (Element, Element) -> Bool) {
        self.areInOrder = areInOrder
    }

    var peek: Element? { storage.first }
    var isEmpty: Bool { storage.isEmpty }

    mutating func push(_ element: Element) {
        storage.append(element)
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard areInOrder(storage[child], storage[parent]) else { break }
            storage.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Element? {
        guard !storage.isEmpty else { return nil }
        storage.swapAt(0, storage.count - 1)
        let top = storage.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var first = parent
            if left < storage.count, areInOrder(storage[left], storage[first]) { first = left }
            if right < storage.count, areInOrder(storage[right], storage[first]) { first = right }
            if first == parent { break }
            storage.swapAt(parent, first)
            parent = first
        }
        return top
    }
}

import Basics
import WorkflowSpec

/// What builds the invocations of a plan's tasks (``PlannedTask/invocation``), one task at
/// a time, on any thread: the index of the plan's items by id and each task's items by
/// position are made once, up front.
///
/// A task as large as a tenth of the plan (an export: one item over 100,000 inputs) is built
/// up front too, alone, its own work on every core: built among the others, inside a map
/// over tasks, it would run on one core. The rest are built when asked for, so that
/// `plan --format json` builds, writes and frees each in turn instead of holding a hundred
/// thousand items' batch files at once.
package final class PlanInvocations: Sendable {
    private let workflow: Workflow
    private let tasks: [PlannedTask]
    private let items: [PlannedItem]
    private let index: ItemIndex
    /// Each task's items, by position in `items`.
    private let positions: [[Int]]
    /// The large tasks' invocations, by task position.
    private let prebuilt: [Int: TaskInvocation]

    /// `aloneFrom` is the weight (items made plus inputs read) from which a task is built up
    /// front: by default a tenth of the plan's items, and at least 10,000.
    package init(_ plan: Plan, workflow: Workflow, aloneFrom: Int? = nil) {
        self.workflow = workflow
        tasks = plan.tasks
        let allItems = plan.items
        items = allItems
        // Items by id through an index into the plan's items rather than a dictionary of
        // item copies: cheaper to build for every item and to query for every input.
        var index = ItemIndex()
        allItems.withUnsafeBufferPointer { _ = index.insert(0..<$0.count, of: $0) }
        self.index = index
        // Each task's items, by position: a task's items are consecutive in the plan as a
        // rule, so the one after the last found is tried before the index.
        let tasks = plan.tasks
        // Read in place: the array's subscript copies the whole item to compare its id.
        let (positions, weights) = allItems.withUnsafeBufferPointer { buffer in
            let items = UncheckedSendable(buffer)
            let positions = Parallel.map(tasks.count) { [index] taskIndex -> [Int] in
                let items = items.value
                var found: [Int] = []
                found.reserveCapacity(tasks[taskIndex].items.count)
                var next = -1
                for id in tasks[taskIndex].items {
                    let position = next >= 0 && next < items.count && items[next].id == id ? next : index.find(id, in: allItems)
                    guard let position else { continue }
                    found.append(position)
                    next = position + 1
                }
                return found
            }
            // What building a task costs goes with the items it makes and the inputs they read.
            return (positions, positions.map { $0.reduce(0) { $0 + 1 + buffer[$1].inputs.count } })
        }
        self.positions = positions
        let large = aloneFrom ?? max(10_000, allItems.count / 10)
        var prebuilt: [Int: TaskInvocation] = [:]
        for (taskIndex, found) in positions.enumerated() where weights[taskIndex] >= large {
            prebuilt[taskIndex] = Self.build(tasks[taskIndex], positions: found, items: allItems, index: index, workflow: workflow)
        }
        self.prebuilt = prebuilt
    }

    /// The invocation of the task at `taskIndex` in the plan; nil for a task whose step the
    /// workflow does not plan.
    package func invocation(at taskIndex: Int) -> TaskInvocation? {
        if let built = prebuilt[taskIndex] { return built }
        return Self.build(tasks[taskIndex], positions: positions[taskIndex], items: items, index: index, workflow: workflow)
    }

    private static func build(_ task: PlannedTask, positions: [Int], items: [PlannedItem], index: ItemIndex,
                              workflow: Workflow) -> TaskInvocation? {
        guard let step = workflow.plannedStep(task.step) else { return nil }
        let context = InvocationContext(workflow: workflow, step: step, planned: items,
                                        position: { [index] id in index.find(id, in: items) })
        return step.planning.invocation(for: positions.map { items[$0] }, context: context)
    }
}

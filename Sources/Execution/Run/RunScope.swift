import Basics
import Foundation
import Planning
import Synchronization
import WorkflowSpec
import WorkspaceStore

/// Which of a plan's items a run is to make: everything not done, narrowed by `--only`
/// and `--until`, widened by `--forcerun`. Both `run` and `run --dry-run` use it, so the
/// dry run shows exactly what the run would do.
public struct RunScope: Sendable {
    /// Manifest step ids the run may run; nil: every step.
    public var steps: Set<String>?
    /// Items to make again although they are done (`--forcerun` steps and everything
    /// downstream of them).
    public var forced: Set<String>
    /// Items not done, or forced, in the steps in scope.
    public var toDo: Set<String>

    /// Steps `id` reads from, transitively, and `id` itself (manifest ids).
    static func needs(_ id: String, in workflow: Workflow) -> Set<String> {
        var seen: Set<String> = []
        var stack = [id]
        while let next = stack.popLast() {
            guard seen.insert(next).inserted else { continue }
            stack += workflow.step(next)?.from ?? []
        }
        return seen
    }

    /// Steps that read from any of `ids`, transitively, and `ids` themselves.
    static func dependents(of ids: Set<String>, in workflow: Workflow) -> Set<String> {
        var result = ids
        var changed = true
        while changed {
            changed = false
            for step in workflow.steps where !result.contains(step.id) && step.from.contains(where: result.contains) {
                result.insert(step.id)
                changed = true
            }
        }
        return result
    }

    /// The steps a run may run (nil: every step) and the steps it redoes, with errors for
    /// unknown step names: the part of the scope that does not look at items.
    public static func stepScope(workflow: Workflow, options: RunOptions) -> (steps: Set<String>?, forcedSteps: Set<String>, errors: [Diagnostic]) {
        var errors: [Diagnostic] = []
        let known = workflow.steps.map(\.id)
        for (flag, names) in [("--only", options.only.sorted()), ("--forcerun", options.forcerun.sorted()),
                              ("--until", options.until.map { [$0] } ?? [])] {
            let unknown = names.filter { workflow.step($0) == nil }
            if !unknown.isEmpty {
                errors.append(Diagnostic(.error, "unknown step\(unknown.count == 1 ? "" : "s") in \(flag): \(unknown.joined(separator: ", "))",
                                         hint: "steps are: \(known.joined(separator: ", "))"))
            }
        }
        var steps: Set<String>?
        if !options.only.isEmpty { steps = options.only }
        if let until = options.until, workflow.step(until) != nil {
            let needed = needs(until, in: workflow)
            steps = steps.map { $0.intersection(needed) } ?? needed
        }
        let forcedSteps = dependents(of: options.forcerun.filter { workflow.step($0) != nil }, in: workflow)
        return (steps, forcedSteps, errors)
    }

    /// The scope of a run. Errors name unknown steps, and `--only` steps whose inputs are
    /// neither done nor made by the run (with the step that makes them and how to fix it).
    public static func make(plan: Plan, workflow: Workflow, options: RunOptions, done: Set<String>) -> (scope: RunScope, errors: [Diagnostic]) {
        let (steps, forcedSteps, stepErrors) = stepScope(workflow: workflow, options: options)
        var errors = stepErrors
        var forced: Set<String> = []
        var toDo: Set<String> = []
        // What an item's step decides, worked out once per step (a step's items are
        // consecutive) instead of once per item.
        var last: (step: String, inScope: Bool, isForced: Bool)?
        let items = plan.items
        for index in items.indices {  // fields read in place: a copy of each item retains a dozen references
            if last?.step != items[index].step {
                let step = workflow.manifestStepID(items[index].step)
                last = (items[index].step, steps?.contains(step) ?? true, forcedSteps.contains(step))
            }
            guard let (_, inScope, isForced) = last, inScope else { continue }
            let id = items[index].id
            if isForced { forced.insert(id) }
            if isForced || !done.contains(id) { toDo.insert(id) }
        }
        let scope = RunScope(steps: steps, forced: forced, toDo: toDo)
        // `--only` runs no producer outside its steps: inputs must be done already.
        if !options.only.isEmpty, errors.isEmpty {
            let byID = plan.itemsByID()
            var missing: [String: [String: Int]] = [:]  // step -> producing step -> missing inputs
            for item in plan.items where toDo.contains(item.id) {
                for input in item.inputs where !toDo.contains(input) && (!done.contains(input) || forced.contains(input)) {
                    guard let producer = byID[input] else { continue }
                    missing[workflow.manifestStepID(item.step), default: [:]][workflow.manifestStepID(producer.step), default: 0] += 1
                }
            }
            for (step, producers) in missing.sorted(by: { $0.key < $1.key }) {
                let text = producers.sorted { $0.key < $1.key }.map { "\($0.value) from step '\($0.key)'" }.joined(separator: ", ")
                errors.append(Diagnostic(.error, "--only \(step): its inputs are not made yet (\(text))",
                                         hint: "run those steps first, add them to --only, or use --until \(step) to make what it needs",
                                         at: workflow.location(of: "steps.\(step)")))
            }
        }
        return (scope, errors)
    }
}

extension Workspace {
    /// The plan's items recorded as done whose output is still there with the recorded
    /// size (a dataset folder counts as there), and whose companions and folder files
    /// are too: what a run would not redo.
    public func doneItems(of plan: Plan, store: CheckpointStore) throws -> Set<String> {
        // One query for every done output and one stat(2) per file: at 100,000 items,
        // decoding whole records and FileManager's attribute dictionaries (which look up
        // owner and group names) were most of a no-op re-run. Hashing is `verify`'s job.
        let recorded = try store.doneOutputs(hashes: false)
        // The records of companions and folders' files are read while the main outputs
        // are looked at (a second core would otherwise wait for the query).
        let filesRead = DispatchGroup(), filesResult = Mutex<Result<[String: [(path: String, bytes: Int64)]], any Error>?>(nil)
        DispatchQueue.global().async(group: filesRead) {
            let result = Result { try store.recordedFileSizes() }
            filesResult.withLock { $0 = result }
        }
        let base = root.path.hasSuffix("/") ? root.path : root.path + "/"
        // Paths relative to the workspace, looked up from it held open.
        let folder = FileStatus.Folder(path: root.path)
        @Sendable func status(_ path: String) -> FileStatus? {
            guard let folder, !path.hasPrefix("/") else { return FileStatus(path: base + path) }
            return FileStatus(path, in: folder)
        }
        @Sendable func size(_ path: String) -> Int64? { status(path)?.size }
        // The stats, most of a no-op re-run's time, on every core: main outputs first,
        // then companions and small folders' files, items in parallel; the files of a big
        // folder (an export's 500,000) in parallel after them.
        let items = plan.items
        // Items read in place through the buffer: the array's subscript copies each whole
        // item (a dozen retains, on every core at once, of strings the cores share).
        let mainThere = items.withUnsafeBufferPointer { buffer in
            let items = UncheckedSendable(buffer)
            return Parallel.map(buffer.count) { index -> Bool in
                guard let record = recorded[items.value[index].id] else { return false }
                let found = status(record.path)
                return items.value[index].kind.isFolder ? found?.isDirectory == true : found?.size == record.bytes
            }
        }
        Parallel.release(consume recorded)
        filesRead.wait()
        let files = try filesResult.withLock { $0.take()! }.get()
        let bigFolder = 4096
        // Companions and a folder's files count too: a missing or resized one means the
        // item is produced again (a later step would read it).
        let there = Parallel.map(items.count) { index -> Bool? in
            guard mainThere[index] else { return false }
            let inside = files[items[index].id] ?? []
            return inside.count < bigFolder ? inside.allSatisfy { size($0.path) == $0.bytes } : nil
        }
        var done: Set<String> = []
        done.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            if let ok = there[index] {
                if ok { done.insert(item.id) }
                continue
            }
            let inside = files[item.id] ?? []
            if !Parallel.map(inside.count, { size(inside[$0].path) == inside[$0].bytes }).contains(false) { done.insert(item.id) }
        }
        Parallel.release(consume files)
        return done
    }

    /// ``doneItems(of:store:)`` without creating anything: empty when there is no store.
    public func doneItemsIfAny(of plan: Plan) throws -> Set<String> {
        guard FileManager.default.fileExists(atPath: store.path) else { return [] }
        return try doneItems(of: plan, store: try CheckpointStore(path: store))
    }
}

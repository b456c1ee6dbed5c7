import Foundation
import WorkflowSpec

/// What changes between two plans of a recipe: per step the items added, removed and
/// changed, and why each changed item changed, read from the item signatures.
///
/// Items are matched step by step in pipeline order. The same id on both sides is
/// unchanged. The rest are paired by *slot*: the same step, the same inputs (an old
/// item's inputs translated to their new counterparts), seed and frame index, and then the
/// same prompt text, or failing that the same prompt reference (`set[3]`, for a prompt
/// edited in place). A step with exactly one item on each side (an export) pairs those.
/// A paired item with a new id is *changed*; its signature JSON objects are compared key
/// by key (`params.box_threshold: 0.3 -> 0.35`), and a change of inputs names the
/// changes of those inputs (`inputs: 12 added, 36 changed (params.box_threshold)`).
/// Unpaired items are added or removed. Pure: no I/O.
public struct PlanDiff: Sendable, Codable {
    public struct ItemRef: Sendable, Codable, Hashable {
        public var id: String
        public var seed: Int?
        public var promptRef: String?
        public var prompt: String?
        public var frameIndex: Int?

        enum CodingKeys: String, CodingKey {
            case id, seed, prompt
            case promptRef = "prompt_ref"
            case frameIndex = "frame_index"
        }
    }

    public struct FieldChange: Sendable, Codable, Hashable {
        /// Dotted path in the signature JSON: `params.box_threshold`, `prompt`, `inputs`.
        public var field: String
        /// JSON of the value on each side (nil: absent); for `inputs`, a summary.
        public var old: String?
        public var new: String?

        public init(field: String, old: String?, new: String?) {
            self.field = field
            self.old = old
            self.new = new
        }

        public var description: String { "\(field): \(old ?? "(none)") -> \(new ?? "(none)")" }
    }

    public struct ChangedItem: Sendable, Codable, Hashable {
        public var oldID: String
        public var newID: String
        public var fields: [FieldChange]
        /// The root causes: changed signature fields other than `inputs`, this item's or
        /// its inputs' (recursively), plus `inputs added` / `inputs removed`.
        public var causes: [String]
        /// One line for people.
        public var reason: String

        enum CodingKeys: String, CodingKey {
            case fields, causes, reason
            case oldID = "old_id"
            case newID = "new_id"
        }
    }

    public struct StepDiff: Sendable, Codable {
        public var step: String
        public var uses: String
        public var oldItems: Int
        public var newItems: Int
        public var added: [ItemRef]
        public var removed: [ItemRef]
        public var changed: [ChangedItem]
        public var unchanged: Int
        public var oldGPUHours: Double
        public var newGPUHours: Double
        /// GPU-hours of the items this step must make after the change (added + changed).
        public var workGPUHours: Double

        enum CodingKeys: String, CodingKey {
            case step, uses, added, removed, changed, unchanged
            case oldItems = "old_items"
            case newItems = "new_items"
            case oldGPUHours = "old_gpu_hours"
            case newGPUHours = "new_gpu_hours"
            case workGPUHours = "work_gpu_hours"
        }
    }

    public var steps: [StepDiff]
    public var oldGPUHours: Double
    public var newGPUHours: Double
    public var oldCost: Double?
    public var newCost: Double?
    /// The work the change makes: the new plan's added and changed items, priced as a
    /// run that makes only them (``Plan/work(items:)``). The net delta can be zero while
    /// this is not (a sampled matrix that swaps 90 images for 90 others).
    public var work: WorkEstimate
    /// One line for people: what the change makes and why things are redone.
    public var summary: String

    public var gpuHoursDelta: Double { newGPUHours - oldGPUHours }
    public var costDelta: Double? {
        guard let oldCost, let newCost else { return nil }
        return newCost - oldCost
    }
    public var isEmpty: Bool { steps.allSatisfy { $0.added.isEmpty && $0.removed.isEmpty && $0.changed.isEmpty } }

    enum CodingKeys: String, CodingKey {
        case steps
        case oldGPUHours = "old_gpu_hours"
        case newGPUHours = "new_gpu_hours"
        case oldCost = "old_cost"
        case newCost = "new_cost"
        case gpuHoursDelta = "gpu_hours_delta"
        case costDelta = "cost_delta"
        case work, summary
        case workGPUHours = "work_gpu_hours"
        case workCost = "work_cost"
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(steps, forKey: .steps)
        try container.encode(oldGPUHours, forKey: .oldGPUHours)
        try container.encode(newGPUHours, forKey: .newGPUHours)
        try container.encode(gpuHoursDelta, forKey: .gpuHoursDelta)
        try container.encodeIfPresent(oldCost, forKey: .oldCost)
        try container.encodeIfPresent(newCost, forKey: .newCost)
        try container.encodeIfPresent(costDelta, forKey: .costDelta)
        try container.encode(work, forKey: .work)
        try container.encode(work.gpuHours, forKey: .workGPUHours)
        try container.encodeIfPresent(work.cost, forKey: .workCost)
        try container.encode(summary, forKey: .summary)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        steps = try container.decode([StepDiff].self, forKey: .steps)
        oldGPUHours = try container.decode(Double.self, forKey: .oldGPUHours)
        newGPUHours = try container.decode(Double.self, forKey: .newGPUHours)
        oldCost = try container.decodeIfPresent(Double.self, forKey: .oldCost)
        newCost = try container.decodeIfPresent(Double.self, forKey: .newCost)
        work = try container.decode(WorkEstimate.self, forKey: .work)
        summary = try container.decode(String.self, forKey: .summary)
    }

    init(steps: [StepDiff], old: Plan, new: Plan, work: WorkEstimate) {
        self.steps = steps
        oldGPUHours = old.totals.gpuHours
        newGPUHours = new.totals.gpuHours
        oldCost = old.totals.cost
        newCost = new.totals.cost
        self.work = work
        summary = ""
        summary = Self.summarize(self)
    }

    /// "adds 240 items and changes 90, 1.30 GPU-hours of work ($3.77); redoes every
    /// item of labels because params.box_threshold changed".
    static func summarize(_ diff: PlanDiff) -> String {
        let added = diff.steps.reduce(0) { $0 + $1.added.count }
        let changed = diff.steps.reduce(0) { $0 + $1.changed.count }
        let removed = diff.steps.reduce(0) { $0 + $1.removed.count }
        if added + changed + removed == 0 { return "no item differs; no work" }
        var verbs: [String] = []
        if added > 0 { verbs.append("adds \(added) item\(added == 1 ? "" : "s")") }
        // Only the first count names its unit: "adds 240 items, changes 90 and removes 3".
        let unit = { (count: Int) in verbs.isEmpty ? " item\(count == 1 ? "" : "s")" : "" }
        if changed > 0 { verbs.append("changes \(changed)" + unit(changed)) }
        if removed > 0 { verbs.append("removes \(removed)" + unit(removed)) }
        var text = verbs.count > 1 ? verbs.dropLast().joined(separator: ", ") + " and " + verbs.last! : verbs[0]
        text += String(format: "; %.2f GPU-hours of work", diff.work.gpuHours)
        if let cost = diff.work.cost { text += String(format: " ($%.2f)", cost) }
        var reasons: [String] = []
        for step in diff.steps where !step.changed.isEmpty {
            var counts: [String: Int] = [:]
            for item in step.changed { for cause in item.causes { counts[cause, default: 0] += 1 } }
            let top = counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(2).map(\.key)
            let fields = top.filter { !$0.hasPrefix("inputs ") }
            let inputs = top.filter { $0.hasPrefix("inputs ") }.map { String($0.dropFirst("inputs ".count)) }
            var because: [String] = []
            if !fields.isEmpty { because.append(fields.joined(separator: " and ") + " changed") }
            if !inputs.isEmpty { because.append("inputs were " + inputs.joined(separator: " and ")) }
            let scope = step.changed.count == step.oldItems ? "redoes every item of \(step.step)" : "redoes \(step.changed.count) of \(step.step)"
            reasons.append("\(scope) because \(because.joined(separator: " and "))")
        }
        if !reasons.isEmpty { text += "; " + reasons.prefix(3).joined(separator: "; ") + (reasons.count > 3 ? "; ..." : "") }
        return text
    }

    // MARK: - Comparing

    /// The signature JSON of an item, the one place this file reads signatures.
    static func signatureJSON(_ item: PlannedItem) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: item.signature.canonicalJSON())) as? [String: Any] ?? [:]
    }

    public static func compare(old: Plan, new: Plan) -> PlanDiff {
        var oldToNew: [String: String] = [:]
        /// Causes of every changed new item, by new id; added new ids.
        var changedCauses: [String: [String]] = [:]
        var addedIDs: Set<String> = []
        var oldByStep: [String: [PlannedItem]] = [:]
        for item in old.items { oldByStep[item.step, default: []].append(item) }
        var newByStep: [String: [PlannedItem]] = [:]
        for item in new.items { newByStep[item.step, default: []].append(item) }
        let oldStepPlans = Dictionary(old.steps.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let newStepPlans = Dictionary(new.steps.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var order = new.steps.map(\.id)
        order += old.steps.map(\.id).filter { newStepPlans[$0] == nil }

        var diffs: [StepDiff] = []
        for step in order {
            let olds = oldByStep[step] ?? [], news = newByStep[step] ?? []
            let newIDs = Set(news.map(\.id))
            var unmatchedOld = olds.filter { !newIDs.contains($0.id) }
            let oldIDs = Set(olds.map(\.id))
            var unmatchedNew = news.filter { !oldIDs.contains($0.id) }
            for item in olds where newIDs.contains(item.id) { oldToNew[item.id] = item.id }
            var pairs: [(PlannedItem, PlannedItem)] = []

            for byText in [true, false] {
                var slots: [String: [Int]] = [:]
                for (index, item) in unmatchedNew.enumerated() {
                    slots[slotKey(item, inputs: item.inputs, byText: byText), default: []].append(index)
                }
                var taken = Set<Int>()
                var keptOld: [PlannedItem] = []
                for item in unmatchedOld {
                    let mapped = item.inputs.map { oldToNew[$0] ?? "old:" + $0 }
                    let key = slotKey(item, inputs: mapped, byText: byText)
                    if var candidates = slots[key], let index = candidates.first {
                        candidates.removeFirst()
                        slots[key] = candidates
                        taken.insert(index)
                        pairs.append((item, unmatchedNew[index]))
                    } else {
                        keptOld.append(item)
                    }
                }
                unmatchedOld = keptOld
                unmatchedNew = unmatchedNew.enumerated().filter { !taken.contains($0.offset) }.map(\.element)
            }
            if olds.count == 1, news.count == 1, unmatchedOld.count == 1, unmatchedNew.count == 1 {
                pairs.append((unmatchedOld[0], unmatchedNew[0]))
                unmatchedOld = []
                unmatchedNew = []
            }
            for (before, after) in pairs { oldToNew[before.id] = after.id }

            var changed: [ChangedItem] = []
            for (before, after) in pairs {
                let change = explain(before, after, oldToNew: oldToNew, changedCauses: changedCauses, addedIDs: addedIDs)
                changedCauses[after.id] = change.causes
                changed.append(change)
            }
            for item in unmatchedNew { addedIDs.insert(item.id) }
            let newOrder = Dictionary(news.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
            changed.sort { (newOrder[$0.newID] ?? 0) < (newOrder[$1.newID] ?? 0) }
            let uses = newStepPlans[step]?.uses.rawValue ?? oldStepPlans[step]?.uses.rawValue ?? "?"
            diffs.append(StepDiff(step: step, uses: uses, oldItems: olds.count, newItems: news.count,
                                  added: unmatchedNew.map(ref), removed: unmatchedOld.map(ref), changed: changed,
                                  unchanged: olds.count - unmatchedOld.count - pairs.count,
                                  oldGPUHours: oldStepPlans[step]?.gpuHours ?? 0, newGPUHours: newStepPlans[step]?.gpuHours ?? 0,
                                  workGPUHours: 0))
        }
        var made = Set<String>()
        for diff in diffs {
            for item in diff.added { made.insert(item.id) }
            for item in diff.changed { made.insert(item.newID) }
        }
        let work = new.work(items: made)
        let workByStep = Dictionary(work.steps.map { ($0.step, $0.gpuHours) }, uniquingKeysWith: { first, _ in first })
        for index in diffs.indices { diffs[index].workGPUHours = workByStep[diffs[index].step] ?? 0 }
        return PlanDiff(steps: diffs, old: old, new: new, work: work)
    }

    static func slotKey(_ item: PlannedItem, inputs: [String], byText: Bool) -> String {
        let prompt = byText ? (item.prompt ?? "-") + "\u{1F}" + (item.negative ?? "-") : (item.promptRef ?? "-")
        return [inputs.joined(separator: ","), item.seed.map(String.init) ?? "-", item.frameIndex.map(String.init) ?? "-", prompt]
            .joined(separator: "\u{1E}")
    }

    static func ref(_ item: PlannedItem) -> ItemRef {
        ItemRef(id: item.id, seed: item.seed, promptRef: item.promptRef, prompt: item.prompt.map { shortened($0, 100) },
                frameIndex: item.frameIndex)
    }

    static func shortened(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 3)) + "..."
    }

    static func explain(_ before: PlannedItem, _ after: PlannedItem, oldToNew: [String: String],
                        changedCauses: [String: [String]], addedIDs: Set<String>) -> ChangedItem {
        var fields: [FieldChange] = []
        compareJSON(signatureJSON(before), signatureJSON(after), path: "", into: &fields)
        var causes = Set(fields.map(\.field).filter { $0 != "inputs" })
        var reasonParts = fields.filter { $0.field != "inputs" }.map(\.description)
        if let index = fields.firstIndex(where: { $0.field == "inputs" }) {
            let mappedOld = Set(before.inputs.compactMap { oldToNew[$0] })
            let removed = before.inputs.filter { oldToNew[$0] == nil }.count
            var added = 0, changed = 0
            var inputCauses = Set<String>()
            for input in after.inputs {
                if let inputCause = changedCauses[input], mappedOld.contains(input) {
                    changed += 1
                    inputCauses.formUnion(inputCause)
                } else if !mappedOld.contains(input) {
                    added += 1
                }
            }
            // Inputs re-paired across the plans but not in this item's old input list.
            var parts: [String] = []
            if added > 0 { parts.append("\(added) added"); causes.insert("inputs added") }
            if removed > 0 { parts.append("\(removed) removed"); causes.insert("inputs removed") }
            if changed > 0 {
                parts.append("\(changed) changed (\(inputCauses.sorted().joined(separator: ", ")))")
                causes.formUnion(inputCauses)
            }
            fields[index].old = "\(before.inputs.count) item\(before.inputs.count == 1 ? "" : "s")"
            fields[index].new = "\(after.inputs.count) item\(after.inputs.count == 1 ? "" : "s")"
            reasonParts.append("inputs: " + (parts.isEmpty ? "reordered" : parts.joined(separator: ", ")))
        }
        return ChangedItem(oldID: before.id, newID: after.id, fields: fields, causes: causes.sorted(),
                           reason: reasonParts.joined(separator: "; "))
    }

    /// Key-by-key comparison of two JSON objects; objects recurse, anything else is
    /// compared (and shown) as JSON text. `inputs` is recorded without its values.
    static func compareJSON(_ old: [String: Any], _ new: [String: Any], path: String, into fields: inout [FieldChange]) {
        for key in Set(old.keys).union(new.keys).sorted() {
            let field = path.isEmpty ? key : "\(path).\(key)"
            let before = old[key], after = new[key]
            if let before = before as? [String: Any], let after = after as? [String: Any] {
                compareJSON(before, after, path: field, into: &fields)
                continue
            }
            let oldText = before.map(json), newText = after.map(json)
            guard oldText != newText else { continue }
            if field == "inputs" {
                fields.append(FieldChange(field: field, old: nil, new: nil))
            } else {
                fields.append(FieldChange(field: field, old: oldText.map { shortened($0, 80) }, new: newText.map { shortened($0, 80) }))
            }
        }
    }

    static func json(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes]) else {
            return String(describing: value)
        }
        return String(decoding: data, as: UTF8.self)
    }
}

extension PlanDiff {
    /// Text cut to `limit` characters with an ellipsis, for tables.
    public static func shortenedForDisplay(_ text: String, _ limit: Int) -> String { shortened(text, limit) }
}

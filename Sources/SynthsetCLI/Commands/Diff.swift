import ArgumentParser
import Datasets
import Execution
import Foundation
import Planning
import WorkflowSpec

struct Diff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare the plans of two versions of a recipe: items added, removed and changed per step, and why.",
        discussion: """
            Each side is a file or REV:path, read from git at that revision (e.g. \
            'synthset diff HEAD~1:workflows/x.yaml workflows/x.yaml'); prompt files the old \
            recipe names are read at the same revision. Both sides are planned with the same \
            options. A changed item is one in the same slot (step, seed, prompt, input) with \
            a new id; the reason names the signature fields that differ. Beside the net \
            change of GPU-hours, 'work' prices the items the change makes (added and \
            changed), which is what the next run costs. When both sides have a lock file \
            (the recipe's path with .lock appended, read at the same revision) with \
            training metrics, the change of mAP per training step, fraction and split is \
            shown too. Exit 0 whether or not anything differs; 2 when a side cannot be read \
            or planned.
            """)

    @Argument(help: "The old recipe: a file or REV:path.")
    var old: String

    @Argument(help: "The new recipe: a file or REV:path.")
    var new: String

    @Option(help: "Plan both sides for this catalog GPU instead of hardware.gpu.")
    var gpu: String?

    @Option(help: "Plan both sides for this many GPUs instead of hardware.count.")
    var gpus: Int?

    @Option(help: "How many items to list per step and kind (added, removed, changed) in the table.")
    var limit: Int = 5

    @Flag(help: "Print the diff as JSON.")
    var json = false

    func validate() throws {
        if let gpus { try NumericOption.check("--gpus", gpus, in: 1...NumericOption.maxGPUs) }
    }

    func run() async throws {
        let options = PlanOptions(gpu: gpu, gpuCount: gpus, cpuSlots: ProcessInfo.processInfo.activeProcessorCount)
        let oldPlan = try await plan(old, options: options)
        let newPlan = try await plan(new, options: options)
        let diff = PlanDiff.compare(old: oldPlan, new: newPlan)
        var metrics: MetricsDiff?
        if let oldLock = await Self.lock(old), let newLock = await Self.lock(new) {
            metrics = MetricsDiff.compare(old: oldLock, new: newLock)
        }
        if json {
            Console.out(JSONOutput.line(WithMetrics(diff: diff, metrics: metrics)))
            return
        }
        var text = Self.table(diff, old: old, new: new, limit: limit)
        if let metrics, !metrics.rows.isEmpty { text += "\n" + Self.metricsTable(metrics) }
        Console.out(text)
    }

    /// The plan diff's JSON with `metrics` added when both sides have lock files.
    struct WithMetrics: Encodable {
        var diff: PlanDiff
        var metrics: MetricsDiff?
        enum Key: String, CodingKey { case metrics }
        func encode(to encoder: any Encoder) throws {
            try diff.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encodeIfPresent(metrics?.rows, forKey: .metrics)
        }
    }

    /// The lock file beside a side's recipe (at the same revision for REV:path), nil when
    /// there is none or it cannot be read.
    static func lock(_ side: String) async -> LockFile? {
        if let (rev, path) = revision(side) {
            let url = URL(fileURLWithPath: path)
            guard let data = await gitShowData(rev: rev, path: url.lastPathComponent + ".lock", in: url.deletingLastPathComponent()) else { return nil }
            return try? LockFile.parse(String(decoding: data, as: UTF8.self), file: "\(rev):\(path).lock")
        }
        let url = LockFile.url(forRecipe: side)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try? LockFile.read(from: url)
    }

    static func metricsTable(_ metrics: MetricsDiff) -> String {
        func value(_ side: LockedMetrics?, _ key: KeyPath<LockedMetrics, Double>) -> String { side.map { String(format: "%.4f", $0[keyPath: key]) } ?? "-" }
        let header = ["step", "fraction", "split", "images", "mAP50 old", "mAP50 new", "delta", "mAP50-95 old", "mAP50-95 new", "delta"]
        var rows = [header]
        for row in metrics.rows {
            let images = [row.old?.images, row.new?.images].map { $0.map(String.init) ?? "-" }
            rows.append([row.step, String(row.fraction), row.split, images[0] == images[1] ? images[1] : "\(images[0]) -> \(images[1])",
                         value(row.old, \.map50), value(row.new, \.map50), row.map50Delta.map { signed($0, decimals: 4) } ?? "-",
                         value(row.old, \.map50_95), value(row.new, \.map50_95), row.map50_95Delta.map { signed($0, decimals: 4) } ?? "-"])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        var text = "training metrics (from the lock files; measured, not bit-reproducible across machines):\n"
        for row in rows {
            text += row.enumerated().map { column, cell in
                column >= 3 ? String(repeating: " ", count: widths[column] - cell.count) + cell
                    : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
        }
        return text
    }

    // MARK: - Reading a side

    func plan(_ side: String, options: PlanOptions) async throws -> Plan {
        let loaded: WorkflowLoader.Result
        if let (rev, path) = Self.revision(side) {
            loaded = try await Self.loadAtRevision(rev: rev, path: path)
        } else {
            loaded = WorkflowLoader().load(file: side)
        }
        guard let workflow = loaded.workflow else {
            throw CommandError.diagnostics(loaded.diagnostics)
        }
        let planned = Planner(options: options).plan(workflow)
        guard let plan = planned.plan else {
            throw CommandError.diagnostics(loaded.diagnostics + planned.diagnostics)
        }
        return plan
    }

    /// `REV:path` when the argument is not an existing file and has a colon.
    static func revision(_ side: String) -> (String, String)? {
        if FileManager.default.fileExists(atPath: side) { return nil }
        guard let colon = side.firstIndex(of: ":"), colon != side.startIndex else { return nil }
        let path = String(side[side.index(after: colon)...])
        guard !path.isEmpty else { return nil }
        return (String(side[..<colon]), path)
    }

    /// Reads the recipe and the prompt files it names at `rev` into a temporary folder
    /// and loads it from there.
    static func loadAtRevision(rev: String, path: String) async throws -> WorkflowLoader.Result {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        let name = url.lastPathComponent
        guard let text = await gitShow(rev: rev, path: name, in: directory) else {
            throw CommandError.user("cannot read \(path) at \(rev) with 'git show \(rev):./\(name)' in \(directory.path); "
                                    + "check that the revision exists and names the file relative to the repository")
        }
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("synthset-diff-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: temporary) }
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        for relative in promptFiles(in: text) {
            guard let content = await gitShowData(rev: rev, path: relative, in: directory) else { continue }
            let target = temporary.appendingPathComponent(relative)
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try content.write(to: target)
        }
        return WorkflowLoader().load(text: text, file: "\(rev):\(path)", directory: temporary)
    }

    /// Relative paths after `file:` keys: the prompt files a recipe names.
    static func promptFiles(in text: String) -> [String] {
        var files: [String] = []
        for line in text.split(separator: "\n") {
            guard let range = line.range(of: "file:") else { continue }
            var value = line[range.upperBound...].trimmingCharacters(in: .whitespaces)
            if let comment = value.range(of: " #") { value = String(value[..<comment.lowerBound]) }
            value = value.trimmingCharacters(in: CharacterSet(charactersIn: " \"'},"))
            guard !value.isEmpty, !value.hasPrefix("/"), !value.contains("..") else { continue }
            files.append(value)
        }
        return files
    }

    static func gitShow(rev: String, path: String, in directory: URL) async -> String? {
        await gitShowData(rev: rev, path: path, in: directory).map { String(decoding: $0, as: UTF8.self) }
    }

    /// `git show REV:./path` in `directory`, or nil when git fails (no such revision or file).
    static func gitShowData(rev: String, path: String, in directory: URL) async -> Data? {
        guard let shown = try? await ProcessRunner.capture("git", arguments: ["show", "\(rev):./\(path)"],
                                                         workingDirectory: directory, limit: 64 << 20),
              shown.succeeded else { return nil }
        return Data(shown.output)
    }

    // MARK: - Table

    static func signed(_ value: Double, decimals: Int = 2) -> String {
        (value >= 0 ? "+" : "-") + String(format: "%.\(decimals)f", abs(value))
    }

    static func table(_ diff: PlanDiff, old: String, new: String, limit: Int) -> String {
        var text = "diff \(old) -> \(new)\n\n"
        let header = ["step", "uses", "added", "removed", "changed", "unchanged", "GPU-h old", "GPU-h new", "delta", "work GPU-h"]
        var rows = [header]
        for step in diff.steps {
            rows.append([step.step, step.uses, String(step.added.count), String(step.removed.count), String(step.changed.count),
                         String(step.unchanged), String(format: "%.2f", step.oldGPUHours), String(format: "%.2f", step.newGPUHours),
                         signed(step.newGPUHours - step.oldGPUHours), String(format: "%.2f", step.workGPUHours)])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            text += row.enumerated().map { column, cell in
                column >= 2 ? String(repeating: " ", count: widths[column] - cell.count) + cell
                    : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
        }
        text += "\nGPU-hours \(String(format: "%.2f", diff.oldGPUHours)) -> \(String(format: "%.2f", diff.newGPUHours)) (\(signed(diff.gpuHoursDelta)))"
        if let oldCost = diff.oldCost, let newCost = diff.newCost, let delta = diff.costDelta {
            text += String(format: ", dollars $%.2f -> $%.2f (", oldCost, newCost) + (delta >= 0 ? "+$" : "-$") + String(format: "%.2f)", abs(delta))
        }
        text += String(format: "\nwork: %d item%@ in %d invocation%@, %.2f GPU-hours", diff.work.items, diff.work.items == 1 ? "" : "s",
                       diff.work.invocations, diff.work.invocations == 1 ? "" : "s", diff.work.gpuHours)
        if let cost = diff.work.cost { text += String(format: ", $%.2f", cost) }
        text += " (the added and changed items, made from scratch)\n"
        text += diff.summary + "\n"
        if diff.isEmpty { return text + "no item differs\n" }
        for step in diff.steps {
            if !step.added.isEmpty {
                text += "\nadded in \(step.step) (\(step.added.count)):\n"
                for item in step.added.prefix(limit) { text += "  + \(describe(item))\n" }
                if step.added.count > limit { text += "  ... \(step.added.count - limit) more\n" }
            }
            if !step.removed.isEmpty {
                text += "\nremoved from \(step.step) (\(step.removed.count)):\n"
                for item in step.removed.prefix(limit) { text += "  - \(describe(item))\n" }
                if step.removed.count > limit { text += "  ... \(step.removed.count - limit) more\n" }
            }
            if !step.changed.isEmpty {
                text += "\nchanged in \(step.step) (\(step.changed.count)):\n"
                // Grouped by reason: a threshold edit changes every label the same way.
                var groups: [(reason: String, items: [PlanDiff.ChangedItem])] = []
                for item in step.changed {
                    if let index = groups.firstIndex(where: { $0.reason == item.reason }) { groups[index].items.append(item) } else {
                        groups.append((item.reason, [item]))
                    }
                }
                for group in groups.prefix(limit) {
                    let examples = group.items.prefix(3).map { "\($0.oldID.prefix(12)) -> \($0.newID.prefix(12))" }.joined(separator: ", ")
                    text += "  ~ \(group.items.count) item\(group.items.count == 1 ? "" : "s"): \(group.reason)\n"
                    text += "      \(examples)\(group.items.count > 3 ? ", ..." : "")\n"
                }
                if groups.count > limit { text += "  ... \(groups.count - limit) more reasons\n" }
            }
        }
        return text
    }

    static func describe(_ item: PlanDiff.ItemRef) -> String {
        var parts = [String(item.id.prefix(16))]
        if let seed = item.seed { parts.append("seed \(seed)") }
        if let frame = item.frameIndex { parts.append("frame \(frame)") }
        if let ref = item.promptRef { parts.append(ref) }
        if let prompt = item.prompt { parts.append("\"\(PlanDiff.shortenedForDisplay(prompt, 70))\"") }
        return parts.joined(separator: "  ")
    }
}

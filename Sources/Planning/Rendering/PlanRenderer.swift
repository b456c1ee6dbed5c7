import Basics
import Foundation
import WorkflowSpec

/// Renders a plan as text for people (`table`) or programs (`json`, `dot`, `mermaid`).
public enum PlanRenderer {
    public enum Format: String, Sendable, CaseIterable {
        case table, json, dot, mermaid
    }

    public static func render(_ plan: Plan, as format: Format) -> String {
        switch format {
        case .table: table(plan)
        case .json: json(plan)
        case .dot: dot(plan)
        case .mermaid: mermaid(plan)
        }
    }

    /// A marker per figure basis, so a reader sees which numbers are soft.
    static func marker(_ figure: Figure?) -> String {
        switch figure?.basis {
        case .published?: ""
        case .derived?: "~"
        case .assumed?: "?"
        case .measured?: "m"
        case .manifest?: "*"
        case nil: ""
        }
    }

    static func number(_ value: Double, decimals: Int = 2) -> String {
        String(format: "%.\(decimals)f", value)
    }

    public static func table(_ plan: Plan) -> String {
        let hw = plan.hardware
        var lines: [String] = []
        let gpuText = hw.gpu.map { gpu in
            "\(hw.count) x \(gpu)\(hw.name.map { " (\($0))" } ?? "")\(hw.vramGB.map { ", \(Planner.gb($0))" } ?? "")\(hw.pricePerGPUHour.map { String(format: ", $%.2f/GPU-hour", $0) } ?? "")"
        } ?? "no GPU declared"
        lines.append("plan for \(plan.workflow): \(gpuText); catalog \(plan.catalogVersion)")
        lines.append("")
        let header = ["step", "uses", "model", "items", "tasks", "loads", "s/item", "load s", "GPU-h", "VRAM"]
        var rows: [[String]] = []
        for step in plan.steps {
            let vram: String
            switch step.vramFit {
            case .fits: vram = "\(Planner.gb(step.vramNeededGB ?? 0)) ok"
            case .misfit: vram = "\(Planner.gb(step.vramNeededGB ?? 0)) DOES NOT FIT"
            case .unknown: vram = step.vramNeededGB.map { Planner.gb($0) + " ?" } ?? "unknown"
            case .notApplicable: vram = "-"
            }
            rows.append([
                step.id, step.uses.rawValue, step.model ?? "-", String(step.items), String(step.tasks),
                step.device == .gpu ? String(step.modelLoads) : "-",
                step.secondsPerItem.map { number($0.value, decimals: $0.value < 1 ? 3 : 2) + marker($0) } ?? "-",
                step.loadSeconds.map { number($0.value, decimals: 0) + marker($0) } ?? "-",
                step.device == .gpu ? number(step.gpuHours) : "-",
                vram,
            ])
        }
        let t = plan.totals
        rows.append(["total", "", "", String(t.items), String(t.tasks), String(t.modelLoads), "", "", number(t.gpuHours), ""])
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func format(_ row: [String]) -> String {
            row.enumerated().map { column, cell in
                column >= 3 && column <= 8 ? String(repeating: " ", count: widths[column] - cell.count) + cell
                    : cell + String(repeating: " ", count: widths[column] - cell.count)
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        lines.append(format(header))
        lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        for (index, row) in rows.enumerated() {
            if index == rows.count - 1 { lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
            lines.append(format(row))
        }
        lines.append("")
        let slots = hw.gpu == nil ? "" : "\(hw.count) GPU\(hw.count == 1 ? "" : "s") and "
        var summary = "GPU-hours \(number(t.gpuHours)), wall-clock \(duration(t.wallHours * 3600)) with \(slots)\(hw.cpuSlots) CPU slot\(hw.cpuSlots == 1 ? "" : "s")"
        if let cost = t.cost { summary += String(format: ", about $%.2f", cost) }
        lines.append(summary)
        for step in plan.steps {
            guard let other = step.alternative else { continue }
            func loads(_ n: Int) -> String { "\(n) load\(n == 1 ? "" : "s")" }
            lines.append("step '\(step.id)': \(other.runner): \(loads(step.modelLoads)), \(number(step.gpuHours, decimals: 1)) GPU-h; "
                         + "\(other.alternative): \(loads(other.modelLoads)), \(number(other.gpuHours, decimals: 1)) GPU-h")
        }
        lines.append("figures: plain = NVIDIA's published table, ~ derived, ? assumed, m measured (earlier runs or a benchmark), * set in the manifest")
        return lines.joined(separator: "\n") + "\n"
    }

    public static func duration(_ seconds: Double) -> String {
        if seconds < 60 { return String(format: "%.0f s", seconds) }
        if seconds < 3600 { return String(format: "%.1f min", seconds / 60) }
        if seconds < 48 * 3600 { return String(format: "%.1f h", seconds / 3600) }
        return String(format: "%.1f days", seconds / 86400)
    }

    /// The plan as JSON, key-sorted so the output is stable (`synthset-plan/1`): the plan
    /// object as `JSONEncoder` (`.sortedKeys`, `.prettyPrinted`, `.withoutEscapingSlashes`)
    /// lays it out, each item and task on a line of its own as compact JSON. Written by
    /// hand (``PlanJSONWriter``) because encoding a million items through `JSONEncoder`
    /// took most of a minute.
    /// `extra` adds top-level members (key and compact JSON value) the plan does not hold.
    public static func json(_ plan: Plan, adding extra: [String: [UInt8]] = [:]) -> String {
        var bytes = PlanJSONWriter.json(plan, adding: extra)
        bytes.append(UInt8(ascii: "\n"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// ``json(_:)`` written to `sink` a piece at a time (a megabyte or a chunk of elements),
    /// newline included. The pieces are handed over as they are, not copied: a sink that
    /// keeps one copies it.
    public static func writeJSON(_ plan: Plan, adding extra: [String: [UInt8]] = [:], to sink: ([UInt8]) -> Void) {
        PlanJSONWriter.write(plan, adding: extra, to: sink)
        sink([UInt8(ascii: "\n")])
    }

    /// The JSON of `plan` with every task's invocation, as `plan --format json` writes it
    /// and as ``writeJSON(_:adding:to:)`` would after ``Planner/attachInvocations(to:workflow:)``.
    /// The invocations are not attached: what they need is prepared on another thread while
    /// the items, which come first, are written, and each task's is built, written and
    /// freed in turn (a hundred thousand items' batch files were 200 MB held at once).
    public static func writeJSON(_ plan: Plan, workflow: Workflow, to sink: ([UInt8]) -> Void) {
        writeJSON(plan, invocations: preparingInvocations(plan, workflow: workflow), to: sink)
    }

    /// What ``writeJSON(_:invocations:to:)`` builds the invocations with, begun at once on
    /// another thread. Kept by the caller: `plan` leaves it to the OS at exit instead of
    /// freeing an export's 100,000 sources one by one.
    package static func preparingInvocations(_ plan: Plan, workflow: Workflow) -> Parallel.Pending<PlanInvocations> {
        Parallel.Pending { PlanInvocations(plan, workflow: workflow) }
    }

    package static func writeJSON(_ plan: Plan, invocations: Parallel.Pending<PlanInvocations>, to sink: ([UInt8]) -> Void) {
        PlanJSONWriter.write(plan, invocations: { invocations.value() }, to: sink)
        sink([UInt8(ascii: "\n")])
    }

    /// The same JSON through Foundation, for the test that keeps the two identical: the plan
    /// without items and tasks pretty-printed, then each item and task encoded compactly
    /// on a line of its own in their arrays.
    package static func foundationJSON(_ plan: Plan) -> String {
        let pretty = JSONEncoder(), compact = JSONEncoder()
        pretty.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        compact.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var outline = plan
        outline.items = []
        outline.tasks = []
        guard let data = try? pretty.encode(outline) else { return "{}" }
        var text = String(decoding: data, as: UTF8.self)
        func lines(_ elements: [some Encodable]) -> String {
            let encoded = elements.map { String(decoding: (try? compact.encode($0)) ?? Data("null".utf8), as: UTF8.self) }
            return "[\n    " + encoded.joined(separator: ",\n    ") + "\n  ]"
        }
        for (key, elements) in [("items", plan.items.isEmpty ? nil : lines(plan.items)),
                                ("tasks", plan.tasks.isEmpty ? nil : lines(plan.tasks))] {
            guard let elements else { continue }
            text = text.replacingOccurrences(of: "\n  \"\(key)\" : [\n\n  ]", with: "\n  \"\(key)\" : " + elements)
        }
        return text + "\n"
    }

    static func label(_ step: StepPlan) -> String {
        var label = "\(step.id)\\n\(step.uses.rawValue)\(step.model.map { " \($0)" } ?? "")\\n\(step.items) items, \(step.tasks) tasks"
        if step.device == .gpu { label += "\\n\(number(step.gpuHours)) GPU-h" }
        return label
    }

    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\\\\n", with: "\\n") + "\""
    }

    public static func dot(_ plan: Plan) -> String {
        var lines = ["digraph \(quoted(plan.workflow)) {", "  rankdir=LR;", "  node [shape=box, style=rounded];"]
        for step in plan.steps {
            let color = step.vramFit == .misfit ? ", color=red" : (step.device == .gpu ? ", color=darkgreen" : "")
            lines.append("  \(quoted(step.id)) [label=\(quoted(label(step)))\(color)];")
        }
        for step in plan.steps {
            for upstream in step.from { lines.append("  \(quoted(upstream)) -> \(quoted(step.id));") }
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    public static func mermaid(_ plan: Plan) -> String {
        func node(_ id: String) -> String { "s_" + id.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined() }
        var lines = ["flowchart LR"]
        for step in plan.steps {
            let text = label(step).replacingOccurrences(of: "\\n", with: "<br/>").replacingOccurrences(of: "\"", with: "#quot;")
            lines.append("  \(node(step.id))[\"\(text)\"]")
        }
        for step in plan.steps {
            for upstream in step.from { lines.append("  \(node(upstream)) --> \(node(step.id))") }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

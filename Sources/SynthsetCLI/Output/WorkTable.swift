import Foundation
import Planning

/// Renders a ``WorkEstimate`` (what a run will do, what a change costs) as a table.
enum WorkTable {
    static func render(_ work: WorkEstimate, plan: Plan) -> String {
        let header = ["step", "items", "invocations", "GPU-h"]
        let devices = Dictionary(plan.steps.map { ($0.id, $0.device) }, uniquingKeysWith: { first, _ in first })
        var rows = [header]
        for step in work.steps {
            rows.append([step.step, String(step.items), String(step.invocations),
                         devices[step.step] == .gpu ? String(format: "%.2f", step.gpuHours) : "-"])
        }
        rows.append(["total", String(work.items), String(work.invocations), String(format: "%.2f", work.gpuHours)])
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        var text = ""
        for row in rows {
            text += row.enumerated().map { column, cell in
                column >= 1 ? String(repeating: " ", count: widths[column] - cell.count) + cell
                    : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ") + "\n"
        }
        return text
    }

    /// "12 items in 3 invocations, 0.25 GPU-hours, about $0.73".
    static func line(_ work: WorkEstimate) -> String {
        var text = "\(work.items) item\(work.items == 1 ? "" : "s") in \(work.invocations) invocation\(work.invocations == 1 ? "" : "s"), "
            + String(format: "%.2f GPU-hours", work.gpuHours)
        if let cost = work.cost { text += String(format: ", about $%.2f", cost) }
        return text
    }
}

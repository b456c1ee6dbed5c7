import Execution
import Foundation
import Planning
import Synchronization

/// Renders run events: a live line per active step on a TTY, plain periodic lines
/// otherwise, or one JSON object per line with `--json`.
final class ProgressReporter: Sendable {
    enum Mode { case tty, plain, json }

    struct StepProgress {
        var total = 0
        var done = 0
        var producedThisRun = 0
        var failed = 0
        var running = 0
        var estimate: Double?
        var lastPlainReport = Date.distantPast
    }

    struct State {
        var steps: [String: StepProgress] = [:]
        var order: [String] = []
        var started = Date()
        var stepStarted: [String: Date] = [:]
        var drawnLines = 0
        var lastDraw = Date.distantPast
    }

    let mode: Mode
    let state: Mutex<State>

    init(mode: Mode, plan: Plan) {
        self.mode = mode
        var initial = State()
        initial.order = plan.steps.map(\.id)
        state = Mutex(initial)
    }

    func handle(_ event: RunEvent) {
        switch mode {
        case .json: emitJSON(event)
        case .tty, .plain: render(event)
        }
    }

    private func emitJSON(_ event: RunEvent) {
        struct Line<Payload: Encodable>: Encodable {
            var event: String
            var time: Double
            var data: Payload
        }
        let now = Date().timeIntervalSince1970
        let text: String
        switch event {
        case .started(let start): text = JSONOutput.line(Line(event: "run_started", time: now, data: start))
        case .taskStarted(let task): text = JSONOutput.line(Line(event: "task_started", time: now, data: task))
        case .taskFinished(let task): text = JSONOutput.line(Line(event: "task_finished", time: now, data: task))
        case .itemDone(let step, let id, let path):
            text = JSONOutput.line(Line(event: "item_done", time: now, data: ["step": step, "item": id, "path": path]))
        case .itemFailed(let step, let id, let error):
            text = JSONOutput.line(Line(event: "item_failed", time: now, data: ["step": step, "item": id, "error": error]))
        case .warning(let message):
            text = JSONOutput.line(Line(event: "warning", time: now, data: ["message": message]))
        }
        Console.out(text)
    }

    private func render(_ event: RunEvent) {
        var output = ""
        state.withLock { state in
            switch event {
            case .started(let start):
                for (step, total) in start.total {
                    state.steps[step, default: StepProgress()].total = total
                    state.steps[step]!.done = start.done[step] ?? 0
                    state.steps[step]!.estimate = start.estimatedSecondsPerItem[step]
                }
                let pending = start.pending.values.reduce(0, +)
                let done = start.done.values.reduce(0, +)
                output += "run \(start.runID) in \(start.workspace): \(pending) items to make, \(done) already done\n"
            case .taskStarted(let task):
                state.steps[task.step, default: StepProgress()].running += 1
                if state.stepStarted[task.step] == nil { state.stepStarted[task.step] = Date() }
            case .itemDone(let step, _, _):
                state.steps[step, default: StepProgress()].done += 1
                state.steps[step]!.producedThisRun += 1
            case .itemFailed(let step, let id, let error):
                state.steps[step, default: StepProgress()].failed += 1
                output += "failed: \(step) item \(id.prefix(12)): \(error)\n"
            case .taskFinished(let task):
                state.steps[task.step, default: StepProgress()].running -= 1
                if task.itemsFailed > 0 {
                    output += "task \(task.taskID) of step \(task.step) (attempt \(task.attempt)): \(task.itemsFailed) item(s) failed\(task.willRetry ? ", will retry" : "")\n"
                    if !task.logTail.isEmpty {
                        output += task.logTail.map { "  | \($0)" }.joined(separator: "\n") + "\n"
                    }
                    output += "  log: \(task.logPath)\n"
                }
            case .warning(let message):
                output += "warning: \(message)\n"
            }
            output = draw(&state, prefix: output)
        }
        if !output.isEmpty { Console.error(output) }
    }

    /// `[#####-------]`: `done` of `total` as a bar of `width` characters.
    static func bar(done: Int, total: Int, width: Int = 24) -> String {
        let filled = total > 0 ? min(width, done * width / total) : width
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]"
    }

    /// One line per step that has work: done/total, rate and ETA.
    private func line(_ step: String, _ progress: StepProgress, _ started: Date?) -> String {
        let bar = Self.bar(done: progress.done, total: progress.total)
        let elapsed = started.map { Date().timeIntervalSince($0) } ?? 0
        var rate: Double?
        if progress.producedThisRun >= 2, elapsed > 0 { rate = Double(progress.producedThisRun) / elapsed }
        let remaining = Double(progress.total - progress.done - progress.failed)
        var eta = ""
        if let rate, rate > 0 {
            eta = String(format: "  %.1f/s  ETA %@", rate, PlanRenderer.duration(remaining / rate))
        } else if let estimate = progress.estimate, progress.running > 0 {
            eta = "  ETA ~\(PlanRenderer.duration(remaining * estimate)) (estimate)"
        }
        let failed = progress.failed > 0 ? "  \(progress.failed) failed" : ""
        return "\(step)  \(bar) \(progress.done)/\(progress.total)\(eta)\(failed)"
    }

    private func draw(_ state: inout State, prefix: String) -> String {
        let now = Date()
        switch mode {
        case .tty:
            guard !prefix.isEmpty || now.timeIntervalSince(state.lastDraw) > 0.1 else { return "" }
            state.lastDraw = now
            var text = state.drawnLines > 0 ? "\u{1B}[\(state.drawnLines)A\u{1B}[J" : ""
            text += prefix
            let active = state.order.filter { state.steps[$0].map { $0.running > 0 } ?? false }
            let lines = active.map { line($0, state.steps[$0]!, state.stepStarted[$0]) }
            state.drawnLines = lines.count
            return text + lines.map { $0 + "\n" }.joined()
        case .plain:
            var text = prefix
            for step in state.order {
                guard var progress = state.steps[step], progress.producedThisRun > 0 else { continue }
                let complete = progress.done + progress.failed >= progress.total
                if complete || now.timeIntervalSince(progress.lastPlainReport) >= 5 {
                    if complete && progress.lastPlainReport == .distantFuture { continue }
                    progress.lastPlainReport = complete ? .distantFuture : now
                    state.steps[step] = progress
                    text += line(step, progress, state.stepStarted[step]) + "\n"
                }
            }
            return text
        case .json:
            return ""
        }
    }

    func finish(_ summary: RunSummary) {
        if mode == .json {
            Console.out(JSONOutput.line(FinishLine(summary: summary)))
            return
        }
        var text = state.withLock { state in
            let clear = mode == .tty && state.drawnLines > 0 ? "\u{1B}[\(state.drawnLines)A\u{1B}[J" : ""
            state.drawnLines = 0
            return clear
        }
        let time = PlanRenderer.duration(summary.seconds)
        if summary.interrupted {
            text += "interrupted after \(time): \(summary.produced) items made; run again to resume\n"
        } else if summary.failed.isEmpty && summary.blocked == 0 {
            text += "done in \(time): \(summary.produced) items made, \(summary.alreadyDone) already done; outputs in \(summary.workspace)/outputs\n"
        } else {
            text += "finished in \(time) with problems: \(summary.produced) made, \(summary.failed.count) failed, \(summary.blocked) not run\n"
            for item in summary.failed.prefix(20) {
                text += "  \(item.step) \(item.itemID.prefix(12)): \(item.error)\(item.logPath.map { " (log: \($0))" } ?? "")\n"
            }
            if summary.failed.count > 20 { text += "  ... and \(summary.failed.count - 20) more (synthset status)\n" }
        }
        Console.error(text)
    }

    struct FinishLine: Encodable {
        var event = "run_finished"
        var summary: RunSummary
    }
}

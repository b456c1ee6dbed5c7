import ArgumentParser
import Execution
import Foundation
import Planning
import Reporting
import Synchronization
import WorkflowSpec
import WorkspaceStore

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a quality-control report of a workflow's dataset: one static HTML page.",
        discussion: """
            The page shows a gallery of the finished images with their boxes (filter by class, \
            step, labels, split and prompt; paged), per-class counts of kept and dropped boxes \
            with the reasons, box size and boxes-per-image charts, a box_threshold sweep for \
            raw-mode label steps, and the plan against what happened. It needs no server and \
            no network: open it from the file system. Thumbnails go in <page>_files/ beside it. \
            Read-only on the workspace, so it can be made while a run is in progress.
            """)

    @Argument(help: "The workflow file.")
    var workflow: String

    @Option(name: [.short, .customLong("output")], help: "The page to write (default <workspace>/report.html).")
    var output: String?

    @Option(help: "Workspace folder (default .synthset/<name>/ beside the workflow).")
    var workspace: String?

    @Flag(help: "Print a summary as JSON.")
    var json = false

    struct Summary: Encodable {
        var page: String
        var images: Int
        var boxes: Int
        var classes: [String]
        var sweeps: [String]
        var warnings: Int
        var seconds: Double
    }

    func run() async throws {
        let started = Date()
        let outcome = WorkflowService.loadAndPlan(file: workflow, options: PlanOptions())
        DiagnosticPrinter().print(outcome.diagnostics.filter { $0.severity == .error })
        guard let loaded = outcome.workflow, let plan = outcome.plan else { throw CommandError.invalidInput }
        let target = WorkflowService.workspace(for: loaded, override: workspace)
        let page = output.map { URL(fileURLWithPath: ($0 as NSString).expandingTildeInPath) }
            ?? target.root.appendingPathComponent("report.html")
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: page.path, isDirectory: &isFolder), isFolder.boolValue {
            throw CommandError.user("\(page.path) is a folder; name the page to write, e.g. -o \(page.appendingPathComponent("report.html").path)")
        }
        // Where the page goes must be a folder we can write, before any work is done.
        let folder = page.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            guard access(folder.path, W_OK) == 0 else { throw CocoaError(.fileWriteNoPermission) }
        } catch {
            throw CommandError.user("cannot write the report in \(folder.path): \(FileErrorReason.of(error)); choose a writable place with -o FILE.html")
        }
        var builder = ReportBuilder(workflow: loaded, plan: plan, workspace: target, page: page)
        let meter = ReportProgress(enabled: !json && Console.stderrIsTTY)
        builder.progress = { done, total in meter.update(done, total) }
        let report = try builder.build()
        meter.finish()
        try Data(try HTMLReport(report: report).render().utf8).write(to: page, options: .atomic)
        let seconds = Date().timeIntervalSince(started)
        if json {
            Console.out(JSONOutput.line(Summary(page: page.path, images: report.images, boxes: report.boxes,
                                                classes: report.gallery.classes, sweeps: report.sweeps.map(\.step),
                                                warnings: report.warnings.count, seconds: seconds)))
        } else {
            var text = "report: \(report.images) images, \(report.boxes) boxes, \(report.gallery.classes.count) classes in \(String(format: "%.1f", seconds)) s\n"
            for warning in report.warnings.prefix(5) { text += "warning: \(warning)\n" }
            if report.warnings.count > 5 { text += "... and \(report.warnings.count - 5) more warnings in the page\n" }
            text += "open \(page.absoluteString)\n"
            Console.out(text)
        }
    }
}

/// A progress line on a TTY while a large report reads its images and makes thumbnails.
final class ReportProgress: Sendable {
    let enabled: Bool
    let lastDraw = Mutex(Date.distantPast)

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ done: Int, _ total: Int) {
        guard enabled else { return }
        let now = Date()
        let due = lastDraw.withLock { last in
            guard now.timeIntervalSince(last) > 0.1 || done == total else { return false }
            last = now
            return true
        }
        guard due else { return }
        Console.error("\r\u{1B}[Kreport  \(ProgressReporter.bar(done: done, total: total)) \(done)/\(total) images")
    }

    func finish() {
        if enabled { Console.error("\r\u{1B}[K") }
    }
}

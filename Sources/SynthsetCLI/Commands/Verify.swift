import ArgumentParser
import Execution
import Foundation
import Planning
import WorkflowSpec
import WorkspaceStore

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-hash a workflow's outputs against its lock file and list missing and changed files by item.",
        discussion: """
            Reads <workflow>.lock beside the recipe (written by the last complete run) and \
            hashes every item's output in the workspace. Exit 0 when all match, 1 when a file \
            is missing or changed, 2 when there is no readable lock. Files a consumer added inside \
            an exported folder (Ultralytics' labels/*.cache) are listed as extra and do not fail.
            """)

    @Argument(help: "The workflow file.")
    var workflow: String

    @Option(help: "Workspace folder (default .synthset/<name>/ beside the workflow).")
    var workspace: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() async throws {
        let loaded = WorkflowLoader().load(file: workflow)
        DiagnosticPrinter().print(loaded.diagnostics.filter { $0.severity == .error })
        guard let parsed = loaded.workflow else { throw CommandError.invalidInput }
        let lockURL = LockFile.url(forRecipe: workflow)
        let lock: LockFile
        do { lock = try LockFile.read(from: lockURL) } catch {
            throw CommandError.user("\(error); a complete run writes it (synthset run \(workflow))")
        }
        let target = WorkflowService.workspace(for: parsed, override: workspace)
        let report = Verifier(lock: lock, workspace: target).verify()
        if json {
            Console.out(JSONOutput.line(report))
        } else {
            var text = ""
            for finding in report.findings {
                switch finding.problem {
                case .missing:
                    text += "missing  \(finding.step)  \(finding.item)  \(finding.path)\n"
                case .changed:
                    text += "changed  \(finding.step)  \(finding.item)  \(finding.path)  (sha256 \(finding.expected.prefix(12)) in the lock, \(finding.actual?.prefix(12) ?? "?") now)\n"
                case .extra:
                    text += "extra    \(finding.step)  \(finding.item)  \(finding.path)  (not written by synthset; not part of the dataset)\n"
                }
            }
            let missing = report.findings.filter { $0.problem == .missing }.count
            let changed = report.findings.filter { $0.problem == .changed }.count
            text += report.ok
                ? "ok: \(report.checked) item\(report.checked == 1 ? "" : "s") match \(lockURL.lastPathComponent) (fingerprint \(lock.fingerprint.prefix(16)))\n"
                : "\(missing) missing, \(changed) changed of \(report.checked) item\(report.checked == 1 ? "" : "s") in \(lockURL.lastPathComponent)\n"
            Console.out(text)
        }
        if !report.ok { throw CommandError.failedItems }
    }
}

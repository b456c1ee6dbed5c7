import ArgumentParser
import Execution
import Foundation
import Planning
import WorkflowSpec

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check workflow files and report every problem at once.",
        discussion: "Loads each manifest and plans it (VRAM fit included) without writing anything. Exit 2 when any file has an error.")

    @Argument(help: "Workflow files.")
    var workflows: [String]

    @Flag(help: "Print diagnostics as JSON on stdout.")
    var json = false

    func run() async throws {
        var failed = false
        var all: [Diagnostic] = []
        for file in workflows {
            let outcome = WorkflowService.loadAndPlan(file: file, options: PlanOptions())
            all += outcome.diagnostics
            if outcome.plan == nil { failed = true }
            if !json {
                DiagnosticPrinter().print(outcome.diagnostics)
                if let plan = outcome.plan {
                    Console.out("\(file): ok (\(plan.totals.items) items in \(plan.steps.count) steps)\n")
                }
            }
        }
        if json { Console.out(JSONOutput.encode(["ok": .bool(!failed)], diagnostics: all)) }
        if failed { throw CommandError.invalidInput }
    }
}

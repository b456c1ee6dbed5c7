import Foundation
import Planning
import WorkflowSpec

/// `command`: any program, run per item or per batch with argument templates. Arguments
/// are an array handed to the program as is (no shell); prompts go through files.
///
/// Placeholders: `{input}` (first input's path), `{inputs}` (input paths joined by
/// commas), `{output}`, `{output_dir}`, `{seed}`, `{prompt_file}`, `{negative_file}`,
/// `{item_id}`, `{index}`, `{batch_file}`, `{workspace}`. A batch file is a JSON list of
/// `{"id", "output", "inputs", "seed", "prompt", "negative_prompt"}` objects.
public struct CommandAdapter: ToolAdapter {
    public init() {}

    /// Its one process starts through ``PlannedProcess``, which waits for the slot.
    public var waitsForItsSlot: Bool { true }

    public func preflight(step: Step, workflow: Workflow) -> [Diagnostic] {
        guard let command = step.command else { return [] }
        let program = Self.resolve(command.program, workflow: workflow)
        if program.contains("/") && !FileManager.default.isExecutableFile(atPath: program) {
            return [Diagnostic(.error, "step '\(step.id)': program '\(command.program)' is not an executable file (looked at \(program))",
                               hint: "check the path (relative to the manifest's folder) and its execute permission",
                               at: workflow.location(of: "steps.\(step.id).program"))]
        }
        return []
    }

    /// Expands `~` and resolves paths relative to the manifest; bare names stay for PATH lookup.
    static func resolve(_ program: String, workflow: Workflow) -> String {
        if program.hasPrefix("~") { return (program as NSString).expandingTildeInPath }
        if program.hasPrefix("/") || !program.contains("/") { return program }
        return workflow.directory.appendingPathComponent(program).standardizedFileURL.path
    }

    /// Runs the planned program and collects each item's file.
    public func run(_ invocation: Invocation, produced: @Sendable (ProducedOutput) async -> Void) async throws -> InvocationOutcome {
        let program = invocation.step.command?.program ?? "the program"
        return try await PlannedProcess().runAndCollect(invocation, produced: produced) { output, outcome in
            outcome.succeeded
                ? "\(program) \(outcome.status) without writing \(output.file.lastPathComponent)"
                : "\(program) ended with \(outcome.status); nothing it wrote is kept — see log"
        }
    }
}

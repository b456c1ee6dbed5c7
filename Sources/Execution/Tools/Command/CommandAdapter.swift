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

    public func run(_ invocation: Invocation, produced: @Sendable (ProducedOutput) async -> Void) async throws -> InvocationOutcome {
        guard let command = invocation.step.command else { return InvocationOutcome() }
        let program = Self.resolve(command.program, workflow: invocation.workflow)
        var failures: [String: String] = [:]
        var lastExit: Int32?
        let outputs = Dictionary(uniqueKeysWithValues: invocation.items.map {
            ($0.id, invocation.scratch.appendingPathComponent(URL(fileURLWithPath: $0.path).lastPathComponent))
        })
        var environment = command.environment
        environment.merge(invocation.gpuEnvironment) { _, gpu in gpu }

        func values(for item: PlannedItem?, index: Int, batchFile: URL?) throws -> [String: String] {
            var values = ["output_dir": invocation.scratch.path, "workspace": invocation.workspace.root.path,
                          "index": String(index)]
            if let batchFile { values["batch_file"] = batchFile.path }
            guard let item else { return values }
            values["item_id"] = item.id
            values["output"] = outputs[item.id]!.path
            let inputs = item.inputs.compactMap { invocation.inputs[$0]?.path }
            values["input"] = inputs.first ?? ""
            values["inputs"] = inputs.joined(separator: ",")
            values["seed"] = item.seed.map(String.init) ?? ""
            if let prompt = item.prompt {
                let file = invocation.scratch.appendingPathComponent("\(item.id.prefix(16)).prompt.txt")
                try Data(prompt.utf8).write(to: file)
                values["prompt_file"] = file.path
            }
            let negativeFile = invocation.scratch.appendingPathComponent("\(item.id.prefix(16)).negative.txt")
            try Data((item.negative ?? "").utf8).write(to: negativeFile)
            values["negative_file"] = negativeFile.path
            return values
        }

        func launch(_ values: [String: String]) async throws -> ProcessOutcome {
            let arguments = command.arguments.map { PromptTemplate.render($0, values) }
            let spec = ProcessSpec(executable: program, arguments: arguments, environment: environment,
                                   workingDirectory: invocation.workflow.directory, logFile: invocation.logFile)
            return try await ProcessRunner.run(spec, gracePeriod: invocation.gracePeriod)
        }

        func collect(_ item: PlannedItem, outcome: ProcessOutcome) async {
            let output = outputs[item.id]!
            if FileManager.default.fileExists(atPath: output.path) {
                await produced(ProducedOutput(itemID: item.id, file: output))
            } else {
                failures[item.id] = "\(command.program) \(outcome.status) without writing \(output.lastPathComponent)"
            }
        }

        switch command.granularity {
        case .item:
            for (index, item) in invocation.items.enumerated() {
                if Task.isCancelled { break }
                let outcome = try await launch(try values(for: item, index: index, batchFile: nil))
                if case .exited(let code) = outcome.status { lastExit = code }
                await collect(item, outcome: outcome)
            }
        case .batch:
            let batchFile = invocation.scratch.appendingPathComponent("batch.json")
            let entries: [[String: Any]] = invocation.items.map { item in
                var entry: [String: Any] = ["id": item.id, "output": outputs[item.id]!.path,
                                            "inputs": item.inputs.compactMap { invocation.inputs[$0]?.path }]
                if let seed = item.seed { entry["seed"] = seed }
                if let prompt = item.prompt { entry["prompt"] = prompt }
                if let negative = item.negative { entry["negative_prompt"] = negative }
                return entry
            }
            try JSONSerialization.data(withJSONObject: entries, options: [.sortedKeys, .prettyPrinted]).write(to: batchFile)
            let outcome = try await launch(try values(for: nil, index: 0, batchFile: batchFile))
            if case .exited(let code) = outcome.status { lastExit = code }
            for item in invocation.items { await collect(item, outcome: outcome) }
        }
        return InvocationOutcome(failures: failures, exitCode: lastExit)
    }
}

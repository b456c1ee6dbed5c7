import ArgumentParser
import Execution
import Foundation
import Planning
import WorkflowSpec

/// `synthset prompts ...`: prompt sets that an LLM writes.
struct Prompts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage prompt sets an LLM writes (llm: in a prompt set).",
        subcommands: [Refresh.self])

    struct Refresh: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask the LLM of each llm: prompt set for prompts, and pin the answer in its file:.",
            discussion: """
                Sends the examples (the expanded prompts of llm.from) and llm.instruction to \
                llm.endpoint's chat completions API (Ollama, vLLM, llama.cpp server, hosted \
                APIs), reads the answer (a JSON list, in a code fence or not, or numbered \
                lines), drops empty, too long, duplicate and example-identical prompts, asks \
                again for what is missing, and writes the set's file: with a header recording \
                endpoint, model, instruction and the examples' hash. Commit that file: plan \
                and run read it and never call the LLM. The key comes from the environment \
                variable llm.api_key_env and is never written. Exit 0 when every set was \
                pinned, 1 when the LLM could not deliver (nothing written for that set), 2 for \
                a bad recipe or command line.
                """)

        @Argument(help: "The workflow file.")
        var workflow: String

        @Argument(help: "Prompt sets to refresh (default: every set with llm:).")
        var sets: [String] = []

        @Option(help: "Prompts to ask for, instead of llm.count.")
        var count: Int?

        @Flag(help: "Keep the pinned prompts (their images keep their ids) and add --count new ones.")
        var append = false

        @Flag(help: "Ask and print the prompts, but write nothing.")
        var dryRun = false

        @Option(help: "Seconds a request may wait for the answer.")
        var timeout: Double = 300

        @Option(help: "Tries per request (connection errors, timeouts, 408, 429 and 5xx are retried with backoff).")
        var tries: Int = 3

        func validate() throws {
            if let count, count < 1 { throw ValidationError("--count must be at least 1") }
            if timeout <= 0 { throw ValidationError("--timeout must be positive") }
            if tries < 1 { throw ValidationError("--tries must be at least 1") }
        }

        func run() async throws {
            var loader = WorkflowLoader()
            loader.allowMissingPinnedPrompts = true
            let loaded = loader.load(file: workflow)
            DiagnosticPrinter().print(loaded.diagnostics.filter { $0.severity == .error })
            guard let parsed = loaded.workflow else { throw CommandError.invalidInput }
            var options = PromptRefresher.Options()
            options.count = count
            options.append = append
            options.dryRun = dryRun
            options.timeout = timeout
            options.attempts = tries
            let report = await PromptRefresher(options: options).refresh(parsed, sets: sets)
            DiagnosticPrinter().print(report.diagnostics)
            for outcome in report.outcomes {
                var text = ""
                if dryRun {
                    text += outcome.added.map { $0 + "\n" }.joined()
                }
                let dropped = outcome.dropped.isEmpty ? "" : ", dropped \(outcome.dropped.count) (\(Self.reasons(outcome.dropped)))"
                let kept = outcome.kept > 0 ? "kept \(outcome.kept), " : ""
                let verb = outcome.written ? "pinned in" : "would be pinned in (dry run, nothing written)"
                text += "\(outcome.set): \(kept)\(outcome.added.count) new prompt\(outcome.added.count == 1 ? "" : "s") from \(outcome.requests) request\(outcome.requests == 1 ? "" : "s")\(dropped); \(outcome.prompts.count) \(verb) \(outcome.path)\n"
                Console.out(text)
            }
            if !report.diagnostics.isEmpty { throw CommandError.invalidInput }
            if let failure = report.failure {
                Console.error("error: prompt set '\(report.failedSet ?? "?")': \(failure)\n")
                throw CommandError.failedItems
            }
        }

        static func reasons(_ dropped: [PromptRefresher.Dropped]) -> String {
            Dictionary(grouping: dropped, by: \.reason).map { "\($0.value.count) \($0.key)" }.sorted().joined(separator: ", ")
        }
    }
}

import Basics
import Foundation
import FoundationNetworking
import Planning
import WorkflowSpec
#if canImport(FoundationNetworking)
#endif

/// `synthset prompts refresh`: asks each `llm:` prompt set's endpoint for variations of its
/// examples, checks the answer, and pins it in the set's `file:` (`PinnedPromptsFile`).
///
/// The only place synthset talks to an LLM. A refresh that cannot deliver `count` good
/// prompts writes nothing; a written file is complete (temporary file, then rename).
/// The key is read from the environment for the request and never written or returned.
public struct PromptRefresher: Sendable {
    /// The longest prompt accepted, in characters (Cosmos' T5 encoder reads 512 tokens).
    public static let maxPromptLength = 2000

    public struct Options: Sendable {
        /// Prompts to ask for, instead of `llm.count`.
        public var count: Int?
        /// Keep the pinned prompts and add `count` new ones after them.
        public var append = false
        /// Ask, but write nothing.
        public var dryRun = false
        /// Seconds a request may go without an answer.
        public var timeout: Double = 300
        /// Tries per request, the first included.
        public var attempts = 3
        /// Seconds before the first retry, doubling (`SYNTHSET_LLM_BACKOFF`).
        public var backoff: Double
        /// Requests per set: a short or duplicate-laden answer is followed by a request
        /// for the missing prompts, up to this many in all.
        public var rounds = 3
        public var environment: [String: String]

        public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
            self.environment = environment
            self.backoff = environment["SYNTHSET_LLM_BACKOFF"].flatMap(Double.init) ?? 1
        }
    }

    /// A prompt of an answer that was not kept, and why.
    public struct Dropped: Sendable, Hashable {
        public var prompt: String
        public var reason: String
    }

    /// One set's refresh.
    public struct Outcome: Sendable {
        public var set: String
        /// The pinned file, as the recipe names it, and where it is.
        public var path: String
        public var url: URL
        /// Every prompt of the file: the kept ones (with `--append`), then the new ones.
        public var prompts: [FilePrompt]
        public var added: [String]
        public var kept: Int
        public var dropped: [Dropped]
        public var requests: Int
        /// The file's bytes (written unless a dry run).
        public var content: Data
        public var written: Bool
    }

    public struct Report: Sendable {
        /// Sets refreshed, in order, before any failure.
        public var outcomes: [Outcome] = []
        /// Problems with the recipe or the command line (exit 2); nothing was asked.
        public var diagnostics: [Diagnostic] = []
        /// Why the LLM could not deliver (exit 1); sets listed in `outcomes` were done.
        public var failure: String?
        /// The set the failure belongs to.
        public var failedSet: String?
    }

    public var options: Options

    public init(options: Options = Options()) {
        self.options = options
    }

    /// Refreshes `sets` (every `llm:` set when empty) of `workflow`, a set before those
    /// that take it as examples.
    public func refresh(_ workflow: Workflow, sets requested: [String]) async -> Report {
        var report = Report()
        let llmSets = workflow.prompts.filter { $0.llm != nil }.map(\.id)
        var selected = requested.isEmpty ? llmSets : requested
        if selected.isEmpty {
            report.diagnostics.append(Diagnostic(
                .error, "\(workflow.file) has no prompt set with llm:",
                hint: "add llm: { from, count, instruction, model, endpoint } and file: to a prompt set", at: workflow.location(of: "prompts")))
        }
        for id in selected {
            guard let set = workflow.promptSet(id) else {
                var hint = llmSets.isEmpty ? "the recipe has no llm: sets" : "sets with llm: are \(llmSets.joined(separator: ", "))"
                if let guess = NodeReader.closest(to: id, in: llmSets) { hint = "did you mean '\(guess)'? " + hint }
                report.diagnostics.append(Diagnostic(.error, "no prompt set '\(id)' in \(workflow.file)", hint: hint,
                                                     at: workflow.location(of: "prompts")))
                continue
            }
            guard let llm = set.llm else {
                report.diagnostics.append(Diagnostic(.error, "prompt set '\(id)' has no llm:, so there is nothing to ask",
                                                     hint: "add llm: { from, count, instruction, model, endpoint }, or name a set that has one",
                                                     at: workflow.location(of: "prompts.\(id)")))
                continue
            }
            if let name = llm.apiKeyEnvironment, (options.environment[name] ?? "").isEmpty {
                report.diagnostics.append(Diagnostic(
                    .error, "prompt set '\(id)' needs an API key in the environment variable \(name), which is not set",
                    hint: "export \(name)=...; synthset sends it to \(llm.endpoint) only and never stores it",
                    at: workflow.location(of: "prompts.\(id).llm.api_key_env")))
            }
        }
        if let count = options.count, !(1...LLMExpansion.maxCount).contains(count) {
            report.diagnostics.append(Diagnostic(.error, "--count must be between 1 and \(LLMExpansion.maxCount), found \(count)"))
        }
        guard report.diagnostics.isEmpty else { return report }

        // A set whose examples are another selected set comes after it.
        let chosen = Set(selected)
        selected = topologicalSort(nodes: selected, predecessors: { id in
            workflow.promptSet(id)?.llm.map { [$0.from] }?.filter(chosen.contains) ?? []
        }) ?? selected
        var current = workflow
        for id in selected {
            guard let index = current.prompts.firstIndex(where: { $0.id == id }) else { continue }
            do {
                let outcome = try await refresh(current.prompts[index], in: current)
                report.outcomes.append(outcome)
                current.prompts[index].source = .file(path: outcome.path, prompts: outcome.prompts, sha256: "")
            } catch let problem as Problem {
                switch problem {
                case .recipe(let diagnostic): report.diagnostics.append(diagnostic)
                case .llm(let reason):
                    report.failure = reason
                    report.failedSet = id
                }
                return report
            } catch {
                report.failure = "\(error)"
                report.failedSet = id
                return report
            }
        }
        return report
    }

    enum Problem: Error {
        case recipe(Diagnostic)
        case llm(String)
    }

    private func refresh(_ set: PromptSet, in workflow: Workflow) async throws -> Outcome {
        guard let llm = set.llm, case .file(let path, let pinned, _) = set.source else {
            throw Problem.recipe(Diagnostic(.error, "prompt set '\(set.id)' has no llm: and file:"))
        }
        let examples = PinnedPrompts.examples(of: set, in: workflow)
        guard !examples.isEmpty else {
            throw Problem.recipe(Diagnostic(
                .error, "prompt set '\(set.id)' takes its examples from '\(llm.from)', which has no prompts yet",
                hint: "refresh '\(llm.from)' first: synthset prompts refresh \(workflow.file) \(llm.from)",
                at: workflow.location(of: "prompts.\(set.id).llm.from")))
        }
        let count = options.count ?? llm.count
        let kept = options.append ? pinned : []
        let key = llm.apiKeyEnvironment.flatMap { options.environment[$0] }
        let mask = SecretMask([key].compactMap { $0 })
        let session = HTTPTransport.session(timeout: options.timeout)
        defer { session.finishTasksAndInvalidate() }
        let client = ChatCompletionsClient(
            endpoint: llm.endpoint, model: llm.model, key: key, temperature: llm.temperature, seed: llm.seed,
            transport: HTTPTransport(maxAttempts: options.attempts, backoff: options.backoff, credentialHeaders: ["Authorization"]),
            session: session, mask: mask)

        var checker = PromptChecker(examples: examples, existing: kept.map(\.prompt), secrets: mask.secrets)
        var requests = 0
        var unreadable: String?
        while checker.accepted.count < count && requests < max(options.rounds, 1) {
            requests += 1
            let missing = count - checker.accepted.count
            let messages = Self.messages(instruction: llm.instruction, examples: examples, count: missing,
                                         avoid: kept.map(\.prompt) + checker.accepted)
            let answer: String
            do {
                answer = try await client.complete(messages)
            } catch let failure as ChatCompletionsClient.Failure {
                throw Problem.llm(failure.description)
            }
            switch PromptAnswerParser.parse(answer) {
            case .unreadable(let reason):
                unreadable = mask(reason)
            case .prompts(let prompts):
                unreadable = nil
                checker.offer(prompts, upTo: count)
            }
        }
        guard checker.accepted.count >= count else {
            var reason = "\(llm.model) at \(llm.endpoint) gave \(checker.accepted.count) usable prompt\(checker.accepted.count == 1 ? "" : "s") of the \(count) asked for in \(requests) request\(requests == 1 ? "" : "s")"
            if let unreadable { reason += "; the last answer could not be read: \(unreadable)" }
            let reasons = Dictionary(grouping: checker.dropped, by: \.reason).map { "\($0.value.count) \($0.key)" }.sorted()
            if !reasons.isEmpty { reason += "; dropped: \(reasons.joined(separator: ", "))" }
            reason += "; nothing was written: ask for fewer (--count), reword the instruction, or try another model"
            throw Problem.llm(mask(reason))
        }
        let prompts = kept + checker.accepted.map { FilePrompt(prompt: $0) }
        let header = PinnedPromptsHeader(
            count: prompts.count, endpoint: llm.endpoint, examples: examples.count,
            examplesSHA256: PinnedPromptsFile.examplesHash(examples), from: llm.from, instruction: llm.instruction,
            model: llm.model, seed: llm.seed, temperature: llm.temperature)
        let content = PinnedPromptsFile.render(header: header, prompts: prompts)
        let url = workflow.directory.appendingPathComponent(path)
        if !options.dryRun {
            do {
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try content.write(to: url, options: .atomic)
            } catch {
                throw Problem.llm("cannot write \(path): \(error.localizedDescription)")
            }
        }
        return Outcome(set: set.id, path: path, url: url, prompts: prompts, added: checker.accepted, kept: kept.count,
                       dropped: checker.dropped, requests: requests, content: content, written: !options.dryRun)
    }

    /// The conversation for one request: what to write, the examples as a JSON list, and
    /// the prompts that exist already (so a follow-up request does not repeat them).
    static func messages(instruction: String, examples: [String], count: Int, avoid: [String]) -> [ChatCompletionsClient.Message] {
        func list(_ prompts: [String]) -> String {
            "[\n" + prompts.map { "  " + PinnedPromptsFile.jsonString($0) }.joined(separator: ",\n") + "\n]"
        }
        var user = instruction.trimmingCharacters(in: .whitespacesAndNewlines)
        user += "\n\nExamples (\(examples.count)):\n" + list(examples)
        if !avoid.isEmpty {
            user += "\n\nThese prompts exist already; do not repeat them:\n" + list(avoid)
        }
        user += "\n\nWrite \(count) new prompt\(count == 1 ? "" : "s"), each different from every example and from each other. Answer with only a JSON array of \(count) string\(count == 1 ? "" : "s")."
        return [
            .init(role: "system", content: "You write prompts for a text-to-image model that makes training images for an object detector. Answer with a JSON array of strings and nothing else."),
            .init(role: "user", content: user),
        ]
    }
}

/// The checks an answer's prompts pass before they are pinned: not empty, not too long,
/// not an example, not a repeat (of the answer, of earlier answers, of pinned prompts).
/// Comparison ignores case and runs of whitespace, so "A  cat." repeats "a cat.".
struct PromptChecker {
    private var seen: Set<String>
    private let examples: Set<String>
    private(set) var accepted: [String] = []
    private(set) var dropped: [PromptRefresher.Dropped] = []
    /// A prompt that holds the key (a server that echoes its input) is never pinned.
    private let secrets: [String]

    init(examples: [String], existing: [String], secrets: [String] = []) {
        self.examples = Set(examples.map(Self.key))
        self.seen = Set(existing.map(Self.key))
        self.secrets = secrets
    }

    static func key(_ prompt: String) -> String {
        prompt.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    mutating func offer(_ prompts: [String], upTo count: Int) {
        for raw in prompts {
            let prompt = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            let key = Self.key(prompt)
            let reason: String?
            if secrets.contains(where: { prompt.contains($0) }) {
                dropped.append(PromptRefresher.Dropped(prompt: "(withheld: it contains the API key)", reason: "contains the API key"))
                continue
            } else if prompt.isEmpty {
                reason = "empty or not text"
            } else if prompt.count > PromptRefresher.maxPromptLength {
                reason = "longer than \(PromptRefresher.maxPromptLength) characters"
            } else if examples.contains(key) {
                reason = "identical to an example"
            } else if seen.contains(key) {
                reason = "duplicate"
            } else if accepted.count >= count {
                reason = "more than asked for"
            } else {
                reason = nil
            }
            if let reason {
                dropped.append(PromptRefresher.Dropped(prompt: prompt, reason: reason))
            } else {
                seen.insert(key)
                accepted.append(prompt)
            }
        }
    }
}

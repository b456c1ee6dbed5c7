import Foundation
import Planning
import WorkflowSpec

/// `cosmos-predict2/video2world-best-of-n`: rejection sampling scored by Cosmos-Reason1
/// (reference/cosmos-predict2.md §2). One run per input (the script takes no batch file):
///
///     <python> -m examples.video2world_bestofn --model_size 2B --resolution 720 --fps 16
///         --input_path <abs input> --prompt P [--negative_prompt N] --num_generations 2
///         --num_critic_trials 5 --seed S --save_path <scratch>/<id16> [option flags]
///
/// Generation i uses seed S+i and writes `<input stem>_seed{S+i}.mp4`; the critic writes
/// `<name>_score{000-100}.json` (score = share of "No" answers to "does the video contain
/// anomalies?"). The best-scored clip becomes the item; every score goes to the companion
/// `<item>.scores.json`.
public struct CosmosBestOfNAdapter: ToolAdapter {
    static let family = CosmosPredict2Adapter.family

    public init() {}

    public func preflight(step: Step, workflow: Workflow) -> [Diagnostic] {
        CosmosPredict2Adapter.checkInstallation(step: step, workflow: workflow)
    }

    /// One scored generation.
    struct Scored: Sendable, Codable, Equatable {
        var seed: Int
        var file: String
        /// Share of "No" answers, 0...1 (nil: the critic wrote no score for it).
        var score: Double?
        var scoreFile: String?
        /// Answers read from the score file, when it holds them.
        var answers: [String]?
    }

    /// Reads the generations and their scores from the save folder.
    static func score(directory: URL, inputStem: String, seeds: [Int]) -> [Scored] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var scores: [String: (score: Double, file: String, answers: [String]?)] = [:]
        for name in names {
            guard let match = name.wholeMatch(of: /(.+)_score(\d{3})\.json/), let value = Int(match.2) else { continue }
            let answers = parseAnswers(directory.appendingPathComponent(name))
            scores[String(match.1)] = (Double(value) / 100, name, answers)
        }
        return seeds.compactMap { seed in
            let stem = "\(inputStem)_seed\(seed)"
            guard ToolSupport.exists(directory.appendingPathComponent("\(stem).mp4")) else { return nil }
            let found = scores[stem]
            return Scored(seed: seed, file: "\(stem).mp4", score: found?.score, scoreFile: found?.file, answers: found?.answers)
        }
    }

    /// The raw answers in a score file: every string that says Yes or No, wherever it sits.
    static func parseAnswers(_ url: URL) -> [String]? {
        guard let data = FileManager.default.contents(atPath: url.path),
              let json = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return nil }
        var answers: [String] = []
        func walk(_ value: Any) {
            if let text = value as? String {
                if let match = text.firstMatch(of: /<answer>\s*(Yes|No)\s*<\/answer>/.ignoresCase()) {
                    answers.append(String(match.1).capitalized)
                } else if ["yes", "no"].contains(text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()) {
                    answers.append(text.trimmingCharacters(in: .whitespacesAndNewlines).capitalized)
                }
            } else if let list = value as? [Any] {
                list.forEach(walk)
            } else if let object = value as? [String: Any] {
                for key in object.keys.sorted() { walk(object[key]!) }
            }
        }
        walk(json)
        return answers.isEmpty ? nil : answers
    }

    /// The best generation: highest score, then lowest seed.
    static func best(_ scored: [Scored]) -> Scored? {
        scored.filter { $0.score != nil }.max { a, b in
            a.score! != b.score! ? a.score! < b.score! : a.seed > b.seed
        }
    }

    /// Runs the planned best-of-N generation of the task's one item, then keeps the
    /// generation the critic scored best.
    public func run(_ invocation: Invocation, produced: @Sendable (ProducedOutput) async -> Void) async throws -> InvocationOutcome {
        guard let item = invocation.items.first else { return InvocationOutcome() }
        let parameters: BestOfNParameters
        do { parameters = try invocation.planned.decodedParameters(BestOfNParameters.self) } catch {
            return InvocationOutcome(failures: [item.id: "\(error)"])
        }
        let spec = try PlannedProcess.prepare(invocation)
        let directory = invocation.scratch.appendingPathComponent(item.stem, isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let outcome = try await ProcessRunner.run(spec, gracePeriod: invocation.gracePeriod)
        var exitCode: Int32?
        if case .exited(let code) = outcome.status { exitCode = code }
        func failed(_ reason: String) -> InvocationOutcome { InvocationOutcome(failures: [item.id: reason], exitCode: exitCode) }
        let seeds = Array(parameters.seed..<(parameters.seed + parameters.generations))
        let inputStem = item.inputs.first.flatMap { invocation.inputs[$0] }?.deletingPathExtension().lastPathComponent ?? ""
        let scored = Self.score(directory: directory, inputStem: inputStem, seeds: seeds)
        guard !scored.isEmpty else {
            return failed(outcome.succeeded
                ? "no generation was written (guardrail or input check?) although the tool exited 0 — see log"
                : "the tool ended with \(outcome.status) before writing any generation — see log")
        }
        guard let best = Self.best(scored) else {
            return failed("the critic wrote no <name>_score{000-100}.json for the \(scored.count) generation(s)"
                + (outcome.succeeded ? "" : " (the tool ended with \(outcome.status))") + " — see log")
        }
        let report: [String: Any] = [
            "format": "synthset-best-of-n/1",
            "num_generations": parameters.generations, "num_critic_trials": parameters.criticTrials,
            "best": ["seed": best.seed, "score": best.score!, "file": best.file],
            "generations": scored.map { entry -> [String: Any] in
                var value: [String: Any] = ["seed": entry.seed, "file": entry.file]
                if let score = entry.score { value["score"] = score }
                if let file = entry.scoreFile { value["score_file"] = file }
                if let answers = entry.answers { value["answers"] = answers }
                return value
            },
        ]
        let reportFile = invocation.scratch.appendingPathComponent("\(item.stem).scores.json")
        try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys]).write(to: reportFile)
        var companions: [(file: URL, destination: String)] = [(reportFile, item.companionPath("scores.json"))]
        let sidecar = directory.appendingPathComponent((best.file as NSString).deletingPathExtension + ".txt")
        if ToolSupport.exists(sidecar) { companions.append((sidecar, item.companionPath("txt"))) }
        ToolSupport.log("synthset: best of \(scored.count): seed \(best.seed) with score \(best.score!)", to: invocation.logFile)
        await produced(ProducedOutput(itemID: item.id, file: directory.appendingPathComponent(best.file), companions: companions))
        return InvocationOutcome(exitCode: exitCode)
    }
}

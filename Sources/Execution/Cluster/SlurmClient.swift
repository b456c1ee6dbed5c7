import Foundation
import WorkspaceStore

/// Talks to Slurm through its commands (`sbatch`, `squeue`, `scontrol`, `scancel`, and
/// `sacct` when accounting exists), each run with an argument array, never a shell line.
struct SlurmClient: Sendable {
    /// Variables `sbatch` must not pass on to the jobs it submits (upload keys): a job
    /// inherits the submitting environment.
    var withheldEnvironment: Set<String> = []

    /// One job or array element as `squeue` lists it.
    struct JobStatus: Sendable, Equatable {
        var id: String
        var state: String
        var reason: String
        var name: String
    }

    /// The states a job leaves the queue in; every one but COMPLETED is a failed attempt.
    static let terminalStates: Set<String> = [
        "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL",
        "DEADLINE", "SPECIAL_EXIT", "REVOKED",
    ]

    static func isTerminal(_ state: String) -> Bool {
        // sacct writes `CANCELLED by 0`.
        terminalStates.contains(String(state.split(separator: " ").first ?? ""))
    }

    /// Submits a batch script; returns the job id (`sbatch --parsable` prints `id[;cluster]`).
    func submit(arguments: [String], workingDirectory: URL) async throws -> String {
        let result = try await ProcessRunner.capture("sbatch", arguments: ["--parsable"] + arguments,
                                                     workingDirectory: workingDirectory, includeStandardError: true,
                                                     limit: 1 << 16, removedEnvironment: withheldEnvironment)
        let lines = result.text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard result.succeeded,
              let id = lines.reversed().lazy.compactMap({ $0.split(separator: ";").first.map(String.init) })
                  .first(where: { !$0.isEmpty && $0.allSatisfy(\.isNumber) })
        else {
            throw SlurmError.submissionRefused(lines.filter { !$0.isEmpty }.joined(separator: " / "))
        }
        return id
    }

    /// Every job of this user that `squeue` still knows (finished ones stay listed for the
    /// cluster's MinJobAge), array elements one per line, by job id (`12`, `12_3`).
    func queue() async throws -> [String: JobStatus] {
        let result = try await ProcessRunner.capture("squeue", arguments: ["--noheader", "--states=all", "--array", "--me",
                                                                          "--format=%i|%T|%r|%j"],
                                                     includeStandardError: true, limit: 1 << 24)
        guard result.succeeded else { throw SlurmError.queryFailed("squeue", result.text.trimmingCharacters(in: .whitespacesAndNewlines)) }
        var jobs: [String: JobStatus] = [:]
        for line in result.text.split(separator: "\n") {
            let fields = line.split(separator: "|", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 4 else { continue }
            for id in Self.expand(fields[0]) {
                jobs[id] = JobStatus(id: id, state: fields[1], reason: fields[2], name: fields[3])
            }
        }
        return jobs
    }

    /// The status of a job or array element: an array cancelled before its elements
    /// started is listed under its own id only (`59`, not `59_0`).
    static func status(of id: String, in queue: [String: JobStatus]) -> JobStatus? {
        if let status = queue[id] { return status }
        guard let base = id.split(separator: "_").first, base.count < id.count, let array = queue[String(base)],
              isTerminal(array.state) else { return nil }
        return array
    }

    /// Array elements Slurm still lists as one line (`12_[0-3,7%2]`), one id each.
    static func expand(_ id: String) -> [String] {
        guard let open = id.firstIndex(of: "["), id.hasSuffix("]") else { return [id] }
        let base = id[..<open]
        let list = id[id.index(after: open)..<id.index(before: id.endIndex)].split(separator: "%")[0]
        var ids: [String] = []
        for part in list.split(separator: ",") {
            let bounds = part.split(separator: "-").compactMap { Int($0) }
            if bounds.count == 2, bounds[0] <= bounds[1], bounds[1] - bounds[0] < 1_000_000 {
                ids += (bounds[0]...bounds[1]).map { "\(base)\($0)" }
            } else if bounds.count == 1 {
                ids.append("\(base)\(bounds[0])")
            }
        }
        return ids
    }

    /// States of jobs `squeue` no longer lists, from accounting; empty when the cluster
    /// keeps none (`sacct` then fails), so the caller falls back on completion records.
    func accounting(_ ids: [String]) async -> [String: String] {
        guard !ids.isEmpty, let result = try? await ProcessRunner.capture(
            "sacct", arguments: ["--noheader", "--allocations", "--parsable2", "--jobs=" + ids.joined(separator: ","),
                                 "--format=JobID,State"], limit: 1 << 20), result.succeeded else { return [:] }
        var states: [String: String] = [:]
        for line in result.text.split(separator: "\n") {
            let fields = line.split(separator: "|").map(String.init)
            if fields.count >= 2 { states[fields[0]] = fields[1] }
        }
        return states
    }

    /// `ExitCode=` and `Reason=` of one job from `scontrol show job`, for the failure's reason.
    func exitDetails(_ id: String) async -> (exitCode: String?, reason: String?) {
        guard let result = try? await ProcessRunner.capture("scontrol", arguments: ["show", "job", "--oneliner", id], limit: 1 << 16),
              result.succeeded else { return (nil, nil) }
        func field(_ name: String) -> String? {
            result.text.split(whereSeparator: { $0 == " " || $0 == "\n" })
                .first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
        }
        return (field("ExitCode"), field("Reason"))
    }

    /// Cancels jobs (`scancel`), ignoring those already gone.
    func cancel(_ ids: [String]) async {
        guard !ids.isEmpty else { return }
        _ = try? await ProcessRunner.capture("scancel", arguments: ["--quiet"] + ids)
    }
}

/// What went wrong talking to Slurm.
public enum SlurmError: Error, Sendable, Equatable, CustomStringConvertible {
    case submissionRefused(String)
    case queryFailed(String, String)

    public var description: String {
        switch self {
        case .submissionRefused(let message):
            "sbatch refused the job: \(message); check executor.partition/account, --gres and --mem against the cluster (sinfo)"
        case .queryFailed(let command, let message):
            "\(command) failed: \(message); check that slurmctld answers (sinfo)"
        }
    }
}

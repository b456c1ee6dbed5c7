import Foundation
import Planning
import WorkflowSpec

/// Re-hashes a workspace's outputs against a lock file.
public struct Verifier: Sendable {
    public struct Finding: Sendable, Codable, Equatable {
        public enum Problem: String, Sendable, Codable {
            case missing, changed
        }

        public var step: String
        public var item: String
        public var path: String
        public var problem: Problem
        public var expected: String
        /// The hash found now (changed only).
        public var actual: String?
    }

    public struct Report: Sendable, Codable {
        public var checked: Int
        public var findings: [Finding]
        public var fingerprint: String
        public var ok: Bool

        public init(checked: Int, findings: [Finding], fingerprint: String) {
            self.checked = checked
            self.findings = findings
            self.fingerprint = fingerprint
            self.ok = findings.isEmpty
        }
    }

    public let lock: LockFile
    public let workspace: Workspace

    public init(lock: LockFile, workspace: Workspace) {
        self.lock = lock
        self.workspace = workspace
    }

    /// Every item of the lock, in the lock's order: missing files, then changed hashes.
    public func verify() -> Report {
        var findings: [Finding] = []
        for item in lock.items {
            let url = workspace.url(item.path)
            guard FileManager.default.fileExists(atPath: url.path) else {
                findings.append(Finding(step: item.step, item: item.id, path: item.path, problem: .missing, expected: item.sha256))
                continue
            }
            let actual = (try? OutputCommitter.sha256(of: url))?.sha256
            if actual != item.sha256 {
                findings.append(Finding(step: item.step, item: item.id, path: item.path, problem: .changed,
                                        expected: item.sha256, actual: actual ?? "unreadable"))
            }
        }
        return Report(checked: lock.items.count, findings: findings, fingerprint: lock.fingerprint)
    }
}

/// Versions of the tools a workflow uses, for the lock file. Only tools the workflow's
/// steps use are probed; anything not found is recorded as `unknown`.
public enum ToolVersions {
    public static func probe(_ workflow: Workflow, synthsetVersion: String) async -> [String: String] {
        var versions: [String: String] = [:]
        let uses = Set(workflow.steps.map(\.uses))
        for family in Set(uses.compactMap(\.family)).sorted() {
            let location = workflow.tools[family]
            switch family {
            case "ffmpeg":
                let program = location?.program ?? "ffmpeg"
                versions["ffmpeg"] = firstLine(await run(program, ["-version"])) ?? "unknown"
            case "edge-impulse":
                continue
            default:
                if let root = location?.root {
                    let path = (root as NSString).expandingTildeInPath
                    let commit = firstLine(await run("git", ["-C", path, "rev-parse", "HEAD"]))
                    versions[family] = commit.map { "git \($0)" } ?? "unknown"
                } else {
                    versions[family] = "unknown"
                }
                let python = location?.python ?? "python3"
                versions["\(family).python"] = firstLine(await run(python, ["--version"])) ?? "unknown"
            }
        }
        // In-process steps: the output depends on synthset's own code.
        if uses.contains(.proceduralScenes) || uses.contains(.export) || versions.isEmpty {
            versions["synthset"] = synthsetVersion
        }
        for step in workflow.steps where step.uses == .command {
            if let program = step.command?.program { versions["command.\(step.id)"] = program }
        }
        return versions
    }

    static func firstLine(_ output: String?) -> String? {
        guard let line = output?.split(separator: "\n").first?.trimmingCharacters(in: .whitespaces), !line.isEmpty else { return nil }
        return line
    }

    /// Runs a short-lived program and returns its stdout (stderr too: old Pythons print
    /// their version there), or nil when it cannot start or fails.
    static func run(_ program: String, _ arguments: [String]) async -> String? {
        guard let probe = try? await ProcessRunner.capture(program, arguments: arguments, includeStandardError: true),
              probe.succeeded else { return nil }
        return probe.text
    }
}

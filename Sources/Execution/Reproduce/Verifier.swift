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
    public static func probe(_ workflow: Workflow, synthsetVersion: String) -> [String: String] {
        var versions: [String: String] = [:]
        var probedFamilies = Set<String>()
        for step in workflow.steps {
            guard let tool = step.tool as? any RunnableTool else { continue }
            if let family = tool.family, !probedFamilies.insert(family).inserted { continue }
            versions.merge(tool.versions(of: step, workflow: workflow, synthsetVersion: synthsetVersion)) { first, _ in first }
        }
        if versions.isEmpty { versions["synthset"] = synthsetVersion }
        return versions
    }

    /// The checkout's git HEAD (`git <commit>`) and its Python's version, for a tool
    /// installed under `tools.<family>`.
    static func checkout(_ family: String, workflow: Workflow) -> [String: String] {
        let location = workflow.tools[family]
        var versions: [String: String] = [:]
        if let root = location?.root {
            let path = (root as NSString).expandingTildeInPath
            let commit = firstLine(run("git", ["-C", path, "rev-parse", "HEAD"]))
            versions[family] = commit.map { "git \($0)" } ?? "unknown"
        } else {
            versions[family] = "unknown"
        }
        let python = location?.python ?? "python3"
        versions["\(family).python"] = firstLine(run(python, ["--version"])) ?? "unknown"
        return versions
    }

    static func firstLine(_ output: String?) -> String? {
        guard let line = output?.split(separator: "\n").first?.trimmingCharacters(in: .whitespaces), !line.isEmpty else { return nil }
        return line
    }

    /// Runs a short-lived program and returns its stdout (stderr too: old Pythons print
    /// their version there), or nil when it cannot start or fails.
    static func run(_ program: String, _ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

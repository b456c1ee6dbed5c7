import Foundation
import Planning
import WorkflowSpec
import WorkspaceStore

/// Re-hashes a workspace's outputs against a lock file.
public struct Verifier: Sendable {
    public struct Finding: Sendable, Codable, Equatable {
        public enum Problem: String, Sendable, Codable {
            /// `extra`: a file inside a folder output that the run did not write (a
            /// consumer's addition such as Ultralytics' `labels/*.cache`); listed, never a
            /// failure, since every file the run wrote still matches.
            case missing, changed, extra
        }

        public var step: String
        public var item: String
        public var path: String
        public var problem: Problem
        /// The hash in the lock or the store (empty for an extra file).
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
            self.ok = findings.allSatisfy { $0.problem == .extra }
        }

        /// The findings that make the report fail: missing and changed files.
        public var failures: [Finding] { findings.filter { $0.problem != .extra } }
    }

    public let lock: LockFile
    public let workspace: Workspace

    public init(lock: LockFile, workspace: Workspace) {
        self.lock = lock
        self.workspace = workspace
    }

    /// Every item of the lock, in the lock's order: missing files, then changed hashes.
    /// A folder output (an export) is checked file by file against the listing the store
    /// recorded when it was committed, so a file a consumer added inside it is `extra`,
    /// not a change of the dataset; without that listing the folder's hash decides.
    public func verify() -> Report {
        let recorded = recordedFiles()
        var findings: [Finding] = []
        for item in lock.items {
            let inside = (recorded[item.id] ?? []).filter { $0.path.hasPrefix(item.path + "/") }
            if !inside.isEmpty, OutputCommitter.folderDigest(inside.map { file in
                ItemFile(path: String(file.path.dropFirst(item.path.count + 1)), bytes: file.bytes, sha256: file.sha256)
            }).sha256 == item.sha256 {
                findings += checkFolder(item.path, listing: inside, step: item.step, item: item.id)
            } else if let finding = check(item.path, sha256: item.sha256, step: item.step, item: item.id) {
                findings.append(finding)
            }
        }
        findings += verifyRecordedFiles(recorded)
        return Report(checked: lock.items.count, findings: findings, fingerprint: lock.fingerprint)
    }

    /// The files the store recorded for the lock's items, by item id (empty without a store).
    func recordedFiles() -> [String: [ItemFile]] {
        guard let store = try? CheckpointStore.openForReading(path: workspace.store),
              let recorded = try? store.itemFiles(ids: lock.items.map(\.id)) else { return [:] }
        return recorded
    }

    /// The files the checkpoint store recorded for the lock's items besides their main
    /// files (ground-truth sidecars and other companions, which later steps read), re-hashed.
    /// Files inside a folder output are checked with the folder (``checkFolder(_:listing:step:item:)``).
    func verifyRecordedFiles(_ recorded: [String: [ItemFile]]) -> [Finding] {
        var findings: [Finding] = []
        for item in lock.items {
            for file in recorded[item.id] ?? [] where !file.path.hasPrefix(item.path + "/") {
                if let finding = check(file.path, sha256: file.sha256, step: item.step, item: item.id) { findings.append(finding) }
            }
        }
        return findings
    }

    /// A folder output against its recorded listing: each recorded file missing or
    /// changed, then each file on disk the run did not write (`extra`).
    func checkFolder(_ path: String, listing: [ItemFile], step: String, item: String) -> [Finding] {
        let url = workspace.url(path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return [Finding(step: step, item: item, path: path, problem: .missing, expected: "")]
        }
        var findings = listing.compactMap { check($0.path, sha256: $0.sha256, step: step, item: item) }
        let written = Set(listing.map(\.path))
        let names = (FileManager.default.enumerator(atPath: url.path)?.allObjects as? [String] ?? []).sorted()
        for name in names where !written.contains(path + "/" + name) {
            var childIsDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path, isDirectory: &childIsDirectory)
            if childIsDirectory.boolValue { continue }
            findings.append(Finding(step: step, item: item, path: path + "/" + name, problem: .extra, expected: ""))
        }
        return findings
    }

    /// A finding when the workspace file at `path` is missing or no longer hashes to `sha256`.
    func check(_ path: String, sha256: String, step: String, item: String) -> Finding? {
        let url = workspace.url(path)
        guard FileManager.default.fileExists(atPath: url.path) else {
            return Finding(step: step, item: item, path: path, problem: .missing, expected: sha256)
        }
        let actual = (try? OutputCommitter.sha256(of: url))?.sha256
        guard actual != sha256 else { return nil }
        return Finding(step: step, item: item, path: path, problem: .changed, expected: sha256, actual: actual ?? "unreadable")
    }
}

/// Versions of the tools a workflow uses, for the lock file. Only tools the workflow's
/// steps use are probed; anything not found is recorded as `unknown`.
public enum ToolVersions {
    public static func probe(_ workflow: Workflow, synthsetVersion: String) async -> [String: String] {
        var versions: [String: String] = [:]
        var probedFamilies = Set<String>()
        for step in workflow.steps {
            guard let tool = step.tool as? any RunnableTool else { continue }
            if let family = tool.family, !probedFamilies.insert(family).inserted { continue }
            versions.merge(await tool.versions(of: step, workflow: workflow, synthsetVersion: synthsetVersion)) { first, _ in first }
        }
        if versions.isEmpty { versions["synthset"] = synthsetVersion }
        return versions
    }

    /// The checkout's git HEAD (`git <commit>`) and its Python's version, for a tool
    /// installed under `tools.<family>`.
    static func checkout(_ family: String, workflow: Workflow) async -> [String: String] {
        let location = workflow.tools[family]
        var versions: [String: String] = [:]
        if let root = location?.root {
            let path = (root as NSString).expandingTildeInPath
            let commit = firstLine(await run("git", ["-C", path, "rev-parse", "HEAD"]))
            versions[family] = commit.map { "git \($0)" } ?? "unknown"
        } else {
            versions[family] = "unknown"
        }
        let python = location?.python ?? "python3"
        versions["\(family).python"] = firstLine(await run(python, ["--version"])) ?? "unknown"
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

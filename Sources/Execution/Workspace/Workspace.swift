import Foundation
import WorkflowSpec

/// The folder a workflow runs in: checkpoint store, outputs, logs and scratch space.
///
/// Scratch files live inside the workspace so the final `rename(2)` of a verified
/// output is atomic (same file system).
public struct Workspace: Sendable, Hashable {
    public var root: URL

    public init(root: URL) {
        self.root = root.standardizedFileURL
    }

    /// `.synthset/<name>/` beside the workflow file.
    public static func defaultRoot(for workflow: Workflow) -> URL {
        workflow.directory.appendingPathComponent(".synthset").appendingPathComponent(workflow.name)
    }

    public var store: URL { root.appendingPathComponent("state.db") }
    public var scratch: URL { root.appendingPathComponent("tmp") }
    public var logs: URL { root.appendingPathComponent("logs") }

    /// The absolute location of a workspace-relative path.
    public func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    /// The workspace-relative form of a URL inside the workspace.
    public func relative(_ url: URL) -> String {
        let path = url.standardizedFileURL.path
        let base = root.path.hasSuffix("/") ? root.path : root.path + "/"
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }

    public func createDirectories() throws {
        for folder in [root, scratch, logs, root.appendingPathComponent("outputs")] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
    }
}

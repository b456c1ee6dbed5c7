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

    // Told whether each is a folder: `appendingPathComponent` would ask the file system.
    public var store: URL { root.appending(path: "state.db", directoryHint: .notDirectory) }
    public var scratch: URL { root.appending(path: "tmp", directoryHint: .isDirectory) }
    public var logs: URL { root.appending(path: "logs", directoryHint: .isDirectory) }

    /// The absolute location of a workspace-relative path. Whether it is a folder is taken
    /// from the path (a trailing `/`), not looked up: `appendingPathComponent` asks the
    /// file system (`lstat`) every time, half the cost of resolving 100,000 outputs.
    public func url(_ relative: String) -> URL { root.appending(path: relative, directoryHint: .inferFromPath) }

    /// The workspace-relative form of a URL inside the workspace.
    public func relative(_ url: URL) -> String {
        let path = url.standardizedFileURL.path
        let base = root.path.hasSuffix("/") ? root.path : root.path + "/"
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }

    /// Creates the workspace's own folder (not its contents), or says why it cannot be
    /// one: the lock is taken on it before anything else is written.
    /// - Throws: ``WorkspaceError``.
    public func createRoot() throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: root.path, isDirectory: &isFolder), !isFolder.boolValue {
            throw WorkspaceError.notAFolder(path: root.path)
        }
        do {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        } catch {
            throw WorkspaceError.cannotCreate(path: root.path, reason: FileErrorReason.of(error))
        }
    }

    /// Creates the workspace's folders, or says why the workspace cannot hold them.
    /// - Throws: ``WorkspaceError``.
    public func createDirectories() throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: root.path, isDirectory: &isFolder), !isFolder.boolValue {
            throw WorkspaceError.notAFolder(path: root.path)
        }
        for folder in [root, scratch, logs, root.appendingPathComponent("outputs")] {
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            } catch {
                throw WorkspaceError.cannotCreate(path: folder.path, reason: FileErrorReason.of(error))
            }
        }
    }
}

/// Why a workspace folder cannot be used.
public enum WorkspaceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The workspace path names something that is not a folder (a regular file).
    case notAFolder(path: String)
    /// A folder of the workspace could not be created (permissions, read-only file system, a
    /// file where a parent folder should be, no space).
    case cannotCreate(path: String, reason: String)
    /// A file or folder of the workspace could not be written or removed (a read-only
    /// file system, permissions).
    case cannotWrite(path: String, reason: String)

    /// A readable explanation that says what to do.
    public var description: String {
        switch self {
        case .notAFolder(let path):
            "the workspace \(path) is a file, not a folder; pass --workspace with a folder path, or move the file away"
        case .cannotCreate(let path, let reason):
            "cannot create the workspace folder \(path): \(reason); check that the workspace is writable "
                + "(or pass --workspace with a writable folder) and that the disk has free space"
        case .cannotWrite(let path, let reason):
            "cannot use the workspace \(path): \(reason); pass --workspace with a writable folder, or fix its permissions"
        }
    }
}

import Foundation
import Synchronization

/// The scratch folders tasks write their unverified outputs into: each is lent to one
/// task at a time and emptied, not removed, when the task gives it back, so a run of
/// thousands of one-item tasks makes a handful of folders instead of one per task.
///
/// Why it matters: on ext4 without a journal, each new inode is found by scanning past
/// the inodes freed in the last 30 seconds (`find_inode_bit` calls `recently_deleted`
/// for every free bit before it), so a folder made and removed per task made every
/// later file creation of the run slower. Measured on `Benchmarks/executor.sh`: a fifth
/// of the run's CPU time went to that scan.
final class ScratchFolders: Sendable {
    /// Folder names unique in this process (two pools over one root never share one).
    private static let counter = Atomic<Int>(0)
    private let root: URL
    private let idle = Mutex<[URL]>([])

    init(root: URL) { self.root = root }

    /// An empty folder under the root, for the caller alone until ``giveBack(_:)``.
    func take() throws -> URL {
        if let folder = idle.withLock({ $0.popLast() }) { return folder }
        let number = Self.counter.add(1, ordering: .relaxed).oldValue
        let folder = root.appendingPathComponent("t\(getpid())-\(number)", isDirectory: true)
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// Empties `folder` and keeps it for the next task. One that cannot be emptied is
    /// removed as far as it can be and never lent again.
    func giveBack(_ folder: URL) {
        let manager = FileManager.default
        do {
            for entry in try manager.contentsOfDirectory(atPath: folder.path) {
                try manager.removeItem(at: folder.appendingPathComponent(entry))
            }
        } catch {
            try? manager.removeItem(at: folder)
            return
        }
        idle.withLock { $0.append(folder) }
    }

    /// Removes the folders no task holds: a finished run leaves no scratch behind.
    func removeIdle() {
        for folder in idle.withLock({ folders in defer { folders.removeAll() }; return folders }) {
            try? FileManager.default.removeItem(at: folder)
        }
    }
}

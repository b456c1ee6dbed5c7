import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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
            guard let entries = Self.entries(of: folder.path) else { throw CocoaError(.fileReadUnknown) }
            for entry in entries {
                try manager.removeItem(at: folder.appendingPathComponent(entry))
            }
        } catch {
            try? manager.removeItem(at: folder)
            return
        }
        idle.withLock { $0.append(folder) }
    }

    /// The names in the folder at `path` (without `.` and `..`), or nil when it cannot be
    /// read: `readdir` itself, for the usual empty folder of a task whose outputs are all
    /// moved (`contentsOfDirectory` made an array of names, and more, for nothing).
    static func entries(of path: String) -> [String]? {
        guard let directory = opendir(path) else { return nil }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes the folders no task holds: a finished run leaves no scratch behind.
    func removeIdle() {
        for folder in idle.withLock({ folders in defer { folders.removeAll() }; return folders }) {
            try? FileManager.default.removeItem(at: folder)
        }
    }
}

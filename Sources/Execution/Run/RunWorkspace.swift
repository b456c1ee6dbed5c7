import Foundation
import WorkspaceStore

extension Workspace {
    /// What every run does first, locally or on a cluster: take the workspace lock (before
    /// anything, even the store's migration, touches the workspace), create its folders,
    /// say when a stale lock is taken over, open the store and mark runs a crash left
    /// open. The caller releases the lock when the run ends.
    func openForRun(argv: [String], events: @Sendable (RunEvent) -> Void) throws -> (lock: WorkspaceLock, store: CheckpointStore) {
        try createRoot()
        let (lock, stale) = try WorkspaceLock.acquire(directory: root, command: argv.joined(separator: " "))
        do {
            try createDirectories()
            if let stale {
                events(.warning("taking over a stale lock from pid \(stale.pid) (\(stale.command), started \(ISO8601DateFormatter().string(from: stale.startedAt)))"))
            }
            let store = try CheckpointStore(path: self.store)
            try store.markAbandonedRuns()
            return (lock, store)
        } catch {
            lock.release()
            throw error
        }
    }
}

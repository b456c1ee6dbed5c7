import Basics
import Foundation
import Synchronization
import WorkspaceStore

/// Group commit of finished items: outputs already in place wait here for one
/// durability barrier and one store transaction per group, then are reported.
///
/// Why it is crash safe: an item's files are written into scratch space without an
/// fsync each (``UnsyncedFile``) and renamed into place; then, before the transaction
/// that marks the group done, `syncfs(2)` puts every file, name and rename of the
/// workspace's file system on the disk. So a done record can only reach the disk after
/// the files it vouches for (the store's WAL is written after the barrier returns). A
/// kill or power cut before the barrier leaves files in place but not recorded: the
/// next run makes those items again. One after it but before the commit: the same. A
/// power cut after the commit may still roll back the last transactions
/// (`synchronous=NORMAL`), which again only means redoing items, never trusting a
/// file that is not there. Items are reported (``RunEvent/itemDone``) only once
/// committed, so nothing is reported done that a crash could take back.
///
/// Groups form by themselves: while one flush runs, the items that finish meanwhile
/// queue for the next, so a slow tool (a clip a minute) gets its item committed at
/// once, and a fast one (hundreds of procedural images a second) shares one barrier
/// among many.
final class DoneRecorder: Sendable {
    /// One finished item waiting to be committed.
    struct Entry: Sendable {
        var record: ItemRecord
        var files: [ItemFile]
    }

    private struct State {
        var pending: [Entry] = []
        var flusher: Task<Void, Never>?
    }

    private let state = Mutex(State())
    /// The store in a local run, completion records in a cluster worker.
    private let store: any TaskRecorder
    /// Puts the group's files on the disk; runs before its transaction, which a failure skips.
    private let barrier: @Sendable () throws -> Void
    /// Called after a group is committed, or with the error when it was not.
    private let committed: @Sendable ([Entry], (any Error)?) -> Void

    /// `barrier` defaults to syncing the file system that holds `workspaceRoot`.
    init(store: any TaskRecorder, workspaceRoot: String,
         barrier: (@Sendable () throws -> Void)? = nil,
         committed: @escaping @Sendable ([Entry], (any Error)?) -> Void) {
        self.store = store
        self.barrier = barrier ?? { try UnsyncedFile.syncFileSystem(containing: workspaceRoot) }
        self.committed = committed
    }

    /// Commits `group` and the task records in `records`: `barrier` (the file-system
    /// sync) first, when the group has items, then one transaction; blocking, so it runs
    /// off the concurrency pool. The local run's scheduler commits what tasks hand over
    /// with it too.
    static func commit(_ group: [Entry], records: StoreBatch = StoreBatch(), to store: any TaskRecorder,
                       barrier: @escaping @Sendable () throws -> Void) async throws {
        try await BlockingWork.run {
            if !group.isEmpty { try barrier() }
            var batch = records
            batch.items = group.map { ($0.record, $0.files) }
            try store.record(batch)
        }
    }

    /// What an item whose commit failed is reported with.
    static func failure(_ error: any Error) -> String { "cannot record the finished item: \(error)" }

    /// Queues a finished item whose files are in place; a flush starts when none runs.
    func add(_ entry: Entry) {
        state.withLock { state in
            state.pending.append(entry)
            if state.flusher == nil { state.flusher = Task { await self.flushUntilEmpty() } }
        }
    }

    /// Returns when every queued item is committed (or failed to be).
    func drain() async {
        while let flusher = state.withLock({ $0.flusher }) { await flusher.value }
    }

    private func flushUntilEmpty() async {
        while true {
            let group: [Entry]? = state.withLock { state in
                if state.pending.isEmpty {
                    state.flusher = nil
                    return nil
                }
                defer { state.pending.removeAll(keepingCapacity: true) }
                return state.pending
            }
            guard let group else { return }
            do {
                try await Self.commit(group, to: store, barrier: barrier)
                committed(group, nil)
            } catch {
                committed(group, error)
            }
        }
    }
}

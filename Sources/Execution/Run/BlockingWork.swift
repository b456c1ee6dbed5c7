import Dispatch

/// Runs blocking file work (hashing outputs, writing a dataset, renames) on a dispatch
/// queue of its own instead of the Swift concurrency pool.
///
/// The pool has one thread per core (two on a small CI box). A task that hashes a
/// multi-gigabyte dataset there holds its thread for seconds, and the tasks that await
/// tool processes, schedule the next batch or handle Ctrl-C wait behind it. The
/// continuation resumes the caller on the pool when the work is done.
enum BlockingWork {
    private static let queue = DispatchQueue(label: "synthset.blocking-file-work", qos: .utility, attributes: .concurrent)

    /// The result of `work`, run on the blocking-work queue.
    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }
}

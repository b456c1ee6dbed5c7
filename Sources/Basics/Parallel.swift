import Foundation
import Synchronization

/// Work spread over every core.
package enum Parallel {
    /// `transform` of every index in `0..<count`, on every core, in index order. Indices
    /// are dealt out round-robin over a few chunks per core, so slow items spread evenly.
    package static func map<T: Sendable>(_ count: Int, _ transform: @Sendable (Int) -> T) -> [T] {
        guard count > 0 else { return [] }
        let chunks = min(count, ProcessInfo.processInfo.activeProcessorCount * 8)
        let parts = Mutex([[T]](repeating: [], count: chunks))
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let part = stride(from: chunk, to: count, by: chunks).map(transform)
            parts.withLock { $0[chunk] = part }
        }
        let done = parts.withLock { $0 }
        return (0..<count).map { done[$0 % chunks][$0 / chunks] }
    }
}

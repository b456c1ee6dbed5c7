import Foundation

/// Work spread over every core.
package enum Parallel {
    /// Drops `value` on another thread. Freeing a dictionary of 100,000 records (each a
    /// few strings) took a tenth of a second that a no-op re-run waited for; the caller
    /// must hand over its last reference (`consume`).
    package static func release<T: Sendable>(_ value: consuming T) {
        let last = value
        DispatchQueue.global(qos: .utility).async { withExtendedLifetime(last) {} }
    }

    /// `transform` of every index in `0..<count`, on every core, in index order. Indices
    /// are dealt out round-robin over a few chunks per core, so slow items spread evenly.
    ///
    /// Each result is made in its place in the array (every index by exactly one chunk):
    /// gathering per-chunk arrays afterwards copied every result once more, reference
    /// counts and all.
    package static func map<T: Sendable>(_ count: Int, _ transform: @Sendable (Int) -> T) -> [T] {
        guard count > 0 else { return [] }
        let chunks = min(count, ProcessInfo.processInfo.activeProcessorCount * 8)
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            let base = Place(pointer: buffer.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                for index in stride(from: chunk, to: count, by: chunks) {
                    (base.pointer + index).initialize(to: transform(index))
                }
            }
            initialized = count
        }
    }

    /// `0..<count` cut into a few consecutive runs per core, for work whose neighbours are
    /// cheaper together (each run remembers where the last one left off).
    package static func runs(_ count: Int) -> [Range<Int>] {
        guard count > 0 else { return [] }
        let runs = min(count, ProcessInfo.processInfo.activeProcessorCount * 4)
        return (0..<runs).map { count * $0 / runs..<count * ($0 + 1) / runs }
    }

    /// Work begun on another thread at once, its result waited for when needed: for work
    /// that can go on while the caller does something else (a plan's invocations, built
    /// while its items are written).
    package final class Pending<Value: Sendable>: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        /// Written once, by the work's thread, before `done` is signalled; read only after
        /// waiting for it.
        private var result: Value?

        package init(_ work: @escaping @Sendable () -> Value) {
            Thread.detachNewThread { [self] in
                result = work()
                done.signal()
            }
        }

        /// The result, once the work is done. Each call waits for the signal and passes it
        /// on to the next, so that no call reads `result` before the work has written it.
        package func value() -> Value {
            done.wait()
            defer { done.signal() }
            return result!
        }
    }

    /// The array's storage, shared by the chunks that each fill their own indices.
    private struct Place<T>: @unchecked Sendable {
        let pointer: UnsafeMutablePointer<T>
    }
}

/// A value handed to work on other threads that the compiler cannot prove safe to share:
/// views of arrays (buffers) that the caller keeps alive and unchanged until the work
/// returns, which is what every use must make sure of.
package struct UncheckedSendable<Value>: @unchecked Sendable {
    package let value: Value
    package init(_ value: Value) { self.value = value }
}

import Foundation

/// Work spread over every core.
package enum Parallel {
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

    /// The array's storage, shared by the chunks that each fill their own indices.
    private struct Place<T>: @unchecked Sendable {
        let pointer: UnsafeMutablePointer<T>
    }
}

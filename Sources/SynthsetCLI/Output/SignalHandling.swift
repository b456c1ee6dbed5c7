import Dispatch
import Foundation
import Synchronization

/// Turns SIGINT and SIGTERM into cancellation of the running operation, so the executor
/// can stop scheduling, tear its children down and leave the store consistent. A second
/// signal exits at once with 130.
enum SignalHandling {
    final class Presses: Sendable {
        let count = Mutex(0)
    }

    static func runCancellingOnSignal<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await body() }
        let presses = Presses()
        let sources = [SIGINT, SIGTERM].map { number -> DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let count = presses.count.withLock { value in value += 1; return value }
                if count == 1 {
                    Console.error("\nstopping: finishing the store and stopping tools (press Ctrl-C again to quit at once)\n")
                    task.cancel()
                } else {
                    exit(130)
                }
            }
            source.resume()
            return source
        }
        defer {
            for source in sources { source.cancel() }
        }
        return try await task.value
    }
}

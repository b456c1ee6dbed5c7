import Synchronization

/// Messages from a run's child tasks to its loop, taken in batches. Unlike a task group's
/// `next()`, a child may post more than once (a task's slot frees when its tool ends, its
/// result follows), and unlike `AsyncStream`, waiting is not cut short by cancellation:
/// the loop learns of it from what the cancelled children post as they end.
final class Mailbox<Message: Sendable>: Sendable {
    private struct State: ~Copyable {
        var messages: [Message] = []
        var waiter: CheckedContinuation<[Message], Never>?
    }

    private let state = Mutex(State())

    func post(_ message: Message) {
        let waiter = state.withLock { state -> CheckedContinuation<[Message], Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.messages.append(message)
            return nil
        }
        waiter?.resume(returning: [message])
    }

    /// Everything posted since the last call, in order; waits for a message when there is
    /// none. One caller at a time.
    func next() async -> [Message] {
        let ready = state.withLock { state -> [Message] in
            var taken: [Message] = []
            swap(&taken, &state.messages)
            return taken
        }
        if !ready.isEmpty { return ready }
        return await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> [Message] in
                guard state.messages.isEmpty else {
                    var taken: [Message] = []
                    swap(&taken, &state.messages)
                    return taken
                }
                state.waiter = continuation
                return []
            }
            if !ready.isEmpty { continuation.resume(returning: ready) }
        }
    }
}

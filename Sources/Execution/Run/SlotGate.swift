import Foundation
import Synchronization

/// The run's CPU slots (`--jobs`), handed from a tool that ends straight to a task that is
/// ready to start one, without a trip through the scheduler.
///
/// The scheduler starts up to twice as many CPU tasks as there are slots: those beyond
/// the slots prepare their attempt (scratch folder, log, arguments, environment) and then
/// wait here, so a slot that frees starts the next tool at once. On a DAG of one-line
/// commands on two cores (Benchmarks/executor.sh, traced with uprobes), a median 0.34 ms
/// went from one tool's exit to the next one's start (make: 0.15 ms), beside 1.2 ms for
/// the tool itself; with tasks prepared ahead, 0.17 ms.
final class SlotGate: Sendable {
    private struct State {
        var free: Int
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextID: UInt64 = 0
    }
    private let state: Mutex<State>

    init(slots: Int) {
        state = Mutex(State(free: max(1, slots)))
    }

    /// Takes a slot, waiting (first come, first served) while none is free. Cancellable:
    /// a cancelled wait throws `CancellationError` and takes nothing.
    func acquire() async throws {
        let id: UInt64? = state.withLock { state in
            if state.free > 0 && state.waiters.isEmpty {
                state.free -= 1
                return nil
            }
            defer { state.nextID += 1 }
            return state.nextID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Looked at again under the lock: a slot may have freed since.
                let ready: (any Error)?? = state.withLock { state in
                    if Task.isCancelled { return .some(CancellationError()) }
                    if state.free > 0 && state.waiters.isEmpty {
                        state.free -= 1
                        return .some(nil)
                    }
                    state.waiters.append((id, continuation))
                    return nil
                }
                switch ready {
                case .some(.some(let error)): continuation.resume(throwing: error)
                case .some(.none): continuation.resume()
                case .none: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Gives a slot back: to the longest waiter, or to the pool.
    func release() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard !state.waiters.isEmpty else {
                state.free += 1
                return nil
            }
            return state.waiters.removeFirst().continuation
        }
        waiter?.resume()
    }
}

/// One attempt's hold on a ``SlotGate`` slot: taken once, before its first tool starts
/// (``wait()``, again a no-op), given back once (``release()``, when the tool ends or
/// the attempt returns, whichever comes first).
public final class SlotTicket: Sendable {
    private let gate: SlotGate
    private let state = Mutex<(held: Bool, done: Bool, heldSince: Date?)>((false, false, nil))
    /// Called once the slot is taken (the attempt's tool may start now).
    private let onAcquire: @Sendable () -> Void

    init(gate: SlotGate, onAcquire: @escaping @Sendable () -> Void = {}) {
        self.gate = gate
        self.onAcquire = onAcquire
    }

    /// When the slot was taken, if it was.
    var heldSince: Date? { state.withLock { $0.heldSince } }

    /// Takes the slot unless this attempt holds (or held) it already.
    public func wait() async throws {
        guard state.withLock({ !$0.held && !$0.done }) else { return }
        try await gate.acquire()
        let keep = state.withLock { state -> Bool in
            guard !state.done else { return false }
            state.held = true
            state.heldSince = Date()
            return true
        }
        // Released meanwhile (the attempt gave up): the slot goes straight back.
        guard keep else { return gate.release() }
        onAcquire()
    }

    /// Gives the slot back if it is held; from then on the ticket takes none.
    public func release() {
        let held = state.withLock { state -> Bool in
            defer { state.done = true; state.held = false }
            return state.held
        }
        if held { gate.release() }
    }
}

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
    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Void, any Error>
        /// Run by the thread that hands the slot over, before the waiter resumes.
        var onGrant: (@Sendable () -> Void)?
    }
    private struct State {
        var free: Int
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
        /// The run is stopping: no slot is handed out any more.
        var closed = false
    }
    private let state: Mutex<State>

    init(slots: Int) {
        state = Mutex(State(free: max(1, slots)))
    }

    /// Takes a slot, waiting (first come, first served) while none is free. Cancellable:
    /// a cancelled wait throws `CancellationError` and takes nothing. Returns whether
    /// `onGrant` ran: it does when the slot is handed over by ``release()``, on the
    /// releasing thread (the one that reaped the tool before, at its exit), not when a
    /// slot was free at once.
    @discardableResult
    func acquire(onGrant: (@Sendable () -> Void)? = nil) async throws -> Bool {
        let id: UInt64? = try state.withLock { state in
            if state.closed { throw CancellationError() }
            if state.free > 0 && state.waiters.isEmpty {
                state.free -= 1
                return nil
            }
            defer { state.nextID += 1 }
            return state.nextID
        }
        guard let id else { return false }
        let granted = Granted()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Looked at again under the lock: a slot may have freed since.
                let ready: (any Error)?? = state.withLock { state in
                    if Task.isCancelled || state.closed { return .some(CancellationError()) }
                    if state.free > 0 && state.waiters.isEmpty {
                        state.free -= 1
                        return .some(nil)
                    }
                    let onGrant = onGrant.map { action in { @Sendable in granted.mark(); action() } }
                    state.waiters.append(Waiter(id: id, continuation: continuation, onGrant: onGrant))
                    return nil
                }
                switch ready {
                case .some(.some(let error)): continuation.resume(throwing: error)
                case .some(.none): continuation.resume()
                case .none: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
        return granted.ran
    }

    /// How many wait for a slot now.
    var waiting: Int { state.withLock { $0.waiters.count } }

    /// Stops handing out slots (the run was interrupted): every waiter, and every later
    /// ``acquire(onGrant:)``, gets `CancellationError`, so no tool starts once the run stops
    /// (a tool that ends as the run stops would otherwise start the next one waiting).
    func close() {
        let waiters = state.withLock { state in
            state.closed = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume(throwing: CancellationError()) }
    }

    /// Gives a slot back: to the longest waiter (running its `onGrant` first), or to the pool.
    func release() {
        let waiter = state.withLock { state -> Waiter? in
            guard !state.waiters.isEmpty else {
                state.free += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        guard let waiter else { return }
        waiter.onGrant?()
        waiter.continuation.resume()
    }

    /// Whether a waiter's `onGrant` ran (set before its continuation resumes).
    private final class Granted: Sendable {
        private let value = Atomic<Bool>(false)
        func mark() { value.store(true, ordering: .releasing) }
        var ran: Bool { value.load(ordering: .acquiring) }
    }
}

/// One attempt's hold on a ``SlotGate`` slot: taken once, before its first tool starts
/// (``wait()`` or ``start(_:)``; again, a no-op), given back once (``release()``, when the
/// tool ends or the attempt returns, whichever comes first).
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
        taken()
    }

    /// Takes the slot, then runs `launch` (a tool's start) and returns what it returns.
    /// When the slot is handed over by a tool that ends, `launch` runs right there, on
    /// the thread that reaped that tool, with no hop to another thread in between: the
    /// next tool starts as a tool ends, as make's next child does.
    public func start<T: Sendable>(_ launch: @escaping @Sendable () -> T) async throws -> T {
        guard state.withLock({ !$0.held && !$0.done }) else { return launch() }
        let result = Outcome<T>()
        let granted = try await gate.acquire { result.set(launch()) }
        taken()
        return granted ? result.get()! : launch()
    }

    private func taken() {
        state.withLock { state in
            state.held = true
            state.heldSince = Date()
        }
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

    /// What `launch` returned on the granting thread.
    private final class Outcome<T: Sendable>: @unchecked Sendable {
        private let lock = Mutex(())
        private var value: T?
        func set(_ new: T) { lock.withLock { _ in value = new } }
        func get() -> T? { lock.withLock { _ in value } }
    }
}

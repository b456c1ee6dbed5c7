import Foundation
import Synchronization
import Testing

@testable import Execution

/// ``SlotGate`` and ``SlotTicket``: the CPU slots that tasks prepared ahead wait on.
struct SlotGateTests {
    /// Values appended from several tasks.
    final class Log: Sendable {
        let values = Mutex<[Int]>([])
        func append(_ value: Int) { values.withLock { $0.append(value) } }
        var all: [Int] { values.withLock { $0 } }
    }

    /// Waits until `condition` holds (or ten seconds pass).
    static func eventually(_ condition: () -> Bool) async {
        let deadline = Date().addingTimeInterval(10)
        while !condition() && Date() < deadline { try? await Task.sleep(for: .milliseconds(2)) }
    }

    @Test("A freed slot goes to the longest waiter, one waiter per slot, and to the pool when none waits")
    func firstComeFirstServed() async throws {
        let gate = SlotGate(slots: 1)
        try await gate.acquire()
        let order = Log()
        var waiters: [Task<Void, any Error>] = []
        for index in 0..<3 {
            waiters.append(Task {
                try await gate.acquire()
                order.append(index)
            })
            // Each in line before the next.
            await Self.eventually { gate.waiting == index + 1 }
        }
        #expect(order.all.isEmpty, "a waiter went ahead while the slot was held")
        gate.release()
        await Self.eventually { order.all.count == 1 }
        #expect(order.all == [0])
        gate.release()
        gate.release()
        for waiter in waiters { try await waiter.value }
        #expect(order.all == [0, 1, 2])
        // The last waiter's slot came back to the pool: one acquire goes through at once.
        gate.release()
        try await gate.acquire()
    }

    @Test("A cancelled wait throws and takes no slot; the next waiter gets it")
    func cancelledWait() async throws {
        let gate = SlotGate(slots: 1)
        try await gate.acquire()
        let cancelled = Task { try await gate.acquire() }
        await Self.eventually { gate.waiting == 1 }
        let next = Task { try await gate.acquire() }
        await Self.eventually { gate.waiting == 2 }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        gate.release()
        try await next.value
        // The slot is next's now: a third waiter waits until next gives it back.
        let third = Task { try await gate.acquire() }
        await Self.eventually { gate.waiting == 1 }
        third.cancel()
        await #expect(throws: CancellationError.self) { try await third.value }
    }

    @Test("A closed gate (the run stops) fails its waiters and later takers, and a slot given back starts nothing")
    func closedGate() async throws {
        let gate = SlotGate(slots: 1)
        try await gate.acquire()
        let started = Log()
        let waiting = Task { try await gate.acquire { started.append(1) } }
        await Self.eventually { gate.waiting == 1 }
        gate.close()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        gate.release()
        #expect(started.all.isEmpty, "a slot given back after the close started a waiter's tool")
        await #expect(throws: CancellationError.self) { try await gate.acquire() }
    }

    @Test("A ticket takes its slot once, reports it once, and gives it back once")
    func ticketOnce() async throws {
        let gate = SlotGate(slots: 1)
        let acquired = Log()
        let ticket = SlotTicket(gate: gate) { acquired.append(1) }
        #expect(ticket.heldSince == nil)
        try await ticket.wait()
        try await ticket.wait()
        #expect(acquired.all == [1])
        #expect(ticket.heldSince != nil)
        ticket.release()
        ticket.release()
        // Exactly one slot back: one acquire passes, a second waits.
        try await gate.acquire()
        let second = Task { try await gate.acquire() }
        await Self.eventually { gate.waiting == 1 }
        second.cancel()
        await #expect(throws: CancellationError.self) { try await second.value }
        // A released ticket takes no slot again.
        gate.release()
        try await ticket.wait()
        try await gate.acquire()
    }
}

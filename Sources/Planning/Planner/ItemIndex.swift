import Basics
import Foundation

/// Item ids to their index in the plan's items, keyed by the id's first 16 hex digits as
/// a number; ids that are not hex, or that share those digits with another id, go to a
/// dictionary of whole ids. The digits of a SHA-256 are as good as a hash already, so the
/// table is open addressing on them: a lookup is one probe of one array, without hashing
/// (a dictionary's hashing was most of the cost of the lookups planning and invocations
/// make for every item).
///
/// The table is cut into parts by the key's top bits, so that a step's items are put in
/// on every core, each part by one thread: for a million items, one thread putting them
/// in, a cache miss each, was a tenth of planning.
struct ItemIndex: Sendable {
    private struct Slot {
        var key: UInt64
        /// The item's index; -1 for an empty slot.
        var index: Int
    }

    private struct Part {
        var slots: [Slot] = []
        var count = 0

        /// The slot holding `key`, or the empty slot where it would go.
        func probe(_ key: UInt64) -> Int {
            let mask = slots.count - 1
            var position = Int(truncatingIfNeeded: key) & mask
            while slots[position].index >= 0, slots[position].key != key { position = (position + 1) & mask }
            return position
        }

        /// Puts `index` under `key` unless the key is there; the index already there, if any.
        mutating func place(_ key: UInt64, _ index: Int) -> Int? {
            if 2 * (count + 1) > slots.count { grow(to: 2 * (count + 1)) }
            let position = probe(key)
            if slots[position].index >= 0 { return slots[position].index }
            slots[position] = Slot(key: key, index: index)
            count += 1
            return nil
        }

        /// Rehashes into at least `minimum` slots (a power of two, at least twice the entries).
        mutating func grow(to minimum: Int) {
            var capacity = max(16, slots.count)
            while capacity < minimum { capacity *= 2 }
            guard capacity > slots.count else { return }
            let old = slots
            slots = Array(repeating: Slot(key: 0, index: -1), count: capacity)
            for slot in old where slot.index >= 0 { slots[probe(slot.key)] = slot }
        }
    }

    /// The top `partBits` bits of a key choose its part.
    private static let partBits = 3
    private var parts = [Part](repeating: Part(), count: 1 << ItemIndex.partBits)
    private var byID: [String: Int] = [:]

    private static func part(of key: UInt64) -> Int { Int(key >> UInt64(64 - partBits)) }

    /// The key of an id: its first 16 hex digits, nil when they are not lowercase hex.
    private static func key(_ id: String) -> UInt64? {
        var id = id
        return id.withUTF8 { ItemExpander.hexPrefix($0) }
    }

    func find(_ id: String, in items: [PlannedItem]) -> Int? {
        items.withUnsafeBufferPointer { find(id, in: $0) }
    }

    /// Through the buffer, whose subscript reads an item's id in place (the array's copies
    /// the whole item).
    func find(_ id: String, in items: UnsafeBufferPointer<PlannedItem>) -> Int? {
        guard let key = Self.key(id) else { return byID[id] }
        let part = parts[Self.part(of: key)]
        guard !part.slots.isEmpty else { return nil }
        let slot = part.slots[part.probe(key)]
        guard slot.index >= 0 else { return nil }
        return items[slot.index].id == id ? slot.index : byID[id]
    }

    /// Puts in the items at `positions` of `items`, in order; the first position whose id
    /// is already in (an earlier position's, or one put in before), if any.
    mutating func insert(_ positions: Range<Int>, of items: UnsafeBufferPointer<PlannedItem>) -> Int? {
        guard !positions.isEmpty else { return nil }
        let sendable = UncheckedSendable(items)
        // Keys first, on every core, each id read once; then each part takes its own keys.
        let runs = Parallel.runs(positions.count)
        let keys = Parallel.map(runs.count) { run in
            runs[run].map { Self.key(sendable.value[positions.lowerBound + $0].id) }
        }.flatMap { $0 }
        let expected = positions.count >> Self.partBits
        let outcomes = parts.withUnsafeMutableBufferPointer { parts in
            let sendableParts = UncheckedSendable(parts)
            return Parallel.map(parts.count) { number -> (repeated: Int?, deferred: [Int]) in
                // Each part is touched by this thread alone.
                let part = sendableParts.value.baseAddress! + number
                part.pointee.grow(to: 2 * (part.pointee.count + expected + expected / 8 + 16))
                var repeated: Int?
                var deferred: [Int] = []
                for offset in keys.indices {
                    guard let key = keys[offset], Self.part(of: key) == number else { continue }
                    let position = positions.lowerBound + offset
                    guard let existing = part.pointee.place(key, position) else { continue }
                    if sendable.value[existing].id == sendable.value[position].id {
                        if repeated == nil { repeated = position }
                    } else {
                        deferred.append(position)  // another id with the same digits
                    }
                }
                return (repeated, deferred)
            }
        }
        // Ids that are not hex and ids whose digits were taken, in position order.
        var deferred = outcomes.flatMap(\.deferred)
        deferred += keys.indices.lazy.filter { keys[$0] == nil }.map { positions.lowerBound + $0 }
        deferred.sort()
        var repeated = outcomes.compactMap(\.repeated).min()
        for position in deferred {
            let id = items[position].id
            if byID[id] == nil {
                byID[id] = position
            } else if repeated.map({ position < $0 }) ?? true {
                repeated = position
            }
        }
        return repeated
    }
}

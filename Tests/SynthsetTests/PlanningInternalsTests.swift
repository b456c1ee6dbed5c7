import Basics
import Foundation
@testable import Planning
import Testing

/// The pieces planning a million items is made fast with, each held to the plain
/// computation it replaces.
@Suite struct PlanningInternalsTests {
    /// A 64-digit lowercase hex id from a generator.
    static func hexID(_ generator: inout SplitMix64) -> String {
        (0..<4).map { _ in
            let digits = String(generator.next(), radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
    }

    static func item(_ id: String, inputs: [String] = []) -> PlannedItem {
        var item = PlannedItem.filler
        item.id = id
        item.inputs = inputs
        return item
    }

    /// Ids that take every path of the index: hex ids, two that share their first 16
    /// digits, one that is not hex, and repeats of a hex id and of the non-hex one.
    static func awkwardIDs() -> [String] {
        var generator = SplitMix64(seed: 7)
        var ids = (0..<5_000).map { _ in hexID(&generator) }
        let shared = String(ids[10].prefix(16))
        ids.insert(shared + String(repeating: "f", count: 48), at: 2_000)  // same digits as ids[10]
        ids.insert("not-a-hex-id", at: 3_000)
        ids.append(ids[42])  // a repeat of a hex id
        ids.append("not-a-hex-id")  // and of the non-hex one
        ids.append(shared + String(repeating: "f", count: 48))  // and of the colliding one
        return ids
    }

    @Test func itemIndexFindsWhatADictionaryFinds() {
        let ids = Self.awkwardIDs()
        let items = ids.map { Self.item($0) }
        var index = ItemIndex()
        // Two steps' worth: the index grows between them.
        let split = 2_500
        var repeats: [Int] = []
        items.withUnsafeBufferPointer { buffer in
            if let position = index.insert(0..<split, of: buffer) { repeats.append(position) }
            if let position = index.insert(split..<buffer.count, of: buffer) { repeats.append(position) }
        }
        var firstPosition: [String: Int] = [:]
        var expectedRepeat: Int?
        for (position, id) in ids.enumerated() {
            if firstPosition[id] == nil { firstPosition[id] = position } else if expectedRepeat == nil { expectedRepeat = position }
        }
        // The first repeat of the plan, found in the second range.
        #expect(repeats == [expectedRepeat!])
        #expect(expectedRepeat == 5_002)
        for (id, position) in firstPosition {
            #expect(index.find(id, in: items) == position, "\(id)")
        }
        var generator = SplitMix64(seed: 99)
        #expect(index.find(Self.hexID(&generator), in: items) == nil)
        #expect(index.find(String(ids[10].prefix(16)) + String(repeating: "0", count: 48), in: items) == nil)
        #expect(index.find("another-name", in: items) == nil)
    }

    @Test func anEmptyIndexFindsNothing() {
        let items = [Self.item("abc")]
        #expect(ItemIndex().find("abc", in: items) == nil)
        #expect(ItemIndex().find(String(repeating: "a", count: 64), in: items) == nil)
    }

    /// Dependencies in order of first mention, each once, as the loop over every input did
    /// it: with inputs in order (the guesses hit), shuffled (they miss), unknown ids, items
    /// with no inputs, more than 16 producers in one task, and one task over everything.
    @Test func dependenciesAreThoseOfThePlainLoop() {
        var generator = SplitMix64(seed: 3)
        let upstream = (0..<3_000).map { _ in Self.item(Self.hexID(&generator)) }
        let taskOfItem = upstream.indices.map { $0 / 7 }  // 7 items per upstream task
        var index = ItemIndex()
        upstream.withUnsafeBufferPointer { _ = index.insert(0..<$0.count, of: $0) }
        var items: [PlannedItem] = []
        for position in 0..<1_500 {  // two inputs each, in order
            items.append(Self.item("labels-\(position)", inputs: [upstream[2 * position].id, upstream[2 * position + 1].id]))
        }
        var shuffled = upstream.map(\.id)
        shuffled.shuffle(using: &generator)
        for position in 0..<600 {
            var inputs = Array(shuffled[(5 * position)..<(5 * position + 5)])
            if position % 50 == 0 { inputs.append("unknown-\(position)") }
            items.append(Self.item("mixed-\(position)", inputs: position % 9 == 0 ? [] : inputs))
        }
        items.append(Self.item("export", inputs: shuffled))
        var members: [[Int]] = stride(from: 0, to: 1_500, by: 64).map { Array($0..<min($0 + 64, 1_500)) }
        members += stride(from: 1_500, to: 2_100, by: 100).map { Array($0..<($0 + 100)) }  // > 16 producers each
        members.append([items.count - 1])
        members.append([])

        let found = upstream.withUnsafeBufferPointer { planned in
            taskOfItem.withUnsafeBufferPointer { tasks in
                items.withUnsafeBufferPointer { buffer in
                    TaskGrouper.dependencies(of: members, items: buffer,
                                             producers: TaskGrouper.Producers(items: planned, index: index, taskOfItem: tasks))
                }
            }
        }
        let position = Dictionary(uniqueKeysWithValues: upstream.enumerated().map { ($1.id, $0) })
        let expected = members.map { batch -> [Int] in
            var dependencies: [Int] = []
            for item in batch {
                for input in items[item].inputs {
                    if let task = position[input].map({ taskOfItem[$0] }), !dependencies.contains(task) { dependencies.append(task) }
                }
            }
            return dependencies
        }
        #expect(found == expected)
        #expect(found[found.count - 2].count == Set(taskOfItem).count)
        #expect(found.last == [])
        #expect(found[0].count == 19)  // 128 inputs, 7 per task: tasks 0...18
    }

    /// Moved, not copied: afterwards the target holds the only reference to each element.
    @Test func appendMovingMovesInOrderAndLeavesFillers() {
        final class Box { let value: Int; init(_ value: Int) { self.value = value } }
        let filler = Box(-1)
        var target = (0..<3).map { Box($0) }
        var source = (3..<10).map { Box($0) }
        target.appendMoving(&source, leaving: filler)
        #expect(target.map(\.value) == Array(0..<10))
        #expect(source.count == 7 && source.allSatisfy { $0 === filler })
        source = []
        for index in target.indices { #expect(isKnownUniquelyReferenced(&target[index])) }

        var empty: [Box] = []
        var more = [Box(1), Box(2)]
        empty.appendMoving(&more, leaving: filler)
        #expect(empty.map(\.value) == [1, 2])
        #expect(more.isEmpty)
    }

    @Test func sortedIDsAreSortedIDs() {
        var generator = SplitMix64(seed: 11)
        var ids = (0..<2_000).map { _ in Self.hexID(&generator) }
        // Ties on the first 16 digits are ordered by the rest.
        let prefix = String(ids[0].prefix(16))
        ids += ["9", "1", "5"].map { prefix + String(repeating: $0, count: 48) }
        ids.shuffle(using: &generator)
        #expect(ItemExpander.sortedIDs(ids) == ids.sorted())
        let mixed = ids + ["Zebra", "apple"]
        #expect(ItemExpander.sortedIDs(mixed) == mixed.sorted())
    }

    @Test func runsCoverEveryIndexOnceInOrder() {
        for count in [0, 1, 5, 7, 1_000, 4_099] {
            let runs = Parallel.runs(count)
            #expect(runs.flatMap { Array($0) } == Array(0..<count))
            #expect(runs.allSatisfy { !$0.isEmpty })
        }
    }
}

import Basics
import WorkflowSpec

/// A prompt ready for a tool: the text after substitution and its negative prompt.
public struct ResolvedPrompt: Sendable, Hashable, Codable {
    public var text: String
    public var negative: String?
    /// Where it came from, for people: `can_line[3]`.
    public var ref: String
    /// The var values that produced it (templates only).
    public var vars: [String: String]?
}

/// Expands prompt sets into prompts.
///
/// Matrix order: combinations are enumerated like an odometer over the vars sorted by
/// name, the last changing fastest. Name order, not file order, so that reordering the
/// keys of `vars:` (a YAML mapping) changes neither the prompts nor a sample.
/// Sampling (`sample: {count, seed}`) ranks every combination by a 64-bit hash of the
/// sample seed and the combination's own values (`name=value` in name order, never its
/// position), keeps the `count` lowest ranks, and lists them in matrix order. A
/// combination's rank does not depend on the other values, so adding a value to a var
/// replaces only the kept combinations that new ones outrank (12 of 36 -> 12 of 48:
/// about 3 replaced), and removing one keeps every kept combination that survives. Only
/// 64-bit integer arithmetic (FNV-1a and the SplitMix64 finalizer), so every machine
/// picks the same subset.
public enum PromptExpander {
    public static func expand(_ set: PromptSet) -> [ResolvedPrompt] {
        switch set.source {
        case .file(_, let prompts, _):
            return prompts.enumerated().map { index, prompt in
                ResolvedPrompt(text: prompt.prompt, negative: prompt.negative ?? set.negative,
                               ref: "\(set.id)[\(index)]", vars: nil)
            }
        case .template(let template, let declared, let sample):
            let vars = declared.sorted { $0.name < $1.name }
            // Saturating: the planner refuses matrices past its item limit before this
            // runs, but a sample of a huge matrix is fine and must not trap.
            let total = vars.reduce(1) { product, variable in
                let (next, overflow) = product.multipliedReportingOverflow(by: variable.values.count)
                return overflow ? Int.max : next
            }
            guard total > 0 else { return [] }
            let indices = sample.map { sampleIndices(count: min($0.count, total), vars: vars.map { ($0.name, $0.values) }, seed: $0.seed) }
                ?? Array(0..<total)
            return indices.map { index in
                var remainder = index
                var values: [String: String] = [:]
                for variable in vars.reversed() {
                    values[variable.name] = variable.values[remainder % variable.values.count]
                    remainder /= variable.values.count
                }
                return ResolvedPrompt(text: PromptTemplate.render(template, values), negative: set.negative,
                                      ref: "\(set.id)[\(index)]", vars: values)
            }
        }
    }

    /// The matrix indices (ascending) of the `count` combinations of `vars` (sorted by
    /// name; the last changes fastest) with the lowest rank for `seed`. O(n log count)
    /// time for n combinations, O(count) memory beyond one hash per value.
    public static func sampleIndices(count: Int, vars: [(name: String, values: [String])], seed: UInt64) -> [Int] {
        let total = vars.reduce(1) { $0 * $1.values.count }
        guard count > 0, total > 0 else { return [] }
        // One hash per (var, value); a combination's rank mixes them in name order.
        let valueHashes = vars.map { variable in variable.values.map { fnv1a(variable.name + "\u{1F}" + $0) } }
        let start = SplitMix64.mix(seed ^ 0x5EED_5A3F_1E00_0000)
        // The `count` lowest (rank, index) pairs, the highest of them on top.
        var heap = Heap<(rank: UInt64, index: Int)> { ($0.rank, $0.index) > ($1.rank, $1.index) }
        var kept = 0
        var digits = [Int](repeating: 0, count: vars.count)
        for index in 0..<total {
            var remainder = index
            for position in vars.indices.reversed() {
                digits[position] = remainder % vars[position].values.count
                remainder /= vars[position].values.count
            }
            var rank = start
            for position in vars.indices { rank = SplitMix64.mix(rank ^ valueHashes[position][digits[position]]) }
            if kept < count {
                heap.push((rank, index))
                kept += 1
            } else if let top = heap.peek, (top.rank, top.index) > (rank, index) {
                _ = heap.pop()
                heap.push((rank, index))
            }
        }
        var chosen: [Int] = []
        while let entry = heap.pop() { chosen.append(entry.index) }
        return chosen.sorted()
    }

    /// 64-bit FNV-1a over the UTF-8 bytes.
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}

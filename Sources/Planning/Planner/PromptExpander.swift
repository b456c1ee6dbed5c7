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
/// Sampling (`sample: {count, seed}`) draws `count` distinct combination indices with a
/// partial Fisher–Yates shuffle driven by SplitMix64 seeded with `seed`
/// (`index = i + next() % (n - i)`), then keeps them in matrix order. It uses only 64-bit integer arithmetic, so the same seed picks the
/// same subset on every machine. Adding a var value changes `n` and so the subset.
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
            let indices = sample.map { sampleIndices(count: min($0.count, total), from: total, seed: $0.seed) }
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

    /// `count` distinct indices in `0..<n`, ascending; O(count) time and memory.
    public static func sampleIndices(count: Int, from n: Int, seed: UInt64) -> [Int] {
        var generator = SplitMix64(seed: seed)
        var swapped: [Int: Int] = [:]
        var chosen: [Int] = []
        chosen.reserveCapacity(count)
        for i in 0..<count {
            let j = i + Int(generator.next() % UInt64(n - i))
            let atJ = swapped[j] ?? j
            let atI = swapped[i] ?? i
            swapped[j] = atI
            chosen.append(atJ)
        }
        return chosen.sorted()
    }
}

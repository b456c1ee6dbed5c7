import Foundation
import WorkflowSpec

/// How many items a step will make, computed with overflow checks before anything is
/// allocated, so a hostile or mistyped recipe (ten vars of a hundred values) is a
/// located error instead of a trap or an out-of-memory kill.
///
/// A count is exact, or nil past `Int.max` (then only its magnitude is known); each
/// carries a readable product (`10 vars of 100 values`) for the message. Tools give their
/// bound through ``PlanningTool/itemCountBound(_:workflow:upstream:)``.
public enum PlanBounds {
    /// The default `--max-items`: the most items one plan may hold.
    public static let defaultMaxItems = 10_000_000

    /// An item count and how it arises.
    public struct ItemCount: Sendable {
        /// The exact count, or nil past `Int.max`.
        public var value: Int?
        /// log10 of the count, for a readable size when it overflows.
        public var magnitude: Double
        /// How the count arises, e.g. `10 vars of 100 values`.
        public var product: String

        public static func exact(_ n: Int, _ product: String) -> ItemCount {
            ItemCount(value: n, magnitude: n > 0 ? log10(Double(n)) : -.infinity, product: product)
        }

        /// `self × other`, overflow-checked.
        public func times(_ other: ItemCount) -> ItemCount {
            var value: Int?
            if let a = self.value, let b = other.value {
                let (product, overflow) = a.multipliedReportingOverflow(by: b)
                value = overflow ? nil : product
            }
            if self.value == 0 || other.value == 0 { value = 0 }
            let parts = [self.product, other.product].filter { !$0.isEmpty }
            return ItemCount(value: value, magnitude: magnitude + other.magnitude, product: parts.joined(separator: " × "))
        }

        /// `self + other`, overflow-checked.
        public func plus(_ other: ItemCount) -> ItemCount {
            var value: Int?
            if let a = self.value, let b = other.value {
                let (sum, overflow) = a.addingReportingOverflow(b)
                value = overflow ? nil : sum
            }
            let big = max(magnitude, other.magnitude)
            return ItemCount(value: value, magnitude: big + log10(1 + pow(10, min(magnitude, other.magnitude) - big)),
                         product: [self.product, other.product].filter { !$0.isEmpty }.joined(separator: " + "))
        }

        /// Whether the count is past `limit`.
        public func exceeds(_ limit: Int) -> Bool { value.map { $0 > limit } ?? true }

        /// The count for people: `1200`, or `10^20` / `about 3.5·10^21` past 10^15.
        public var readable: String {
            if let value, value < 1_000_000_000_000_000 { return String(value) }
            let exponent = magnitude.rounded(.down)
            let mantissa = pow(10, magnitude - exponent)
            if abs(mantissa - 1) < 1e-9 { return "10^\(Int(exponent))" }
            return "about \(String(format: "%.1f", mantissa))·10^\(Int(exponent))"
        }
    }

    /// The prompts of a prompt set: the template's matrix (or its sample), or the file's.
    public static func prompts(_ set: PromptSet) -> ItemCount {
        switch set.source {
        case .file(_, let prompts, _):
            return .exact(prompts.count, "\(prompts.count) prompts of '\(set.id)'")
        case .template(_, let vars, let sample):
            var total = ItemCount.exact(1, "")
            for variable in vars { total = total.times(.exact(variable.values.count, "")) }
            let counts = vars.map(\.values.count)
            let product: String
            if let first = counts.first, counts.allSatisfy({ $0 == first }) {
                product = "\(counts.count) var\(counts.count == 1 ? "" : "s") of \(first) value\(first == 1 ? "" : "s")"
            } else {
                product = counts.map(String.init).joined(separator: " × ") + " values"
            }
            total.product = product
            if let sample, !total.exceeds(sample.count) || total.value == nil {
                return .exact(sample.count, "a sample of \(sample.count) from \(product)")
            }
            return total
        }
    }

    /// The prompts a step itself declares (its sets, then its inline prompt).
    public static func stepPrompts(_ step: Step, workflow: Workflow) -> ItemCount {
        var total = ItemCount.exact(0, "")
        var parts: [String] = []
        for id in step.promptSets {
            guard let set = workflow.promptSet(id) else { continue }
            let count = prompts(set)
            total = total.plus(count)
            parts.append(count.product)
        }
        if step.prompt != nil {
            total = total.plus(.exact(1, ""))
            parts.append("1 inline prompt")
        }
        total.product = parts.count > 1 ? "(" + parts.joined(separator: " + ") + ")" : parts.first ?? ""
        return total
    }

    /// An upper bound on the items most tools make: seeds × inputs (when the step reads
    /// from others) × its own prompts, each factor at least 1. It holds for every
    /// expansion ``ItemExpander`` offers but a frame's (see ``frames(_:workflow:upstream:)``).
    public static func items(_ step: Step, workflow: Workflow, upstream: Int) -> ItemCount {
        let seeds = step.seeds.map { ItemCount.exact($0.count, "\($0.count) seed\($0.count == 1 ? "" : "s")") } ?? .exact(1, "")
        let inputs = step.from.isEmpty ? ItemCount.exact(1, "") : .exact(upstream, "\(upstream) input\(upstream == 1 ? "" : "s")")
        let own = stepPrompts(step, workflow: workflow)
        return seeds.times(inputs).times(own.value == 0 ? .exact(1, "") : own)
    }

    /// An upper bound on the frames a frame-extraction step makes: inputs × the most
    /// frames a clip may give (the cap, or what the producer's clip length and the
    /// sampling rate imply; a rate is user input, so it is bounded as a Double).
    public static func frames(_ step: Step, workflow: Workflow, upstream: Int) -> ItemCount {
        var perClip = Double(step.frames?.maxFrames ?? 0)
        for producer in step.from.compactMap({ workflow.step($0) }) {
            guard let known = producer.planning.clipFrames(producer) else { continue }
            let sampled = step.frames?.fps.map { Double(known.count) / known.fps * $0 } ?? Double(known.count)
            perClip = max(perClip, step.frames?.maxFrames.map { min(Double($0), sampled) } ?? sampled)
        }
        let frames = perClip < 9.0e18
            ? ItemCount.exact(Int(perClip.rounded(.up)), "up to \(Int(perClip.rounded(.up))) frames per clip")
            : ItemCount(value: nil, magnitude: log10(perClip), product: "up to \(perClip) frames per clip")
        return ItemCount.exact(upstream, "\(upstream) clip\(upstream == 1 ? "" : "s")").times(frames)
    }
}

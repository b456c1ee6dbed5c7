import Foundation
import WorkflowSpec

/// How many items a step will make, computed with overflow checks before anything is
/// allocated, so a hostile or mistyped recipe (ten vars of a hundred values) is a
/// located error instead of a trap or an out-of-memory kill.
///
/// A count is an exact `Int` or ``Count/tooMany(_:)`` (past `Int.max`); each carries a
/// readable product (`10 vars of 100 values`) for the message.
struct PlanBounds {
    /// The default `--max-items`: the most items one plan may hold.
    static let defaultMaxItems = 10_000_000

    /// An item count and how it arises.
    struct Count {
        /// The exact count, or nil past `Int.max`.
        var value: Int?
        /// log10 of the count, for a readable size when it overflows.
        var magnitude: Double
        /// How the count arises, e.g. `10 vars of 100 values`.
        var product: String

        static func exact(_ n: Int, _ product: String) -> Count {
            Count(value: n, magnitude: n > 0 ? log10(Double(n)) : -.infinity, product: product)
        }

        /// `self × other`, overflow-checked.
        func times(_ other: Count) -> Count {
            var value: Int?
            if let a = self.value, let b = other.value {
                let (product, overflow) = a.multipliedReportingOverflow(by: b)
                value = overflow ? nil : product
            }
            if self.value == 0 || other.value == 0 { value = 0 }
            let parts = [self.product, other.product].filter { !$0.isEmpty }
            return Count(value: value, magnitude: magnitude + other.magnitude, product: parts.joined(separator: " × "))
        }

        /// `self + other`, overflow-checked.
        func plus(_ other: Count) -> Count {
            var value: Int?
            if let a = self.value, let b = other.value {
                let (sum, overflow) = a.addingReportingOverflow(b)
                value = overflow ? nil : sum
            }
            let big = max(magnitude, other.magnitude)
            return Count(value: value, magnitude: big + log10(1 + pow(10, min(magnitude, other.magnitude) - big)),
                         product: [self.product, other.product].filter { !$0.isEmpty }.joined(separator: " + "))
        }

        /// Whether the count is past `limit`.
        func exceeds(_ limit: Int) -> Bool { value.map { $0 > limit } ?? true }

        /// The count for people: `1200`, or `10^20` / `about 3.5·10^21` past 10^15.
        var readable: String {
            if let value, value < 1_000_000_000_000_000 { return String(value) }
            let exponent = magnitude.rounded(.down)
            let mantissa = pow(10, magnitude - exponent)
            if abs(mantissa - 1) < 1e-9 { return "10^\(Int(exponent))" }
            return "about \(String(format: "%.1f", mantissa))·10^\(Int(exponent))"
        }
    }

    /// The prompts of a prompt set: the template's matrix (or its sample), or the file's.
    static func prompts(_ set: PromptSet) -> Count {
        switch set.source {
        case .file(_, let prompts, _):
            return .exact(prompts.count, "\(prompts.count) prompts of '\(set.id)'")
        case .template(_, let vars, let sample):
            var total = Count.exact(1, "")
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
    static func stepPrompts(_ step: Step, workflow: Workflow) -> Count {
        var total = Count.exact(0, "")
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

    /// An upper bound on the items `step` makes, given its upstream item count.
    static func items(_ step: Step, workflow: Workflow, upstream: Int) -> Count {
        let seeds = step.seeds.map { Count.exact($0.count, "\($0.count) seed\($0.count == 1 ? "" : "s")") }
        let inputs = Count.exact(upstream, "\(upstream) input\(upstream == 1 ? "" : "s")")
        let own = stepPrompts(step, workflow: workflow)
        switch step.uses {
        case .text2image, .text2world, .predict25Text2World:
            return own.times(seeds ?? .exact(1, ""))
        case .video2world, .video2worldBestOfN, .predict25Image2World, .predict25Video2World:
            let prompts = own.value == 0 ? Count.exact(1, "") : own
            return (seeds ?? .exact(1, "")).times(inputs).times(prompts)
        case .proceduralScenes:
            return seeds ?? .exact(0, "")
        case .extractFrames:
            // The most frames any clip may give: the cap, or what the producer's clip
            // length and the sampling rate imply (a rate is user input: bound it as a Double).
            var perClip = Double(step.frames?.maxFrames ?? 0)
            for producer in step.from.compactMap({ workflow.step($0) }) {
                guard let known = ItemExpander.clipFrames(producer) else { continue }
                let sampled = step.frames?.fps.map { Double(known.count) / known.fps * $0 } ?? Double(known.count)
                perClip = max(perClip, step.frames?.maxFrames.map { min(Double($0), sampled) } ?? sampled)
            }
            let frames = perClip < 9.0e18
                ? Count.exact(Int(perClip.rounded(.up)), "up to \(Int(perClip.rounded(.up))) frames per clip")
                : Count(value: nil, magnitude: log10(perClip), product: "up to \(perClip) frames per clip")
            return inputs.times(frames)
        case .label, .edgeImpulseUpload:
            return inputs
        case .export:
            return .exact(1, "1 dataset")
        case .command:
            let prompts = own.value == 0 ? Count.exact(1, "") : own
            let from = step.from.isEmpty ? Count.exact(1, "") : inputs
            return (seeds ?? .exact(1, "")).times(from).times(prompts)
        }
    }
}

import ArgumentParser
import Planning

/// Range checks for numeric options, shared by every verb: a value outside its range
/// (or `nan`, `inf`) is a usage error (exit 2) that names the option and the range,
/// never a trap later when the value is converted or used to size something.
enum NumericOption {
    /// The most GPUs a plan may assume (`--gpus`): far past any node, small enough that
    /// per-GPU slots can be allocated.
    static let maxGPUs = 1024
    /// The most CPU slots (`--jobs`).
    static let maxJobs = 4096
    /// The longest grace period (`--grace`), in seconds: a day.
    static let maxGrace = 86_400.0

    static func check(_ name: String, _ value: Int, in range: ClosedRange<Int>) throws {
        guard range.contains(value) else {
            throw ValidationError("\(name) must be between \(range.lowerBound) and \(range.upperBound), found \(value)")
        }
    }

    static func check(_ name: String, _ value: Double, in range: ClosedRange<Double>) throws {
        guard value.isFinite, range.contains(value) else {
            throw ValidationError("\(name) must be a number of seconds between \(Int(range.lowerBound)) and \(Int(range.upperBound)), found \(value)")
        }
    }
}

/// `--max-items`: how many items a plan may hold before planning stops with an error.
struct MaxItemsOption: ParsableArguments {
    @Option(help: "The most items a plan may hold (a guard against runaway prompt matrices and seed ranges).")
    var maxItems: Int = PlanOptions.defaultMaxItems

    func validate() throws {
        try NumericOption.check("--max-items", maxItems, in: 1...Int.max)
    }
}

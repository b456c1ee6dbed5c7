import Datasets
import Foundation

/// What a recipe change did to accuracy: the `metrics` lines of two lock files matched by
/// step, fraction and split (item ids change with the recipe; these do not). Pure.
public struct MetricsDiff: Sendable, Encodable, Equatable {
    public struct Row: Sendable, Encodable, Equatable {
        public var step: String
        public var fraction: Double
        public var split: String
        /// Nil on the side that has no such training or split.
        public var old: LockedMetrics?
        public var new: LockedMetrics?

        /// New minus old mAP50 / mAP50-95, when both sides have the row.
        public var map50Delta: Double? { old.flatMap { old in new.map { $0.map50 - old.map50 } } }
        public var map50_95Delta: Double? { old.flatMap { old in new.map { $0.map50_95 - old.map50_95 } } }

        enum CodingKeys: String, CodingKey {
            case step, fraction, split, old, new
            case map50Delta = "map50_delta"
            case map50_95Delta = "map50_95_delta"
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(step, forKey: .step)
            try container.encode(fraction, forKey: .fraction)
            try container.encode(split, forKey: .split)
            try container.encodeIfPresent(old, forKey: .old)
            try container.encodeIfPresent(new, forKey: .new)
            try container.encodeIfPresent(map50Delta, forKey: .map50Delta)
            try container.encodeIfPresent(map50_95Delta, forKey: .map50_95Delta)
        }
    }

    public var rows: [Row]

    /// Rows in the order step, fraction, split; empty when neither lock has metrics.
    public static func compare(old: LockFile, new: LockFile) -> MetricsDiff {
        struct Key: Hashable, Comparable {
            var step: String, fraction: Double, split: String
            static func < (a: Key, b: Key) -> Bool { (a.step, a.fraction, a.split) < (b.step, b.fraction, b.split) }
        }
        func index(_ lock: LockFile) -> [Key: LockedMetrics] {
            Dictionary(lock.metrics.compactMap(LockedMetrics.init(line:)).map { (Key(step: $0.step, fraction: $0.fraction, split: $0.split), $0) },
                       uniquingKeysWith: { first, _ in first })
        }
        let before = index(old), after = index(new)
        let keys = Set(before.keys).union(after.keys).sorted()
        return MetricsDiff(rows: keys.map { Row(step: $0.step, fraction: $0.fraction, split: $0.split, old: before[$0], new: after[$0]) })
    }
}

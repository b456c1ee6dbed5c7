import Crypto
import Foundation

/// Assigns an item to train, test or validation from a key alone: the item's lineage
/// (the identity of the root generation it derives from, `PlannedItem.lineage`).
///
/// The first 8 bytes of SHA-256(`"split:" + key`), read big-endian and divided by 2^64,
/// give a fraction in [0, 1) that is compared to the cumulative fractions in the order
/// train, test, validation. The split depends only on the key and the fractions, so
/// adding images never moves existing ones, an option change (which changes ids, not
/// lineages) moves none, every frame and label of one root shares its split, and two
/// machines agree.
public struct SplitAssigner: Sendable, Hashable {
    public var train: Double
    public var test: Double
    public var validation: Double

    public init(train: Double, test: Double, validation: Double = 0) {
        self.train = train
        self.test = test
        self.validation = validation
    }

    /// The splits that can receive items (fraction > 0), in ``DatasetSplit/ordered`` order.
    public var active: [DatasetSplit] {
        DatasetSplit.ordered.filter { fraction($0) > 0 }
    }

    public func fraction(_ split: DatasetSplit) -> Double {
        switch split {
        case .train: train
        case .test: test
        case .validation: validation
        }
    }

    /// The hash fraction of an id, in [0, 1).
    public static func unitValue(_ id: String) -> Double {
        let digest = SHA256.hash(data: Data("split:\(id)".utf8))
        var value: UInt64 = 0
        for byte in digest.prefix(8) { value = value << 8 | UInt64(byte) }
        // Top 53 bits: exactly representable, strictly below 1.
        return Double(value >> 11) / Double(UInt64(1) << 53)
    }

    public func split(_ id: String) -> DatasetSplit {
        let value = Self.unitValue(id)
        var cumulative = 0.0
        let splits = active
        for split in splits {
            cumulative += fraction(split)
            if value < cumulative { return split }
        }
        // Fractions that sum to slightly under 1 through rounding: the last active split.
        return splits.last ?? .train
    }
}

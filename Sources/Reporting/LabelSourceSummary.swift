import Datasets
import Foundation

/// Per-class figures of one label source: a label step's auto-labels, or a procedural
/// step's exact ground truth.
public struct LabelSourceSummary: Sendable {
    public var name: String
    /// `ground truth`, `raw labels (box 0.35, text 0.25)`, …
    public var kind: String
    public var images: Int
    public var imagesWithoutBoxes: Int
    public var classes: [ClassFigures]
    /// What post-processing dropped before a class was known (empty, unmatched, merged).
    public var unassigned: [String: Int]
    public var unmatchedPhrases: [String: Int]
    /// Whether the source writes drop statistics (auto-labels do; ground truth has none).
    public var hasDropStats: Bool

    public struct ClassFigures: Sendable {
        public var name: String
        public var kept = 0
        /// Dropped boxes by reason (``LabelDropReason`` raw values).
        public var dropped: [String: Int] = [:]
        /// Images with at least one box of the class.
        public var images = 0
        /// `boxesPerImage[n]`: images with n boxes of the class; the last bin is "n or more".
        public var boxesPerImage: [Int]
        /// Boxes by relative size (√(box area / image area)), in ``LabelSourceSummary/sizeBins``.
        public var sizes: [Int]
        /// COCO's small (< 32²), medium (< 96²) and large areas, in pixels.
        public var coco: [Int] = [0, 0, 0]
        /// Mean confidence of the kept boxes.
        public var meanConfidence: Double?

        init(name: String) {
            self.name = name
            self.boxesPerImage = Array(repeating: 0, count: LabelSourceSummary.boxesPerImageBins)
            self.sizes = Array(repeating: 0, count: LabelSourceSummary.sizeBins.count - 1)
        }
    }

    /// Boxes-per-image bins: 0, 1, … 9, "10+".
    public static let boxesPerImageBins = 11
    /// Edges of the relative-size bins (√ of the area fraction).
    public static let sizeBins: [Double] = [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 1.0001]

    /// The figures of one source from its images' boxes and its summed drop statistics.
    /// `classes` fixes the order; classes seen but not listed follow, sorted.
    public static func make(name: String, kind: String, classes: [String], images: [Gallery.Image],
                            classNames: [String], stats: LabelStats?) -> LabelSourceSummary {
        var order = classes
        for name in (stats?.classes.keys).map(Array.init) ?? [] where !order.contains(name) { order.append(name) }
        for image in images {
            for box in image.boxes where !order.contains(classNames[box.classIndex]) { order.append(classNames[box.classIndex]) }
        }
        let listed = Set(classes)
        order = classes + order.filter { !listed.contains($0) }.sorted()
        var figures = Dictionary(uniqueKeysWithValues: order.map { ($0, ClassFigures(name: $0)) })
        var confidenceSums: [String: Double] = [:]
        var withoutBoxes = 0
        for image in images {
            if image.boxes.isEmpty { withoutBoxes += 1 }
            var perClass: [String: Int] = [:]
            let imageArea = Double(max(image.width, 1) * max(image.height, 1))
            for box in image.boxes {
                let name = classNames[box.classIndex]
                perClass[name, default: 0] += 1
                let area = max(0, box.xmax - box.xmin) * max(0, box.ymax - box.ymin)
                let relative = (area / imageArea).squareRoot()
                let bin = max(0, min(sizeBins.count - 2, (sizeBins.lastIndex { $0 <= relative } ?? 0)))
                figures[name]!.sizes[bin] += 1
                figures[name]!.coco[area < 32 * 32 ? 0 : area < 96 * 96 ? 1 : 2] += 1
                figures[name]!.kept += 1
                confidenceSums[name, default: 0] += box.confidence
            }
            for name in order {
                let count = perClass[name] ?? 0
                figures[name]!.boxesPerImage[min(count, boxesPerImageBins - 1)] += 1
                if count > 0 { figures[name]!.images += 1 }
            }
        }
        for (name, counts) in stats?.classes ?? [:] {
            figures[name]!.dropped = counts.dropped
        }
        for name in order where figures[name]!.kept > 0 {
            figures[name]!.meanConfidence = confidenceSums[name, default: 0] / Double(figures[name]!.kept)
        }
        return LabelSourceSummary(name: name, kind: kind, images: images.count, imagesWithoutBoxes: withoutBoxes,
                                  classes: order.map { figures[$0]! }, unassigned: stats?.unassigned ?? [:],
                                  unmatchedPhrases: stats?.unmatchedPhrases ?? [:], hasDropStats: stats != nil)
    }
}

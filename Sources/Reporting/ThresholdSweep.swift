import Basics
import Datasets
import Foundation

/// How a raw-mode label step's kept boxes per class change with `box_threshold`, from the
/// candidates its GPU stage saved: the exact post-processing (Grounding DINO's rules,
/// class mapping, NMS, limits) re-applied at each threshold, `text_threshold` unchanged.
public struct ThresholdSweep: Sendable {
    public var step: String
    public var boxThreshold: Double
    public var textThreshold: Double
    /// The highest box floor among the candidates: below it some image saved nothing.
    public var floor: Double
    public var images: Int
    /// Thresholds in increasing order; the step's own is among them.
    public var thresholds: [Double]
    public var classes: [String]
    /// `kept[c][t]`: boxes of class `c` kept at `thresholds[t]`.
    public var kept: [[Int]]
    /// Images with at least one box at each threshold.
    public var imagesWithBoxes: [Int]

    /// The thresholds a sweep samples: every 0.05 from just above the floor to 0.95, plus
    /// the step's own.
    public static func thresholds(floor: Double, current: Double) -> [Double] {
        var values = Set(stride(from: 0.05, through: 0.951, by: 0.05).map { ($0 * 100).rounded() / 100 }.filter { $0 >= floor })
        values.insert(current)
        return values.sorted()
    }

    /// Runs the sweep over `candidates` (one per image) in parallel.
    public static func make(step: String, candidates: [LabelCandidates], boxThreshold: Double, textThreshold: Double,
                            postprocessor: LabelPostprocessor) -> ThresholdSweep {
        let floor = candidates.map(\.boxFloor).max() ?? 0
        let thresholds = thresholds(floor: floor, current: boxThreshold)
        var classes = postprocessor.mapper.classes.map(\.className).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        let classIndex = Dictionary(classes.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        // Per image, the kept boxes per class at each threshold; summed after.
        let perImage = Parallel.map(candidates.count) { index -> [[String: Int]] in
            let image = candidates[index]
            // The phrase of a box depends on text_threshold only, so the boxes kept at the
            // lowest threshold, filtered by confidence, are those kept at any other.
            let (lowest, _) = GroundingDINO.apply(image, boxThreshold: thresholds.first ?? boxThreshold, textThreshold: textThreshold)
            return thresholds.map { threshold in
                let kept = lowest.filter { ($0.confidence ?? 0) > threshold }
                let labels = postprocessor.process(kept, image: image.image, width: image.width, height: image.height).labels
                return labels.objects.reduce(into: [String: Int]()) { $0[$1.className, default: 0] += 1 }
            }
        }
        var kept = Array(repeating: Array(repeating: 0, count: thresholds.count), count: classes.count)
        var imagesWithBoxes = Array(repeating: 0, count: thresholds.count)
        var extra: [String: [Int]] = [:]
        for image in perImage {
            for (t, counts) in image.enumerated() {
                if !counts.isEmpty { imagesWithBoxes[t] += 1 }
                for (name, count) in counts {
                    if let c = classIndex[name] { kept[c][t] += count }
                    else { extra[name, default: Array(repeating: 0, count: thresholds.count)][t] += count }
                }
            }
        }
        for name in extra.keys.sorted() {
            classes.append(name)
            kept.append(extra[name]!)
        }
        return ThresholdSweep(step: step, boxThreshold: boxThreshold, textThreshold: textThreshold, floor: floor,
                              images: candidates.count, thresholds: thresholds, classes: classes, kept: kept,
                              imagesWithBoxes: imagesWithBoxes)
    }
}

import Datasets
import Foundation
import Synchronization

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
        let named = postprocessor.mapper.classes.map(\.className).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        var classes = named
        let classIndex = Dictionary(named.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        // Per chunk: counts[t][c] and images with boxes per t; merged after.
        let chunkCount = max(1, min(candidates.count, ProcessInfo.processInfo.activeProcessorCount * 4))
        let partials = Mutex(Array(repeating: (counts: [[Int]](), images: [Int](), extra: [String: [Int]]()), count: chunkCount))
        DispatchQueue.concurrentPerform(iterations: chunkCount) { chunk in
            var counts = Array(repeating: Array(repeating: 0, count: named.count), count: thresholds.count)
            var images = Array(repeating: 0, count: thresholds.count)
            var extra: [String: [Int]] = [:]
            for index in stride(from: chunk, to: candidates.count, by: chunkCount) {
                let image = candidates[index]
                // The phrase of a box depends on text_threshold only, so the boxes kept at
                // the lowest threshold, filtered by confidence, are those kept at any other.
                let (lowest, _) = GroundingDINO.apply(image, boxThreshold: thresholds.first ?? boxThreshold, textThreshold: textThreshold)
                for (t, threshold) in thresholds.enumerated() {
                    let kept = lowest.filter { ($0.confidence ?? 0) > threshold }
                    let labels = postprocessor.process(kept, image: image.image, width: image.width, height: image.height).labels
                    if !labels.objects.isEmpty { images[t] += 1 }
                    for object in labels.objects {
                        if let c = classIndex[object.className] { counts[t][c] += 1 }
                        else { extra[object.className, default: Array(repeating: 0, count: thresholds.count)][t] += 1 }
                    }
                }
            }
            partials.withLock { $0[chunk] = (counts, images, extra) }
        }
        var kept = Array(repeating: Array(repeating: 0, count: thresholds.count), count: classes.count)
        var imagesWithBoxes = Array(repeating: 0, count: thresholds.count)
        var extra: [String: [Int]] = [:]
        for partial in partials.withLock({ $0 }) where !partial.images.isEmpty {
            for t in thresholds.indices {
                imagesWithBoxes[t] += partial.images[t]
                for c in classes.indices { kept[c][t] += partial.counts[t][c] }
            }
            for (name, values) in partial.extra {
                extra[name] = zip(extra[name] ?? Array(repeating: 0, count: thresholds.count), values).map { $0 + $1 }
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

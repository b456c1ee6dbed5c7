import Foundation

/// A training item's `metrics.json` (`synthset-training-metrics/1`, written by
/// ``TrainingScript``): the headline figures (the test split's, else validation's), the
/// same per evaluated split (the export's splits and each `evaluate_on` dataset) and per
/// class, and the predicted boxes on a few test images for the report.
public struct TrainingMetrics: Sendable, Codable, Equatable {
    public static let format = "synthset-training-metrics/1"

    /// Precision, recall, mAP50 and mAP50-95 of one split, overall or of one class.
    public struct Figures: Sendable, Codable, Equatable {
        public var precision: Double
        public var recall: Double
        public var map50: Double
        public var map50_95: Double
    }

    public struct Split: Sendable, Codable, Equatable {
        public var precision: Double
        public var recall: Double
        public var map50: Double
        public var map50_95: Double
        public var classes: [String: Figures]
        /// Boxes per class in the split.
        public var instances: [String: Int]?

        public var figures: Figures { Figures(precision: precision, recall: recall, map50: map50, map50_95: map50_95) }
    }

    /// Boxes the trained model predicted on a few test images, by dataset file name.
    public struct Predictions: Sendable, Codable, Equatable {
        public var split: String
        public var images: [String: Image]
    }

    /// One image's size and predicted boxes: `[class, confidence, x1, y1, x2, y2]` in pixels.
    public struct Image: Sendable, Codable, Equatable {
        public var width: Int
        public var height: Int
        public var boxes: [[Double]]
    }

    public var format: String
    public var ultralytics: String?
    public var model: String
    public var epochs: Int
    public var epochsRun: Int
    public var fraction: Double
    public var trainImages: Int
    public var imgsz: Int
    public var classes: [String]
    /// The split the headline figures come from.
    public var headline: String
    public var map50: Double
    public var map50_95: Double
    public var precision: Double
    public var recall: Double
    public var splits: [String: Split]
    public var predictions: Predictions?

    enum CodingKeys: String, CodingKey {
        case format, ultralytics, model, epochs, fraction, imgsz, classes, headline, map50, map50_95, precision, recall, splits, predictions
        case epochsRun = "epochs_run"
        case trainImages = "train_images"
    }

    /// Reads `metrics.json` from a training item's folder.
    public static func read(from folder: URL) throws -> TrainingMetrics {
        let data = try Data(contentsOf: folder.appendingPathComponent("metrics.json"))
        let metrics = try JSONDecoder().decode(TrainingMetrics.self, from: data)
        guard metrics.format == format else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "metrics.json is \(metrics.format), not \(format)"])
        }
        return metrics
    }

    /// The lock's `metrics` lines (without the keyword), one per evaluated split.
    public func lockLines(step: String, id: String) -> [String] {
        splits.keys.sorted().map { name in
            let split = splits[name]!
            return "\(step) \(id.prefix(16)) fraction=\(fraction) split=\(name) images=\(trainImages) "
                + "map50=\(Self.decimal(split.map50)) map50_95=\(Self.decimal(split.map50_95)) "
                + "precision=\(Self.decimal(split.precision)) recall=\(Self.decimal(split.recall))"
        }
    }

    static func decimal(_ value: Double) -> String { String(format: "%.4f", value) }

    /// One per-epoch row of `results.csv`, by column (`epoch`, `metrics/mAP50(B)`, ...).
    public static func epochs(fromCSV text: String) -> [[String: Double]] {
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
        guard let header = lines.first?.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) else { return [] }
        return lines.dropFirst().map { line in
            var row: [String: Double] = [:]
            for (name, value) in zip(header, line.split(separator: ",", omittingEmptySubsequences: false)) {
                if let number = Double(value.trimmingCharacters(in: .whitespaces)) { row[name] = number }
            }
            return row
        }
    }
}

/// A `metrics` line of a lock file, read back (``TrainingMetrics/lockLines(step:id:)``).
public struct LockedMetrics: Sendable, Codable, Equatable {
    public var step: String
    public var item: String
    public var fraction: Double
    public var split: String
    public var images: Int
    public var map50: Double
    public var map50_95: Double
    public var precision: Double
    public var recall: Double

    /// Nil when the line is not one synthset writes.
    public init?(line: String) {
        let fields = line.split(separator: " ").map(String.init)
        guard fields.count >= 3 else { return nil }
        var values: [String: String] = [:]
        for field in fields.dropFirst(2) {
            let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { values[parts[0]] = parts[1] }
        }
        guard let fraction = values["fraction"].flatMap(Double.init), let split = values["split"],
              let map50 = values["map50"].flatMap(Double.init), let map = values["map50_95"].flatMap(Double.init) else { return nil }
        step = fields[0]
        item = fields[1]
        self.fraction = fraction
        self.split = split
        images = values["images"].flatMap(Int.init) ?? 0
        self.map50 = map50
        map50_95 = map
        precision = values["precision"].flatMap(Double.init) ?? 0
        recall = values["recall"].flatMap(Double.init) ?? 0
    }
}

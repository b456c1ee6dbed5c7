import Foundation

/// `report.json`: what the export wrote, for people and for checks.
public struct DatasetReport: Codable, Sendable, Equatable {
    public static let formatIdentifier = "synthset-dataset-report/1"

    public struct SplitSummary: Codable, Sendable, Equatable {
        public var fraction: Double
        public var images: Int
        public var boxes: Int
        public var imagesWithoutObjects: Int
        public var boxesPerClass: [String: Int]

        enum CodingKeys: String, CodingKey {
            case fraction, images, boxes
            case imagesWithoutObjects = "images_without_objects"
            case boxesPerClass = "boxes_per_class"
        }
    }

    public var format: String = DatasetReport.formatIdentifier
    /// The formats written, in canonical order.
    public var formats: [String]
    /// Class names in id order (COCO id - 1, YOLO id).
    public var classes: [String]
    public var images: Int
    public var boxes: Int
    public var boxesPerClass: [String: Int]
    /// Boxes left out because nothing of them was inside the image.
    public var boxesDropped: Int
    /// File names of images with no boxes (still exported in every format).
    public var imagesWithoutObjects: [String]
    public var splits: [String: SplitSummary]

    enum CodingKeys: String, CodingKey {
        case format, formats, classes, images, boxes, splits
        case boxesPerClass = "boxes_per_class"
        case boxesDropped = "boxes_dropped"
        case imagesWithoutObjects = "images_without_objects"
    }

    public static func make(images: [LabeledImage], classes: [String], formats: [DatasetFormat],
                            splits: SplitAssigner, boxesDropped: Int) -> DatasetReport {
        var report = DatasetReport(formats: formats.map(\.rawValue), classes: classes, images: images.count, boxes: 0,
                                   boxesPerClass: Dictionary(uniqueKeysWithValues: classes.map { ($0, 0) }),
                                   boxesDropped: boxesDropped, imagesWithoutObjects: [], splits: [:])
        for split in splits.active {
            report.splits[split.rawValue] = SplitSummary(
                fraction: splits.fraction(split), images: 0, boxes: 0, imagesWithoutObjects: 0,
                boxesPerClass: Dictionary(uniqueKeysWithValues: classes.map { ($0, 0) }))
        }
        for image in images.sorted(by: { $0.fileName < $1.fileName }) {
            var summary = report.splits[image.split.rawValue]
                ?? SplitSummary(fraction: splits.fraction(image.split), images: 0, boxes: 0, imagesWithoutObjects: 0, boxesPerClass: [:])
            summary.images += 1
            summary.boxes += image.detections.count
            if image.detections.isEmpty {
                summary.imagesWithoutObjects += 1
                report.imagesWithoutObjects.append(image.fileName)
            }
            for detection in image.detections {
                summary.boxesPerClass[detection.className, default: 0] += 1
                report.boxesPerClass[detection.className, default: 0] += 1
            }
            report.boxes += image.detections.count
            report.splits[image.split.rawValue] = summary
        }
        return report
    }
}

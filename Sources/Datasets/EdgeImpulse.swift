import Foundation

/// Edge Impulse's `bounding_boxes.labels`: one file per folder of images, keyed by image
/// file name, with integer boxes (`x`/`y` the top-left corner, `width`/`height` > 0).
///
/// Boxes are the whole pixels covering synthset's box: `x = floor(xmin)`,
/// `width = ceil(xmax) - x` (at least 1), inside the image. Images without boxes are
/// listed with an empty array.
public enum EdgeImpulse {
    public struct Box: Codable, Sendable, Equatable {
        public var label: String
        public var x: Int
        public var y: Int
        public var width: Int
        public var height: Int
    }

    public struct LabelsFile: Codable, Sendable, Equatable {
        public var version: Int
        public var type: String
        public var boundingBoxes: [String: [Box]]
    }

    public static func labelsFile(images: [LabeledImage]) -> LabelsFile {
        var boxes: [String: [Box]] = [:]
        for image in images {
            boxes[image.fileName] = image.detections.map { detection in
                let pixels = PixelBox.covering(detection, width: image.width, height: image.height)
                return Box(label: detection.className, x: pixels.x, y: pixels.y, width: pixels.width, height: pixels.height)
            }
        }
        return LabelsFile(version: 1, type: "bounding-box-labels", boundingBoxes: boxes)
    }

    /// The file as deterministic JSON (sorted keys).
    public static func json(images: [LabeledImage]) -> Data {
        CanonicalJSON.encode(labelsFile(images: images))
    }
}

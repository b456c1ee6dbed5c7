import Basics
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
        labelsFile(images: images).json()
    }

    /// `info.labels` of one folder as deterministic JSON (sorted keys).
    public static func infoJSON(images: [LabeledImage], category: String) -> Data {
        infoFile(images: images, category: category).json()
    }

    /// `info.labels`, the file Edge Impulse's own exports carry and the Python SDK's
    /// `edgeimpulse.data.upload_directory` looks for (edgeimpulse/python-sdk 109eb50,
    /// edgeimpulse/data/_functions/upload_files.py, `upload_exported_dataset`): one entry
    /// per image with its `path` (relative to the folder), `category`, `label` (object
    /// detection samples are `{"type": "unlabeled"}`; the classes are in the boxes) and
    /// `boundingBoxes`, which the SDK reads without a default, so every entry has them.
    /// Its `ExportUploaderInfoFileV1` type is in edge-impulse-cli 64dbc03
    /// shared/bounding-box-file-types.ts.
    public struct InfoFile: Codable, Sendable, Equatable {
        public struct Label: Codable, Sendable, Equatable {
            public var type: String
        }

        public struct Entry: Codable, Sendable, Equatable {
            public var path: String
            public var category: String
            public var label: Label
            public var boundingBoxes: [Box]
        }

        public var version: Int
        public var files: [Entry]
    }

    /// The `info.labels` of one folder of images, all in `category` (training, testing, validation).
    public static func infoFile(images: [LabeledImage], category: String) -> InfoFile {
        let boxes = labelsFile(images: images).boundingBoxes
        let entries = images.map { image in
            InfoFile.Entry(path: image.fileName, category: category, label: .init(type: "unlabeled"),
                           boundingBoxes: boxes[image.fileName] ?? [])
        }
        return InfoFile(version: 1, files: entries.sorted { $0.path < $1.path })
    }

    /// The Edge Impulse category of a split: train → training, test → testing,
    /// validation → validation.
    public static func category(ofSplit split: String) -> String {
        switch split {
        case "train": "training"
        case "validation": "validation"
        default: "testing"
        }
    }
}

// The files as `CanonicalJSON.encode` writes them, written directly (keys in sorted order
// by hand; the image names, a dictionary's keys, sorted as the encoder sorts them).
extension EdgeImpulse.Box {
    func write(to out: CanonicalJSONWriter) {
        out.object {
            out.key("height"); CanonicalJSON.number(height, to: out)
            out.key("label"); out.string(label)
            out.key("width"); CanonicalJSON.number(width, to: out)
            out.key("x"); CanonicalJSON.number(x, to: out)
            out.key("y"); CanonicalJSON.number(y, to: out)
        }
    }
}

extension EdgeImpulse.LabelsFile {
    func json() -> Data {
        CanonicalJSON.written(capacity: 130 * boundingBoxes.count + 256) { out in
            out.object {
                out.key("boundingBoxes")
                out.object {
                    for name in CanonicalJSON.sortedKeys(boundingBoxes.keys) {
                        out.key(name)
                        out.array(boundingBoxes[name]!) { $0.write(to: out) }
                    }
                }
                out.key("type"); out.string(type)
                out.key("version"); CanonicalJSON.number(version, to: out)
            }
        }
    }
}

extension EdgeImpulse.InfoFile {
    func json() -> Data {
        CanonicalJSON.written(capacity: 170 * files.count + 256) { out in
            out.object {
                out.key("files")
                out.array(files) { entry in
                    out.object {
                        out.key("boundingBoxes"); out.array(entry.boundingBoxes) { $0.write(to: out) }
                        out.key("category"); out.string(entry.category)
                        out.key("label"); out.object { out.key("type"); out.string(entry.label.type) }
                        out.key("path"); out.string(entry.path)
                    }
                }
                out.key("version"); CanonicalJSON.number(version, to: out)
            }
        }
    }
}

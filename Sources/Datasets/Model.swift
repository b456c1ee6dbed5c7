import Basics
import Foundation

/// One labeled box in an image, in synthset's own convention: 0-based pixel
/// coordinates, `xmin`/`ymin` the first covered column/row, `xmax`/`ymax` exclusive (the
/// `synthset-boxes/1` convention), so a box's width is `xmax - xmin`.
public struct Detection: Sendable, Hashable, Codable {
    public var className: String
    /// 1 for procedural (exact) labels; the detector's score for auto-labels.
    public var confidence: Double
    public var xmin: Double
    public var ymin: Double
    public var xmax: Double
    public var ymax: Double

    public init(className: String, confidence: Double = 1, xmin: Double, ymin: Double, xmax: Double, ymax: Double) {
        self.className = className
        self.confidence = confidence
        self.xmin = xmin
        self.ymin = ymin
        self.xmax = xmax
        self.ymax = ymax
    }

    public var width: Double { xmax - xmin }
    public var height: Double { ymax - ymin }

    /// The box clipped to a `width` x `height` image, or nil when nothing of it is left
    /// (or a coordinate is not finite). Every exporter writes clipped boxes only, so the
    /// formats always agree on which boxes exist.
    public func clipped(width imageWidth: Int, height imageHeight: Int) -> Detection? {
        guard [xmin, ymin, xmax, ymax].allSatisfy(\.isFinite) else { return nil }
        var box = self
        box.xmin = min(max(xmin, 0), Double(imageWidth))
        box.ymin = min(max(ymin, 0), Double(imageHeight))
        box.xmax = min(max(xmax, 0), Double(imageWidth))
        box.ymax = min(max(ymax, 0), Double(imageHeight))
        guard box.xmax > box.xmin, box.ymax > box.ymin else { return nil }
        return box
    }
}

/// The dataset split an image belongs to.
public enum DatasetSplit: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case train, test, validation

    /// The order fractions accumulate in (see ``SplitAssigner``) and files are listed in.
    public static let ordered: [DatasetSplit] = [.train, .test, .validation]

    public static func < (lhs: DatasetSplit, rhs: DatasetSplit) -> Bool {
        ordered.firstIndex(of: lhs)! < ordered.firstIndex(of: rhs)!
    }
}

/// One image of the dataset with its boxes, as the exporters see it.
public struct LabeledImage: Sendable, Hashable {
    /// The item id the split is derived from (the image item's id, so re-labeling an
    /// image never moves it to another split).
    public var id: String
    /// The exported file name (`<step>-<seed>-<id8>.jpg`); unique in the dataset. Every
    /// format refers to the image by this exact name.
    public var fileName: String
    public var width: Int
    public var height: Int
    public var split: DatasetSplit
    /// Boxes already clipped to the image (see ``Detection/clipped(width:height:)``).
    public var detections: [Detection]

    public init(id: String, fileName: String, width: Int, height: Int, split: DatasetSplit, detections: [Detection]) {
        self.id = id
        self.fileName = fileName
        self.width = width
        self.height = height
        self.split = split
        self.detections = detections
    }

    /// `fileName` without its extension (YOLO label files are matched by stem).
    public var stem: String { PathParts.withoutExtension(fileName) }

    /// The image path relative to the dataset root: `images/<split>/<fileName>`.
    public var relativePath: String { "images/\(split.rawValue)/\(fileName)" }
}

/// Integer pixel rectangle helpers shared by the formats that want whole pixels.
enum PixelBox {
    /// Top-left corner and size in whole pixels covering the box (floor of the min edges,
    /// ceiling of the exclusive max edges), at least one pixel each way, inside the image.
    static func covering(_ box: Detection, width: Int, height: Int) -> (x: Int, y: Int, width: Int, height: Int) {
        let x0 = min(max(Int(box.xmin.rounded(.down)), 0), max(width - 1, 0))
        let y0 = min(max(Int(box.ymin.rounded(.down)), 0), max(height - 1, 0))
        let x1 = min(max(Int(box.xmax.rounded(.up)), x0 + 1), max(width, x0 + 1))
        let y1 = min(max(Int(box.ymax.rounded(.up)), y0 + 1), max(height, y0 + 1))
        return (x0, y0, x1 - x0, y1 - y0)
    }
}

/// Deterministic JSON for every file the exporters write: sorted keys, no escaped
/// slashes, a trailing newline.
enum CanonicalJSON {
    static func encode<T: Encodable>(_ value: T, pretty: Bool = false) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
                                          : [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var data = try! encoder.encode(value)
        data.append(0x0A)
        return data
    }

    /// A document written by `body` straight into a ``CanonicalJSONWriter``, byte for byte
    /// what ``encode(_:pretty:)`` makes of the same value (compact), newline included. The
    /// large documents (a split's COCO file, Edge Impulse's two label files) are written
    /// this way: through `JSONEncoder` they were a fifth of exporting 100,000 images.
    static func written(capacity: Int, _ body: (CanonicalJSONWriter) -> Void) -> Data {
        let out = CanonicalJSONWriter(capacity: capacity)
        body(out)
        out.raw("\n")
        return out.withBytes { Data($0) }
    }

    /// A number as ``encode(_:pretty:)`` writes it: the shortest round-tripping digits
    /// (`description`) without a trailing `.0`, so `-0.0` stays `-0`; infinities and NaN
    /// as the strings `inf`, `-inf` and `nan`.
    static func number(_ value: Double, to out: CanonicalJSONWriter) {
        guard value.isFinite else {
            return out.string(value.isNaN ? "nan" : value < 0 ? "-inf" : "inf")
        }
        // Whole numbers (nearly every box edge) below 10^15 print as their integer, which
        // is what `description` gives less its `.0`, but for -0.
        if value == value.rounded(.towardZero), abs(value) < 1e15, !(value == 0 && value.sign == .minus) {
            return out.raw(String(Int64(value)))
        }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        out.raw(text)
    }

    static func number(_ value: Int, to out: CanonicalJSONWriter) {
        out.raw(String(value))
    }

    /// The keys of an object in the order `JSONEncoder`'s `.sortedKeys` writes them.
    static func sortedKeys(_ keys: some Sequence<String>) -> [String] {
        keys.sorted(by: UTF8Order.precedes)
    }
}

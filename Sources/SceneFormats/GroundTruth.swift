import Foundation

/// The stable ground-truth format written next to every generated image.
///
/// ```json
/// {"format":"synthset-boxes/1","height":480,"image":"img_000001.jpg",
///  "objects":[{"bbox":{"xmax":88,"xmin":12,"ymax":130,"ymin":40},"class":"can","confidence":1}],
///  "source":"procedural/scenes","width":640}
/// ```
///
/// Boxes are 0-based pixel coordinates: `xmin`/`ymin` are the first covered column/row,
/// `xmax`/`ymax` are exclusive, so a box's width is `xmax - xmin`.
public struct GroundTruth: Codable, Sendable, Equatable {
    /// The format identifier this type reads and writes.
    public static let formatIdentifier = "synthset-boxes/1"
    /// The `source` written by the built-in procedural generator.
    public static let proceduralSource = "procedural/scenes"

    /// Always ``formatIdentifier``; kept in the file so readers can reject other versions.
    public var format: String
    /// The image's file name (no directory).
    public var image: String
    /// Image width in pixels.
    public var width: Int
    /// Image height in pixels.
    public var height: Int
    /// Which generator produced the labels, e.g. ``proceduralSource``.
    public var source: String
    /// Labeled objects, in the order the generator produced them.
    public var objects: [Object]

    /// Creates ground truth in the current format.
    public init(image: String, width: Int, height: Int,
                source: String = GroundTruth.proceduralSource, objects: [Object]) {
        self.format = GroundTruth.formatIdentifier
        self.image = image
        self.width = width
        self.height = height
        self.source = source
        self.objects = objects
    }

    /// One labeled object.
    public struct Object: Codable, Sendable, Equatable {
        /// The dataset class name (JSON key `class`).
        public var className: String
        /// Label confidence; 1 for procedural labels, which are exact.
        public var confidence: Double
        /// The tight box of the object's visible pixels.
        public var bbox: BoundingBox

        /// Creates a labeled object.
        public init(className: String, confidence: Double = 1.0, bbox: BoundingBox) {
            self.className = className
            self.confidence = confidence
            self.bbox = bbox
        }

        enum CodingKeys: String, CodingKey {
            case className = "class"
            case confidence
            case bbox
        }
    }

    /// An axis-aligned box; min edges inclusive, max edges exclusive.
    public struct BoundingBox: Codable, Sendable, Equatable {
        /// First covered column.
        public var xmin: Double
        /// First covered row.
        public var ymin: Double
        /// One past the last covered column.
        public var xmax: Double
        /// One past the last covered row.
        public var ymax: Double

        /// Creates a box from its edges.
        public init(xmin: Double, ymin: Double, xmax: Double, ymax: Double) {
            self.xmin = xmin
            self.ymin = ymin
            self.xmax = xmax
            self.ymax = ymax
        }

        /// `xmax - xmin`.
        public var width: Double { xmax - xmin }
        /// `ymax - ymin`.
        public var height: Double { ymax - ymin }
    }

    /// Why ``decode(from:)`` rejected a document that is valid JSON.
    public enum FormatError: Error, Equatable, Sendable {
        /// The `format` field names a version this build does not read.
        case unsupportedFormat(String)
    }

    /// Deterministic JSON: sorted keys, compact, unescaped slashes, so identical truth
    /// always hashes identically (the executor content-addresses outputs).
    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Non-finite values are not valid JSON numbers; spelling them as strings makes
        // encoding total, so the `try!` below cannot fire.
        encoder.nonConformingFloatEncodingStrategy =
            .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try! encoder.encode(self)
    }

    /// Parses a document written by ``encoded()`` (or any JSON in this format).
    /// - Throws: `DecodingError` for malformed JSON, ``FormatError`` for another format version.
    public static func decode(from data: Data) throws -> GroundTruth {
        let truth = try readPlain(data) ?? decodedByFoundation(data)
        guard truth.format == formatIdentifier else {
            throw FormatError.unsupportedFormat(truth.format)
        }
        return truth
    }

    /// ``decode(from:)`` through `JSONDecoder` alone: what the plain reader must agree
    /// with, and the reader of every document it leaves alone.
    static func decodedByFoundation(_ data: Data) throws -> GroundTruth {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy =
            .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(GroundTruth.self, from: data)
    }
}

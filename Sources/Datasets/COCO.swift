import Foundation

/// COCO object-detection JSON, one document per split (`instances_<split>.json`).
///
/// Boxes are `[x, y, width, height]` in absolute pixels from the image's top-left
/// corner, exactly synthset's 0-based box (`x = xmin`, `width = xmax - xmin`), not
/// rounded. `area` is `width * height`; `iscrowd` is 0. Image ids and annotation ids
/// are 1-based in file-name order; category ids are 1-based in the dataset's class
/// order (``DatasetExporter/classes``), identical in every split.
public enum COCO {
    public struct Document: Codable, Sendable, Equatable {
        public var images: [Image]
        public var annotations: [Annotation]
        public var categories: [Category]
    }

    public struct Image: Codable, Sendable, Equatable {
        public var id: Int
        public var fileName: String
        public var width: Int
        public var height: Int

        enum CodingKeys: String, CodingKey {
            case id, width, height
            case fileName = "file_name"
        }
    }

    public struct Annotation: Codable, Sendable, Equatable {
        public var id: Int
        public var imageID: Int
        public var categoryID: Int
        public var bbox: [Double]
        public var area: Double
        public var iscrowd: Int

        enum CodingKeys: String, CodingKey {
            case id, bbox, area, iscrowd
            case imageID = "image_id"
            case categoryID = "category_id"
        }
    }

    public struct Category: Codable, Sendable, Equatable {
        public var id: Int
        public var name: String
        public var supercategory: String

        public init(id: Int, name: String, supercategory: String) {
            self.id = id
            self.name = name
            self.supercategory = supercategory
        }
    }

    /// The document for the images of one split. Boxes whose class is not in `classes`
    /// are left out (the exporter always passes every class it saw).
    public static func document(images: [LabeledImage], classes: [String]) -> Document {
        let categoryIDs = Dictionary(classes.enumerated().map { ($1, $0 + 1) }, uniquingKeysWith: { first, _ in first })
        var document = Document(
            images: [], annotations: [],
            categories: classes.enumerated().map { Category(id: $0 + 1, name: $1, supercategory: "object") })
        for (index, image) in images.sorted(by: { $0.fileName < $1.fileName }).enumerated() {
            let imageID = index + 1
            document.images.append(Image(id: imageID, fileName: image.fileName, width: image.width, height: image.height))
            for detection in image.detections {
                guard let categoryID = categoryIDs[detection.className] else { continue }
                document.annotations.append(Annotation(
                    id: document.annotations.count + 1, imageID: imageID, categoryID: categoryID,
                    bbox: [detection.xmin, detection.ymin, detection.width, detection.height],
                    area: detection.width * detection.height, iscrowd: 0))
            }
        }
        return document
    }

    /// The document as deterministic JSON.
    public static func json(images: [LabeledImage], classes: [String]) -> Data {
        CanonicalJSON.encode(document(images: images, classes: classes))
    }
}

import Basics
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
        document(images: images, classes: classes).json()
    }
}

extension COCO.Document {
    /// The document as `CanonicalJSON.encode` writes it, written directly (keys in sorted
    /// order by hand: annotations, categories, images).
    func json() -> Data {
        CanonicalJSON.written(capacity: 64 * images.count + 110 * annotations.count + 256) { out in
            out.object {
                out.key("annotations")
                out.array(annotations) { annotation in
                    out.object {
                        out.key("area"); CanonicalJSON.number(annotation.area, to: out)
                        out.key("bbox"); out.array(annotation.bbox) { CanonicalJSON.number($0, to: out) }
                        out.key("category_id"); CanonicalJSON.number(annotation.categoryID, to: out)
                        out.key("id"); CanonicalJSON.number(annotation.id, to: out)
                        out.key("image_id"); CanonicalJSON.number(annotation.imageID, to: out)
                        out.key("iscrowd"); CanonicalJSON.number(annotation.iscrowd, to: out)
                    }
                }
                out.key("categories")
                out.array(categories) { category in
                    out.object {
                        out.key("id"); CanonicalJSON.number(category.id, to: out)
                        out.key("name"); out.string(category.name)
                        out.key("supercategory"); out.string(category.supercategory)
                    }
                }
                out.key("images")
                out.array(images) { image in
                    out.object {
                        out.key("file_name"); out.string(image.fileName)
                        out.key("height"); CanonicalJSON.number(image.height, to: out)
                        out.key("id"); CanonicalJSON.number(image.id, to: out)
                        out.key("width"); CanonicalJSON.number(image.width, to: out)
                    }
                }
            }
        }
    }
}

import Foundation
import SceneFormats
import Scenes

/// A dataset format the exporter writes (the manifest's `formats:` names).
public enum DatasetFormat: String, Sendable, Hashable, Codable, CaseIterable {
    case pascalVOC = "pascal-voc"
    case coco
    case yolo
    case edgeImpulse = "edge-impulse"
}

/// One image to export: where its file is and its labels in `synthset-boxes/1`.
public struct DatasetSource: Sendable {
    /// The key the split is derived from: the image item's lineage (its root
    /// generation's identity), so every image of one root shares a split.
    public var id: String
    /// The name the image gets in the dataset (unique; see ``DatasetNaming``).
    public var fileName: String
    public var image: URL
    public var truth: GroundTruth

    public init(id: String, fileName: String, image: URL, truth: GroundTruth) {
        self.id = id
        self.fileName = fileName
        self.image = image
        self.truth = truth
    }

    /// Reads the labels file beside (or for) an image.
    public static func load(id: String, fileName: String, image: URL, labels: URL) throws -> DatasetSource {
        guard FileManager.default.fileExists(atPath: image.path) else {
            throw DatasetError("image \(image.path) is missing")
        }
        guard let data = FileManager.default.contents(atPath: labels.path) else {
            throw DatasetError("labels for \(image.lastPathComponent) are missing: no file at \(labels.path)")
        }
        do {
            return DatasetSource(id: id, fileName: fileName, image: image, truth: try GroundTruth.decode(from: data))
        } catch GroundTruth.FormatError.unsupportedFormat(let format) {
            throw DatasetError("\(labels.path) is in format '\(format)'; this build reads \(GroundTruth.formatIdentifier)")
        } catch {
            throw DatasetError("\(labels.path) is not a valid \(GroundTruth.formatIdentifier) file: \(error)")
        }
    }
}

/// Readable, stable names for exported images.
public enum DatasetNaming {
    /// `<step>-<seed or index>-<id8>.<ext>`, e.g. `scenes-17-3fa2c9e1.jpg`; the number is
    /// left out when the item has neither.
    public static func fileName(step: String, number: Int?, id: String, extension ext: String) -> String {
        let safeStep = String(step.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        let parts = [safeStep] + (number.map { [String($0)] } ?? []) + [String(id.prefix(8))]
        return parts.joined(separator: "-") + "." + (ext.isEmpty ? "jpg" : ext.lowercased())
    }
}

public struct DatasetError: Error, Sendable, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Writes a dataset folder in the requested formats. The format writers (``PascalVOC``,
/// ``COCO``, ``YOLO``, ``EdgeImpulse``) are pure; this type only lays files out.
///
/// Layout (splits with a fraction of 0 get no folders):
/// ```
/// images/<split>/<name>.jpg                  every image (reflink, else copy)
/// pascal-voc/<split>/<stem>.xml + <name>.jpg  one XML per image, images beside them
/// annotations/instances_<split>.json          COCO
/// labels/<split>/<stem>.txt, data.yaml        YOLO (Ultralytics layout)
/// edge-impulse/<split>/bounding_boxes.labels + info.labels + <name>.jpg
/// report.json                                 counts per class and split
/// ```
/// The output is deterministic: the same sources give byte-identical files.
public struct DatasetExporter: Sendable {
    public var formats: [DatasetFormat]
    public var splits: SplitAssigner
    /// Class names in the order that fixes their ids; classes found in the labels but
    /// not listed are appended in sorted order.
    public var classes: [String]

    public init(formats: [DatasetFormat], splits: SplitAssigner, classes: [String] = []) {
        self.formats = DatasetFormat.allCases.filter(formats.contains)
        self.splits = splits
        self.classes = classes
    }

    /// The images as the writers see them: split assigned, boxes clipped, sorted by name.
    public func labeledImages(_ sources: [DatasetSource]) throws -> (images: [LabeledImage], dropped: Int) {
        var names = Set<String>()
        var dropped = 0
        var images: [LabeledImage] = []
        for source in sources {
            guard names.insert(source.fileName).inserted else {
                throw DatasetError("two images would both be named \(source.fileName)")
            }
            let truth = source.truth
            let detections = truth.objects.compactMap { object -> Detection? in
                let detection = Detection(className: object.className, confidence: object.confidence,
                                          xmin: object.bbox.xmin, ymin: object.bbox.ymin,
                                          xmax: object.bbox.xmax, ymax: object.bbox.ymax)
                let clipped = detection.clipped(width: truth.width, height: truth.height)
                if clipped == nil { dropped += 1 }
                return clipped
            }
            images.append(LabeledImage(id: source.id, fileName: source.fileName, width: truth.width, height: truth.height,
                                       split: splits.split(source.id), detections: detections))
        }
        return (images.sorted { $0.fileName < $1.fileName }, dropped)
    }

    /// The class list: ``classes`` first (deduplicated), then any other class seen, sorted.
    public func classList(for images: [LabeledImage]) -> [String] {
        var result: [String] = []
        for name in classes where !result.contains(name) { result.append(name) }
        let extra = Set(images.flatMap { $0.detections.map(\.className) }).subtracting(result)
        return result + extra.sorted()
    }

    /// Writes the dataset into `folder` (created; must not hold an older export).
    @discardableResult
    public func export(_ sources: [DatasetSource], to folder: URL) throws -> DatasetReport {
        let (images, dropped) = try labeledImages(sources)
        let classes = classList(for: images)
        let activeSplits = splits.active
        let bySplit = Dictionary(grouping: images, by: \.split)
        let sourceByName = Dictionary(uniqueKeysWithValues: sources.map { ($0.fileName, $0.image) })
        let files = FileManager.default
        try files.createDirectory(at: folder, withIntermediateDirectories: true)

        func write(_ data: Data, _ relative: String) throws {
            let url = folder.appendingPathComponent(relative)
            try files.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
        func placeImages(_ images: [LabeledImage], in relativeFolder: String) throws {
            let target = folder.appendingPathComponent(relativeFolder)
            try files.createDirectory(at: target, withIntermediateDirectories: true)
            for image in images {
                try Self.link(sourceByName[image.fileName]!, to: target.appendingPathComponent(image.fileName))
            }
        }

        for split in activeSplits {
            let members = bySplit[split] ?? []
            let name = split.rawValue
            try placeImages(members, in: "images/\(name)")
            if formats.contains(.pascalVOC) {
                try placeImages(members, in: "pascal-voc/\(name)")
                for image in members {
                    try write(Data(PascalVOC.xml(for: image, folder: name).utf8), "pascal-voc/\(name)/\(image.stem).xml")
                }
            }
            if formats.contains(.coco) {
                try write(COCO.json(images: members, classes: classes), "annotations/instances_\(name).json")
            }
            if formats.contains(.yolo) {
                try files.createDirectory(at: folder.appendingPathComponent("labels/\(name)"), withIntermediateDirectories: true)
                for image in members {
                    try write(Data(YOLO.labels(for: image, classes: classes).utf8), "labels/\(name)/\(image.stem).txt")
                }
            }
            if formats.contains(.edgeImpulse) {
                try placeImages(members, in: "edge-impulse/\(name)")
                try write(EdgeImpulse.json(images: members), "edge-impulse/\(name)/bounding_boxes.labels")
                try write(CanonicalJSON.encode(EdgeImpulse.infoFile(images: members, category: EdgeImpulse.category(ofSplit: name))),
                          "edge-impulse/\(name)/info.labels")
            }
        }
        if formats.contains(.yolo) {
            try write(Data(YOLO.dataYAML(classes: classes, splits: activeSplits).utf8), "data.yaml")
        }
        let report = DatasetReport.make(images: images, classes: classes, formats: formats, splits: splits, boxesDropped: dropped)
        try write(CanonicalJSON.encode(report, pretty: true), "report.json")
        return report
    }

    /// Places a copy of `source` at `target`: a reflink (a copy-on-write clone, no extra
    /// space) where the file system can, else a byte copy. Never a hard link: a link
    /// shares the bytes, so a tool rewriting or truncating the source in place would
    /// silently corrupt the dataset. An existing target is replaced.
    static func link(_ source: URL, to target: URL) throws {
        let files = FileManager.default
        if files.fileExists(atPath: target.path) { try files.removeItem(at: target) }
        #if os(Linux)
        if FileClone.clone(source.path, to: target.path) { return }
        #endif
        try files.copyItem(at: source, to: target)  // APFS clones here by itself
    }
}

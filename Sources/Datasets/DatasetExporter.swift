import Basics
import Foundation
import Synchronization
import SceneFormats
import Scenes
#if canImport(Glibc)
import Glibc
#endif

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
        fileName(safeStep: safeStepName(step), number: number, id: id, extension: ext)
    }

    /// The step part of a file name: letters, digits, `-` and `_` kept, anything else `_`.
    public static func safeStepName(_ step: String) -> String {
        String(step.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
    }

    /// ``fileName(step:number:id:extension:)`` with the step part made already (an export
    /// names 100,000 images of a few steps).
    public static func fileName(safeStep: String, number: Int?, id: String, extension ext: String) -> String {
        var name = safeStep
        if let number { name += "-" + String(number) }
        name += "-" + String(id.prefix(8)) + "." + (ext.isEmpty ? "jpg" : ext.lowercased())
        return name
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
    ///
    /// Every folder is made first; then the files are written on every core: each image's
    /// copies, XML and YOLO label in chunks of images, and each split's documents (COCO,
    /// Edge Impulse) as jobs of their own. Which core writes a file changes nothing in it.
    @discardableResult
    public func export(_ sources: [DatasetSource], to folder: URL) throws -> DatasetReport {
        let (images, dropped) = try labeledImages(sources)
        let classes = classList(for: images)
        let activeSplits = splits.active
        let bySplit = Dictionary(grouping: images, by: \.split)
        let sourceByName = Dictionary(uniqueKeysWithValues: sources.map { ($0.fileName, $0.image.path) })
        let root = folder.path
        let formats = formats
        @Sendable func path(_ relative: String) -> String { root + "/" + relative }

        var folders = [root]
        for split in activeSplits.map(\.rawValue) {
            folders.append("images/\(split)")
            if formats.contains(.pascalVOC) { folders.append("pascal-voc/\(split)") }
            if formats.contains(.yolo) { folders.append("labels/\(split)") }
            if formats.contains(.edgeImpulse) { folders.append("edge-impulse/\(split)") }
        }
        if formats.contains(.coco) && !activeSplits.isEmpty { folders.append("annotations") }
        for relative in folders {
            try FileManager.default.createDirectory(atPath: relative == root ? root : path(relative), withIntermediateDirectories: true)
        }

        // The documents first: each is one job, and the longest (the training split's COCO
        // file) must not be the last to start.
        var jobs: [@Sendable () throws -> Void] = []
        var imageJobs: [@Sendable () throws -> Void] = []
        for split in activeSplits {
            let members = bySplit[split] ?? []
            let name = split.rawValue
            for start in stride(from: 0, to: members.count, by: Self.imagesPerJob) {
                let chunk = members[start..<min(start + Self.imagesPerJob, members.count)]
                imageJobs.append {
                    for image in chunk {
                        let source = sourceByName[image.fileName]!
                        let copy = path("images/\(name)/\(image.fileName)")
                        try Self.copy(source, to: copy)
                        if formats.contains(.pascalVOC) {
                            try Self.link(copy, to: path("pascal-voc/\(name)/\(image.fileName)"))
                            try UnsyncedFile.write(Data(PascalVOC.xml(for: image, folder: name).utf8), toPath: path("pascal-voc/\(name)/\(image.stem).xml"))
                        }
                        if formats.contains(.yolo) {
                            try UnsyncedFile.write(Data(YOLO.labels(for: image, classes: classes).utf8), toPath: path("labels/\(name)/\(image.stem).txt"))
                        }
                        if formats.contains(.edgeImpulse) {
                            try Self.link(copy, to: path("edge-impulse/\(name)/\(image.fileName)"))
                        }
                    }
                }
            }
            if formats.contains(.coco) {
                jobs.append { try UnsyncedFile.write(COCO.json(images: members, classes: classes), toPath: path("annotations/instances_\(name).json")) }
            }
            if formats.contains(.edgeImpulse) {
                jobs.append {
                    try UnsyncedFile.write(EdgeImpulse.json(images: members), toPath: path("edge-impulse/\(name)/bounding_boxes.labels"))
                    try UnsyncedFile.write(EdgeImpulse.infoJSON(images: members, category: EdgeImpulse.category(ofSplit: name)),
                                           toPath: path("edge-impulse/\(name)/info.labels"))
                }
            }
        }
        if formats.contains(.yolo) {
            jobs.append { try UnsyncedFile.write(Data(YOLO.dataYAML(classes: classes, splits: activeSplits).utf8), toPath: path("data.yaml")) }
        }
        let report = DatasetReport.make(images: images, classes: classes, formats: formats, splits: splits, boxesDropped: dropped)
        jobs.append { try UnsyncedFile.write(CanonicalJSON.encode(report, pretty: true), toPath: path("report.json")) }
        try Self.runAll(jobs + imageJobs)
        return report
    }

    /// Images whose files one job writes: enough to amortise the job, few enough to keep
    /// every core busy to the end.
    static let imagesPerJob = 256

    /// Runs `jobs` on every core; throws the error of the first job (in list order) that
    /// failed, after all have run.
    static func runAll(_ jobs: [@Sendable () throws -> Void]) throws {
        let failures = Mutex([Int: any Error]())
        DispatchQueue.concurrentPerform(iterations: jobs.count) { index in
            do { try jobs[index]() } catch { failures.withLock { $0[index] = error } }
        }
        if let first = failures.withLock({ $0.min { $0.key < $1.key } }) { throw first.value }
    }

    /// Places the dataset's own image file `copy` (in `images/`) at `target` too, in a
    /// format's folder: a hard link, so the formats share one copy of the bytes and the
    /// export makes one file (one inode, one copy) per image instead of three; a byte
    /// copy where the file system has no hard links. An existing target is replaced.
    static func link(_ copy: String, to target: String) throws {
        #if os(Linux)
        if Glibc.link(copy, target) == 0 { return }
        if errno == EEXIST, unlink(target) == 0, Glibc.link(copy, target) == 0 { return }
        #endif
        try Self.copy(copy, to: target)
    }

    /// Places a copy of `source` at `target`: a reflink (a copy-on-write clone, no extra
    /// space) where the file system can, else a byte copy. Never a hard link to a source:
    /// it shares the bytes, so a tool rewriting or truncating the source in place would
    /// silently corrupt the dataset. An existing target is replaced.
    static func copy(_ source: String, to target: String) throws {
        #if os(Linux)
        if FileClone.cloneOrCopy(source, to: target) { return }
        // The clone makes its target exclusively: an older file there goes first.
        if unlink(target) == 0, FileClone.cloneOrCopy(source, to: target) { return }
        #endif
        let files = FileManager.default
        if files.fileExists(atPath: target) { try files.removeItem(atPath: target) }
        try files.copyItem(atPath: source, toPath: target)  // APFS clones here by itself
    }
}

import Datasets
import Foundation
import SceneFormats
import Scenes
import Testing
import WorkflowSpec

/// The format writers, the split and the exporter's folder layout.
@Suite struct DatasetsTests {
    @Test(arguments: ["scenes-17-3fa2c9e1.jpg", "a.b.PNG", "noext", ".hidden", "name.", "x.tar.gz", "images-0-abc.jpeg"])
    func anImagesStemIsFoundationsDeletingPathExtension(_ name: String) {
        let image = LabeledImage(id: "x", fileName: name, width: 1, height: 1, split: .train, detections: [])
        #expect(image.stem == (name as NSString).deletingPathExtension)
    }

    static let can = Detection(className: "can", xmin: 12, ymin: 40, xmax: 88, ymax: 130)

    static func image(_ name: String = "scenes-3-abcdef12.jpg", boxes detections: [Detection] = [can],
                      split: DatasetSplit = .train) -> LabeledImage {
        LabeledImage(id: "id-\(name)", fileName: name, width: 640, height: 480, split: split, detections: detections)
    }

    // MARK: Pascal VOC

    @Test func vocXMLForAKnownBox() {
        let xml = PascalVOC.xml(for: Self.image(), folder: "train")
        #expect(xml == """
            <annotation>
            \t<folder>train</folder>
            \t<filename>scenes-3-abcdef12.jpg</filename>
            \t<size>
            \t\t<width>640</width>
            \t\t<height>480</height>
            \t\t<depth>3</depth>
            \t</size>
            \t<segmented>0</segmented>
            \t<object>
            \t\t<name>can</name>
            \t\t<pose>Unspecified</pose>
            \t\t<truncated>0</truncated>
            \t\t<difficult>0</difficult>
            \t\t<bndbox>
            \t\t\t<xmin>13</xmin>
            \t\t\t<ymin>41</ymin>
            \t\t\t<xmax>88</xmax>
            \t\t\t<ymax>130</ymax>
            \t\t</bndbox>
            \t</object>
            </annotation>

            """)
    }

    @Test func vocBoxesAreOneBasedInclusiveAndClamped() {
        let fractional = Detection(className: "x", xmin: 12.4, ymin: 40.6, xmax: 87.2, ymax: 129.1)
        #expect(PascalVOC.box(fractional, width: 640, height: 480) == (13, 41, 88, 130))
        let edge = Detection(className: "x", xmin: 0, ymin: 0, xmax: 640, ymax: 480)
        #expect(PascalVOC.box(edge, width: 640, height: 480) == (1, 1, 640, 480))
        let outside = Detection(className: "x", xmin: -3, ymin: -1, xmax: 700.5, ymax: 999)
        #expect(PascalVOC.box(outside, width: 640, height: 480) == (1, 1, 640, 480))
        let thin = Detection(className: "x", xmin: 5, ymin: 5, xmax: 5.5, ymax: 6)
        #expect(PascalVOC.box(thin, width: 640, height: 480) == (6, 6, 6, 6))
    }

    @Test func vocEscapesNamesAndWritesImagesWithoutObjects() {
        let odd = Detection(className: "a&b <\"c\">'", xmin: 0, ymin: 0, xmax: 1, ymax: 1)
        let xml = PascalVOC.xml(for: Self.image("x&y.jpg", boxes: [odd]), folder: "test")
        #expect(xml.contains("<name>a&amp;b &lt;&quot;c&quot;&gt;&apos;</name>"))
        #expect(xml.contains("<filename>x&amp;y.jpg</filename>"))
        let empty = PascalVOC.xml(for: Self.image(boxes: []), folder: "test")
        #expect(!empty.contains("<object>"))
        #expect(empty.contains("<segmented>0</segmented>\n</annotation>\n"))
    }

    // MARK: COCO

    @Test func cocoBoxesAreAbsoluteXYWHWithArea() throws {
        let box = Detection(className: "box", xmin: 10.5, ymin: 20, xmax: 30.5, ymax: 60)
        let images = [Self.image("b.jpg", boxes: [Self.can, box]), Self.image("a.jpg", boxes: [])]
        let document = COCO.document(images: images, classes: ["can", "box"])
        #expect(document.categories == [COCO.Category(id: 1, name: "can", supercategory: "object"),
                                        COCO.Category(id: 2, name: "box", supercategory: "object")])
        #expect(document.images.map(\.fileName) == ["a.jpg", "b.jpg"])
        #expect(document.images.map(\.id) == [1, 2])
        #expect(document.annotations.count == 2)
        #expect(document.annotations[0].bbox == [12, 40, 76, 90])
        #expect(document.annotations[0].area == 6840)
        #expect(document.annotations[0].imageID == 2)
        #expect(document.annotations[0].categoryID == 1)
        #expect(document.annotations[1].bbox == [10.5, 20, 20, 40])
        #expect(document.annotations[1].area == 800)
        #expect(document.annotations[1].categoryID == 2)
        #expect(document.annotations.map(\.id) == [1, 2])
        #expect(document.annotations.allSatisfy { $0.iscrowd == 0 })

        let json = try #require(JSONSerialization.jsonObject(with: COCO.json(images: images, classes: ["can", "box"])) as? [String: Any])
        let annotation = try #require((json["annotations"] as? [[String: Any]])?.first)
        #expect(Set(annotation.keys) == ["id", "image_id", "category_id", "bbox", "area", "iscrowd"])
        let image = try #require((json["images"] as? [[String: Any]])?.first)
        #expect(Set(image.keys) == ["id", "file_name", "width", "height"])
    }

    // MARK: YOLO

    @Test func yoloLinesAreNormalizedCenterAndSize() {
        let box = Detection(className: "box", xmin: 0, ymin: 0, xmax: 640, ymax: 480)
        let text = YOLO.labels(for: Self.image(boxes: [Self.can, box]), classes: ["can", "box"])
        // cx = 50/640, cy = 85/480, w = 76/640, h = 90/480
        #expect(text == "0 0.078125 0.177083 0.118750 0.187500\n1 0.500000 0.500000 1.000000 1.000000\n")
        #expect(YOLO.labels(for: Self.image(boxes: []), classes: ["can"]) == "")
    }

    @Test func dataYAMLListsSplitsAndNames() {
        #expect(YOLO.dataYAML(classes: ["can", "box \"big\""], splits: [.train, .test]) == """
            # YOLO dataset written by synthset. Paths are relative to this file's folder; label files
            # are in labels/<split>/ beside images/<split>/. Add 'path: /absolute/folder' if you move
            # this file away from the dataset.
            train: images/train
            val: images/test
            test: images/test
            nc: 2
            names:
              - "can"
              - "box \\"big\\""

            """)
        let withValidation = YOLO.dataYAML(classes: ["can"], splits: [.train, .test, .validation])
        #expect(withValidation.contains("val: images/validation\ntest: images/test\n"))
    }

    // MARK: Edge Impulse

    @Test func edgeImpulseLabelsAreIntegerBoxesKeyedByImageName() throws {
        let fractional = Detection(className: "box", xmin: 10.5, ymin: 20.2, xmax: 30.1, ymax: 20.4)
        let data = EdgeImpulse.json(images: [Self.image("b.jpg", boxes: [Self.can, fractional]), Self.image("a.jpg", boxes: [])])
        let text = try #require(String(data: data, encoding: .utf8))
        #expect(text == #"{"boundingBoxes":{"a.jpg":[],"b.jpg":[{"height":90,"label":"can","width":76,"x":12,"y":40},"#
            + #"{"height":1,"label":"box","width":21,"x":10,"y":20}]},"type":"bounding-box-labels","version":1}"# + "\n")
    }

    // MARK: the documents written directly

    /// Images with hostile names (quotes, backslashes, slashes, control characters,
    /// non-ASCII) and boxes at awkward values (fractions, -0, huge, tiny, not finite);
    /// `clipped` keeps only what an exporter is given, boxes clipped to the image.
    static func hostileImages(count: Int, seed: UInt64, clipped: Bool) -> [LabeledImage] {
        var state = seed
        func next() -> UInt64 {  // SplitMix64, so every run tests the same documents
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let names = ["a\"q\".jpg", "back\\slash.jpg", "sl/ash.jpg", "tab\t.jpg", "nl\n.jpg", "ctl\u{01}\u{1f}.jpg",
                     "caf\u{e9}.jpg", "\u{1F600}.jpg", "Zed.jpg", "zed.jpg", "scenes-100-aa.jpg", "scenes-17-bb.jpg", "scenes-9-cc.jpg"]
        let values: [Double] = [0, -0.0, 1, 10.5, 0.1, 1e-7, 123_456.789, 1e15, 1e16, 2.5e20, 639.999_999, .infinity, -.infinity, .nan]
        let classes = ["can", "box", "o\"dd", "\u{e9}t\u{e9}"]
        return (0..<count).map { index in
            let name = index < names.count ? names[index] : "img-\(next() % 1_000_000)-\(index).jpg"
            let detections = (0..<Int(next() % 4)).compactMap { _ -> Detection? in
                let detection = Detection(className: classes[Int(next() % UInt64(classes.count))], confidence: values[Int(next() % UInt64(values.count))],
                          xmin: values[Int(next() % UInt64(values.count))], ymin: Double(next() % 480) / 3,
                          xmax: values[Int(next() % UInt64(values.count))], ymax: Double(next() % 1000) / 7)
                return clipped ? detection.clipped(width: 640, height: 480) : detection
            }
            return LabeledImage(id: "id\(index)", fileName: name, width: 640, height: 480, split: .train, detections: detections)
        }
    }

    static func encoded<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(value) + Data([0x0A])
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func directlyWrittenDocumentsAreByteForByteWhatJSONEncoderWrites(seed: UInt64) throws {
        let classes = ["can", "box", "o\"dd", "\u{e9}t\u{e9}"]
        let raw = Self.hostileImages(count: 300, seed: seed, clipped: false)
        #expect(COCO.json(images: raw, classes: classes) == (try Self.encoded(COCO.document(images: raw, classes: classes))))
        // Edge Impulse's whole pixels need boxes inside the image, as the exporter gives them.
        let images = Self.hostileImages(count: 300, seed: seed, clipped: true)
        #expect(images.contains { !$0.detections.isEmpty })
        #expect(EdgeImpulse.json(images: images) == (try Self.encoded(EdgeImpulse.labelsFile(images: images))))
        #expect(EdgeImpulse.infoJSON(images: images, category: "training")
                == (try Self.encoded(EdgeImpulse.infoFile(images: images, category: "training"))))
        // Empty documents too.
        #expect(COCO.json(images: [], classes: []) == (try Self.encoded(COCO.document(images: [], classes: []))))
        #expect(EdgeImpulse.json(images: []) == (try Self.encoded(EdgeImpulse.labelsFile(images: []))))
        #expect(EdgeImpulse.infoJSON(images: [], category: "testing") == (try Self.encoded(EdgeImpulse.infoFile(images: [], category: "testing"))))
    }

    // MARK: split

    @Test func splitIsAFixedFunctionOfTheID() {
        // First 8 bytes of SHA-256("split:abc"), top 53 bits / 2^53 (checked with Python's hashlib).
        #expect(SplitAssigner.unitValue("abc") == 0.14984508970548227)
        #expect(SplitAssigner.unitValue("0123456789abcdef") == 0.7583987968546292)
        let assigner = SplitAssigner(train: 0.8, test: 0.2)
        #expect(assigner.split("abc") == .train)
        #expect(assigner.split("0123456789abcdef") == .train)
        #expect(SplitAssigner(train: 0.7, test: 0.3).split("0123456789abcdef") == .test)
        #expect(SplitAssigner(train: 0.5, test: 0.2, validation: 0.3).split("0123456789abcdef") == .validation)
    }

    @Test func addingItemsNeverMovesExistingOnes() {
        let assigner = SplitAssigner(train: 0.7, test: 0.2, validation: 0.1)
        let first = (0..<500).map { "item-\($0)" }
        let before = Dictionary(uniqueKeysWithValues: first.map { ($0, assigner.split($0)) })
        let grown = first + (500..<2000).map { "item-\($0)" }
        let after = Dictionary(uniqueKeysWithValues: grown.shuffled().map { ($0, SplitAssigner(train: 0.7, test: 0.2, validation: 0.1).split($0)) })
        for id in first { #expect(after[id] == before[id]) }
    }

    @Test func splitFractionsAreRespected() {
        let assigner = SplitAssigner(train: 0.8, test: 0.2)
        let counts = Dictionary(grouping: (0..<10_000).map { assigner.split("id-\($0)") }, by: { $0 }).mapValues(\.count)
        #expect(counts[.validation] == nil)
        #expect(abs(Double(counts[.train] ?? 0) / 10_000 - 0.8) < 0.02)
        #expect(abs(Double(counts[.test] ?? 0) / 10_000 - 0.2) < 0.02)
        #expect(assigner.active == [.train, .test])
        #expect(Set((0..<200).map { SplitAssigner(train: 1, test: 0).split("x\($0)") }) == [.train])
    }

    // MARK: exporter

    static func sources(in folder: URL, count: Int) throws -> [DatasetSource] {
        try (0..<count).map { index in
            let image = folder.appendingPathComponent("src-\(index).jpg")
            try Data("fake jpeg \(index)".utf8).write(to: image)
            let objects: [GroundTruth.Object] = index % 4 == 3 ? [] : [
                .init(className: "can", bbox: .init(xmin: Double(index), ymin: 2, xmax: Double(index) + 20, ymax: 30)),
                .init(className: index % 2 == 0 ? "box" : "can", bbox: .init(xmin: 50, ymin: 60, xmax: 70.5, ymax: 90)),
                .init(className: "can", bbox: .init(xmin: 200, ymin: 10, xmax: 300, ymax: 20)),  // outside: dropped
            ]
            let truth = GroundTruth(image: image.lastPathComponent, width: 160, height: 120, objects: objects)
            return DatasetSource(id: "image-\(index)", fileName: "scenes-\(index)-0000000\(index % 10).jpg", image: image, truth: truth)
        }
    }

    @Test func exporterLaysOutEveryFormatDeterministically() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("synthset-datasets-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let sources = try Self.sources(in: root, count: 12)
        let exporter = DatasetExporter(formats: DatasetFormat.allCases, splits: SplitAssigner(train: 0.5, test: 0.5),
                                       classes: ["can", "box"])
        let first = root.appendingPathComponent("a"), second = root.appendingPathComponent("b")
        let report = try exporter.export(sources, to: first)
        try exporter.export(sources.reversed(), to: second)

        #expect(report.images == 12)
        #expect(report.classes == ["can", "box"])
        #expect(report.boxesDropped == 9)
        #expect(report.imagesWithoutObjects.count == 3)
        #expect(report.boxesPerClass == ["can": 12, "box": 6])
        #expect(report.splits.values.map(\.images).reduce(0, +) == 12)
        #expect(Set(report.splits.keys) == ["train", "test"])

        let files = Self.files(under: first)
        #expect(files == Self.files(under: second))
        for (split, summary) in report.splits {
            #expect(files["annotations/instances_\(split).json"] != nil)
            #expect(files["edge-impulse/\(split)/bounding_boxes.labels"] != nil)
            #expect(files.keys.filter { $0.hasPrefix("images/\(split)/") }.count == summary.images)
            #expect(files.keys.filter { $0.hasPrefix("pascal-voc/\(split)/") && $0.hasSuffix(".xml") }.count == summary.images)
            #expect(files.keys.filter { $0.hasPrefix("pascal-voc/\(split)/") && $0.hasSuffix(".jpg") }.count == summary.images)
            #expect(files.keys.filter { $0.hasPrefix("labels/\(split)/") }.count == summary.images)
            #expect(files.keys.filter { $0.hasPrefix("edge-impulse/\(split)/") && $0.hasSuffix(".jpg") }.count == summary.images)
        }
        #expect(files["data.yaml"] != nil)
        #expect(files["report.json"] != nil)
        #expect(!files.keys.contains { $0.hasPrefix("images/validation") })

        // Images are copies (or reflinks) of their sources, never hard links to them: a
        // source rewritten in place must not change the dataset. Within the dataset the
        // format folders share images/'s copy by hard link (one file per image, not three).
        func inode(_ url: URL) throws -> (number: UInt64, links: Int) {
            let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
            return ((attributes[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0, attributes[.referenceCount] as? Int ?? 0)
        }
        for source in sources { #expect(try inode(source.image).links == 1, "a source gained a link") }
        let name = try #require(files.keys.first { $0.hasPrefix("images/") })
        let split = name.split(separator: "/")[1], fileName = name.split(separator: "/")[2]
        let copy = try inode(first.appendingPathComponent(name))
        #expect(copy.links == 3)
        #expect(try inode(first.appendingPathComponent("pascal-voc/\(split)/\(fileName)")).number == copy.number)
        #expect(try inode(first.appendingPathComponent("edge-impulse/\(split)/\(fileName)")).number == copy.number)
        #expect(try !sources.map { try inode($0.image).number }.contains(copy.number))
    }

    @Test func exporterRejectsDuplicateNamesAndMissingLabels() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("synthset-datasets-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        var sources = try Self.sources(in: root, count: 2)
        sources[1].fileName = sources[0].fileName
        let exporter = DatasetExporter(formats: [.coco], splits: SplitAssigner(train: 1, test: 0))
        #expect(throws: DatasetError.self) { try exporter.export(sources, to: root.appendingPathComponent("out")) }
        #expect(throws: DatasetError.self) {
            try DatasetSource.load(id: "x", fileName: "x.jpg", image: sources[0].image, labels: root.appendingPathComponent("none.json"))
        }
    }

    @Test func namesAreReadable() {
        #expect(DatasetNaming.fileName(step: "scenes", number: 17, id: "3fa2c9e1deadbeef", extension: "JPG") == "scenes-17-3fa2c9e1.jpg")
        #expect(DatasetNaming.fileName(step: "my step", number: nil, id: "3fa2c9e1", extension: "png") == "my_step-3fa2c9e1.png")
    }

    static func files(under folder: URL) -> [String: Data] {
        var result: [String: Data] = [:]
        let base = folder.standardizedFileURL.path + "/"
        guard let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]) else { return result }
        for case let url as URL in enumerator where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            result[String(url.standardizedFileURL.path.dropFirst(base.count))] = try? Data(contentsOf: url)
        }
        return result
    }

    // MARK: manifest

    static func load(_ steps: String) -> WorkflowLoader.Result {
        WorkflowLoader().load(text: "version: 1\nname: t\nsteps:\n" + steps, file: "t.yaml",
                              directory: FileManager.default.temporaryDirectory)
    }

    @Test func exportTakesProceduralImagesDirectly() {
        let result = Self.load("""
              scenes:
                uses: procedural/scenes
                seeds: 0..3
                objects: { can: { shape: cylinder } }
              dataset:
                uses: export
                from: scenes
            """)
        #expect(result.errors.isEmpty, "\(result.errors)")
    }

    @Test func exportRefusesUnlabeledImages() {
        let result = Self.load("""
              images:
                uses: cosmos-predict2/text2image
                prompt: a can
                seeds: [0]
              dataset:
                uses: export
                from: images
            """)
        let messages = result.errors.map(\.message)
        #expect(messages.contains { $0.contains("export needs labels; add a grounded-sam2/label step between 'images' and 'dataset'") },
                "\(messages)")
    }
}

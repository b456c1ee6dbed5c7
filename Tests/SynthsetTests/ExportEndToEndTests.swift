import Datasets
import Foundation
import SceneFormats
import Scenes
import Testing

/// Runs the built `synthset` binary on a procedural workflow with an export step, then
/// reads the dataset: in Swift, and with real consumers (pycocotools, globox).
@Suite(.serialized) struct ExportEndToEndTests {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func workflow(images: Int) -> String {
        """
        version: 1
        name: export-e2e
        steps:
          scenes:
            uses: procedural/scenes
            seeds: 0..\(images - 1)
            size: [320, 240]
            objects:
              can: { shape: cylinder, colors: [red, blue], size: [0.15, 0.35], count: [0, 4] }
              box: { shape: box, colors: [cardboard], size: [0.2, 0.4], count: [0, 2] }
            camera: { blur: [0, 1], noise: [0, 4], jpeg_quality: [80, 90] }
          dataset:
            uses: export
            from: scenes
            formats: [pascal-voc, coco, yolo, edge-impulse]
            split: { train: 0.7, test: 0.2, validation: 0.1 }
        """
    }

    static func run(_ program: URL, _ arguments: [String], in directory: URL) async throws -> (status: Int32, output: String) {
        let result = try await TestSupport.run(arguments, in: directory, program: program)
        return (result.status, result.output)
    }

    /// Runs the workflow in a fresh temporary folder; returns that folder and the dataset.
    static func exportDataset(images: Int = 20) async throws -> (root: URL, dataset: URL) {
        let synthset = try TestSupport.binary
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("synthset-export-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try workflow(images: images).write(to: root.appendingPathComponent("export.yaml"), atomically: true, encoding: .utf8)
        let result = try await run(synthset, ["run", "export.yaml", "--workspace", "ws", "--jobs", "2"], in: root)
        guard result.status == 0 else {
            throw Failure(description: "synthset run exited \(result.status):\n\(result.output)")
        }
        let outputs = root.appendingPathComponent("ws/outputs/dataset")
        let folders = try FileManager.default.contentsOfDirectory(atPath: outputs.path).filter { !$0.hasPrefix(".") }
        guard folders.count == 1 else { throw Failure(description: "expected one dataset folder in \(outputs.path), found \(folders)") }
        return (root, outputs.appendingPathComponent(folders[0]))
    }

    @Test func runExportsTheProceduralGroundTruth() async throws {
        let (root, dataset) = try await Self.exportDataset()
        defer { try? FileManager.default.removeItem(at: root) }
        let report = try JSONDecoder().decode(DatasetReport.self, from: Data(contentsOf: dataset.appendingPathComponent("report.json")))
        #expect(report.images == 20)
        #expect(report.classes == ["can", "box"])
        #expect(report.formats == ["pascal-voc", "coco", "yolo", "edge-impulse"])
        #expect(report.splits.values.map(\.images).reduce(0, +) == 20)

        // The boxes are exactly the generator's ground truth.
        let scenes = root.appendingPathComponent("ws/outputs/scenes")
        var expected: [String: Int] = [:]
        var emptyImages = 0
        for file in try FileManager.default.contentsOfDirectory(atPath: scenes.path) where file.hasSuffix(".json") {
            let truth = try GroundTruth.decode(from: Data(contentsOf: scenes.appendingPathComponent(file)))
            let kept = truth.objects.filter { $0.bbox.width > 0 && $0.bbox.height > 0 }
            if kept.isEmpty { emptyImages += 1 }
            for object in kept { expected[object.className, default: 0] += 1 }
        }
        #expect(report.boxesPerClass.filter { $0.value > 0 } == expected)
        #expect(report.imagesWithoutObjects.count == emptyImages)

        // Every split's files are there and consistent with the report.
        for (split, summary) in report.splits {
            let images = try FileManager.default.contentsOfDirectory(atPath: dataset.appendingPathComponent("images/\(split)").path)
            #expect(images.count == summary.images)
            #expect(images.allSatisfy { $0.wholeMatch(of: /scenes-\d+-[0-9a-f]{8}\.jpg/) != nil }, "\(images)")
            let coco = try JSONDecoder().decode(COCO.Document.self,
                                                from: Data(contentsOf: dataset.appendingPathComponent("annotations/instances_\(split).json")))
            #expect(coco.images.count == summary.images)
            #expect(coco.annotations.count == summary.boxes)
            let labels = try JSONDecoder().decode(EdgeImpulse.LabelsFile.self,
                                                  from: Data(contentsOf: dataset.appendingPathComponent("edge-impulse/\(split)/bounding_boxes.labels")))
            #expect(labels.boundingBoxes.count == summary.images)
            #expect(labels.boundingBoxes.values.map(\.count).reduce(0, +) == summary.boxes)
        }
        let yaml = try String(contentsOf: dataset.appendingPathComponent("data.yaml"), encoding: .utf8)
        #expect(yaml.contains("val: images/validation\n"))
    }

    @Test func theSameRecipeGivesAByteIdenticalDataset() async throws {
        let (firstRoot, first) = try await Self.exportDataset(images: 8)
        defer { try? FileManager.default.removeItem(at: firstRoot) }
        let (secondRoot, second) = try await Self.exportDataset(images: 8)
        defer { try? FileManager.default.removeItem(at: secondRoot) }
        #expect(first.lastPathComponent == second.lastPathComponent)
        let a = DatasetsTests.files(under: first), b = DatasetsTests.files(under: second)
        #expect(!a.isEmpty)
        #expect(a == b)
    }

    /// pycocotools and globox read the export; VOC, YOLO, COCO and Edge Impulse agree.
    @Test func realConsumersReadTheDataset() async throws {
        let configured = ProcessInfo.processInfo.environment["SYNTHSET_TEST_PYTHON"]
        let python = configured.map { URL(fileURLWithPath: $0, relativeTo: TestSupport.packageRoot) }
            ?? TestSupport.packageRoot.appendingPathComponent(".build/venv/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            Issue.record("""
                no Python with pycocotools and globox at \(python.path): run the set-up first \
                (bash .ci/setup-python.sh), or point SYNTHSET_TEST_PYTHON at such a python
                """)
            return
        }
        let (root, dataset) = try await Self.exportDataset()
        defer { try? FileManager.default.removeItem(at: root) }
        let script = TestSupport.packageRoot.appendingPathComponent("Tests/SynthsetTests/Consumers/check_dataset.py")
        let result = try await Self.run(python, [script.path, dataset.path], in: root)
        #expect(result.status == 0, "check_dataset.py failed:\n\(result.output)")
        #expect(result.output.contains("\"boxes\""), "\(result.output)")
    }
}

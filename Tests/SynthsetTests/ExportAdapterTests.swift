import Basics
import Datasets
@testable import Execution
import Foundation
import Planning
import SceneFormats
import Scenes
import Testing
import WorkflowSpec
import WorkspaceStore

/// The export adapter resolves each input to an image and a `synthset-boxes/1` file:
/// procedural images through their sidecar, label items through their input image.
@Suite struct ExportAdapterTests {
    @Test(arguments: ["outputs/images/3fa2c9e1.jpg", "outputs/clips/a.b/f.PNG", "outputs/x/noext", "outputs/x.y/noext",
                      "outputs/x/.hidden", "a.tar.gz", "name.", "", "plain.jpeg"])
    func theImagesExtensionIsFoundationsPathExtension(_ path: String) {
        #expect(PathParts.pathExtension(path) == (path as NSString).pathExtension)
    }

    static let manifest = """
        version: 1
        name: adapter
        steps:
          scenes:
            uses: procedural/scenes
            seeds: [4, 7]
            size: [64, 48]
            objects: { can: { shape: cylinder } }
          labels:
            uses: grounded-sam2/label
            from: scenes
            classes: { "a drink can": can, person: person }
          direct:
            uses: export
            from: scenes
            formats: [coco, yolo]
            split: { train: 1 }
          labeled:
            uses: export
            from: labels
            formats: [coco]
            split: { train: 1 }
        """

    static func setUp() throws -> (Workflow, Plan, Workspace) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("synthset-adapter-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let loaded = WorkflowLoader().load(text: manifest, file: "adapter.yaml", directory: root)
        let workflow = try #require(loaded.workflow, "\(loaded.diagnostics)")
        // No hardware: planning fails on the GPU step, as a run with --gpu would not; the
        // adapter must not depend on planning options.
        let planned = Planner(options: PlanOptions(gpu: "h100-sxm")).plan(workflow)
        let plan = try #require(planned.plan, "\(planned.diagnostics)")
        let workspace = Workspace(root: root)
        try workspace.createDirectories()
        for item in plan.items where item.step == "scenes" {
            let image = workspace.url(item.path)
            try FileManager.default.createDirectory(at: image.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("jpeg".utf8).write(to: image)
            let truth = GroundTruth(image: image.lastPathComponent, width: 64, height: 48,
                                    objects: [.init(className: "can", bbox: .init(xmin: 1, ymin: 2, xmax: 10, ymax: 20))])
            try truth.encoded().write(to: image.deletingPathExtension().appendingPathExtension("json"))
        }
        for item in plan.items where item.step == "labels" {
            let file = workspace.url(item.path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            let truth = GroundTruth(image: "x.jpg", width: 64, height: 48, source: "grounded-sam2/label",
                                    objects: [.init(className: "person", confidence: 0.5, bbox: .init(xmin: 3, ymin: 3, xmax: 30, ymax: 40))])
            try truth.encoded().write(to: file)
        }
        return (workflow, plan, workspace)
    }

    static func invocation(_ step: String, _ workflow: Workflow, _ plan: Plan, _ workspace: Workspace) throws -> Invocation {
        let items = plan.itemsByID()
        let item = try #require(plan.items.first { $0.step == step })
        let task = try #require(plan.tasks.first { $0.items.contains(item.id) })
        let scratch = workspace.scratch.appendingPathComponent(task.id)
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let log = workspace.logs.appendingPathComponent("\(task.id).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let context = InvocationContext(workflow: workflow, step: workflow.step(step)!, items: { items[$0] })
        let planned = workflow.step(step)!.planning.invocation(for: [item], context: context)
        return Invocation(workflow: workflow, step: workflow.step(step)!, task: task, planned: planned, items: [item],
                          inputs: InputLocations(workspace: workspace, items: items),
                          workspace: workspace, scratch: scratch, logFile: log, gpus: [], attempt: 1, gracePeriod: .seconds(1))
    }

    @Test func proceduralImagesUseTheirSidecar() async throws {
        let (workflow, plan, workspace) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: workspace.root) }
        let invocation = try Self.invocation("direct", workflow, plan, workspace)
        let parameters = try invocation.planned.decodedParameters(ExportParameters.self)
        let sources = try ExportAdapter.sources(try #require(parameters.datasets.first), invocation: invocation)
        #expect(sources.map(\.fileName).map { String($0.prefix(9)) }.sorted() == ["scenes-4-", "scenes-7-"])
        #expect(sources.allSatisfy { $0.truth.objects.map(\.className) == ["can"] })
        #expect(parameters.classes == ["can"])
        #expect(parameters.formats == ["coco", "yolo"])

        let handed = HandedOver()
        let outcome = try await ExportAdapter().run(invocation) { output in await handed.add(output.file) }
        #expect(outcome.failures.isEmpty, "\(outcome.failures)")
        let folder = try #require(await handed.files.first)
        #expect(folder.lastPathComponent == String(invocation.items[0].id.prefix(16)))
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("data.yaml").path))
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("annotations/instances_train.json").path))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("pascal-voc").path))
    }

    @Test func labelItemsPointBackToTheirImage() throws {
        let (workflow, plan, workspace) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: workspace.root) }
        let invocation = try Self.invocation("labeled", workflow, plan, workspace)
        let items = plan.itemsByID()
        #expect(Dictionary(uniqueKeysWithValues: Planner.expandItems(workflow).map { ($0.id, $0) }) == items)
        let parameters = try invocation.planned.decodedParameters(ExportParameters.self)
        let sources = try ExportAdapter.sources(try #require(parameters.datasets.first), invocation: invocation)
        #expect(sources.count == 2)
        let byLineage = Dictionary(plan.items.filter { $0.step == "scenes" }.map { ($0.lineage, $0) }, uniquingKeysWith: { first, _ in first })
        for source in sources {
            // The split key is the image's lineage (its scene seed), shared by its label.
            let image = try #require(byLineage[source.id])
            #expect(image.step == "scenes")  // split and name come from the image, not the label item
            #expect(source.image == workspace.url(image.path))
            #expect(source.fileName == "scenes-\(image.seed!)-\(image.id.prefix(8)).jpg")
            #expect(source.truth.objects.map(\.className) == ["person"])
        }
        #expect(parameters.classes == ["can", "person"])
    }

    @Test func missingGroundTruthFailsTheExport() async throws {
        let (workflow, plan, workspace) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: workspace.root) }
        for item in plan.items where item.step == "scenes" {
            try FileManager.default.removeItem(at: workspace.url(item.path).deletingPathExtension().appendingPathExtension("json"))
        }
        let invocation = try Self.invocation("direct", workflow, plan, workspace)
        let outcome = try await ExportAdapter().run(invocation) { _ in }
        let reason = try #require(outcome.failures[invocation.items[0].id])
        #expect(reason.contains("labels for scenes") || reason.contains("are missing"), "\(reason)")
    }

    actor HandedOver {
        var files: [URL] = []
        func add(_ url: URL) { files.append(url) }
    }
}

import Datasets
import Foundation
import Planning
import SceneFormats
import Scenes
import WorkflowSpec

/// The built-in `export` step: writes Pascal VOC, COCO, YOLO and Edge Impulse datasets
/// from labeled images, in-process on a CPU slot.
///
/// Each input of the export item is resolved to an image file and a `synthset-boxes/1`
/// labels file:
/// - a `.labels` item (`grounded-sam2/label`): its own file is the labels, the image is
///   its input item's file;
/// - an `.image` item (only `procedural/scenes`, checked by the loader): the image is
///   its file, the labels the ground-truth sidecar `<name>.json`.
///
/// The dataset is built in `scratch/<id16>` and handed over as one folder, which the
/// committer renames into `outputs/<step>/<id16>`. See `docs/datasets.md` for the layout.
public struct ExportAdapter: ToolAdapter {
    public init() {}

    public func preflight(step: Step, workflow: Workflow) -> [Diagnostic] { [] }

    public func run(_ invocation: Invocation, produced: @Sendable (ProducedOutput) async -> Void) async throws -> InvocationOutcome {
        guard let spec = invocation.step.export else {
            return InvocationOutcome(failures: Dictionary(uniqueKeysWithValues: invocation.items.map { ($0.id, "step has no export settings") }))
        }
        // The invocation names input files only; seeds (for readable names) and the image
        // behind each label file come from the items, which are a pure function of the
        // workflow. (An `Invocation` carrying the planned input items would save this.)
        let planned = Dictionary(Planner.expandItems(invocation.workflow).map { ($0.id, $0) },
                                 uniquingKeysWith: { first, _ in first })
        let exporter = DatasetExporter(
            formats: spec.formats.compactMap { DatasetFormat(rawValue: $0.rawValue) },
            splits: SplitAssigner(train: spec.split.train, test: spec.split.test, validation: spec.split.validation),
            classes: Self.classes(of: invocation.step, in: invocation.workflow))
        var failures: [String: String] = [:]
        for item in invocation.items {
            if Task.isCancelled { break }
            let name = URL(fileURLWithPath: item.path).lastPathComponent
            let folder = invocation.scratch.appendingPathComponent(name)
            do {
                let sources = try Self.sources(for: item, invocation: invocation, planned: planned)
                try? FileManager.default.removeItem(at: folder)
                // Thousands of files linked or copied and written: not on the concurrency pool.
                let report = try await BlockingWork.run { try exporter.export(sources, to: folder) }
                Self.log(invocation.logFile, report: report, item: item)
            } catch {
                failures[item.id] = "export failed: \(error)"
                continue
            }
            await produced(ProducedOutput(itemID: item.id, file: folder))
        }
        return InvocationOutcome(failures: failures)
    }

    /// The class order of the dataset: the upstream steps' classes in `from:` order
    /// (procedural object names, or a label step's classes), deduplicated.
    static func classes(of step: Step, in workflow: Workflow) -> [String] {
        var classes: [String] = []
        for upstream in step.from {
            guard let source = workflow.step(upstream) else { continue }
            for name in source.datasetClasses where !classes.contains(name) { classes.append(name) }
        }
        return classes
    }

    /// An image file and its labels for every input of the export item.
    static func sources(for item: PlannedItem, invocation: Invocation, planned: [String: PlannedItem]) throws -> [DatasetSource] {
        try entries(for: item, inputs: invocation.inputs, workspace: invocation.workspace, planned: planned).map { entry in
            // The split follows the image's lineage (its root generation), not its id.
            try DatasetSource.load(id: entry.lineage, fileName: entry.fileName, image: entry.image, labels: entry.labels)
        }
    }

    /// One image of an export item: its files, and the name and split key (lineage) the
    /// dataset gives it. Training (`ultralytics/train`) reads the same entries to pick its
    /// nested subsets by lineage.
    struct Entry {
        var image: URL
        var labels: URL
        var fileName: String
        var lineage: String
    }

    /// The entries of an export item, from the plan's items alone (no file is read).
    static func entries(for item: PlannedItem, inputs: [String: URL], workspace: Workspace,
                        planned: [String: PlannedItem]) throws -> [Entry] {
        struct Pair { var imageItem: PlannedItem; var image: URL; var labels: URL; var labelItemID: String? }
        var pairs: [Pair] = []
        for inputID in item.inputs {
            guard let input = planned[inputID] else {
                throw DatasetError("input item \(inputID.prefix(16)) is not in the current plan")
            }
            let file = inputs[inputID] ?? workspace.url(input.path)
            switch input.kind {
            case .labels:
                guard let imageID = input.inputs.first, let imageItem = planned[imageID] else {
                    throw DatasetError("label item \(input.path) has no input image")
                }
                pairs.append(Pair(imageItem: imageItem, image: workspace.url(imageItem.path), labels: file, labelItemID: input.id))
            case .image:
                pairs.append(Pair(imageItem: input, image: file,
                                  labels: file.deletingPathExtension().appendingPathExtension("json"), labelItemID: nil))
            default:
                throw DatasetError("input \(input.path) is a \(input.kind.rawValue), not labels or an image")
            }
        }
        // One image labeled by two label steps is exported twice, told apart by the label id.
        var imageCounts: [String: Int] = [:]
        for pair in pairs { imageCounts[pair.imageItem.id, default: 0] += 1 }
        return pairs.map { pair in
            let image = pair.imageItem
            var id = String(image.id.prefix(8))
            if imageCounts[image.id, default: 0] > 1, let labelID = pair.labelItemID { id += "-" + labelID.prefix(8) }
            let fileName = DatasetNaming.fileName(step: image.step, number: image.seed ?? image.frameIndex, id: id,
                                                  extension: pair.image.pathExtension)
            return Entry(image: pair.image, labels: pair.labels, fileName: fileName, lineage: image.lineage)
        }
    }

    static func log(_ file: URL, report: DatasetReport, item: PlannedItem) {
        var lines = ["exported \(report.images) images, \(report.boxes) boxes (\(report.formats.joined(separator: ", "))) for \(item.path)"]
        for (split, summary) in report.splits.sorted(by: { $0.key < $1.key }) {
            lines.append("  \(split): \(summary.images) images, \(summary.boxes) boxes, \(summary.imagesWithoutObjects) without objects")
        }
        if report.boxesDropped > 0 { lines.append("  \(report.boxesDropped) boxes outside their image were dropped") }
        guard let handle = try? FileHandle(forWritingTo: file) else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: Data((lines.joined(separator: "\n") + "\n").utf8))
    }
}

import Basics
import Datasets
import Foundation
import Planning
import SceneFormats
import Scenes
import WorkflowSpec

/// The built-in `export` step: writes Pascal VOC, COCO, YOLO and Edge Impulse datasets
/// from labeled images, in-process on a CPU slot.
///
/// Its invocation's parameters (``ExportParameters``, decided by
/// ``ExportTool/invocation(for:context:)``) name every image with its `synthset-boxes/1`
/// labels file and its name in the dataset; the adapter reads and writes, nothing more.
///
/// The dataset is built in `scratch/<id16>` and handed over as one folder, which the
/// committer renames into `outputs/<step>/<id16>`. See `docs/datasets.md` for the layout.
public struct ExportAdapter: ToolAdapter {
    public init() {}

    public func preflight(step: Step, workflow: Workflow) -> [Diagnostic] { [] }

    public func run(_ invocation: Invocation, produced: @Sendable (ProducedOutput) async -> Void) async throws -> InvocationOutcome {
        let parameters: ExportParameters
        do { parameters = try invocation.planned.decodedParameters(ExportParameters.self) } catch {
            return InvocationOutcome(failures: Dictionary(uniqueKeysWithValues: invocation.items.map { ($0.id, "\(error)") }))
        }
        let exporter = DatasetExporter(
            formats: parameters.formats.compactMap(DatasetFormat.init(rawValue:)),
            splits: SplitAssigner(train: parameters.split.train, test: parameters.split.test, validation: parameters.split.validation),
            classes: parameters.classes)
        let datasets = Dictionary(parameters.datasets.map { ($0.item, $0) }, uniquingKeysWith: { first, _ in first })
        var failures: [String: String] = [:]
        for item in invocation.items {
            if Task.isCancelled { break }
            let name = URL(fileURLWithPath: item.path).lastPathComponent
            let folder = invocation.scratch.appendingPathComponent(name)
            do {
                guard let dataset = datasets[item.id] else { throw DatasetError("the plan has no sources for \(item.path)") }
                let sources = try Self.sources(dataset, invocation: invocation)
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

    /// The planned images and labels of one dataset, read.
    static func sources(_ dataset: ExportParameters.Dataset, invocation: Invocation) throws -> [DatasetSource] {
        if let problem = dataset.problem { throw DatasetError(problem) }
        // A labels file read and decoded per image: on every core; the first failure in
        // source order is the one reported.
        let loaded = Parallel.map(dataset.sources.count) { index in
            let source = dataset.sources[index]
            return Result {
                try DatasetSource.load(id: source.lineage, fileName: source.fileName,
                                       image: PlannedProcess.resolve(source.image, invocation),
                                       labels: PlannedProcess.resolve(source.labels, invocation))
            }
        }
        return try loaded.map { try $0.get() }
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

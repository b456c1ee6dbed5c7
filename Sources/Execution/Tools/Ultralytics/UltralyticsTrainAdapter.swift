import Datasets
import Foundation
import Planning
import WorkflowSpec

/// Runs `ultralytics/train` (``UltralyticsTrainTool``): lists the images of each split of
/// the export for the planned process, the training split cut to the item's fraction, then
/// runs the training script and hands over the item's folder once the script has renamed
/// it into place.
///
/// Nested subsets by lineage: an image is in the training split when its lineage's split
/// value (``SplitAssigner/unitValue(_:)``) is below the `train` fraction, and in the subset
/// for fraction `f` when that value is below `train × f`. So the 0.25 subset lies inside
/// the 0.5 subset, adding scenes never moves an image out of a subset, and an option change
/// (new ids, same lineages) keeps every subset.
public struct UltralyticsTrainAdapter: ToolAdapter {
    public static let family = "ultralytics"

    public init() {}

    public func preflight(step: Step, workflow: Workflow) -> [Diagnostic] {
        guard let training = step.training else { return [] }
        var diagnostics: [Diagnostic] = []
        if training.modelIsFile, !FileManager.default.fileExists(atPath: ToolSupport.absolutePath(training.model, workflow: workflow)) {
            diagnostics.append(Diagnostic(.error, "step '\(step.id)': the weights file \(training.model) does not exist",
                                          hint: "put it beside the recipe, or train from scratch with a model yaml such as yolov8n.yaml",
                                          at: workflow.location(of: "steps.\(step.id).model")))
        }
        if let problem = Self.ultralyticsProblem(workflow: workflow) {
            diagnostics.append(Diagnostic(.error, "step '\(step.id)': \(problem.message)", hint: problem.hint,
                                          at: workflow.location(of: workflow.tools[Self.family] == nil ? "steps.\(step.id).uses" : "tools.\(Self.family)")))
        }
        return diagnostics
    }

    /// Why `tools.ultralytics.python` cannot train: not found, or `import ultralytics`
    /// fails in it (run offline, with a throwaway config folder); nil when it can. For
    /// preflight and `doctor`. Blocks for the few seconds the import takes.
    public static func ultralyticsProblem(workflow: Workflow) -> (message: String, hint: String)? {
        let python = ToolSupport.python(family, workflow: workflow)
        let environment = workflow.tools[family]?.environment ?? [:]
        let install = "install it into that Python ('\(python) -m pip install ultralytics'), or set tools.\(family).python to a Python that has it"
        guard let executable = ToolSupport.findExecutable(python, environment: environment) else {
            return ("the Python interpreter '\(python)' for \(family) was not found", install)
        }
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("synthset-ultralytics-check-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: config) }
        var env = ProcessInfo.processInfo.environment.merging(environment) { _, own in own }
        env["YOLO_OFFLINE"] = "1"
        env["YOLO_CONFIG_DIR"] = config.path
        // Foundation's Process, not ProcessRunner: preflight is synchronous, and blocking
        // on an async runner from here could starve a small cooperative pool.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-c", "import ultralytics, torch, torchvision.ops; print(ultralytics.__version__)"]
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch {
            return ("cannot start '\(python)' for \(family): \(error.localizedDescription)", install)
        }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: output, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? "exit \(process.terminationStatus)"
            return ("ultralytics cannot be imported in '\(python)': \(text.prefix(200))", install)
        }
        return nil
    }

    public func run(_ invocation: Invocation, produced: @Sendable (ProducedOutput) async -> Void) async throws -> InvocationOutcome {
        func failAll(_ reason: String) -> InvocationOutcome {
            InvocationOutcome(failures: Dictionary(uniqueKeysWithValues: invocation.items.map { ($0.id, reason) }))
        }
        guard let item = invocation.items.first, let exportID = item.inputs.first,
              let source = UltralyticsTrainTool.source(of: invocation.step, in: invocation.workflow),
              let split = source.export?.split else { return failAll("the step has no export to train from") }
        let fraction = UltralyticsTrainTool.fraction(of: item)
        let planned = Dictionary(Planner.expandItems(invocation.workflow).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        guard let exportItem = planned[exportID], let folder = invocation.inputs[exportID] else {
            return failAll("the exported dataset \(exportID.prefix(16)) is not available")
        }
        let counts: [String: Int]
        do {
            let entries = try ExportAdapter.entries(for: exportItem, inputs: [:], workspace: invocation.workspace, planned: planned)
            counts = try Self.writeLists(entries, split: split, fraction: fraction, export: folder,
                                         to: invocation.scratch.appendingPathComponent("data"))
        } catch {
            return failAll("cannot list the dataset's images: \(error)")
        }
        ToolSupport.log("synthset: training on \(counts["train"] ?? 0) images (fraction \(fraction) of the training split); "
                        + counts.filter { $0.key != "train" }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "),
                        to: invocation.logFile)
        guard (counts["train"] ?? 0) > 0 else {
            return failAll("fraction \(fraction) of the training split holds no image; use a larger fraction or more images")
        }
        // Ultralytics cannot validate on an empty split; an empty test split is skipped.
        let validation = UltralyticsTrainTool.validationSplit(UltralyticsTrainTool.splits(split))
        guard (counts[validation] ?? 0) > 0 else {
            return failAll("the dataset's \(validation) split holds no image, so training has nothing to validate on; add images or give the split a larger fraction")
        }
        return try await PlannedProcess().runAndCollect(invocation, produced: produced) { output, outcome in
            outcome.succeeded
                ? "the training script exited 0 but wrote no \(output.file.lastPathComponent) — see log"
                : "training ended with \(outcome.status) — see log"
        }
    }

    /// Writes `<split>.txt` for each split of the export: `./images/<split>/<name>` per
    /// image, the training split cut to `fraction` by lineage. Returns the counts.
    static func writeLists(_ entries: [ExportAdapter.Entry], split: Split, fraction: Double, export: URL, to data: URL) throws -> [String: Int] {
        let assigner = SplitAssigner(train: split.train, test: split.test, validation: split.validation)
        var lists: [String: [String]] = [:]
        for entry in entries {
            let name = assigner.split(entry.lineage).rawValue
            if name == "train" && SplitAssigner.unitValue(entry.lineage) >= split.train * fraction { continue }
            // The export wrote it (an image whose boxes all fell outside it is still there).
            guard FileManager.default.fileExists(atPath: export.appendingPathComponent("images/\(name)/\(entry.fileName)").path) else { continue }
            lists[name, default: []].append("./images/\(name)/\(entry.fileName)")
        }
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        var counts: [String: Int] = [:]
        for name in UltralyticsTrainTool.splits(split) {
            let lines = (lists[name] ?? []).sorted()
            counts[name] = lines.count
            try Data(lines.map { $0 + "\n" }.joined().utf8).write(to: data.appendingPathComponent("\(name).txt"))
        }
        return counts
    }
}

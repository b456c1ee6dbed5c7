import Datasets
import Foundation
import Planning
import WorkflowSpec

/// Runs `ultralytics/train` (``UltralyticsTrainTool``): the planned process, after checking
/// that the planned image lists of the training and validation splits are not empty; hands
/// over the item's folder once the script has renamed it into place.
public struct UltralyticsTrainAdapter: ToolAdapter {
    public static let family = "ultralytics"

    public init() {}

    public func preflight(step: Step, workflow: Workflow) async -> [Diagnostic] {
        guard let training = step.training else { return [] }
        var diagnostics: [Diagnostic] = []
        if training.modelIsFile, !FileManager.default.fileExists(atPath: ToolSupport.absolutePath(training.model, workflow: workflow)) {
            diagnostics.append(Diagnostic(.error, "step '\(step.id)': the weights file \(training.model) does not exist",
                                          hint: "put it beside the recipe, or train from scratch with a model yaml such as yolov8n.yaml",
                                          at: workflow.location(of: "steps.\(step.id).model")))
        }
        if let problem = await Self.ultralyticsProblem(workflow: workflow, importing: false) {
            diagnostics.append(Diagnostic(.error, "step '\(step.id)': \(problem.message)", hint: problem.hint,
                                          at: workflow.location(of: workflow.tools[Self.family] == nil ? "steps.\(step.id).uses" : "tools.\(Self.family)")))
        }
        return diagnostics
    }

    /// Why `tools.ultralytics.python` cannot train: not found, or ultralytics (with torch
    /// and torchvision's operators) is not installed in it; nil when it can. Preflight
    /// only looks the packages up (`importlib.util.find_spec`, a fraction of a second on
    /// every run); `doctor` (`importing: true`) imports them, offline, with a throwaway
    /// config folder, which takes the seconds torch needs to load.
    public static func ultralyticsProblem(workflow: Workflow, importing: Bool = true) async -> (message: String, hint: String)? {
        let python = ToolSupport.python(family, workflow: workflow)
        let environment = workflow.tools[family]?.environment ?? [:]
        let install = "install it into that Python ('\(python) -m pip install ultralytics'), or set tools.\(family).python to a Python that has it"
        guard let executable = ToolSupport.findExecutable(python, environment: environment) else {
            return ("the Python interpreter '\(python)' for \(family) was not found", install)
        }
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("synthset-ultralytics-check-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: config) }
        var env = environment
        env["YOLO_OFFLINE"] = "1"
        env["YOLO_CONFIG_DIR"] = config.path
        let code = importing
            ? "import ultralytics, torch, torchvision.ops; print(ultralytics.__version__)"
            : "import importlib.util as u, sys; missing = [m for m in ('ultralytics', 'torch', 'torchvision') if u.find_spec(m) is None]; "
                + "print('No module named ' + ', '.join(missing)) if missing else None; sys.exit(1 if missing else 0)"
        let probe: CapturedOutput
        do {
            probe = try await ProcessRunner.capture(executable, arguments: ["-c", code], environment: env,
                                                    includeStandardError: true, limit: 1 << 16, gracePeriod: .seconds(2))
        } catch {
            return ("cannot start '\(python)' for \(family): \(error)", install)
        }
        guard probe.succeeded else {
            let text = probe.text.split(separator: "\n").last.map(String.init) ?? "it failed"
            return ("ultralytics cannot be imported in '\(python)': \(text.prefix(200))", install)
        }
        return nil
    }

    public func run(_ invocation: Invocation, produced: @Sendable (ProducedOutput) async -> Void) async throws -> InvocationOutcome {
        func failAll(_ reason: String) -> InvocationOutcome {
            InvocationOutcome(failures: Dictionary(uniqueKeysWithValues: invocation.items.map { ($0.id, reason) }))
        }
        // The planned lists: Ultralytics cannot train or validate on an empty one.
        var counts: [String: Int] = [:]
        for file in invocation.planned.files where file.path.hasPrefix("data/") && file.path.hasSuffix(".txt") {
            guard case .string(let text) = file.content else { continue }
            counts[String(file.path.dropFirst(5).dropLast(4))] = text.split(separator: "\n").count
        }
        let fraction = invocation.items.first.map(UltralyticsTrainTool.fraction(of:)) ?? 1
        ToolSupport.log("synthset: training on \(counts["train"] ?? 0) images (fraction \(fraction) of the training split); "
                        + counts.filter { $0.key != "train" }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "),
                        to: invocation.logFile)
        guard (counts["train"] ?? 0) > 0 else {
            return failAll("fraction \(fraction) of the training split holds no image; use a larger fraction or more images")
        }
        let validation = UltralyticsTrainTool.validationSplit(counts.keys.sorted())
        guard (counts[validation] ?? 0) > 0 else {
            return failAll("the dataset's \(validation) split holds no image, so training has nothing to validate on; add images or give the split a larger fraction")
        }
        return try await PlannedProcess().runAndCollect(invocation, produced: produced) { output, outcome in
            outcome.succeeded
                ? "the training script exited 0 but wrote no \(output.file.lastPathComponent) — see log"
                : "training ended with \(outcome.status) — see log"
        }
    }
}

import Datasets
import Foundation
import Planning
import SceneFormats
import Scenes
import WorkflowSpec

/// `grounded-sam2/label`: auto-labels images with Grounding DINO (docs/labeling.md).
///
/// The planner gives a label step one of three stages (`Labeling.Stage`):
/// - `.whole` (`mode: script`, GPU): runs a script with the contract of the article's
///   `grounded_sam2_batch_image.py`, then post-processes its detections in-process:
///
///       <python> <script> --input_folder IN --output_folder ANNOTATED --json_output_folder JSON
///           --text_prompt "can. person." --box_threshold 0.35 --text_threshold 0.25 [option flags]
///
/// - `.candidates` (raw mode, internal step `<id>.candidates`, GPU): runs synthset's own
///   labeler (``RawLabelerScript``, or `script:` when set, with the same contract) and
///   hands over its `synthset-candidates/1` file per image;
/// - `.postprocess` (raw mode, the step itself, CPU): ``LabelPostprocessAdapter``.
///
/// Both scripts run with `tools.grounded-sam2.python` in `tools.grounded-sam2.root` and
/// read only `.jpg`/`.jpeg` files, so each item's input image is staged (symlinked) into a
/// scratch input folder as `<item id16>.jpg`; the per-image JSON `<item id16>.json` comes
/// back, and a missing one means that item failed. Label items are `synthset-boxes/1`
/// (`source: grounded-sam2/label`) with a `<name>.stats.json` companion (`LabelStats`).
public struct GroundedSAM2Adapter: ToolAdapter {
    public static let family = "grounded-sam2"

    public init() {}

    public func preflight(step: Step, workflow: Workflow) -> [Diagnostic] {
        guard let labeling = step.labeling else { return [] }
        let at = workflow.location(of: "tools.\(Self.family)")
        guard let root = ToolSupport.root(Self.family, workflow: workflow) else {
            return [Diagnostic(.error, "step '\(step.id)' uses \(step.uses.rawValue) but tools.\(Self.family).root is not set",
                               hint: "add 'tools: { \(Self.family): { root: ~/Grounded-SAM-2, python: python3 } }' pointing at your checkout",
                               at: workflow.location(of: "steps.\(step.id).uses"))]
        }
        var diagnostics: [Diagnostic] = []
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory) || !isDirectory.boolValue {
            diagnostics.append(Diagnostic(.error, "step '\(step.id)': tools.\(Self.family).root \(root.path) is not a folder",
                                          hint: "point it at your Grounded-SAM-2 checkout (git clone https://github.com/IDEA-Research/Grounded-SAM-2)",
                                          at: at))
        }
        if let script = labeling.script {
            let path = ToolSupport.absolutePath(script, workflow: workflow)
            if !FileManager.default.fileExists(atPath: path) {
                diagnostics.append(Diagnostic(.error, "step '\(step.id)': script \(path) does not exist",
                                              hint: labeling.mode == .script
                                                ? "set 'script:' to grounded_sam2_batch_image.py (or a script with its command line), relative to the manifest or absolute"
                                                : "in raw mode 'script:' replaces synthset's labeler; remove it to use the built-in one",
                                              at: workflow.location(of: "steps.\(step.id).script")))
            }
        }
        let python = ToolSupport.python(Self.family, workflow: workflow)
        if ToolSupport.findExecutable(python, environment: workflow.tools[Self.family]?.environment ?? [:]) == nil {
            diagnostics.append(Diagnostic(.error, "step '\(step.id)': the Python interpreter '\(python)' for \(Self.family) was not found",
                                          hint: "set tools.\(Self.family).python to the interpreter of the environment Grounded-SAM-2 is installed in",
                                          at: at))
        }
        return diagnostics
    }

    public func run(_ invocation: Invocation, produced: @Sendable (ProducedOutput) async -> Void) async throws -> InvocationOutcome {
        let labeling: Labeling
        do { labeling = try invocation.planned.decodedParameters(Labeling.self) } catch {
            return InvocationOutcome(failures: Dictionary(uniqueKeysWithValues: invocation.items.map { ($0.id, "\(error)") }))
        }
        switch labeling.stage {
        case .postprocess:
            return try await LabelPostprocessAdapter().run(invocation, produced: produced)
        case .candidates, .whole:
            return try await runTool(invocation, labeling: labeling, produced: produced)
        }
    }

    /// Runs the planned labeling script on the task's staged images, then hands over each
    /// image's candidates (raw mode) or its post-processed labels (script mode).
    func runTool(_ invocation: Invocation, labeling: Labeling,
                 produced: @Sendable (ProducedOutput) async -> Void) async throws -> InvocationOutcome {
        let fm = FileManager.default
        let scratch = invocation.scratch
        let out = scratch.appendingPathComponent("out")
        for folder in [scratch.appendingPathComponent("annotated"), out] { try fm.createDirectory(at: folder, withIntermediateDirectories: true) }
        let spec = try PlannedProcess.prepare(invocation)
        let outcome = try await ProcessRunner.run(spec, gracePeriod: invocation.gracePeriod)
        if Task.isCancelled { throw CancellationError() }

        var failures: [String: String] = [:]
        let postprocessor = LabelPostprocessor(labeling)
        for output in PlannedProcess.expected(invocation) {
            let item = output.item, file = output.file
            let image = item.inputs.first.flatMap { invocation.inputs[$0] }?.lastPathComponent ?? item.scratchName
            guard let data = fm.contents(atPath: file.path) else {
                failures[item.id] = outcome.succeeded
                    ? "the labeling script wrote no \(file.lastPathComponent) for \(image) although it exited 0 — see log"
                    : "the labeling script ended with \(outcome.status) before writing \(file.lastPathComponent) — see log"
                continue
            }
            do {
                if labeling.stage == .candidates {
                    _ = try LabelCandidates.decode(from: data)  // refuse a malformed file now, not at post-processing
                    await produced(ProducedOutput(itemID: item.id, file: file))
                } else {
                    let labels = try BatchScriptLabels.decode(from: data)
                    let result = postprocessor.process(labels.phraseDetections, image: image,
                                                       width: labels.imageWidth, height: labels.imageHeight)
                    try await LabelPostprocessAdapter.handOver(result, item: item, scratch: out, produced: produced)
                }
            } catch {
                failures[item.id] = "cannot read \(file.lastPathComponent) from the labeling script: \(error)"
            }
        }
        return InvocationOutcome(failures: failures, exitCode: {
            if case .exited(let code) = outcome.status { return code } else { return nil }
        }())
    }
}

/// The CPU stage of a raw-mode label step: reads each item's candidates, applies
/// `box_threshold`/`text_threshold` as Grounding DINO does (``GroundingDINO/apply(_:boxThreshold:textThreshold:)``),
/// then ``LabelPostprocessor``; writes `synthset-boxes/1` and `<name>.stats.json`.
public struct LabelPostprocessAdapter: ToolAdapter {
    public init() {}

    public func preflight(step: Step, workflow: Workflow) -> [Diagnostic] { [] }


    public func run(_ invocation: Invocation, produced: @Sendable (ProducedOutput) async -> Void) async throws -> InvocationOutcome {
        let labeling: Labeling
        do { labeling = try invocation.planned.decodedParameters(Labeling.self) } catch {
            return InvocationOutcome(failures: Dictionary(uniqueKeysWithValues: invocation.items.map { ($0.id, "\(error)") }))
        }
        let postprocessor = LabelPostprocessor(labeling)
        var failures: [String: String] = [:]
        var total = LabelStats()
        for item in invocation.items {
            if Task.isCancelled { throw CancellationError() }
            // Inputs: [image, candidates] (ItemExpander.labelItems).
            guard item.inputs.count == 2, let image = invocation.inputs[item.inputs[0]],
                  let candidatesFile = invocation.inputs[item.inputs[1]] else {
                failures[item.id] = "its image or candidates are not available"
                continue
            }
            do {
                let candidates = try LabelCandidates.decode(from: Data(contentsOf: candidatesFile))
                let (kept, below) = GroundingDINO.apply(candidates, boxThreshold: labeling.boxThreshold,
                                                       textThreshold: labeling.textThreshold)
                let result = postprocessor.process(kept, belowThreshold: below, image: image.lastPathComponent,
                                                   width: candidates.width, height: candidates.height)
                total.add(result.stats)
                try await Self.handOver(result, item: item, scratch: invocation.scratch, produced: produced)
            } catch {
                failures[item.id] = "cannot post-process \(candidatesFile.lastPathComponent): \(error)"
            }
        }
        ToolSupport.log("synthset: labels: \(total.kept) boxes kept; dropped: "
                        + LabelDropReason.allCases.map { "\($0.rawValue) \(total.dropped($0))" }.joined(separator: ", "),
                        to: invocation.logFile)
        return InvocationOutcome(failures: failures)
    }

    /// Writes the labels and their stats into scratch space and hands them over.
    static func handOver(_ result: (labels: GroundTruth, stats: LabelStats), item: PlannedItem, scratch: URL,
                         produced: @Sendable (ProducedOutput) async -> Void) async throws {
        let file = scratch.appendingPathComponent(item.scratchName)
        let stats = scratch.appendingPathComponent("\(item.stem).stats.json")
        try result.labels.encoded().write(to: file)
        try result.stats.encoded().write(to: stats)
        await produced(ProducedOutput(itemID: item.id, file: file, companions: [(stats, item.companionPath("stats.json"))]))
    }
}

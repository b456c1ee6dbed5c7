import Foundation
import Planning
import WorkflowSpec

/// `grounded-sam2/label`: boxes for each upstream image from Grounding DINO (+ SAM 2),
/// under box/text thresholds. Raw mode plans two stages (``Step/plannedStages``).
public struct LabelTool: RunnableTool {
    public init() {}
    public var uses: ToolKind { .label }
    public var summary: String { "Grounded-SAM-2 auto-labeling: boxes per image for the class phrases, under box and text thresholds." }
    public var family: String? { GroundedSAM2Adapter.family }
    public var output: ToolKind.Output { .labels }
    public var device: ToolKind.Device { .gpu }
    public var requiresInput: Bool { true }
    public var acceptedInputs: Set<ToolKind.Output> { [.image] }
    public var defaultMaxBatch: Int? { 256 }
    public var runner: any ToolAdapter { GroundedSAM2Adapter() }
    /// The script's own options (the article's grounded_sam2_batch_image.py, eivholt/
    /// edgeai-synthetic-cosmos-predict 9483899): its defaults are paths relative to the
    /// Grounded-SAM-2 checkout, where it runs, and `--sam2_config` is a Hydra config name
    /// inside the `sam2` package (`build_sam2` calls `compose(config_name=...)`,
    /// IDEA-Research/Grounded-SAM-2 2c0178f sam2/build_sam.py), not a file path.
    public var options: [OptionSpec] {
        [
            .init("grounding_config", .string, affectsOutput: true,
                  help: "Grounding DINO config file, relative to the Grounded-SAM-2 checkout (tools.grounded-sam2.root) or absolute."),
            .init("grounding_checkpoint", .string, affectsOutput: true,
                  help: "Grounding DINO weights, relative to the checkout or absolute."),
            .init("sam2_config", .string, affectsOutput: true,
                  help: "SAM 2 config name inside the sam2 package, e.g. configs/sam2.1/sam2.1_hiera_l.yaml."),
            .init("sam2_checkpoint", .string, affectsOutput: true,
                  help: "SAM 2 weights, relative to the checkout or absolute."),
        ]
    }

    /// Options that name files the script opens from its working directory, the checkout.
    static let checkoutPathOptions: Set<String> = ["grounding_config", "grounding_checkpoint", "sam2_checkpoint"]

    /// `options:` as the script's flags: file options absolute, resolved against the
    /// checkout as the script would resolve them; `sam2_config` as written.
    static func flags(_ step: Step, workflow: Workflow, only names: Set<String>? = nil) -> [String] {
        let root = ToolSupport.root(GroundedSAM2Adapter.family, workflow: workflow)
        var flags: [String] = []
        for spec in step.tool.options where names?.contains(spec.name) ?? true {
            guard case .string(let value)? = step.options[spec.name] else { continue }
            flags += ["--\(spec.name)", checkoutPathOptions.contains(spec.name) ? checkoutPath(value, root: root) : value]
        }
        return flags
    }

    /// A path the script opens: `~` expanded, absolute kept, relative against the checkout
    /// (unchanged when no root is set: the tool then runs in its scratch folder).
    static func checkoutPath(_ value: String, root: URL?) -> String {
        if value.hasPrefix("~") { return (value as NSString).expandingTildeInPath }
        guard !value.hasPrefix("/"), let root else { return value }
        return root.appendingPathComponent(value).standardizedFileURL.path
    }

    public var keys: [KeySpec] {
        let phrase: JSONValue = ["type": "string", "pattern": "^[^.]+$"]
        return [
            KeySpec("classes", help: "Prompt phrase: dataset class (or a list of names used as both); the phrase order is the caption.",
                    schema: ["oneOf": [["type": "object", "minProperties": 1, "propertyNames": ["pattern": "^[^.]+$"], "additionalProperties": ["type": "string"]],
                                       ["type": "array", "items": phrase, "minItems": 1]]],
                    affectsOutput: true, required: true),
            KeySpec("box_threshold", help: "Grounding DINO box score a detection must exceed.", schema: ["$ref": "#/$defs/fraction"],
                    defaultValue: 0.35, affectsOutput: true),
            KeySpec("text_threshold", help: "Token score a phrase must exceed to name a box.", schema: ["$ref": "#/$defs/fraction"],
                    defaultValue: 0.25, affectsOutput: true),
            KeySpec("mode", help: "'raw': synthset's labeler records every candidate and applies thresholds in Swift (a threshold change re-runs no GPU work); 'script': a script with the contract of grounded_sam2_batch_image.py.",
                    schema: ["enum": ["raw", "script"]], defaultValue: "raw", affectsOutput: true),
            KeySpec("script", help: "The labeling script to run instead of synthset's own (its content is part of item ids).",
                    schema: ["type": "string", "minLength": 1], affectsOutput: true),
            KeySpec("nms_iou", help: "Non-maximum suppression IoU per class (off when unset).", schema: ["$ref": "#/$defs/fraction"], affectsOutput: true),
            KeySpec("min_box_area", help: "Drop boxes smaller than this many square pixels.", schema: ["type": "number", "minimum": 0], affectsOutput: true),
            KeySpec("max_per_image", help: "Keep at most this many boxes per image, best first.", schema: ["$ref": "#/$defs/positiveInteger"], affectsOutput: true),
        ]
    }

    public func parseKeys(_ parser: StepParser, into step: inout Step) {
        step.labeling = parser.parseLabeling()
        if case .string(let name)? = step.options["sam2_config"], name.hasPrefix("/") || name.hasPrefix("~") || name.hasPrefix(".") {
            parser.optionError("sam2_config", "option 'sam2_config' is '\(name)', a file path: SAM 2 loads its config by name from inside the sam2 package (Hydra), so a path is never found",
                               hint: "write the name as the sam2 package lists it, e.g. configs/sam2.1/sam2.1_hiera_l.yaml")
        }
    }

    public func addSignatureMembers(of step: Step, to signature: inout ItemSignature, params: inout [String: OptionValue]) {
        guard let labeling = step.labeling else { return }
        if labeling.stage == .candidates {
            // Everything the GPU stage's output depends on, and no threshold.
            signature.prompt = ItemExpander.caption(labeling)
            params["stage"] = .string("candidates")
            params["box_floor"] = .number(ItemExpander.boxFloor(labeling))
            // A raw-interface labeler of the user's replaces synthset's own.
            if let script = labeling.script { params["script"] = .string(script) }
            if let hash = labeling.scriptSHA256 { params["script_sha256"] = .string(hash) }
            return
        }
        signature.classes = labeling.classes
        params["box_threshold"] = .number(labeling.boxThreshold)
        params["text_threshold"] = .number(labeling.textThreshold)
        params["mode"] = .string(labeling.mode.rawValue)
        if let script = labeling.script { params["script"] = .string(script) }
        if labeling.stage == .whole, let hash = labeling.scriptSHA256 { params["script_sha256"] = .string(hash) }
        if let nms = labeling.nmsIoU { params["nms_iou"] = .number(nms) }
        if let area = labeling.minBoxArea { params["min_box_area"] = .number(area) }
        if let count = labeling.maxPerImage { params["max_per_image"] = .int(count) }
    }

    public func expandItems(_ expander: inout ItemExpander) -> [PlannedItem] { expander.labelItems() }

    /// The labeling script on the task's images, staged as `<scratch>/input/<id16>.jpg`
    /// links (both scripts read only `.jpg`/`.jpeg` from a folder), run with
    /// `tools.grounded-sam2.python` in the checkout; each image's JSON comes back as
    /// `<scratch>/json/<id16>.json`:
    ///
    /// `PYTHONPATH` starts with the checkout; file options are absolute, resolved against
    /// the checkout (``flags(_:workflow:only:)``):
    ///
    ///     <python> <script> --input_folder IN --output_folder ANNOTATED --json_output_folder JSON
    ///         --text_prompt "can. person." --box_threshold 0.35 --text_threshold 0.25 [option flags]   (script mode)
    ///     <python> <raw labeler> --input_folder IN --json_output_folder JSON
    ///         --text_prompt "can. person." --box_floor 0.05 [grounding flags]                            (raw mode)
    ///
    /// The post-processing stage of raw mode runs in-process.
    public func invocation(for items: [PlannedItem], context: InvocationContext) -> TaskInvocation {
        let step = context.step, workflow = context.workflow, family = GroundedSAM2Adapter.family
        guard let labeling = step.labeling else { return .builtin(uses.rawValue) }
        // The post-processing (a raw-mode step's CPU stage, or after a script) is given
        // the step's labeling settings: classes, thresholds, NMS and limits.
        let settings = try? InvocationContent(encoding: labeling)
        if labeling.stage == .postprocess { return .builtin(uses.rawValue + ".postprocess", parameters: settings) }
        var files: [InvocationFile] = []
        let script: InvocationArgument
        if let custom = labeling.script {
            script = .text(ToolSupport.absolutePath(custom, workflow: workflow))
        } else {
            files.append(InvocationFile(path: RawLabelerScript.fileName, format: .text, content: .string(RawLabelerScript.source)))
            script = .path(.scratch(RawLabelerScript.fileName))
        }
        var arguments: [InvocationArgument] = [script, "--input_folder", .path(.scratch("input"))]
        if labeling.stage == .candidates {
            arguments += ["--json_output_folder", .path(.scratch("json")), "--text_prompt", .text(ItemExpander.caption(labeling)),
                          "--box_floor", .text(String(ItemExpander.boxFloor(labeling)))]
            arguments += InvocationBuilder.text(Self.flags(step, workflow: workflow, only: ["grounding_config", "grounding_checkpoint"]))
        } else {
            arguments += ["--output_folder", .path(.scratch("annotated")), "--json_output_folder", .path(.scratch("json")),
                          "--text_prompt", .text(ItemExpander.caption(labeling)),
                          "--box_threshold", .text(String(labeling.boxThreshold)), "--text_threshold", .text(String(labeling.textThreshold))]
            arguments += InvocationBuilder.text(Self.flags(step, workflow: workflow))
        }
        var links: [InvocationLink] = []
        var outputs: [InvocationOutput] = []
        for item in items {
            // A closure, not `context.inputPath` itself: that partial application copies the
            // whole context (workflow and step) for every item.
            guard let image = item.inputs.first.flatMap({ context.inputPath($0) }) else { continue }
            links.append(InvocationLink(source: .workspace(image), at: "input/\(item.stem).jpg"))
            outputs.append(InvocationOutput(item: item.id, file: .scratch("json/\(item.stem).json")))
        }
        // The checkout on the import path: a script outside it (`script:` beside the
        // recipe, or synthset's own in scratch) imports `grounding_dino` from there.
        let environment = InvocationBuilder.environment(family, workflow: workflow, checkoutOnPath: true)
        return TaskInvocation(program: ToolSupport.python(family, workflow: workflow), arguments: arguments,
                              environment: environment,
                              workingDirectory: InvocationBuilder.checkout(family, workflow: workflow),
                              files: files, links: links, outputs: outputs, parameters: settings)
    }

}

import Planning
import WorkflowSpec

/// `export`: the labeled images as one dataset in Pascal VOC, COCO, YOLO and Edge Impulse
/// layouts, split into train/test(/validation).
public struct ExportTool: RunnableTool {
    public init() {}
    public var uses: ToolKind { .export }
    public var summary: String { "Dataset export: Pascal VOC, COCO, YOLO and Edge Impulse layouts of the labeled images, with a split." }
    public var output: ToolKind.Output { .dataset }
    public var device: ToolKind.Device { .cpu }
    public var requiresInput: Bool { true }
    // Images only from steps with exact ground truth (procedural scenes); see inputProblem.
    public var acceptedInputs: Set<ToolKind.Output> { [.labels, .image] }
    public var runner: any ToolAdapter { ExportAdapter() }

    public var keys: [KeySpec] {
        let formats: JSONValue = ["enum": .array(ExportSpec.Format.allCases.map { .string($0.rawValue) })]
        return [
            KeySpec("formats", help: "Dataset formats to write.", schema: ["oneOf": [formats, ["type": "array", "items": formats, "minItems": 1]]],
                    defaultValue: .array(ExportSpec.Format.allCases.map { .string($0.rawValue) }), affectsOutput: true),
            KeySpec("split", help: "Fractions of images per split; they add up to 1.",
                    schema: .closedObject([
                        ("train", ["description": "Fraction of images for training.", "$ref": "#/$defs/fraction"]),
                        ("test", ["description": "Fraction of images held out for testing.", "$ref": "#/$defs/fraction"]),
                        ("validation", ["description": "Fraction of images for validation.", "$ref": "#/$defs/fraction"]),
                        ("val", ["description": "Same as validation.", "$ref": "#/$defs/fraction"]),
                    ]),
                    defaultValue: ["train": 0.8, "test": 0.2], affectsOutput: true),
        ]
    }

    public func parseKeys(_ parser: StepParser, into step: inout Step) { step.export = parser.parseExport() }

    public func inputProblem(from source: Step, into step: Step) -> (message: String, hint: String)? {
        guard source.tool.output == .image, source.scene == nil else { return nil }
        return ("export needs labels; add a grounded-sam2/label step between '\(source.id)' and '\(step.id)'",
                "images from \(source.uses.rawValue) have no boxes; only procedural/scenes images carry ground truth")
    }

    public func addSignatureMembers(of step: Step, to signature: inout ItemSignature, params: inout [String: OptionValue]) {
        signature.formats = step.export?.formats.map(\.rawValue)
        signature.split = step.export?.split
        // Splits follow lineage since issue 14; naming the rule re-exports datasets made
        // under the id rule once instead of keeping their old splits.
        params["split_by"] = .string("lineage")
    }

    public func expandItems(_ expander: inout ItemExpander) -> [PlannedItem] { expander.oneOverAllInputs() }

    public func itemCountBound(_ step: Step, workflow: Workflow, upstream: Int) -> PlanBounds.ItemCount { .exact(1, "1 dataset") }
}

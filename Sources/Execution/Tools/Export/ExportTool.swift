import Basics
import Datasets
import Foundation
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

    /// Everything the exporter is given, decided here: formats, split, the class order
    /// and, per dataset, each image with its labels and its name in the dataset.
    public func invocation(for items: [PlannedItem], context: InvocationContext) -> TaskInvocation {
        let formats = context.step.export?.formats ?? ExportSpec.Format.allCases
        let parameters = ExportParameters(
            formats: formats.map(\.rawValue), split: context.step.export?.split ?? Split(),
            classes: Self.classes(of: context.step, in: context.workflow),
            datasets: items.map { Self.dataset($0, context: context) })
        return .builtin(uses.rawValue, parameters: parameters.content)
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

    /// An image file and its labels for every input of the export item: a `.labels` item
    /// (`grounded-sam2/label`) is the labels of its input image; an `.image` item (only
    /// `procedural/scenes`, checked by the loader) has its ground truth beside it
    /// (`<name>.json`).
    static func dataset(_ item: PlannedItem, context: InvocationContext) -> ExportParameters.Dataset {
        // What the export needs of each image, read in place (a plan's items are not
        // copied): 100,000 images are otherwise 200,000 item copies.
        struct Image { var id: String; var step: String; var number: Int?; var path: String; var lineage: String }
        @Sendable func image(_ item: PlannedItem) -> Image {
            Image(id: item.id, step: item.step, number: item.seed ?? item.frameIndex, path: item.path, lineage: item.lineage)
        }
        enum Input {
            /// An image and its labels (a label item's, or ground truth beside the image).
            case labeled(Image, labels: String, labelItem: String?)
            case problem(String)
        }
        // 100,000 inputs are 200,000 look-ups, names and lineages: on every core.
        let inputs = item.inputs
        let read = Parallel.map(inputs.count) { index -> Input in
            let inputID = inputs[index]
            let found = context.read(inputID) { input -> Input in
                switch input.kind {
                case .labels:
                    guard let imageID = input.inputs.first, let parts = context.read(imageID, image) else {
                        return .problem("label item \(input.path) has no input image")
                    }
                    return .labeled(parts, labels: input.path, labelItem: inputID)
                case .image: return .labeled(image(input), labels: input.companionPath("json"), labelItem: nil)
                default: return .problem("input \(input.path) is a \(input.kind.rawValue), not labels or an image")
                }
            }
            return found ?? .problem("input item \(inputID.prefix(16)) is not in the current plan")
        }
        var imageCounts: [String: Int] = [:]
        imageCounts.reserveCapacity(read.count)
        for input in read {
            switch input {
            case .problem(let problem): return .init(item: item.id, problem: problem)
            case .labeled(let image, _, _): imageCounts[image.id, default: 0] += 1
            }
        }
        // One image labeled by two label steps is exported twice, told apart by the label id.
        let counts = imageCounts
        var safeSteps: [String: String] = [:]
        for case .labeled(let image, _, _) in read where safeSteps[image.step] == nil {
            safeSteps[image.step] = DatasetNaming.safeStepName(image.step)
        }
        let stepNames = safeSteps
        let sources = Parallel.map(read.count) { index -> ExportParameters.Source in
            guard case .labeled(let image, let labels, let labelID) = read[index] else { preconditionFailure("a dataset with a problem is returned above") }
            var id = Self.prefix(image.id, 8)
            if counts[image.id, default: 0] > 1, let labelID { id += "-" + Self.prefix(labelID, 8) }
            let fileName = DatasetNaming.fileName(safeStep: stepNames[image.step]!, number: image.number, id: id,
                                                  extension: PathParts.pathExtension(image.path))
            // The split follows the image's lineage (its root generation), not its id.
            return ExportParameters.Source(lineage: image.lineage, fileName: fileName,
                                           image: .workspace(image.path), labels: .workspace(labels))
        }
        return .init(item: item.id, sources: sources)
    }

    /// The first `count` bytes of an id (hex digits), without walking it by `Character`.
    static func prefix(_ id: String, _ count: Int) -> String {
        String(Substring(id.utf8.prefix(count)))
    }
}

/// What an export task is given (``ExportTool/invocation(for:context:)``), shown in
/// `plan --format json` as `tasks[].invocation.parameters`.
struct ExportParameters: Codable {
    var formats: [String]
    var split: Split
    var classes: [String]
    var datasets: [Dataset]

    /// What `InvocationContent(encoding: self)` gives, built directly: a dataset of
    /// 100,000 images is 100,000 sources, and the JSON round trip took most of
    /// `plan --format json`'s time.
    var content: InvocationContent {
        .object([
            .init("formats", .array(formats.map(InvocationContent.string))),
            .init("split", .object([.init("train", .number(split.train)), .init("test", .number(split.test)),
                                    .init("validation", .number(split.validation))])),
            .init("classes", .array(classes.map(InvocationContent.string))),
            .init("datasets", .array(datasets.map { dataset in
                var members: [InvocationContent.Member] = [
                    .init("item", .string(dataset.item)),
                    .init("sources", .array(Parallel.map(dataset.sources.count) { index in
                        let source = dataset.sources[index]
                        return .object([.init("lineage", .string(source.lineage)), .init("file_name", .string(source.fileName)),
                                        .init("image", .path(source.image)), .init("labels", .path(source.labels))])
                    })),
                ]
                if let problem = dataset.problem { members.append(.init("problem", .string(problem))) }
                return .object(members)
            })),
        ])
    }

    struct Dataset: Codable {
        var item: String
        var sources: [Source] = []
        /// Why the dataset cannot be made (an input the plan does not have).
        var problem: String?
    }

    struct Source: Codable {
        var lineage: String
        var fileName: String
        var image: InvocationPath
        var labels: InvocationPath

        enum CodingKeys: String, CodingKey {
            case lineage, image, labels
            case fileName = "file_name"
        }
    }
}

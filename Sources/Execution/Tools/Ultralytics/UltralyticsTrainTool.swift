import Datasets
import Foundation
import Planning
import WorkflowSpec

/// `ultralytics/train`: a YOLO detector trained on an exported dataset's YOLO layout with
/// the Ultralytics of `tools.ultralytics.python`, evaluated on the dataset's splits and on
/// the user's own datasets (`evaluate_on:`). One item per export item and `fractions:`
/// entry: a folder with `weights.pt`, `results.csv` and `metrics.json` (docs/training.md).
///
/// Training is not bit-reproducible across machines, so its items are measured results
/// (``ToolKind/Output/isMeasured``): the lock records their hash and metrics, the dataset
/// fingerprint leaves them out and `verify` does not re-hash them.
public struct UltralyticsTrainTool: RunnableTool {
    public init() {}
    public static let uses = ToolKind("ultralytics/train")
    public var uses: ToolKind { Self.uses }
    public var summary: String { "Ultralytics YOLO training on an export's YOLO dataset: weights, per-epoch results and mAP per class and split." }
    public var family: String? { UltralyticsTrainAdapter.family }
    public var output: ToolKind.Output { .model }
    public var device: ToolKind.Device { .cpu }
    public var requiresInput: Bool { true }
    public var acceptedInputs: Set<ToolKind.Output> { [.dataset] }
    public var runner: any ToolAdapter { UltralyticsTrainAdapter() }

    public var keys: [KeySpec] {
        [
            KeySpec("model", help: "A model yaml Ultralytics ships, trained from scratch (yolov8n.yaml, yolo11n.yaml), or a weights file (.pt) relative to the manifest to fine-tune; never downloaded.",
                    schema: ["type": "string", "minLength": 1], defaultValue: .string(TrainingSpec.defaultModel), affectsOutput: true),
            KeySpec("epochs", help: "Training epochs.", schema: ["type": "integer", "minimum": 1, "maximum": 10_000], defaultValue: 10, affectsOutput: true),
            KeySpec("imgsz", help: "Training and evaluation image size in pixels (a multiple of 32).",
                    schema: ["type": "integer", "minimum": 32, "maximum": 4096, "multipleOf": 32], defaultValue: 320, affectsOutput: true),
            KeySpec("batch", help: "Images per training batch.", schema: ["type": "integer", "minimum": 1, "maximum": 4096], defaultValue: 16, affectsOutput: true),
            KeySpec("seed", help: "Ultralytics' training seed (deterministic on one machine, not across machines).",
                    schema: ["type": "integer", "minimum": 0], defaultValue: 0, affectsOutput: true),
            KeySpec("patience", help: "Epochs without improvement before training stops early.",
                    schema: ["type": "integer", "minimum": 1, "maximum": 10_000], defaultValue: 100, affectsOutput: true),
            KeySpec("fractions", help: "Train once per fraction of the training split, on nested subsets chosen by lineage (does more data still help?).",
                    schema: ["type": "array", "items": ["type": "number", "exclusiveMinimum": 0, "maximum": 1], "minItems": 1, "uniqueItems": true],
                    defaultValue: [1.0], affectsOutput: true),
            KeySpec("evaluate_on", help: "Other datasets to evaluate the trained weights on, by name: a YOLO data.yaml or a COCO instances JSON, relative to the manifest.",
                    schema: ["type": "object", "propertyNames": ["pattern": "^[A-Za-z0-9][A-Za-z0-9_-]*$"], "additionalProperties": ["type": "string", "minLength": 1]],
                    affectsOutput: true),
            KeySpec("gpu", help: "Whether to train on a GPU the executor assigns (CUDA_VISIBLE_DEVICES); the CPU otherwise.",
                    schema: ["type": "boolean"], defaultValue: false),
        ]
    }

    public func parseKeys(_ parser: StepParser, into step: inout Step) { step.training = parser.parseTraining() }

    /// `ultralytics <version>` (from its package metadata: importing it writes a settings
    /// file) and the interpreter's version: Ultralytics has no checkout.
    public func versions(of step: Step, workflow: Workflow, synthsetVersion: String) async -> [String: String] {
        let family = UltralyticsTrainAdapter.family, python = ToolSupport.python(family, workflow: workflow)
        let version = ToolVersions.firstLine(await ToolVersions.run(python, ["-c", "from importlib.metadata import version; print(version('ultralytics'))"]))
        return [family: version ?? "unknown",
                "\(family).python": ToolVersions.firstLine(await ToolVersions.run(python, ["--version"])) ?? "unknown"]
    }

    public func inputProblem(from source: Step, into step: Step) -> (message: String, hint: String)? {
        guard let export = source.export else {
            return ("ultralytics/train trains on an exported dataset; '\(source.id)' is \(source.uses.rawValue)",
                    "add an 'export' step with 'formats: [yolo]' and train from it")
        }
        guard export.formats.contains(.yolo) else {
            return ("step '\(source.id)' exports no YOLO dataset, which ultralytics/train reads",
                    "add yolo to its formats: 'formats: [\((export.formats.map(\.rawValue) + ["yolo"]).joined(separator: ", "))]'")
        }
        guard export.split.train > 0 else {
            return ("step '\(source.id)' has no training split", "give it one, e.g. 'split: { train: 0.8, test: 0.2 }'")
        }
        return nil
    }

    public func addSignatureMembers(of step: Step, to signature: inout ItemSignature, params: inout [String: OptionValue]) {
        guard let training = step.training else { return }
        signature.model = training.model
        if let hash = training.modelSHA256 { params["model_sha256"] = .string(hash) }
        params["epochs"] = .int(training.epochs)
        params["imgsz"] = .int(training.imageSize)
        params["batch"] = .int(training.batch)
        params["seed"] = .int(training.seed)
        params["patience"] = .int(training.patience)
        if !training.evaluateOn.isEmpty {
            params["evaluate_on"] = .string(training.evaluateOn.sorted { $0.name < $1.name }
                .map { "\($0.name)=\($0.format.rawValue):\($0.path)@\($0.sha256)" }.joined(separator: ";"))
        }
    }

    /// Seconds per training from the catalog's `training_timings`: epochs × the images it
    /// trains on (the export's inputs × the training split × the mean of `fractions:`) ×
    /// seconds per image and epoch, scaled by pixels ((imgsz / the row's size)²), plus the
    /// row's start-up. `epochs` is an upper bound: `patience` may stop a training earlier.
    public func catalogSecondsPerItem(_ step: Step, gpu: String?, resolver: TimingResolver) -> Figure? {
        guard let training = step.training, let workflow = resolver.workflow,
              let source = Self.source(of: step, in: workflow), let split = source.export?.split else { return nil }
        let onGPU = step.device == .gpu
        let rows = (resolver.catalog.trainingTimings ?? []).filter { $0.uses == uses.rawValue && ($0.device == "gpu") == onGPU }
        guard let row = rows.first(where: { $0.gpu != nil && $0.gpu == gpu }) ?? rows.first(where: { $0.gpu == nil }) else { return nil }
        let images = resolver.inputItems[source.id] ?? 0
        let fraction = training.fractions.reduce(0, +) / Double(max(1, training.fractions.count))
        let trained = Double(images) * split.train * fraction
        let scale = pow(Double(training.imageSize) / Double(row.imageSize), 2)
        let seconds = row.startupSeconds + Double(training.epochs) * trained * row.secondsPerImageEpoch * scale
        let perImage = TimingResolver.format(row.secondsPerImageEpoch * scale)
        return Figure(seconds, row.basis,
                      "\(training.epochs) epochs (at most) x \(Int(trained.rounded())) training images x \(perImage) s per image-epoch at \(training.imageSize) px"
                        + " + \(TimingResolver.format(row.startupSeconds)) s start-up, on \(onGPU ? (row.gpu ?? "a GPU") : "the CPU"); \(row.derivation)")
    }

    public func expandItems(_ expander: inout ItemExpander) -> [PlannedItem] {
        let fractions = expander.step.training?.fractions ?? [1]
        return expander.oneItemPerInput(varying: "fraction", over: fractions.map(OptionValue.number))
    }

    public func itemCountBound(_ step: Step, workflow: Workflow, upstream: Int) -> PlanBounds.ItemCount {
        .exact(upstream * (step.training?.fractions.count ?? 1), "trainings")
    }

    public func checkPlan(_ step: Step, workflow: Workflow, diagnostics: inout DiagnosticBag) {
        if step.from.count > 1 {
            diagnostics.error("step '\(step.id)' trains from \(step.from.count) steps; ultralytics/train reads one export",
                              hint: "export the images together in one 'export' step and train from it, or add one training step per export",
                              at: workflow.location(of: "steps.\(step.id).from"))
        }
        for source in step.from.compactMap(workflow.step) {
            guard let split = source.export?.split, split.test == 0, split.validation == 0 else { continue }
            diagnostics.warning("step '\(step.id)' evaluates on training images: '\(source.id)' has no test or validation split",
                                hint: "give '\(source.id)' a held-out split, e.g. 'split: { train: 0.8, test: 0.2 }'",
                                at: workflow.location(of: "steps.\(step.id).from"))
        }
    }

    /// The training script on one training item:
    ///
    ///     <python> synthset_train.py --data <scratch>/data/data.yaml --model M --epochs E --imgsz S
    ///         --batch B --seed N --patience P --device cpu|0 --output <scratch>/out/<id16>
    ///         --work <scratch>/work [--evaluate NAME=FORMAT=PATH ...]
    ///
    /// `data/images/<split>` and `data/labels/<split>` link to the export's folders, and
    /// `data/<split>.txt` lists each split's images (the training split's nested subset by
    /// lineage, ``lists(_:split:fraction:)``), so that Ultralytics' label caches land in
    /// scratch space and not in the finished export.
    public func invocation(for items: [PlannedItem], context: InvocationContext) -> TaskInvocation {
        let step = context.step, workflow = context.workflow, family = UltralyticsTrainAdapter.family
        guard let training = step.training, let item = items.first, let exportID = item.inputs.first,
              let export = context.inputPath(exportID), let source = Self.source(of: step, in: workflow),
              let split = source.export?.split else { return TaskInvocation() }
        let splits = Self.splits(split)
        var links: [InvocationLink] = []
        for name in splits {
            links.append(InvocationLink(source: .workspace("\(export)/images/\(name)"), at: "data/images/\(name)"))
            links.append(InvocationLink(source: .workspace("\(export)/labels/\(name)"), at: "data/labels/\(name)"))
        }
        let valSplit = Self.validationSplit(splits)
        var data: [InvocationContent.Member] = [
            .init("path", .path(.scratch("data"))), .init("train", .string("train.txt")),
            .init("val", .string("\(valSplit).txt")), .init("synthset_val_split", .string(valSplit)),
        ]
        if splits.contains("test") { data.append(.init("test", .string("test.txt"))) }
        data.append(.init("names", .array(ExportTool.classes(of: source, in: workflow).map(InvocationContent.string))))
        var files = [
            InvocationFile(path: TrainingScript.fileName, format: .text, content: .string(TrainingScript.source)),
            // JSON is YAML, which Ultralytics reads; paths become absolute.
            InvocationFile(path: "data/data.yaml", format: .json, content: .object(data)),
        ]
        let sources = context.item(exportID).map { ExportTool.dataset($0, context: context).sources } ?? []
        let lists = Self.lists(sources, split: split, fraction: Self.fraction(of: item))
        for name in splits {
            files.append(InvocationFile(path: "data/\(name).txt", format: .text, content: .string((lists[name] ?? []).map { $0 + "\n" }.joined())))
        }
        var arguments: [InvocationArgument] = [
            .path(.scratch(TrainingScript.fileName)), "--data", .path(.scratch("data/data.yaml")),
            "--model", .text(training.modelIsFile ? ToolSupport.absolutePath(training.model, workflow: workflow) : training.model),
            "--epochs", .text(String(training.epochs)), "--imgsz", .text(String(training.imageSize)),
            "--batch", .text(String(training.batch)), "--seed", .text(String(training.seed)),
            "--patience", .text(String(training.patience)),
            // CUDA_VISIBLE_DEVICES holds the assigned GPU, which the script sees as 0.
            "--device", .text(step.device == .gpu ? "0" : "cpu"), "--fraction", .text(Self.fraction(of: item).description),
            "--output", .path(.scratch("out/\(item.stem)")), "--work", .path(.scratch("work")),
        ]
        for dataset in training.evaluateOn {
            arguments += ["--evaluate", .text("\(dataset.name)=\(dataset.format.rawValue)=\(ToolSupport.absolutePath(dataset.path, workflow: workflow))")]
        }
        var environment = workflow.tools[family]?.environment ?? [:]
        environment["YOLO_OFFLINE"] = "1"
        return TaskInvocation(program: ToolSupport.python(family, workflow: workflow), arguments: arguments,
                              environment: environment, files: files, links: links,
                              outputs: [InvocationOutput(item: item.id, file: .scratch("out/\(item.stem)"))])
    }

    /// The fraction of the training split an item trains on (`params.fraction`).
    static func fraction(of item: PlannedItem) -> Double {
        switch item.signature.params?["fraction"] {
        case .number(let value): value
        case .int(let value): Double(value)
        default: 1
        }
    }

    /// The one export step a training step reads (``checkPlan(_:workflow:diagnostics:)``
    /// refuses more).
    static func source(of step: Step, in workflow: Workflow) -> Step? {
        step.from.count == 1 ? workflow.step(step.from[0]) : nil
    }

    /// The split Ultralytics validates on (`val:`): validation, else test, else train.
    static func validationSplit(_ splits: [String]) -> String {
        splits.contains("validation") ? "validation" : (splits.contains("test") ? "test" : "train")
    }

    /// Each split's images as `./images/<split>/<name>` lines (the form Ultralytics reads
    /// from a list file), sorted; the training split cut to `fraction` by lineage: an image
    /// is in the training split when its lineage's split value (``SplitAssigner/unitValue(_:)``)
    /// is below `train`, and in the subset for `f` when it is below `train × f`. So the
    /// 0.25 subset lies inside the 0.5 subset, adding scenes never moves an image out of a
    /// subset, and an option change (new ids, same lineages) keeps every subset.
    static func lists(_ sources: [ExportParameters.Source], split: Split, fraction: Double) -> [String: [String]] {
        let assigner = SplitAssigner(train: split.train, test: split.test, validation: split.validation)
        var lists: [String: [String]] = [:]
        for source in sources {
            let name = assigner.split(source.lineage).rawValue
            if name == "train" && SplitAssigner.unitValue(source.lineage) >= split.train * fraction { continue }
            lists[name, default: []].append("./images/\(name)/\(source.fileName)")
        }
        return lists.mapValues { $0.sorted() }
    }

    /// The export's splits that have images, in dataset order.
    static func splits(_ split: Split) -> [String] {
        [("train", split.train), ("test", split.test), ("validation", split.validation)].filter { $0.1 > 0 }.map(\.0)
    }
}

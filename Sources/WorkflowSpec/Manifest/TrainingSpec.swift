import Foundation
import Yams

/// `ultralytics/train`: what to train and how (docs/training.md).
public struct TrainingSpec: Sendable, Hashable {
    /// A model yaml Ultralytics ships (`yolov8n.yaml`: trained from scratch), or a weights
    /// file relative to the manifest (fine-tuned from it).
    public var model: String
    /// SHA-256 of the weights file when `model` is one (part of item ids).
    public var modelSHA256: String?
    public var epochs: Int
    public var imageSize: Int
    public var batch: Int
    public var seed: Int
    public var patience: Int
    /// Nested fractions of the training split to train on, ascending; `[1]` by default.
    public var fractions: [Double]
    /// Other datasets the trained weights are evaluated on, by name.
    public var evaluateOn: [EvaluationDataset]
    /// Whether the step asks the executor for a GPU.
    public var usesGPU: Bool

    public static let defaultModel = "yolov8n.yaml"

    public init(model: String = TrainingSpec.defaultModel, modelSHA256: String? = nil, epochs: Int = 10, imageSize: Int = 320,
                batch: Int = 16, seed: Int = 0, patience: Int = 100, fractions: [Double] = [1], evaluateOn: [EvaluationDataset] = [],
                usesGPU: Bool = false) {
        self.model = model
        self.modelSHA256 = modelSHA256
        self.epochs = epochs
        self.imageSize = imageSize
        self.batch = batch
        self.seed = seed
        self.patience = patience
        self.fractions = fractions
        self.evaluateOn = evaluateOn
        self.usesGPU = usesGPU
    }

    /// Whether `model` names a file (fine-tuning) rather than a yaml Ultralytics ships.
    public var modelIsFile: Bool { model.contains("/") || !(model.hasSuffix(".yaml") || model.hasSuffix(".yml")) }
}

/// A dataset of the user's own (real images) that trained weights are evaluated on.
public struct EvaluationDataset: Sendable, Hashable {
    public enum Format: String, Sendable, Hashable {
        /// An Ultralytics `data.yaml`; its `test` split, else its `val` split.
        case yolo
        /// A COCO `instances*.json`; `file_name`s relative to its folder, its `images/`, or
        /// for `annotations/instances_<split>.json` the `<split>/` or `images/<split>/` beside it.
        case coco
    }

    public var name: String
    /// Relative to the manifest's folder, inside it.
    public var path: String
    public var format: Format
    /// SHA-256 of the dataset file (data.yaml or the COCO JSON), part of item ids.
    public var sha256: String
}

extension StepParser {
    /// Reads the keys of an `ultralytics/train` step.
    package func parseTraining() -> TrainingSpec {
        var spec = TrainingSpec()
        if let node = node("model"), let value = reader.string(node, path("model")) {
            spec.model = value
            if spec.modelIsFile {
                if value.hasSuffix(".pt") && !value.contains("/") && parser.userFileSHA256(value, bareNameIsFile: true) == nil {
                    reader.error("model '\(value)' is not a file in the manifest's folder, and Ultralytics would download it",
                                 hint: "synthset never downloads weights: put the file beside the recipe and name its path, or train from scratch with a model yaml such as yolov8n.yaml",
                                 at: node)
                } else if let relative = parser.relativePath(value, node, path("model")) {
                    spec.model = relative
                    spec.modelSHA256 = parser.userFileSHA256(relative, bareNameIsFile: true)
                    if spec.modelSHA256 == nil {
                        reader.error("model '\(value)' cannot be read", hint: "name a weights file (.pt) relative to the manifest, or a model yaml such as yolov8n.yaml", at: node)
                    }
                }
            }
        }
        func integer(_ key: String, _ range: ClosedRange<Int>) -> Int? {
            guard let node = node(key), let value = reader.int(node, path(key)) else { return nil }
            if !range.contains(value) {
                reader.error("\(key) must be between \(range.lowerBound) and \(range.upperBound), found \(value)", hint: "write an integer in that range", at: node)
            }
            return value
        }
        spec.epochs = integer("epochs", 1...10_000) ?? spec.epochs
        spec.imageSize = integer("imgsz", 32...4096) ?? spec.imageSize
        if spec.imageSize % 32 != 0, let node = node("imgsz") {
            reader.error("imgsz must be a multiple of 32 (the model's largest stride), found \(spec.imageSize)",
                         hint: "write \(max(32, spec.imageSize / 32 * 32)) or \(spec.imageSize / 32 * 32 + 32)", at: node)
        }
        spec.batch = integer("batch", 1...4096) ?? spec.batch
        spec.seed = integer("seed", 0...Int(Int32.max)) ?? spec.seed
        spec.patience = integer("patience", 1...10_000) ?? spec.patience
        if let node = node("gpu"), let value = reader.bool(node, path("gpu")) { spec.usesGPU = value }
        if let node = node("fractions"), let list = reader.sequence(node, path("fractions")) {
            var fractions: [Double] = []
            for (index, item) in list.enumerated() {
                guard let value = reader.double(item, path("fractions") + "[\(index)]") else { continue }
                if !(value > 0 && value <= 1) {
                    reader.error("fractions[\(index)] must be above 0 and at most 1, found \(value)", hint: "write fractions of the training split such as [0.25, 0.5, 1.0]", at: item)
                } else if fractions.contains(value) {
                    reader.error("fractions lists \(value) twice", hint: "list each fraction once", at: item)
                } else {
                    fractions.append(value)
                }
            }
            if list.isEmpty { reader.error("'fractions' is empty", hint: "write e.g. [0.25, 0.5, 1.0], or leave it out to train on the whole split", at: node) }
            if !fractions.isEmpty { spec.fractions = fractions.sorted() }
        }
        if let node = node("evaluate_on") {
            for entry in reader.entries(node, path("evaluate_on")) ?? [] {
                let entryPath = path("evaluate_on") + ".\(entry.key)"
                guard entry.key.wholeMatch(of: /[A-Za-z0-9][A-Za-z0-9_-]*/) != nil else {
                    reader.error("evaluate_on name '\(entry.key)' is not a plain name", hint: "use letters, digits, '-' and '_' (it names the metrics)", at: entry.keyNode)
                    continue
                }
                if ["train", "test", "validation", "val"].contains(entry.key) {
                    reader.error("evaluate_on name '\(entry.key)' is the name of a split of the dataset", hint: "name the dataset for what it is, e.g. 'real'", at: entry.keyNode)
                    continue
                }
                guard let value = reader.string(entry.value, entryPath),
                      let relative = parser.relativePath(value, entry.value, entryPath) else { continue }
                if let dataset = evaluationDataset(name: entry.key, path: relative, node: entry.value) { spec.evaluateOn.append(dataset) }
            }
        }
        return spec
    }

    /// Reads an `evaluate_on` dataset far enough to know it parses: a YOLO `data.yaml`
    /// with `names` and a `test` or `val` split whose folder exists, or a COCO JSON with
    /// `images`, `annotations` and `categories`.
    func evaluationDataset(name: String, path relative: String, node: Node) -> EvaluationDataset? {
        let url = parser.directory.appendingPathComponent(relative)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            reader.error("evaluate_on.\(name): \(relative) cannot be read", hint: "name a YOLO data.yaml or a COCO instances JSON relative to the manifest", at: node)
            return nil
        }
        let format: EvaluationDataset.Format
        switch url.pathExtension.lowercased() {
        case "yaml", "yml":
            format = .yolo
            let problem = Self.yoloProblem(data, folder: url.deletingLastPathComponent())
            if let problem {
                reader.error("evaluate_on.\(name): \(relative) is not a YOLO dataset: \(problem)",
                             hint: "write a data.yaml with 'names' and a 'val' or 'test' images folder (as Ultralytics reads it)", at: node)
                return nil
            }
        case "json":
            format = .coco
            if let problem = Self.cocoProblem(data) {
                reader.error("evaluate_on.\(name): \(relative) is not a COCO dataset: \(problem)",
                             hint: "name an instances JSON with 'images', 'annotations' and 'categories'", at: node)
                return nil
            }
        default:
            reader.error("evaluate_on.\(name): \(relative) is neither a YOLO data.yaml nor a COCO JSON",
                         hint: "name a .yaml (YOLO) or .json (COCO) file", at: node)
            return nil
        }
        return EvaluationDataset(name: name, path: relative, format: format, sha256: WorkflowLoader.sha256(data))
    }

    static func yoloProblem(_ data: Data, folder: URL) -> String? {
        let parsed: Any?
        do { parsed = try Yams.load(yaml: String(decoding: data, as: UTF8.self)) } catch { return "it is not YAML (\(error))" }
        guard let fields = parsed as? [String: Any] else { return "it is not a mapping" }
        guard let names = fields["names"], (names as? [Any])?.isEmpty == false || (names as? [AnyHashable: Any])?.isEmpty == false else {
            return "it has no 'names'"
        }
        guard let split = (fields["test"] ?? fields["val"]) as? String else { return "it has no 'val' or 'test' split" }
        var root = folder
        if let path = fields["path"] as? String { root = path.hasPrefix("/") ? URL(fileURLWithPath: path) : folder.appendingPathComponent(path) }
        let images = split.hasPrefix("/") ? URL(fileURLWithPath: split) : root.appendingPathComponent(split)
        guard FileManager.default.fileExists(atPath: images.path) else { return "its split \(split) does not exist at \(images.path)" }
        return nil
    }

    static func cocoProblem(_ data: Data) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: data) else { return "it is not JSON" }
        guard let fields = object as? [String: Any] else { return "it is not a JSON object" }
        for key in ["images", "annotations", "categories"] where !(fields[key] is [Any]) { return "it has no '\(key)' list" }
        if (fields["images"] as? [Any])?.isEmpty == true { return "it has no images" }
        return nil
    }
}

import Foundation
import SceneFormats

/// A validated manifest (version 1): the typed form of a workflow YAML file.
public struct Workflow: Sendable, Hashable {
    public var version: Int
    public var name: String
    public var description: String?
    public var hardware: Hardware?
    /// `executor:`, when the recipe says where it runs (nil: locally, unless `--executor`).
    public var executor: ExecutorSettings? = nil
    /// Tool installations keyed by family (`cosmos-predict2`, `grounded-sam2`, ...).
    public var tools: [String: ToolLocation]
    /// Prompt sets in file order.
    public var prompts: [PromptSet]
    /// Steps in file order; the DAG comes from their `from:`.
    public var steps: [Step]
    /// Overrides of catalog figures.
    public var catalog: CatalogOverrides
    /// The manifest file as named by the user.
    public var file: String
    /// The folder relative paths in the manifest resolve against.
    public var directory: URL
    /// SHA-256 of the manifest's bytes.
    public var sourceHash: String
    /// Where each dotted key path was written, for diagnostics found after loading.
    public var sourceMap: [String: SourceLocation]

    public func step(_ id: String) -> Step? { steps.first { $0.id == id } }
    public func promptSet(_ id: String) -> PromptSet? { prompts.first { $0.id == id } }

    /// The location of a key path, falling back to its parents (`steps.a.model` →
    /// `steps.a` → the file).
    public func location(of path: String) -> SourceLocation {
        var components = path.split(separator: ".").map(String.init)
        while !components.isEmpty {
            if let found = sourceMap[components.joined(separator: ".")] { return found }
            components.removeLast()
        }
        return SourceLocation(file: file, line: 1, column: 1)
    }
}

/// `hardware:` — the GPU the plan is checked and estimated against.
public struct Hardware: Sendable, Hashable {
    /// Catalog id such as `rtx-5090` or `h100-sxm`.
    public var gpu: String
    /// GPUs the local executor may use at once.
    public var count: Int
    /// Overrides the catalog's VRAM.
    public var vramGB: Double?
    /// Overrides the catalog's price.
    public var pricePerGPUHour: Double?

    public init(gpu: String, count: Int = 1, vramGB: Double? = nil, pricePerGPUHour: Double? = nil) {
        self.gpu = gpu
        self.count = count
        self.vramGB = vramGB
        self.pricePerGPUHour = pricePerGPUHour
    }
}

/// Where an external tool is installed.
public struct ToolLocation: Sendable, Hashable {
    /// The tool's checkout (absolute after `~` expansion, or relative to the manifest).
    public var root: String?
    /// The Python interpreter to run it with.
    public var python: String?
    /// Extra environment for the tool (e.g. `COSMOS_PREDICT2_ARGS`).
    public var environment: [String: String]
    /// An explicit program path (ffmpeg).
    public var program: String?
    /// The git commit checked out at `root`, when it can be read from the checkout's
    /// `.git` without running git; part of the ids of the tool's items.
    public var checkout: String?
    /// Defaults for the family's steps (``KeySpec/familyWide`` keys such as `runner`),
    /// applied by the loader to each step that does not set the key itself.
    public var stepDefaults: [String: OptionValue] = [:]

    public init(root: String? = nil, python: String? = nil, environment: [String: String] = [:], program: String? = nil) {
        self.root = root
        self.python = python
        self.environment = environment
        self.program = program
    }
}

/// A named prompt source: a `{var}` template expanded over a matrix, or a file.
public struct PromptSet: Sendable, Hashable {
    public var id: String
    public var source: Source
    public var negative: String?
    /// `llm:`: how the pinned `file:` was made (see `synthset prompts refresh`).
    public var llm: LLMExpansion?
    /// The header of a pinned prompt file (nil for a plain JSON list, or when missing).
    public var pinned: PinnedPromptsHeader?

    public enum Source: Sendable, Hashable {
        case template(template: String, vars: [PromptVar], sample: Sample?)
        /// Prompts read from a JSON file, with its path as written and its content hash.
        case file(path: String, prompts: [FilePrompt], sha256: String)
    }

    public init(id: String, source: Source, negative: String? = nil, llm: LLMExpansion? = nil,
                pinned: PinnedPromptsHeader? = nil) {
        self.id = id
        self.source = source
        self.negative = negative
        self.llm = llm
        self.pinned = pinned
    }
}

/// One template variable and its values, in file order.
public struct PromptVar: Sendable, Hashable {
    public var name: String
    public var values: [String]

    public init(name: String, values: [String]) {
        self.name = name
        self.values = values
    }
}

/// `sample: { count, seed }`: a seeded subset of a prompt matrix.
public struct Sample: Sendable, Hashable {
    public var count: Int
    public var seed: UInt64

    public init(count: Int, seed: UInt64) {
        self.count = count
        self.seed = seed
    }
}

/// One prompt from a prompt file.
public struct FilePrompt: Sendable, Hashable {
    public var prompt: String
    public var negative: String?

    public init(prompt: String, negative: String? = nil) {
        self.prompt = prompt
        self.negative = negative
    }
}

/// A value of `options:`, kept typed so ids and command lines are exact.
public enum OptionValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case bool(Bool)
    case int(Int)
    case number(Double)
    case string(String)

    public var description: String {
        switch self {
        case .bool(let value): String(value)
        case .int(let value): String(value)
        case .number(let value): String(value)
        case .string(let value): value
        }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int.self) { self = .int(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else { self = .string(try container.decode(String.self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        }
    }
}

/// One step of the workflow. Which fields are set depends on `uses` (the loader rejects
/// keys the tool does not take).
public struct Step: Sendable, Hashable {
    public var id: String
    /// The `uses:` name.
    public var uses: ToolKind { toolReference.definition.uses }
    /// The tool's definition, from the registry the workflow was loaded with.
    public var tool: any ToolDefinition { toolReference.definition }
    private var toolReference: ToolReference
    public var description: String?
    /// Upstream step ids, in the order written.
    public var from: [String]
    public var model: String?
    /// Prompt set ids (`prompts: [a, b]`).
    public var promptSets: [String]
    /// An inline prompt (`prompt: "..."`).
    public var prompt: String?
    public var negative: String?
    public var seeds: [Int]?
    public var resolution: Int?
    public var fps: Int?
    public var options: [String: OptionValue]
    public var maxBatch: Int?
    public var retries: Int?
    /// GPUs per invocation (multi-GPU context parallel through torchrun).
    public var gpus: Int?
    public var frames: FrameSampling?
    public var labeling: Labeling?
    public var export: ExportSpec?
    public var scene: SceneSpec?
    public var command: CommandSpec?
    public var upload: UploadSpec?
    public var training: TrainingSpec?
    /// Values of the tool's own keys that the generic parser reads (``KeySpec/kind``),
    /// for tools without settings of their own type.
    public var settings: [String: OptionValue]

    public init(id: String, tool: any ToolDefinition) {
        self.id = id
        self.toolReference = ToolReference(tool)
        self.from = []
        self.promptSets = []
        self.options = [:]
        self.settings = [:]
    }
}

/// `ffmpeg/extract-frames`: which frames to keep.
public struct FrameSampling: Sendable, Hashable {
    /// Keep every Nth decoded frame.
    public var every: Int?
    /// Or sample at this many frames per second.
    public var fps: Double?
    /// Stop after this many frames per clip.
    public var maxFrames: Int?
}

/// `grounded-sam2/label`: classes and thresholds.
public struct Labeling: Sendable, Hashable, Codable {
    public enum Mode: String, Sendable, Hashable, Codable {
        /// synthset's own labeler writes every candidate; thresholds apply in Swift.
        case raw
        /// A script with the contract of the article's `grounded_sam2_batch_image.py`.
        case script
    }

    /// Prompt phrase → dataset class, in file order (the phrase order is the caption).
    public var classes: [ClassMapping]
    public var boxThreshold: Double
    public var textThreshold: Double
    public var mode: Mode
    public var script: String?
    /// SHA-256 of the script's content, when the file can be read (part of item ids).
    public var scriptSHA256: String?
    public var nmsIoU: Double?
    public var minBoxArea: Double?
    public var maxPerImage: Int?
    /// Which part of the work a planned step does; the manifest always gives `.whole`, the
    /// planner splits a raw-mode step into `.candidates` (GPU) and `.postprocess` (CPU).
    public var stage: Stage = .whole

    public enum Stage: String, Sendable, Hashable, Codable {
        /// Script mode: the script (GPU), then post-processing in the same task.
        case whole
        /// Raw mode, internal step `<id>.candidates`: every candidate box with its
        /// per-token scores; the thresholds are not part of it.
        case candidates
        /// Raw mode, the step itself: thresholds, class mapping, NMS and limits on CPU.
        case postprocess
    }
}

/// One `phrase: class` entry of `classes:`.
public struct ClassMapping: Sendable, Hashable, Codable {
    public var phrase: String
    public var className: String

    public init(phrase: String, className: String) {
        self.phrase = phrase
        self.className = className
    }
}

/// `export`: formats and split.
public struct ExportSpec: Sendable, Hashable {
    public enum Format: String, Sendable, Hashable, Codable, CaseIterable {
        case pascalVOC = "pascal-voc"
        case coco
        case yolo
        case edgeImpulse = "edge-impulse"
    }

    public var formats: [Format]
    public var split: Split
}

/// Fractions of the dataset per split; they sum to 1.
public struct Split: Sendable, Hashable, Codable {
    public var train: Double
    public var test: Double
    public var validation: Double

    public init(train: Double = 0.8, test: Double = 0.2, validation: Double = 0) {
        self.train = train
        self.test = test
        self.validation = validation
    }
}

/// `command`: any program, with per-item or per-batch argument templates.
public struct CommandSpec: Sendable, Hashable {
    public enum Granularity: String, Sendable, Hashable, Codable {
        case item, batch
    }

    /// A program name looked up in PATH, an absolute path, or a path relative to the manifest.
    public var program: String
    /// Argument templates; each element is one argument, never split by a shell.
    public var arguments: [String]
    public var granularity: Granularity
    /// The extension of each item's output file (`jpg`, `mp4`, `json`, ...).
    public var outputExtension: String
    public var environment: [String: String]
    public var usesGPU: Bool
    public var vramGB: Double?
    /// SHA-256 of the program's content when it is a file given by path (not a name
    /// looked up in PATH) that can be read; part of item ids.
    public var programSHA256: String?
}

/// `edge-impulse/upload`: where and how to upload.
public struct UploadSpec: Sendable, Hashable, Codable {
    /// Name of the environment variable holding the API key (never the key itself).
    public var apiKeyEnvironment: String
    public var baseURL: String
    public var splits: [String]
}

/// `catalog:` in a manifest: figures that replace the built-in catalog's.
public struct CatalogOverrides: Sendable, Hashable {
    public var gpus: [String: GPUOverride]
    public var timings: [TimingOverride]
    /// `catalog.models`: VRAM needs that replace the catalog's (or fill a gap in it).
    public var models: [ModelOverride]

    public init(gpus: [String: GPUOverride] = [:], timings: [TimingOverride] = [], models: [ModelOverride] = []) {
        self.gpus = gpus
        self.timings = timings
        self.models = models
    }

    public struct ModelOverride: Sendable, Hashable {
        public var uses: ToolKind
        /// Nil: every model of the tool.
        public var model: String?
        public var vramGB: Double
    }

    public struct GPUOverride: Sendable, Hashable {
        public var vramGB: Double?
        public var pricePerGPUHour: Double?
    }

    public struct TimingOverride: Sendable, Hashable {
        public var uses: ToolKind
        public var model: String?
        public var gpu: String?
        public var resolution: Int?
        public var fps: Int?
        public var secondsPerItem: Double?
        public var loadSeconds: Double?
    }
}

extension Step {
    /// The dataset classes the step's boxes use, in order, once each: a procedural step's
    /// object names, a label step's classes; none for other steps.
    public var datasetClasses: [String] {
        let names = scene?.objects.map(\.name) ?? labeling?.classes.map(\.className) ?? []
        return names.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
    }
}

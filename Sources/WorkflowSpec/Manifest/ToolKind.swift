/// The `uses:` vocabulary: every tool a step can run, with what it accepts.
///
/// This table is the single place that says which keys, models and options each tool
/// takes; the loader validates against it and the JSON Schema mirrors it.
public enum ToolKind: String, Sendable, Hashable, Codable, CaseIterable {
    case text2image = "cosmos-predict2/text2image"
    case video2world = "cosmos-predict2/video2world"
    case text2world = "cosmos-predict2/text2world"
    case video2worldBestOfN = "cosmos-predict2/video2world-best-of-n"
    case predict25Text2World = "cosmos-predict2.5/text2world"
    case predict25Image2World = "cosmos-predict2.5/image2world"
    case predict25Video2World = "cosmos-predict2.5/video2world"
    case proceduralScenes = "procedural/scenes"
    case extractFrames = "ffmpeg/extract-frames"
    case label = "grounded-sam2/label"
    case export = "export"
    case edgeImpulseUpload = "edge-impulse/upload"
    case command = "command"

    /// What one item of this tool is.
    public enum Output: String, Sendable, Codable {
        case image, video, labels, dataset, upload, file
    }

    /// Where a task of this tool runs; GPU tasks take GPU slots and VRAM.
    public enum Device: String, Sendable, Codable {
        case gpu, cpu, network
    }

    /// The key in `tools:` that locates this tool's installation, if any.
    public var family: String? {
        switch self {
        case .text2image, .video2world, .text2world, .video2worldBestOfN: "cosmos-predict2"
        case .predict25Text2World, .predict25Image2World, .predict25Video2World: "cosmos-predict2.5"
        case .extractFrames: "ffmpeg"
        case .label: "grounded-sam2"
        case .edgeImpulseUpload: "edge-impulse"
        case .proceduralScenes, .export, .command: nil
        }
    }

    public var output: Output {
        switch self {
        case .text2image, .proceduralScenes, .extractFrames: .image
        case .video2world, .text2world, .video2worldBestOfN,
             .predict25Text2World, .predict25Image2World, .predict25Video2World: .video
        case .label: .labels
        case .export: .dataset
        case .edgeImpulseUpload: .upload
        case .command: .file
        }
    }

    public var device: Device {
        switch self {
        case .text2image, .video2world, .text2world, .video2worldBestOfN,
             .predict25Text2World, .predict25Image2World, .predict25Video2World, .label: .gpu
        case .proceduralScenes, .extractFrames, .export, .command: .cpu
        case .edgeImpulseUpload: .network
        }
    }

    /// True for the Cosmos generators (prompts, seeds and model sizes apply).
    public var isCosmos: Bool { family == "cosmos-predict2" || family == "cosmos-predict2.5" }

    /// Whether one invocation can take many items with their own seeds (Predict2.5's
    /// JSONL), as opposed to one `--seed` for the whole batch (Predict2).
    public var seedsPerSample: Bool {
        switch self {
        case .predict25Text2World, .predict25Image2World, .predict25Video2World, .proceduralScenes: true
        default: false
        }
    }

    /// Model sizes the tool offers (empty: the tool has no `model:`).
    public var models: [String] {
        switch self {
        case .text2image: ["0.6B", "2B", "14B"]
        case .video2world, .text2world, .video2worldBestOfN: ["2B", "14B"]
        case .predict25Text2World, .predict25Image2World, .predict25Video2World:
            ["2B/post-trained", "2B/distilled", "14B/post-trained"]
        default: []
        }
    }

    /// The model used when a step names none.
    public var defaultModel: String? {
        switch self {
        case .text2image, .video2world, .text2world, .video2worldBestOfN: "2B"
        case .predict25Text2World, .predict25Image2World, .predict25Video2World: "2B/post-trained"
        default: nil
        }
    }

    /// Whether the step must name upstream steps in `from:`.
    public var requiresInput: Bool {
        switch self {
        case .video2world, .video2worldBestOfN, .predict25Image2World, .predict25Video2World,
             .extractFrames, .label, .export, .edgeImpulseUpload: true
        default: false
        }
    }

    /// Which upstream outputs this tool can consume.
    public var acceptedInputs: Set<Output> {
        switch self {
        case .video2world, .video2worldBestOfN: [.image, .video]
        case .predict25Image2World: [.image]
        case .predict25Video2World: [.video]
        case .extractFrames: [.video]
        case .label: [.image]
        // Images only from `procedural/scenes`, whose ground truth is exact (the loader
        // checks the producer); other images need a labeling step first.
        case .export: [.labels, .image]
        case .edgeImpulseUpload: [.dataset]
        case .command: [.image, .video, .labels, .file]
        default: []
        }
    }

    /// Whether the tool generates from prompts (so `prompts:`/`prompt:` apply).
    public var takesPrompts: Bool { isCosmos || self == .command }

    /// Whether `seeds:` applies.
    public var takesSeeds: Bool { isCosmos || self == .proceduralScenes || self == .command }

    /// Resolutions the tool offers (empty: `resolution:` does not apply).
    public var resolutions: [Int] {
        switch self {
        case .video2world, .text2world, .video2worldBestOfN: [480, 720]
        case .predict25Text2World, .predict25Image2World, .predict25Video2World: [480, 720]
        default: []
        }
    }

    /// Frame rates the tool offers (empty: `fps:` does not apply to the tool itself).
    public var frameRates: [Int] {
        switch self {
        case .video2world, .text2world, .video2worldBestOfN: [10, 16]
        default: []
        }
    }

    /// Every key a step with this `uses:` accepts.
    public var stepKeys: [String] {
        var keys = ["uses", "description", "retries"]
        if requiresInput || self == .command { keys.append("from") }
        if !models.isEmpty { keys.append("model") }
        if takesPrompts { keys += ["prompts", "prompt", "negative"] }
        if takesSeeds { keys.append("seeds") }
        if !resolutions.isEmpty { keys.append("resolution") }
        if !frameRates.isEmpty || self == .extractFrames { keys.append("fps") }
        if !options.isEmpty { keys.append("options") }
        switch self {
        case .text2image, .video2world, .text2world, .predict25Text2World, .predict25Image2World,
             .predict25Video2World, .proceduralScenes, .label, .command:
            keys.append("max_batch")
        default: break
        }
        switch self {
        case .video2world, .text2world, .video2worldBestOfN, .predict25Text2World,
             .predict25Image2World, .predict25Video2World:
            keys.append("gpus")
        case .proceduralScenes:
            keys += ["size", "objects", "background", "camera"]
        case .extractFrames:
            keys += ["every", "max_frames"]
        case .label:
            keys += ["classes", "box_threshold", "text_threshold", "mode", "script",
                     "nms_iou", "min_box_area", "max_per_image"]
        case .export:
            keys += ["formats", "split"]
        case .edgeImpulseUpload:
            keys += ["api_key_env", "base_url", "splits"]
        case .command:
            keys += ["program", "args", "per", "output", "env", "gpu", "vram_gb"]
        default: break
        }
        return keys
    }

    /// The `options:` the tool accepts, mirroring its CLI flags.
    public var options: [OptionSpec] {
        let guardrail: [OptionSpec] = [
            .init("disable_guardrail", .bool, affectsOutput: output == .video,
                  note: "the video guardrail blurs faces, so it changes video output"),
            .init("offload_guardrail", .bool, affectsOutput: false),
        ]
        let common: [OptionSpec] = [
            .init("dit_path", .path, affectsOutput: true),
            .init("load_ema", .bool, affectsOutput: true),
            .init("use_cuda_graphs", .bool, affectsOutput: false),
            .init("aspect_ratio", .choice(["1:1", "4:3", "3:4", "16:9", "9:16"]), affectsOutput: true),
        ]
        let video: [OptionSpec] = [
            .init("guidance", .number, affectsOutput: true),
            .init("disable_prompt_refiner", .bool, affectsOutput: true),
            .init("offload_prompt_refiner", .bool, affectsOutput: false),
            .init("offload_text_encoder", .bool, affectsOutput: false),
            .init("downcast_text_encoder", .bool, affectsOutput: true),
            .init("natten", .bool, affectsOutput: true, note: "720p and 16:9 only, compute capability 9.0 or 10.0"),
        ]
        switch self {
        case .text2image:
            return guardrail + common + [
                .init("distill_steps", .integerRange(0...4), affectsOutput: true),
                .init("use_fast_tokenizer", .bool, affectsOutput: true),
            ]
        case .video2world:
            return guardrail + common + video + [
                .init("num_conditional_frames", .integerChoice([1, 5]), affectsOutput: true),
            ]
        case .text2world:
            return guardrail + common.filter { $0.name != "dit_path" } + video + [
                .init("distill_steps", .integerRange(0...4), affectsOutput: true),
                .init("dit_path_text2image", .path, affectsOutput: true),
                .init("dit_path_video2world", .path, affectsOutput: true),
            ]
        case .video2worldBestOfN:
            return guardrail + common + video + [
                .init("num_conditional_frames", .integerChoice([1, 5]), affectsOutput: true),
                .init("num_generations", .integerRange(1...64), affectsOutput: true),
                .init("num_critic_trials", .integerRange(1...64), affectsOutput: true),
                .init("checkpoint_dir", .path, affectsOutput: true),
                .init("prompt_prefix", .string, affectsOutput: true),
            ]
        case .predict25Text2World, .predict25Image2World, .predict25Video2World:
            return [
                .init("disable_guardrails", .bool, affectsOutput: false),
                .init("offload_guardrail_models", .bool, affectsOutput: false),
                .init("offload_diffusion_model", .bool, affectsOutput: false),
                .init("offload_tokenizer", .bool, affectsOutput: false),
                .init("offload_text_encoder", .bool, affectsOutput: false),
                .init("guidance", .integerRange(0...7), affectsOutput: true),
                .init("num_steps", .integerRange(1...200), affectsOutput: true),
                .init("num_output_frames", .integerRange(1...1000), affectsOutput: true),
            ]
        case .label:
            return [
                .init("grounding_config", .path, affectsOutput: true),
                .init("grounding_checkpoint", .path, affectsOutput: true),
                .init("sam2_config", .path, affectsOutput: true),
                .init("sam2_checkpoint", .path, affectsOutput: true),
            ]
        case .extractFrames:
            return [.init("quality", .integerRange(1...31), affectsOutput: true,
                          note: "ffmpeg -q:v, 2 is best")]
        default:
            return []
        }
    }
}

/// One accepted key of a step's `options:`.
public struct OptionSpec: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case bool, number, string, path
        case integerRange(ClosedRange<Int>)
        case integerChoice([Int])
        case choice([String])
    }

    public var name: String
    public var kind: Kind
    /// Whether the option changes the tool's output (and so belongs in item ids).
    public var affectsOutput: Bool
    public var note: String?

    public init(_ name: String, _ kind: Kind, affectsOutput: Bool, note: String? = nil) {
        self.name = name
        self.kind = kind
        self.affectsOutput = affectsOutput
        self.note = note
    }
}

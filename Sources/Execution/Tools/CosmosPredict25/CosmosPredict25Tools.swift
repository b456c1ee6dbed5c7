import Planning
import WorkflowSpec

/// `cosmos-predict2.5/text2world|image2world|video2world` (reference/cosmos-predict2.md
/// §5): one `examples/inference.py` run per task; each JSONL sample carries its own seed.
public struct CosmosPredict25Tool: RunnableTool {
    public let uses: ToolKind
    public let summary: String
    /// `--inference-type`.
    public let inferenceType: String
    public let requiresInput: Bool
    public let acceptedInputs: Set<ToolKind.Output>

    public var family: String? { CosmosPredict25Adapter.family }
    public var output: ToolKind.Output { .video }
    public var device: ToolKind.Device { .gpu }
    public var models: [String] { ["2B/post-trained", "2B/distilled", "14B/post-trained"] }
    public var defaultModel: String? { "2B/post-trained" }
    public var takesPrompts: Bool { true }
    public var takesSeeds: Bool { true }
    public var resolutions: [Int] { [480, 720] }
    public var defaultResolution: Int? { 720 }
    public var defaultMaxBatch: Int? { 32 }
    public var multiGPU: Bool { true }
    public var seedsPerSample: Bool { true }
    public var runner: any ToolAdapter { CosmosPredict25Adapter() }
    public var options: [OptionSpec] {
        [
            .init("disable_guardrails", .bool, affectsOutput: false),
            .init("offload_guardrail_models", .bool, affectsOutput: false),
            .init("offload_diffusion_model", .bool, affectsOutput: false),
            .init("offload_tokenizer", .bool, affectsOutput: false),
            .init("offload_text_encoder", .bool, affectsOutput: false),
            .init("guidance", .integerRange(0...7), affectsOutput: true, help: "Classifier-free guidance (per sample)."),
            .init("num_steps", .integerRange(1...200), affectsOutput: true, help: "Diffusion steps (per sample)."),
            .init("num_output_frames", .integerRange(1...1000), affectsOutput: true),
        ]
    }

    public static let text2world = CosmosPredict25Tool(
        uses: .predict25Text2World, summary: "Cosmos-Predict2.5 text to world: one clip per prompt and seed.",
        inferenceType: "text2world", requiresInput: false, acceptedInputs: [])
    public static let image2world = CosmosPredict25Tool(
        uses: .predict25Image2World, summary: "Cosmos-Predict2.5 image to world: one clip per input image, prompt and seed.",
        inferenceType: "image2world", requiresInput: true, acceptedInputs: [.image])
    public static let video2world = CosmosPredict25Tool(
        uses: .predict25Video2World, summary: "Cosmos-Predict2.5 video to world: one clip per input video, prompt and seed.",
        inferenceType: "video2world", requiresInput: true, acceptedInputs: [.video])

    /// The catalog keeps one per-item figure and one load figure for the family, under
    /// text2world.
    public func catalogSecondsPerItem(_ step: Step, gpu: String?, resolver: TimingResolver) -> Figure? {
        resolver.otherTiming(uses: ToolKind.predict25Text2World.rawValue, model: step.model)
    }

    public func catalogLoadSeconds(_ step: Step, gpu: String?, resolver: TimingResolver) -> Figure? {
        resolver.catalogLoad(uses: ToolKind.predict25Text2World.rawValue, model: requiresInput ? nil : step.model, gpu: gpu)
    }

    /// `num_output_frames`, or the 77 the tool writes by default, at 16 fps.
    public func clipFrames(_ step: Step) -> (count: Int, fps: Double)? {
        if case .int(let frames)? = step.options["num_output_frames"] { return (frames, 16) }
        return (77, 16)
    }
}

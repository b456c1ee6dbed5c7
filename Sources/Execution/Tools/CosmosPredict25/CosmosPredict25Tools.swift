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

    /// One run of `examples/inference.py` on a JSONL file whose samples carry their own
    /// seed and negative prompt:
    ///
    ///     <python> examples/inference.py -i <scratch>/samples.jsonl -o <scratch>/out
    ///         --inference-type video2world --model 2B/post-trained [--disable_guardrails ...]
    ///     <python> -m torch.distributed.run --nproc_per_node=N examples/inference.py ...   (gpus: N > 1)
    ///
    /// One line per item: `{"name": <id16>, "prompt", "negative_prompt", "seed",
    /// "input_path" (absolute), "guidance", "num_steps", "num_output_frames"}`, keys sorted.
    public func invocation(for items: [PlannedItem], context: InvocationContext) -> TaskInvocation {
        let step = context.step, workflow = context.workflow, family = CosmosPredict25Adapter.family
        let gpus = step.gpus ?? 1
        let python = ToolSupport.python(family, workflow: workflow)
        var arguments: [InvocationArgument] = gpus > 1
            ? ["-m", "torch.distributed.run", .text("--nproc_per_node=\(gpus)"), "examples/inference.py"]
            : ["examples/inference.py"]
        arguments += ["-i", .path(.scratch("samples.jsonl")), "-o", .path(.scratch("out")),
                      "--inference-type", .text(inferenceType), "--model", .text(step.model ?? defaultModel ?? "2B/post-trained")]
        arguments += InvocationBuilder.text(ToolSupport.flags(step, workflow: workflow, only: CosmosPredict25Adapter.setupFlags))
        var samples: [InvocationContent] = []
        var outputs: [InvocationOutput] = []
        for item in items {
            var sample: [(String, InvocationContent)] = [("name", .string(item.stem)), ("prompt", .string(item.prompt ?? "")),
                                                         ("seed", .int(item.seed ?? 0))]
            if let negative = item.negative { sample.append(("negative_prompt", .string(negative))) }
            if requiresInput, let input = item.inputs.first.flatMap(context.inputPath) { sample.append(("input_path", .path(.workspace(input)))) }
            for field in CosmosPredict25Adapter.sampleFields {
                switch step.options[field] {
                case .int(let value)?: sample.append((field, .int(value)))
                case .number(let value)?: sample.append((field, .number(value)))
                default: break
                }
            }
            // [UNVERIFIED type] the reference lists a per-sample `resolution`; sent only when the step sets one.
            if let resolution = step.resolution { sample.append(("resolution", .string(String(resolution)))) }
            samples.append(.object(sample.sorted { $0.0 < $1.0 }.map { InvocationContent.Member($0.0, $0.1) }))
            outputs.append(InvocationOutput(item: item.id, file: .scratch("out/\(item.stem).mp4"),
                                            companions: [.init(file: .scratch("out/\(item.stem).json"), destination: item.companionPath("json"))]))
        }
        return TaskInvocation(program: python, arguments: arguments, environment: InvocationBuilder.environment(family, workflow: workflow, gpus: gpus),
                              workingDirectory: InvocationBuilder.checkout(family, workflow: workflow),
                              files: [InvocationFile(path: "samples.jsonl", format: .jsonl, content: .array(samples))],
                              outputs: outputs)
    }

    /// `num_output_frames`, or the 77 the tool writes by default, at 16 fps.
    public func clipFrames(_ step: Step) -> (count: Int, fps: Double)? {
        if case .int(let frames)? = step.options["num_output_frames"] { return (frames, 16) }
        return (77, 16)
    }
}

import Planning
import WorkflowSpec

/// `cosmos-predict2.5/text2world|image2world|video2world` (reference/cosmos-predict2.md
/// §5): one `examples/inference.py` run per task; each JSONL sample carries its own seed.
///
/// Contract, as read in nvidia-cosmos/cosmos-predict2.5 9557c1a (v1.4.2, the newest
/// release at hand): `examples/inference.py` (tyro CLI: `-i FILE... -o DIR`, setup flags
/// `--x`/`--no-x`, sample overrides), `cosmos_predict2/config.py` (samples are pydantic
/// models with `extra="forbid"`; `resolution` a string, "none" or "H,W"; inputs
/// `.png .jpg .jpeg .webp .mp4` for image2world and video2world alike, suffix compared
/// case-sensitively; `offload_guardrail_models` on by default) and
/// `cosmos_predict2/_src/predict2/inference/video2world.py` (`generate_vid2world` makes
/// `get_pixel_num_frames(state_t)` frames whatever `num_output_frames` says, and asserts
/// on a resolution that is not "H,W" inside the batch loop, losing the whole batch).
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
    public var defaultMaxBatch: Int? { 32 }
    public var multiGPU: Bool { true }
    public var seedsPerSample: Bool { true }
    public var runner: any ToolAdapter { CosmosPredict25Adapter() }
    public var options: [OptionSpec] {
        [
            .init("disable_guardrails", .bool, affectsOutput: false),
            .init("offload_guardrail_models", .bool, affectsOutput: false,
                  help: "Keep the guardrail models on the CPU (the tool does by default); false sends --no-offload-guardrail-models."),
            .init("offload_diffusion_model", .bool, affectsOutput: false),
            .init("offload_tokenizer", .bool, affectsOutput: false),
            .init("offload_text_encoder", .bool, affectsOutput: false),
            .init("guidance", .integerRange(0...7), affectsOutput: true, help: "Classifier-free guidance (per sample)."),
            .init("num_steps", .integerRange(1...200), affectsOutput: true, help: "Diffusion steps (per sample)."),
            .init("num_output_frames", .integerRange(1...1000), affectsOutput: true,
                  help: "Not accepted: outside autoregressive mode the tool writes 93 frames whatever it says."),
        ]
    }

    /// `resolution:` is the tool's own "H,W" string, not a height from a list: the
    /// released checkpoints write their trained size (720p) unless told "H,W".
    public var keys: [KeySpec] {
        [KeySpec("resolution", help: "Output size as [height, width] (or \"H,W\"); the model's trained resolution when unset.",
                 schema: ["oneOf": [["type": "string", "pattern": "^[0-9]+,[0-9]+$"],
                                    ["type": "array", "items": ["type": "integer", "minimum": 1], "minItems": 2, "maxItems": 2]]],
                 affectsOutput: true)]
    }

    /// The frames every clip has: `tokenizer.get_pixel_num_frames(state_t)` with
    /// `state_t = 24` for the released 2B and 14B checkpoints, `(24 - 1) * 4 + 1`.
    public static let releasedFrames = 93

    /// The extensions `InferenceArguments.validate_input_path` accepts for image2world
    /// and video2world (`IMAGE_EXTENSIONS + VIDEO_EXTENSIONS`), compared with the suffix as
    /// written: `.JPG` is refused.
    public static let inputExtensions = ["png", "jpg", "jpeg", "webp", "mp4"]

    public static let text2world = CosmosPredict25Tool(
        uses: .predict25Text2World, summary: "Cosmos-Predict2.5 text to world: one clip per prompt and seed.",
        inferenceType: "text2world", requiresInput: false, acceptedInputs: [])
    public static let image2world = CosmosPredict25Tool(
        uses: .predict25Image2World, summary: "Cosmos-Predict2.5 image to world: one clip per input image (or clip), prompt and seed.",
        inferenceType: "image2world", requiresInput: true, acceptedInputs: [.image, .video])
    public static let video2world = CosmosPredict25Tool(
        uses: .predict25Video2World, summary: "Cosmos-Predict2.5 video to world: one clip per input clip (or image), prompt and seed.",
        inferenceType: "video2world", requiresInput: true, acceptedInputs: [.image, .video])

    /// Reads `resolution:` (`[H, W]` or `"H,W"`, into `settings["resolution"]` as "H,W")
    /// and refuses what the tool would assert on or ignore, before any GPU time is spent.
    public func parseKeys(_ parser: StepParser, into step: inout Step) {
        if let size = parser.heightWidth("resolution", why: "cosmos-predict2.5 asserts on anything but \"H,W\" and loses the whole batch",
                                         hint: "write resolution: [704, 1280] (height, width), or leave it out for the model's trained resolution (720p)") {
            step.settings["resolution"] = .string(size)
        }
        if step.options["num_output_frames"] != nil {
            parser.optionError("num_output_frames",
                               "option 'num_output_frames' has no effect: outside autoregressive mode cosmos-predict2.5 writes \(Self.releasedFrames) frames (the model's temporal size) whatever it says",
                               hint: "remove it; keep fewer frames with a later ffmpeg/extract-frames step (max_frames)")
        }
    }

    /// The resolution joins the ids as before the key took sizes (720, the trained one,
    /// when unset), so recipes without it keep their items.
    public func addSignatureMembers(of step: Step, to signature: inout ItemSignature, params: inout [String: OptionValue]) {
        params["resolution"] = step.settings["resolution"] ?? .int(720)
    }

    /// The catalog keeps one per-item figure and one load figure for the family, under
    /// text2world.
    public func catalogSecondsPerItem(_ step: Step, gpu: String?, resolver: TimingResolver) -> Figure? {
        resolver.otherTiming(uses: ToolKind.predict25Text2World.rawValue, model: step.model)
    }

    public func catalogLoadSeconds(_ step: Step, gpu: String?, resolver: TimingResolver) -> Figure? {
        resolver.catalogLoad(uses: ToolKind.predict25Text2World.rawValue, model: requiresInput ? nil : step.model, gpu: gpu)
    }

    /// A `command` step upstream whose files the tool's `validate_input_path` refuses
    /// (which exits 1 before the model loads, losing the batch).
    public func checkPlan(_ step: Step, workflow: Workflow, diagnostics: inout DiagnosticBag) {
        guard requiresInput else { return }
        for upstreamID in step.from {
            guard let upstream = workflow.step(upstreamID), let ext = upstream.command?.outputExtension,
                  !Self.inputExtensions.contains(ext) else { continue }
            diagnostics.error("step '\(step.id)' (\(uses.rawValue)) would read .\(ext) files from command step '\(upstreamID)': cosmos-predict2.5 takes only \(Self.inputExtensions.map { "." + $0 }.joined(separator: ", ")) (lowercase) and refuses the whole batch otherwise",
                              hint: "make step '\(upstreamID)' write 'output: jpg' (or png, jpeg, webp, mp4), converting its files if needed",
                              at: workflow.location(of: "steps.\(upstreamID).output"))
        }
    }

    /// Setup flags as tyro spells them: `--offload-guardrail-models` for true,
    /// `--no-offload-guardrail-models` for false (only a `--no-` flag turns off a flag
    /// that is on by default).
    static func setupFlags(_ step: Step) -> [String] {
        var flags: [String] = []
        for spec in step.tool.options where CosmosPredict25Adapter.setupFlags.contains(spec.name) {
            guard case .bool(let on)? = step.options[spec.name] else { continue }
            let name = spec.name.replacingOccurrences(of: "_", with: "-")
            flags.append(on ? "--\(name)" : "--no-\(name)")
        }
        return flags
    }

    /// One run of `examples/inference.py` on a JSONL file whose samples carry their own
    /// seed and negative prompt:
    ///
    ///     <python> examples/inference.py -i <scratch>/samples.jsonl -o <scratch>/out
    ///         --inference-type video2world --model 2B/post-trained [--disable-guardrails ...]
    ///     <python> -m torch.distributed.run --nproc_per_node=N examples/inference.py ...   (gpus: N > 1)
    ///
    /// One line per item: `{"name": <id16>, "prompt", "negative_prompt", "seed",
    /// "input_path" (absolute), "guidance", "num_steps", "resolution" ("H,W")}`, keys
    /// sorted; nothing else, since the tool refuses unknown sample keys.
    public func invocation(for items: [PlannedItem], context: InvocationContext) -> TaskInvocation {
        let step = context.step, workflow = context.workflow, family = CosmosPredict25Adapter.family
        let gpus = step.gpus ?? 1
        let python = ToolSupport.python(family, workflow: workflow)
        var arguments: [InvocationArgument] = gpus > 1
            ? ["-m", "torch.distributed.run", .text("--nproc_per_node=\(gpus)"), "examples/inference.py"]
            : ["examples/inference.py"]
        arguments += ["-i", .path(.scratch("samples.jsonl")), "-o", .path(.scratch("out")),
                      "--inference-type", .text(inferenceType), "--model", .text(step.model ?? defaultModel ?? "2B/post-trained")]
        arguments += InvocationBuilder.text(Self.setupFlags(step))
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
            if case .string(let size)? = step.settings["resolution"] { sample.append(("resolution", .string(size))) }
            samples.append(.object(sample.sorted { $0.0 < $1.0 }.map { InvocationContent.Member($0.0, $0.1) }))
            outputs.append(InvocationOutput(item: item.id, file: .scratch("out/\(item.stem).mp4"),
                                            companions: [.init(file: .scratch("out/\(item.stem).json"), destination: item.companionPath("json"))]))
        }
        return TaskInvocation(program: python, arguments: arguments, environment: InvocationBuilder.environment(family, workflow: workflow, gpus: gpus),
                              workingDirectory: InvocationBuilder.checkout(family, workflow: workflow),
                              files: [InvocationFile(path: "samples.jsonl", format: .jsonl, content: .array(samples))],
                              outputs: outputs)
    }

    /// ``releasedFrames`` at 16 fps, for every released model (`num_output_frames` is
    /// refused: the tool ignores it outside autoregressive mode).
    public func clipFrames(_ step: Step) -> (count: Int, fps: Double)? {
        (Self.releasedFrames, 16)
    }
}

import Basics
import Planning
import WorkflowSpec

/// `cosmos-predict2/text2image`, `/video2world` and `/text2world`
/// (reference/cosmos-predict2.md §1): one `examples/<script>.py` run per (seed, negative
/// prompt), a batch of prompts each.
public struct CosmosPredict2Tool: RunnableTool {
    public let uses: ToolKind
    public let summary: String
    /// The example script: `examples/<script>.py`, `python -m examples.<script>`.
    public let script: String
    public let output: ToolKind.Output
    public let models: [String]
    public let requiresInput: Bool
    public let acceptedInputs: Set<ToolKind.Output>
    public let resolutions: [Int]
    public let frameRates: [Int]
    public let options: [OptionSpec]
    public let defaultMaxBatch: Int?
    public let multiGPU: Bool

    public var family: String? { CosmosPredict2Adapter.family }
    public var device: ToolKind.Device { .gpu }
    public var defaultModel: String? { "2B" }
    public var takesPrompts: Bool { true }
    public var takesSeeds: Bool { true }
    public var defaultResolution: Int? { resolutions.isEmpty ? nil : 720 }
    public var defaultFPS: Int? { frameRates.isEmpty ? nil : 16 }
    public var runner: any ToolAdapter { CosmosPredict2Adapter() }

    public var keys: [KeySpec] {
        [KeySpec("runner", .choice(Runner.allCases.map(\.rawValue)),
                 help: "'cli': one run of examples/<script>.py per seed and negative prompt, each loading the model; "
                     + "'resident': synthset's worker imports the example module, loads the model once per GPU and takes every item, "
                     + "whatever its seed and negative prompt. Also settable for every step under tools.cosmos-predict2.",
                 defaultValue: .string(Runner.cli.rawValue), affectsOutput: false).settableForTheFamily()]
    }

    /// How a step's items reach the model (the `runner:` key): the same seeded call
    /// either way, so item ids do not depend on it.
    public enum Runner: String, CaseIterable, Sendable {
        case cli, resident
    }

    /// The step's runner, `cli` unless the step says `runner: resident`.
    public static func runner(of step: Step) -> Runner {
        if case .string(let name)? = step.settings["runner"], let runner = Runner(rawValue: name) { return runner }
        return .cli
    }

    public static let text2image = CosmosPredict2Tool(
        uses: .text2image, summary: "Cosmos-Predict2 text to image: one JPEG per prompt and seed.",
        script: "text2image", output: .image, models: ["0.6B", "2B", "14B"], requiresInput: false, acceptedInputs: [],
        resolutions: [], frameRates: [],
        options: CosmosOptions.guardrail(affectsOutput: false) + CosmosOptions.common + [
            .init("distill_steps", .integerRange(0...4), affectsOutput: true, help: "Steps of the distilled model (0: not distilled)."),
            .init("use_fast_tokenizer", .bool, affectsOutput: true),
        ],
        defaultMaxBatch: 64, multiGPU: false)

    public static let video2world = CosmosPredict2Tool(
        uses: .video2world, summary: "Cosmos-Predict2 video to world: one clip per input image or video, prompt and seed.",
        script: "video2world", output: .video, models: ["2B", "14B"], requiresInput: true, acceptedInputs: [.image, .video],
        resolutions: [480, 720], frameRates: [10, 16],
        options: CosmosOptions.guardrail(affectsOutput: true) + CosmosOptions.common + CosmosOptions.video + [
            .init("num_conditional_frames", .integerChoice([1, 5]), affectsOutput: true),
        ],
        defaultMaxBatch: 16, multiGPU: true)

    public static let text2world = CosmosPredict2Tool(
        uses: .text2world, summary: "Cosmos-Predict2 text to world: text2image then video2world in one run.",
        script: "text2world", output: .video, models: ["2B", "14B"], requiresInput: false, acceptedInputs: [],
        resolutions: [480, 720], frameRates: [10, 16],
        options: CosmosOptions.guardrail(affectsOutput: true) + CosmosOptions.common.filter { $0.name != "dit_path" } + CosmosOptions.video + [
            .init("distill_steps", .integerRange(0...4), affectsOutput: true),
            .init("dit_path_text2image", .path, affectsOutput: true),
            .init("dit_path_video2world", .path, affectsOutput: true),
        ],
        defaultMaxBatch: 16, multiGPU: true)

    public func expandItems(_ expander: inout ItemExpander) -> [PlannedItem] {
        requiresInput ? expander.fromInputs() : expander.fromPrompts()
    }

    /// CLI: one `--seed` and one `--negative_prompt` per invocation, every batch item
    /// re-seeded with the same seed (cosmos-predict2.md). Resident: one group, the worker
    /// takes each item's own seed and negative prompt.
    public func groupItems(_ items: [PlannedItem], of step: Step) -> [[Int]] {
        if Self.runner(of: step) == .resident { return [Array(items.indices)] }
        return TaskGrouper.orderedGroups(items) { TaskGrouper.SeedAndNegative(seed: $0.seed ?? 0, negative: $0.negative ?? "") }
    }

    /// Resident: one worker (one load) per GPU slot, the items shared evenly between
    /// them, unless the step sets `max_batch` (then one load per `max_batch` items).
    public func batchLimit(_ step: Step, items: Int, gpuSlots: Int) -> Int? {
        guard Self.runner(of: step) == .resident else { return step.effectiveMaxBatch }
        if let maxBatch = step.maxBatch { return maxBatch }
        let workers = max(1, gpuSlots / max(1, multiGPU ? step.gpus ?? 1 : 1))
        return max(1, (items + workers - 1) / workers)
    }

    public func alternativeRunner(_ step: Step) -> RunnerAlternative? {
        let current = Self.runner(of: step), other: Runner = current == .cli ? .resident : .cli
        // Only a resident step shows the CLI's figures; a CLI step is the default.
        guard current == .resident else { return nil }
        var alternative = step
        alternative.settings["runner"] = .string(other.rawValue)
        return RunnerAlternative(runner: current.rawValue, alternative: other.rawValue, step: alternative)
    }

    public func catalogSecondsPerItem(_ step: Step, gpu: String?, resolver: TimingResolver) -> Figure? {
        guard output == .video else {
            return resolver.gpuTiming(uses: .text2image, model: step.model, gpu: gpu, resolution: nil, fps: nil, natten: false)
        }
        let video = TimingResolver.videoSettings(step)
        guard let v2w = resolver.gpuTiming(uses: .video2world, model: step.model, gpu: gpu, resolution: video.resolution, fps: video.fps, natten: video.natten)
        else { return nil }
        guard !requiresInput else { return v2w }
        // text2world: an image, then a clip from it.
        guard let t2i = resolver.gpuTiming(uses: .text2image, model: step.model, gpu: gpu, resolution: nil, fps: nil, natten: false) else { return nil }
        return Figure(v2w.value + t2i.value, .derived, "text2image \(TimingResolver.format(t2i.value)) s + video2world \(TimingResolver.format(v2w.value)) s on this GPU")
    }

    public func catalogLoadSeconds(_ step: Step, gpu: String?, resolver: TimingResolver) -> Figure? {
        if uses == .text2world { return resolver.catalogLoad(uses: ToolKind.video2world.rawValue, model: step.model, gpu: gpu, prefix: "video2world's load: ") }
        return resolver.catalogLoad(uses: uses.rawValue, model: step.model, gpu: gpu)
    }

    public func clipFrames(_ step: Step) -> (count: Int, fps: Double)? {
        output == .video ? CosmosOptions.clipFrames(step) : nil
    }

    public func checkPlan(_ step: Step, workflow: Workflow, diagnostics: inout DiagnosticBag) {
        if requiresInput { CosmosOptions.checkInputExtensions(step, workflow: workflow, &diagnostics) }
    }

    /// The planned run: ``cliInvocation(for:context:)`` or, for `runner: resident`,
    /// ``CosmosResidentWorker/invocation(for:tool:context:)``.
    public func invocation(for items: [PlannedItem], context: InvocationContext) -> TaskInvocation {
        if Self.runner(of: context.step) == .resident { return CosmosResidentWorker.invocation(for: items, tool: self, context: context) }
        return cliInvocation(for: items, context: context)
    }

    /// The item files a task writes, each with its prompt sidecar (with the refined
    /// prompt), which the tool writes after the output.
    func outputs(for items: [PlannedItem]) -> [InvocationOutput] {
        items.map { item in
            // The path once for its three pieces: a planned item's path is made when asked for.
            let path = item.path, name = PathParts.fileName(of: path)
            return InvocationOutput(item: item.id, file: .scratch(name),
                                    companions: [.init(file: .scratch(PathParts.withoutExtension(name) + ".txt"),
                                                       destination: PathParts.withoutExtension(path) + ".txt")])
        }
    }

    /// The options every run of the step passes, whatever the item: model, resolution
    /// and frame rate, option flags and `--num_gpus`.
    func staticArguments(_ step: Step, workflow: Workflow, gpus: Int) -> [InvocationArgument] {
        var arguments = InvocationBuilder.text(["--model_size", step.model ?? defaultModel ?? "2B"])
        if !resolutions.isEmpty {
            let video = TimingResolver.videoSettings(step)
            arguments += InvocationBuilder.text(["--resolution", String(video.resolution), "--fps", String(video.fps)])
        }
        arguments += InvocationBuilder.text(ToolSupport.flags(step, workflow: workflow))
        if gpus > 1 { arguments += InvocationBuilder.text(["--num_gpus", String(gpus)]) }
        return arguments
    }

    /// One run of `examples/<script>.py` with the task's seed and negative prompt (its
    /// items share both: ``groupItems(_:of:)``) and a `--batch_input_json` of its items;
    /// paths in the batch file are absolute (the tool resolves relative ones against its
    /// CWD, the checkout):
    ///
    ///     <python> -m examples.text2image --model_size 2B --seed 3 [--negative_prompt N]
    ///         --batch_input_json <scratch>/batch.json --save_path <scratch>/run.jpg [option flags]
    ///     <python> -m torch.distributed.run --nproc_per_node=N examples/video2world.py ... --num_gpus N
    func cliInvocation(for items: [PlannedItem], context: InvocationContext) -> TaskInvocation {
        let step = context.step, workflow = context.workflow
        let family = CosmosPredict2Adapter.family
        let gpus = multiGPU ? step.gpus ?? 1 : 1  // text2image has no --num_gpus
        let python = ToolSupport.python(family, workflow: workflow)
        var (program, arguments) = InvocationBuilder.python(python, script: script, gpus: gpus)
        arguments += InvocationBuilder.text(["--model_size", step.model ?? defaultModel ?? "2B"])
        if !resolutions.isEmpty {
            let video = TimingResolver.videoSettings(step)
            arguments += InvocationBuilder.text(["--resolution", String(video.resolution), "--fps", String(video.fps)])
        }
        arguments += InvocationBuilder.text(["--seed", String(items.first?.seed ?? 0)])
        if let negative = items.first?.negative { arguments += InvocationBuilder.text(["--negative_prompt", negative]) }
        let ext = output == .image ? "jpg" : "mp4"
        arguments += ["--batch_input_json", .path(.scratch("batch.json")), "--save_path", .path(.scratch("run.\(ext)"))]
        arguments += InvocationBuilder.text(ToolSupport.flags(step, workflow: workflow))
        if gpus > 1 { arguments += InvocationBuilder.text(["--num_gpus", String(gpus)]) }

        var entries: [InvocationContent] = []
        for item in items {
            let file = InvocationPath.scratch(item.scratchName)
            if output == .image {
                entries.append(.object(["prompt": .string(item.prompt ?? ""), "output_image": .path(file)]))
            } else if requiresInput {
                let input = item.inputs.first.flatMap(context.inputPath).map(InvocationPath.workspace)
                entries.append(.object(["input_video": input.map(InvocationContent.path) ?? .string(""),
                                        "prompt": .string(item.prompt ?? ""), "output_video": .path(file)]))
            } else {
                entries.append(.object(["prompt": .string(item.prompt ?? ""), "output_video": .path(file)]))
            }
        }
        return TaskInvocation(program: program, arguments: arguments, environment: InvocationBuilder.environment(family, workflow: workflow, gpus: gpus),
                              workingDirectory: InvocationBuilder.checkout(family, workflow: workflow),
                              files: [InvocationFile(path: "batch.json", format: .json, content: .array(entries))],
                              outputs: outputs(for: items))
    }
}

/// `cosmos-predict2/video2world-best-of-n`: `examples/video2world_bestofn.py`, one run
/// per item (rejection sampling scored by Cosmos-Reason1).
public struct CosmosBestOfNTool: RunnableTool {
    public init() {}
    public var uses: ToolKind { .video2worldBestOfN }
    public var summary: String { "Cosmos-Predict2 video2world best-of-N: N generations per input, the best kept by the Cosmos-Reason1 critic." }
    public var family: String? { CosmosPredict2Adapter.family }
    public var output: ToolKind.Output { .video }
    public var device: ToolKind.Device { .gpu }
    public var models: [String] { ["2B", "14B"] }
    public var defaultModel: String? { "2B" }
    public var requiresInput: Bool { true }
    public var acceptedInputs: Set<ToolKind.Output> { [.image, .video] }
    public var takesPrompts: Bool { true }
    public var takesSeeds: Bool { true }
    public var resolutions: [Int] { [480, 720] }
    public var defaultResolution: Int? { 720 }
    public var frameRates: [Int] { [10, 16] }
    public var defaultFPS: Int? { 16 }
    public var multiGPU: Bool { true }
    /// Exactly the flags `parse_args()` of examples/video2world_bestofn.py defines
    /// (cosmos-predict2 661da47): video2world's but `--batch_input_json`, `--natten`,
    /// `--use_cuda_graphs` and `--benchmark` (argparse would exit 2 on them), plus the
    /// rejection-sampling and GR00T ones.
    public var options: [OptionSpec] {
        CosmosOptions.guardrail(affectsOutput: true) + CosmosOptions.common.filter { $0.name != "use_cuda_graphs" }
            + CosmosOptions.video.filter { $0.name != "natten" } + [
            .init("num_conditional_frames", .integerChoice([1, 5]), affectsOutput: true),
            .init("num_generations", .integerRange(1...64), affectsOutput: true, help: "Clips generated per item; the critic keeps the best."),
            .init("num_critic_trials", .integerRange(1...64), affectsOutput: true),
            .init("checkpoint_dir", .path, affectsOutput: true),
            .init("gr00t_variant", .choice(["gr1", "droid"]), affectsOutput: true, help: "Generate with the GR00T Dreams pipeline of this variant."),
            .init("prompt_prefix", .string, affectsOutput: true, help: "Prefix the GR00T pipeline puts before the prompt (only with gr00t_variant)."),
        ]
    }

    /// `--prompt_prefix` reaches the GR00T pipeline only (`functools.partial(
    /// process_single_generation_gr00t, prompt_prefix=...)`); without `gr00t_variant` it
    /// would change item ids and nothing else.
    public func parseKeys(_ parser: StepParser, into step: inout Step) {
        parser.parseGenericKeys(keys, into: &step)
        if step.options["prompt_prefix"] != nil && step.options["gr00t_variant"] == nil {
            parser.optionError("prompt_prefix", "option 'prompt_prefix' does nothing without 'gr00t_variant': video2world_bestofn.py hands it only to the GR00T pipeline",
                               hint: "add 'gr00t_variant: gr1' (or droid), or remove prompt_prefix and write the prefix into the prompt")
        }
    }
    public var runner: any ToolAdapter { CosmosBestOfNAdapter() }

    public func catalogSecondsPerItem(_ step: Step, gpu: String?, resolver: TimingResolver) -> Figure? {
        let video = TimingResolver.videoSettings(step)
        guard let base = resolver.gpuTiming(uses: .video2world, model: step.model, gpu: gpu, resolution: video.resolution, fps: video.fps, natten: video.natten)
        else { return nil }
        var generations = 2
        if case .int(let count)? = step.options["num_generations"] { generations = count }
        return Figure(base.value * Double(generations), base.basis == .published ? .derived : base.basis,
                      "video2world's \(TimingResolver.format(base.value)) s x \(generations) generations (\(base.source)); critic time not included")
    }

    public func catalogLoadSeconds(_ step: Step, gpu: String?, resolver: TimingResolver) -> Figure? {
        resolver.catalogLoad(uses: ToolKind.video2world.rawValue, model: step.model, gpu: gpu, prefix: "video2world's load: ")
    }

    public func clipFrames(_ step: Step) -> (count: Int, fps: Double)? { CosmosOptions.clipFrames(step) }

    public func checkPlan(_ step: Step, workflow: Workflow, diagnostics: inout DiagnosticBag) {
        CosmosOptions.checkInputExtensions(step, workflow: workflow, &diagnostics)
    }

    /// One run per item (a task has one):
    ///
    ///     <python> -m examples.video2world_bestofn --model_size 2B --resolution 720 --fps 16
    ///         --input_path <abs> --prompt P [--negative_prompt N] --num_generations N
    ///         --num_critic_trials T --seed S --save_path <scratch>/<id16> [option flags]
    public func invocation(for items: [PlannedItem], context: InvocationContext) -> TaskInvocation {
        let step = context.step, workflow = context.workflow, family = CosmosPredict2Adapter.family
        guard let item = items.first else { return TaskInvocation() }
        let gpus = step.gpus ?? 1
        var (program, arguments) = InvocationBuilder.python(ToolSupport.python(family, workflow: workflow),
                                                            script: "video2world_bestofn", gpus: gpus)
        let video = TimingResolver.videoSettings(step)
        arguments += InvocationBuilder.text(["--model_size", step.model ?? defaultModel ?? "2B",
                                             "--resolution", String(video.resolution), "--fps", String(video.fps)])
        arguments += ["--input_path", item.inputs.first.flatMap(context.inputPath).map { .path(.workspace($0)) } ?? "",
                      "--prompt", .text(item.prompt ?? "")]
        if let negative = item.negative { arguments += InvocationBuilder.text(["--negative_prompt", negative]) }
        let parameters = BestOfNParameters(seed: item.seed ?? 0, generations: Self.generations(step), criticTrials: Self.trials(step))
        arguments += InvocationBuilder.text(["--num_generations", String(parameters.generations),
                                             "--num_critic_trials", String(parameters.criticTrials),
                                             "--seed", String(parameters.seed)])
        arguments += ["--save_path", .path(.scratch(item.stem))]
        arguments += InvocationBuilder.text(ToolSupport.flags(step, workflow: workflow, excluding: ["num_generations", "num_critic_trials"]))
        if gpus > 1 { arguments += InvocationBuilder.text(["--num_gpus", String(gpus)]) }
        return TaskInvocation(program: program, arguments: arguments, environment: InvocationBuilder.environment(family, workflow: workflow, gpus: gpus),
                              workingDirectory: InvocationBuilder.checkout(family, workflow: workflow),
                              parameters: try? InvocationContent(encoding: parameters))
    }

    /// Generations per input: `options.num_generations`, else the script's default, 2.
    static func generations(_ step: Step) -> Int {
        if case .int(let count)? = step.options["num_generations"] { return count }
        return 2
    }

    /// Critic trials per generation: `options.num_critic_trials`, else the script's default, 5.
    static func trials(_ step: Step) -> Int {
        if case .int(let count)? = step.options["num_critic_trials"] { return count }
        return 5
    }
}

/// What the best-of-N runner needs to find the generations the script writes (seeds
/// `seed ..< seed + generations`) and to report how they were scored.
struct BestOfNParameters: Codable {
    var seed: Int
    var generations: Int
    var criticTrials: Int

    enum CodingKeys: String, CodingKey {
        case seed
        case generations = "num_generations"
        case criticTrials = "num_critic_trials"
    }
}

/// The option flags Cosmos-Predict2's example scripts share, and facts about their clips.
enum CosmosOptions {
    static func guardrail(affectsOutput: Bool) -> [OptionSpec] {
        [
            .init("disable_guardrail", .bool, affectsOutput: affectsOutput,
                  note: affectsOutput ? "the video guardrail blurs faces, so it changes video output" : nil),
            .init("offload_guardrail", .bool, affectsOutput: false),
        ]
    }

    static let common: [OptionSpec] = [
        .init("dit_path", .path, affectsOutput: true, help: "A DiT checkpoint to use instead of the released one."),
        .init("load_ema", .bool, affectsOutput: true),
        .init("use_cuda_graphs", .bool, affectsOutput: false),
        .init("aspect_ratio", .choice(["1:1", "4:3", "3:4", "16:9", "9:16"]), affectsOutput: true),
    ]

    static let video: [OptionSpec] = [
        .init("guidance", .number, affectsOutput: true),
        .init("disable_prompt_refiner", .bool, affectsOutput: true),
        .init("offload_prompt_refiner", .bool, affectsOutput: false),
        .init("offload_text_encoder", .bool, affectsOutput: false),
        .init("downcast_text_encoder", .bool, affectsOutput: true),
        .init("natten", .bool, affectsOutput: true, note: "720p and 16:9 only, compute capability 9.0 or 10.0"),
    ]

    /// 93 frames at 16 fps and 61 at 10 fps (state_t 24 or 16, cosmos-predict2.md).
    static func clipFrames(_ step: Step) -> (count: Int, fps: Double) {
        let fps = TimingResolver.videoSettings(step).fps
        return (fps == 16 ? 93 : 61, Double(fps))
    }

    /// Extensions video2world takes as input, case-sensitive: its loader rejects `.webp`
    /// (listed without the dot) and its prompt refiner raises on anything but `.mp4`,
    /// `.jpg` and `.png`, failing the whole batch (cosmos-predict2.md §1). synthset's own
    /// tools always write `.jpg`/`.mp4`; a `command` step may not.
    static func checkInputExtensions(_ step: Step, workflow: Workflow, _ bag: inout DiagnosticBag) {
        for upstreamID in step.from {
            guard let upstream = workflow.step(upstreamID), let ext = upstream.command?.outputExtension,
                  !CosmosPredict2Adapter.inputExtensions.contains(ext) else { continue }
            let why: String
            switch ext.lowercased() {
            case "webp": why = "Cosmos-Predict2 rejects .webp inputs"
            case "jpg", "jpeg", "png", "mp4": why = "with the prompt refiner on, a .\(ext) input makes Cosmos-Predict2 fail the whole batch (only lowercase .jpg, .png and .mp4 are accepted)"
            default: why = "Cosmos-Predict2 takes only .jpg, .png or .mp4 inputs"
            }
            bag.error("step '\(step.id)' (\(step.uses.rawValue)) would read .\(ext) files from command step '\(upstreamID)': \(why)",
                      hint: "make step '\(upstreamID)' write 'output: jpg' (or png, or mp4), converting its files if needed",
                      at: workflow.location(of: "steps.\(upstreamID).output"))
        }
    }
}

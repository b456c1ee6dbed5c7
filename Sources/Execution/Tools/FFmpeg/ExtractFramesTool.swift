import Planning
import WorkflowSpec

/// `ffmpeg/extract-frames`: frames of each upstream clip as JPEGs, one ffmpeg run per clip.
public struct ExtractFramesTool: RunnableTool {
    public init() {}
    public var uses: ToolKind { .extractFrames }
    public var summary: String { "ffmpeg frame extraction: every Nth frame, or N frames per second, of each upstream clip." }
    public var family: String? { FFmpegFramesAdapter.family }
    public var output: ToolKind.Output { .image }
    public var device: ToolKind.Device { .cpu }
    public var requiresInput: Bool { true }
    public var acceptedInputs: Set<ToolKind.Output> { [.video] }
    public var options: [OptionSpec] {
        [.init("quality", .integerRange(1...31), affectsOutput: true, note: "ffmpeg -q:v, 2 is best")]
    }
    public var runner: any ToolAdapter { FFmpegFramesAdapter() }

    public func versions(of step: Step, workflow: Workflow, synthsetVersion: String) async -> [String: String] {
        let program = workflow.tools[FFmpegFramesAdapter.family]?.program ?? "ffmpeg"
        return ["ffmpeg": await FFmpegVersion.of(ToolSupport.program(program, workflow: workflow))?.line ?? "unknown"]
    }

    public var keys: [KeySpec] {
        [
            KeySpec("fps", help: "Frames per second to keep (instead of 'every').", schema: ["type": "number", "exclusiveMinimum": 0], affectsOutput: true),
            KeySpec("every", help: "Keep every Nth decoded frame.", schema: ["$ref": "#/$defs/positiveInteger"], defaultValue: 1, affectsOutput: true),
            KeySpec("max_frames", help: "Stop after this many frames per clip.", schema: ["$ref": "#/$defs/positiveInteger"]),
        ]
    }

    public func parseKeys(_ parser: StepParser, into step: inout Step) { parser.parseFrames(&step) }

    public func addSignatureMembers(of step: Step, to signature: inout ItemSignature, params: inout [String: OptionValue]) {
        guard let frames = step.frames else { return }
        if let every = frames.every { params["every"] = .int(every) }
        if let fps = frames.fps { params["fps"] = .number(fps) }
    }

    public func expandItems(_ expander: inout ItemExpander) -> [PlannedItem] { expander.frames() }

    public func itemCountBound(_ step: Step, workflow: Workflow, upstream: Int) -> PlanBounds.ItemCount {
        PlanBounds.frames(step, workflow: workflow, upstream: upstream)
    }

    /// One ffmpeg run per clip.
    public func groupItems(_ items: [PlannedItem], of step: Step) -> [[Int]] {
        TaskGrouper.orderedGroups(items) { $0.inputs.first ?? "" }
    }

    /// One ffmpeg run for the task's clip, writing frames up to the last one planned:
    ///
    ///     ffmpeg -nostdin -v error -i <clip> -vf 'select=not(mod(n\,EVERY))' -fps_mode vfr -q:v 2 -frames:v K <scratch>/f%06d.jpg
    ///     ffmpeg -nostdin -v error -i <clip> -vf fps=N -q:v 2 -frames:v K <scratch>/f%06d.jpg
    public func invocation(for items: [PlannedItem], context: InvocationContext) -> TaskInvocation {
        let step = context.step, workflow = context.workflow
        let numbers = items.map { FFmpegFramesAdapter.outputNumber(frameIndex: $0.frameIndex ?? 0, step: step) }
        let clip = items.first?.inputs.first.flatMap(context.inputPath) ?? ""
        var arguments: [InvocationArgument] = ["-nostdin", "-v", "error", "-i", .path(.workspace(clip))]
        arguments += InvocationBuilder.text(FFmpegFramesAdapter.filter(step))
        var quality = 2
        if case .int(let value)? = step.options["quality"] { quality = value }
        arguments += InvocationBuilder.text(["-q:v", String(quality), "-frames:v", String(numbers.max() ?? 1)])
        arguments.append(.path(.scratch("f%06d.jpg")))
        return TaskInvocation(program: FFmpegFramesAdapter.program(workflow), arguments: arguments,
                              environment: workflow.tools[FFmpegFramesAdapter.family]?.environment ?? [:],
                              outputs: zip(items, numbers).map { item, number in
                                  InvocationOutput(item: item.id, file: .scratch(String(format: "f%06d.jpg", number)))
                              })
    }
}

import Foundation
import Planning
import WorkflowSpec

/// `ffmpeg/extract-frames`: one ffmpeg run per clip (a task holds one clip's frames).
///
///     ffmpeg -nostdin -v error -i <clip> -vf 'select=not(mod(n\,EVERY))' -fps_mode vfr
///         -q:v <quality or 2> -frames:v K <scratch>/f%06d.jpg
///     ffmpeg -nostdin -v error -i <clip> -vf fps=N -q:v 2 -frames:v K <scratch>/f%06d.jpg
///
/// Output file k (1-based) is frame index (k-1)*EVERY (`every:`) or k-1 (`fps:`), which
/// is how the planner numbered the items. K is just enough for the missing frames.
///
/// The plan spells the variable-frame-rate option `-fps_mode` (ffmpeg 5.1 and later; 9
/// removed `-vsync`); on an older ffmpeg, read once per run (``FFmpegVersion``), the run
/// passes `-vsync` in its place. The task log says which.
public struct FFmpegFramesAdapter: ToolAdapter {
    public static let family = "ffmpeg"

    public init() {}

    static func program(_ workflow: Workflow) -> String {
        ToolSupport.program(workflow.tools[family]?.program ?? "ffmpeg", workflow: workflow)
    }

    public func preflight(step: Step, workflow: Workflow) -> [Diagnostic] {
        guard step.uses == .extractFrames else { return [] }
        let program = Self.program(workflow)
        guard ToolSupport.findExecutable(program) == nil else { return [] }
        return [Diagnostic(.error, "step '\(step.id)' needs ffmpeg, but '\(program)' was not found",
                           hint: "install ffmpeg: apt-get install ffmpeg (or brew install ffmpeg), or set tools.ffmpeg.program to its path",
                           at: workflow.location(of: workflow.tools[Self.family]?.program != nil ? "tools.ffmpeg.program" : "steps.\(step.id).uses"))]
    }

    /// The frame selection: every Nth decoded frame, or N frames per second.
    static func filter(_ step: Step) -> [String] {
        if let fps = step.frames?.fps { return ["-vf", "fps=\(formatNumber(fps))"] }
        // No shell: the filtergraph's own escape (`\,`) stays, the shell quotes do not.
        return ["-vf", "select=not(mod(n\\,\(step.frames?.every ?? 1)))", "-fps_mode", "vfr"]
    }

    /// The 1-based output file number of a planned frame index.
    static func outputNumber(frameIndex: Int, step: Step) -> Int {
        if step.frames?.fps != nil { return frameIndex + 1 }
        return frameIndex / max(1, step.frames?.every ?? 1) + 1
    }

    /// The planned arguments with `-fps_mode` spelled `option` (`-vsync` before 5.1).
    static func syncArguments(_ arguments: [InvocationArgument], option: String) -> [InvocationArgument] {
        arguments.map { $0 == "-fps_mode" ? .text(option) : $0 }
    }

    static func formatNumber(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    /// Runs the planned ffmpeg command for the task's clip and collects the frames.
    public func run(_ invocation: Invocation, produced: @Sendable (ProducedOutput) async -> Void) async throws -> InvocationOutcome {
        var invocation = invocation
        if let program = invocation.planned.program, invocation.planned.arguments.contains("-fps_mode") {
            let version = await FFmpegVersion.of(program)
            let option = version?.syncOption ?? "-fps_mode"
            invocation.planned.arguments = Self.syncArguments(invocation.planned.arguments, option: option)
            ToolSupport.log("synthset: \(version?.shortName ?? "ffmpeg (its -version did not answer)"): using \(option) vfr"
                            + (option == "-vsync" ? " (-fps_mode needs ffmpeg 5.1)" : ""), to: invocation.logFile)
        }
        let clip = invocation.items.first?.inputs.first.flatMap { invocation.inputs[$0] }?.lastPathComponent ?? "the clip"
        return try await PlannedProcess().runAndCollect(invocation, produced: produced) { output, outcome in
            outcome.succeeded
                ? "ffmpeg wrote no \(output.file.lastPathComponent) (frame \(output.item.frameIndex ?? 0)) for \(clip): the clip has fewer frames than planned"
                : "ffmpeg ended with \(outcome.status) on \(clip) — see log"
        }
    }
}

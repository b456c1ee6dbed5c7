import Foundation
import Planning
import WorkflowSpec

/// `ffmpeg/extract-frames`: one ffmpeg run per clip (a task holds one clip's frames).
///
///     ffmpeg -nostdin -v error -i <clip> -vf 'select=not(mod(n\,EVERY))' -vsync vfr
///         -q:v <quality or 2> -frames:v K <scratch>/f%06d.jpg
///     ffmpeg -nostdin -v error -i <clip> -vf fps=N -q:v 2 -frames:v K <scratch>/f%06d.jpg
///
/// Output file k (1-based) is frame index (k-1)*EVERY (`every:`) or k-1 (`fps:`), which
/// is how the planner numbered the items. K is just enough for the missing frames.
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

    /// The ffmpeg arguments (without the program) for one clip.
    static func arguments(step: Step, clip: URL, outputPattern: URL, frames: Int) -> [String] {
        let filter: [String]
        if let fps = step.frames?.fps {
            filter = ["-vf", "fps=\(formatNumber(fps))"]
        } else {
            // No shell: the filtergraph's own escape (`\,`) stays, the shell quotes do not.
            filter = ["-vf", "select=not(mod(n\\,\(step.frames?.every ?? 1)))", "-vsync", "vfr"]
        }
        var quality = 2
        if case .int(let value)? = step.options["quality"] { quality = value }
        return ["-nostdin", "-v", "error", "-i", clip.path] + filter
            + ["-q:v", String(quality), "-frames:v", String(frames), outputPattern.path]
    }

    /// The 1-based output file number of a planned frame index.
    static func outputNumber(frameIndex: Int, step: Step) -> Int {
        if step.frames?.fps != nil { return frameIndex + 1 }
        return frameIndex / max(1, step.frames?.every ?? 1) + 1
    }

    static func formatNumber(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    public func run(_ invocation: Invocation, produced: @Sendable (ProducedOutput) async -> Void) async throws -> InvocationOutcome {
        let step = invocation.step
        var failures: [String: String] = [:]
        var lastExit: Int32?
        // Normally one clip per task; group anyway so any batch works.
        let clips = ToolSupport.orderedGroups(invocation.items) { $0.inputs.first ?? "" }
        for (index, frames) in clips.enumerated() {
            if Task.isCancelled { throw CancellationError() }
            guard let clipID = frames[0].inputs.first, let clip = invocation.inputs[clipID] else {
                for item in frames { failures[item.id] = "its clip is not available" }
                continue
            }
            let folder = invocation.scratch.appendingPathComponent("clip-\(index + 1)", isDirectory: true)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let numbers = Dictionary(frames.map { ($0.id, Self.outputNumber(frameIndex: $0.frameIndex ?? 0, step: step)) },
                                     uniquingKeysWith: { first, _ in first })
            let needed = numbers.values.max() ?? 1
            let arguments = Self.arguments(step: step, clip: clip, outputPattern: folder.appendingPathComponent("f%06d.jpg"), frames: needed)
            let program = Self.program(invocation.workflow)
            ToolSupport.log("synthset: \(ToolSupport.commandLine([program] + arguments))", to: invocation.logFile)
            let spec = ProcessSpec(executable: program, arguments: arguments,
                                   environment: invocation.workflow.tools[Self.family]?.environment ?? [:],
                                   workingDirectory: invocation.scratch, logFile: invocation.logFile)
            let outcome = try await ProcessRunner.run(spec, gracePeriod: invocation.gracePeriod)
            if case .exited(let code) = outcome.status { lastExit = code }
            for item in frames {
                let number = numbers[item.id]!
                let file = folder.appendingPathComponent(String(format: "f%06d.jpg", number))
                if ToolSupport.exists(file) {
                    await produced(ProducedOutput(itemID: item.id, file: file))
                } else if outcome.succeeded {
                    failures[item.id] = "ffmpeg wrote no output \(number) (frame \(item.frameIndex ?? 0)) for \(clip.lastPathComponent): the clip has fewer frames than planned"
                } else {
                    failures[item.id] = "ffmpeg ended with \(outcome.status) on \(clip.lastPathComponent) — see log"
                }
            }
        }
        return InvocationOutcome(failures: failures, exitCode: lastExit)
    }
}

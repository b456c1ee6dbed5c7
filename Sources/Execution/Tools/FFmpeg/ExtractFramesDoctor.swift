import Foundation
import Planning
import WorkflowSpec

/// `synthset doctor` for ffmpeg/extract-frames: ffmpeg runs, and which variable-frame-rate
/// option this version takes (``FFmpegVersion``).
extension ExtractFramesTool {
    public func doctorChecks(for step: Step, context: DoctorContext) -> [DoctorCheck] {
        let program = FFmpegFramesAdapter.program(context.workflow)
        return [DoctorCheck("ffmpeg: \(program)") {
            guard ToolSupport.findExecutable(program) != nil else {
                return .failed("'\(program)' was not found", fix: "install ffmpeg: apt-get install ffmpeg (or brew install ffmpeg), or set tools.ffmpeg.program to its path")
            }
            guard let version = await FFmpegVersion.of(program) else {
                return .failed("'\(program) -version' failed", fix: "run \(program) -version to see why; reinstall ffmpeg")
            }
            return .ok("\(version.line) (frames use \(version.syncOption) vfr)")
        }]
    }
}

import Datasets
import Foundation

extension MediaProbe {
    /// ffprobe's location, if it is installed.
    static let ffprobe: String? = ToolSupport.findExecutable("ffprobe")

    /// The number of video frames in a clip (packets of its first video stream, so
    /// nothing is decoded), or nil when ffprobe is not installed. Throws when ffprobe
    /// cannot read the file.
    public static func videoFrames(_ url: URL) async throws -> Int? {
        guard let ffprobe else { return nil }
        let probe = try await ProcessRunner.capture(
            ffprobe, arguments: ["-v", "error", "-select_streams", "v:0", "-count_packets",
                                 "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", url.path],
            limit: 4096)
        guard probe.succeeded, let frames = Int(probe.text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw OutputRejected(description: "\(url.lastPathComponent) is not a readable video (ffprobe could not count its frames)")
        }
        return frames
    }
}

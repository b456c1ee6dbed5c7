/// What a `command` step's files are, judged by their extension, so a command that
/// writes images or clips can feed steps that take images or videos.
extension CommandSpec {
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff"]
    public static let videoExtensions: Set<String> = ["mp4", "mov", "mkv", "webm", "avi"]

    /// `.image` or `.video` for media extensions (any case), else `.file`.
    public var outputKind: ToolKind.Output {
        let ext = outputExtension.lowercased()
        if Self.imageExtensions.contains(ext) { return .image }
        if Self.videoExtensions.contains(ext) { return .video }
        return .file
    }
}

extension Step {
    /// What one item of this step is: the tool's output, or for `command` what its
    /// extension says.
    public var outputKind: ToolKind.Output {
        if let command { return command.outputKind }
        return tool.output
    }
}

import Foundation

/// The installed ffmpeg's version, read once per run (per program) from `ffmpeg -version`:
/// it decides how frame extraction asks for variable frame rate output.
///
/// `-fps_mode` exists from ffmpeg 5.1 (libavfilter 8.44, 2022) and `-vsync` was removed
/// in ffmpeg 9 (deprecated since 5.1), so no one spelling works from 5.1 through 9:
/// ``syncOption`` picks `-fps_mode` from 5.1 on and `-vsync` before. A version synthset
/// cannot read (a git build, `N-112345-g…`) is taken as new.
struct FFmpegVersion: Sendable, Equatable {
    /// The first line of `ffmpeg -version` (`ffmpeg version 6.1.1-3ubuntu5 Copyright …`).
    var line: String
    var major: Int?
    var minor: Int?

    /// Parses the first line of `ffmpeg -version`: `ffmpeg version 6.1.1`, `n7.0.2`, `9.0`.
    init(line: String) {
        self.line = line
        let words = line.split(separator: " ")
        guard let index = words.firstIndex(of: "version"), index + 1 < words.count else { return }
        var word = Substring(words[index + 1])
        if word.first == "n" { word = word.dropFirst() }
        let numbers = word.prefix { $0.isNumber || $0 == "." }.split(separator: ".").map { Int($0) }
        major = numbers.first ?? nil
        minor = numbers.count > 1 ? numbers[1] : (major == nil ? nil : 0)
    }

    /// Whether `-fps_mode` exists (5.1 or later, or a version that cannot be read).
    var hasFPSMode: Bool {
        guard let major else { return true }
        return major > 5 || (major == 5 && (minor ?? 0) >= 1)
    }

    /// `-fps_mode` or `-vsync`, whichever this ffmpeg takes.
    var syncOption: String { hasFPSMode ? "-fps_mode" : "-vsync" }

    /// The version as the task log shows it.
    var shortName: String {
        guard let major else { return "ffmpeg of unknown version ('\(line)')" }
        return "ffmpeg \(major).\(minor ?? 0)"
    }

    /// The version of `program`, read once for this process (one run) and shared by every
    /// task and the lock file; nil when it does not run.
    static func of(_ program: String) async -> FFmpegVersion? {
        await cache.version(of: program)
    }

    private static let cache = Cache()

    private actor Cache {
        var probes: [String: Task<FFmpegVersion?, Never>] = [:]

        func version(of program: String) async -> FFmpegVersion? {
            if let probe = probes[program] { return await probe.value }
            let probe = Task { () -> FFmpegVersion? in
                ToolVersions.firstLine(await ToolVersions.run(program, ["-version"])).map(FFmpegVersion.init(line:))
            }
            probes[program] = probe
            return await probe.value
        }
    }
}

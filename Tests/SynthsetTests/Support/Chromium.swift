@testable import Execution
import Foundation

/// Debian's `chromium`, headless, for the report's browser tests. The tests need it:
/// `scripts/test.sh` installs it, and without it they fail (never skip) with that hint.
enum Chromium {
    static var executable: URL {
        get throws {
            let environment = ProcessInfo.processInfo.environment
            if let named = environment["SYNTHSET_CHROMIUM"], FileManager.default.isExecutableFile(atPath: named) {
                return URL(fileURLWithPath: named)
            }
            for name in ["chromium", "chromium-browser", "google-chrome"] {
                if let found = ToolSupport.findExecutable(name) { return URL(fileURLWithPath: found) }
            }
            throw TestSupport.SupportError("chromium is not installed: 'apt-get install chromium' (scripts/test.sh does it), or set SYNTHSET_CHROMIUM")
        }
    }

    struct Page {
        /// The DOM after the page's scripts ran (`--dump-dom`).
        var dom: String
        /// Console lines Chromium logged (`INFO:CONSOLE`), uncaught errors among them.
        var console: [String]

        var uncaughtErrors: [String] { console.filter { $0.contains("\"Uncaught ") } }

        /// Occurrences of a literal string in the DOM.
        func count(_ text: String) -> Int { dom.components(separatedBy: text).count - 1 }

        /// The value of `attribute` on the first element with `id`.
        func attribute(_ attribute: String, ofElement id: String) -> String? {
            guard let start = dom.range(of: "id=\"\(id)\"") else { return nil }
            let tagStart = dom[..<start.lowerBound].lastIndex(of: "<") ?? start.lowerBound
            let tagEnd = dom[start.upperBound...].firstIndex(of: ">") ?? dom.endIndex
            let tag = dom[tagStart..<tagEnd]
            guard let found = tag.range(of: " \(attribute)=\"") else { return nil }
            return String(tag[found.upperBound...].prefix { $0 != "\"" })
        }

        /// The `<body>` start tag's attribute, or nil.
        func bodyAttribute(_ attribute: String) -> String? {
            guard let start = dom.range(of: "<body") else { return nil }
            let tag = dom[start.lowerBound..<(dom[start.upperBound...].firstIndex(of: ">") ?? dom.endIndex)]
            guard let found = tag.range(of: " \(attribute)=\"") else { return nil }
            return String(tag[found.upperBound...].prefix { $0 != "\"" })
        }
    }

    static func common(profile: URL) -> [String] {
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
         "--user-data-dir=\(profile.path)", "--enable-logging=stderr", "--v=0"]
    }

    /// Loads `url` (a `file://` URL, fragment allowed) and returns its DOM and console.
    /// `virtualTime` (ms) lets the page's timers run before the dump.
    static func load(_ url: String, windowSize: String = "1280,900", virtualTime: Int? = nil) async throws -> Page {
        let profile = try TestSupport.temporaryDirectory("chromium-profile")
        defer { try? FileManager.default.removeItem(at: profile) }
        let budget = virtualTime.map { ["--virtual-time-budget=\($0)"] } ?? []
        let result = try await TestSupport.run(common(profile: profile) + budget + ["--window-size=\(windowSize)", "--dump-dom", url],
                                               in: profile, program: try executable)
        guard result.status == 0, result.stdout.contains("<html") else {
            throw TestSupport.SupportError("chromium --dump-dom exited \(result.status):\n\(result.stderr.suffix(2000))")
        }
        let console = result.stderr.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init)
        return Page(dom: result.stdout, console: console)
    }

    /// Saves a PNG screenshot of `url` at `file`.
    static func screenshot(_ url: String, to file: URL, windowSize: String = "1280,900") async throws {
        let profile = try TestSupport.temporaryDirectory("chromium-profile")
        defer { try? FileManager.default.removeItem(at: profile) }
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: file)
        let result = try await TestSupport.run(common(profile: profile) + ["--window-size=\(windowSize)", "--screenshot=\(file.path)", url],
                                               in: profile, program: try executable)
        guard result.status == 0, FileManager.default.fileExists(atPath: file.path) else {
            throw TestSupport.SupportError("chromium --screenshot exited \(result.status):\n\(result.stderr.suffix(2000))")
        }
    }
}

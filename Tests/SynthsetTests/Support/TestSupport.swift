import Foundation
import Testing

/// Running the built `synthset` binary (or any program) on workflows in temporary
/// folders. Every wait is asynchronous: the suites share a cooperative pool as wide as
/// the machine's cores (2 here), and a blocked thread stalls other suites' timing checks.
enum TestSupport {
    /// The package root, from this file's location.
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The debug `synthset` binary that `swift build` made.
    static var binary: URL {
        get throws {
            let url = packageRoot.appendingPathComponent(".build/debug/synthset")
            guard FileManager.default.isExecutableFile(atPath: url.path) else {
                throw SupportError("no synthset binary at \(url.path); run 'swift build' before the tests (scripts/test.sh does)")
            }
            return url
        }
    }

    struct SupportError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// A fresh folder under the system's temporary directory.
    static func temporaryDirectory(_ name: String = "synthset-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        /// Both streams, stdout first.
        var output: String { stdout + stderr }
    }

    /// A started process whose output goes to files (so a killed child cannot block a pipe).
    struct Launched {
        var process: Process
        var stdout: URL
        var stderr: URL

        /// Waits for the process to end without blocking a thread.
        func wait() async {
            while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
        }

        func result() async -> Result {
            await wait()
            return Result(status: process.terminationStatus,
                          stdout: (try? String(contentsOf: stdout, encoding: .utf8)) ?? "",
                          stderr: (try? String(contentsOf: stderr, encoding: .utf8)) ?? "")
        }
    }

    /// Starts `program` (default: `synthset`) in `directory`.
    static func launch(_ arguments: [String], in directory: URL, environment: [String: String] = [:],
                       program: URL? = nil) throws -> Launched {
        let process = Process()
        process.executableURL = try program ?? binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        process.environment = env
        let logs = try temporaryDirectory("output")
        let out = logs.appendingPathComponent("stdout")
        let err = logs.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return Launched(process: process, stdout: out, stderr: err)
    }

    /// Runs `program` (default: `synthset`) to completion.
    static func run(_ arguments: [String], in directory: URL, environment: [String: String] = [:],
                    program: URL? = nil) async throws -> Result {
        try await launch(arguments, in: directory, environment: environment, program: program).result()
    }

    /// Writes an executable script.
    static func script(_ text: String, at url: URL) throws {
        try text.write(to: url, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
    }

    /// Every regular file under `folder` (relative path) with its bytes.
    static func files(under folder: URL) -> [String: Data] {
        var result: [String: Data] = [:]
        guard let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]) else { return result }
        let base = folder.standardizedFileURL.path + "/"
        for case let url as URL in enumerator where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            result[String(url.standardizedFileURL.path.dropFirst(base.count))] = try? Data(contentsOf: url)
        }
        return result
    }

    /// JSON event lines of `run --json`.
    static func events(_ stdout: String) -> [[String: Any]] {
        stdout.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }
}

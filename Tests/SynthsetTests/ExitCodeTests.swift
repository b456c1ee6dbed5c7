import ArgumentParser
import Execution
import Foundation
import GRDB
@testable import SynthsetCLI
import Testing
import WorkspaceStore

/// One mapping decides every exit code: usage errors and unusable workspaces exit 2 with a
/// message that says what to do, bugs exit 70 and say they are bugs. End to end on the
/// built binary where the error can be caused from outside, the mapping itself otherwise.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ExitCodeTests {
    static let recipe = """
        version: 1
        name: exits
        steps:
          scenes:
            uses: procedural/scenes
            seeds: 0..2
            size: [64, 48]
            objects:
              can: { shape: cylinder, colors: [red], size: [0.2, 0.4], count: [1, 1] }
        """

    /// A folder with the recipe as `w.yaml`.
    static func folder(_ name: String) throws -> URL {
        let dir = try TestSupport.temporaryDirectory(name)
        try recipe.write(to: dir.appendingPathComponent("w.yaml"), atomically: true, encoding: .utf8)
        return dir
    }

    struct UsageCase: CustomTestStringConvertible, Sendable {
        var arguments: [String]
        /// Text ArgumentParser's message must contain.
        var says: String
        var testDescription: String { arguments.joined(separator: " ") }
    }

    static let usageCases: [UsageCase] = [
        UsageCase(arguments: ["run"], says: "Missing expected argument '<workflow>'"),
        UsageCase(arguments: ["plan", "w.yaml", "--format", "svg"], says: "'svg'"),
        UsageCase(arguments: ["run", "w.yaml", "--jobs", "0"], says: "--jobs must be between 1 and"),
        UsageCase(arguments: ["clean", "w.yaml"], says: "--orphans or --all"),
        UsageCase(arguments: ["frobnicate"], says: "frobnicate"),
    ]

    @Test("A usage error exits 2 (not ArgumentParser's 64) with the problem and the usage, and writes nothing",
          arguments: usageCases)
    func usageErrorsExit2(_ usage: UsageCase) async throws {
        let dir = try Self.folder("usage")
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try await TestSupport.run(usage.arguments, in: dir)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("error: "), "\(result.stderr)")
        #expect(result.stderr.contains(usage.says), "\(result.stderr)")
        #expect(result.stderr.contains("Usage: synthset"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent(".synthset").path))
    }

    @Test("--help and --version still exit 0 and print on stdout")
    func helpExits0() async throws {
        let dir = try TestSupport.temporaryDirectory("help")
        defer { try? FileManager.default.removeItem(at: dir) }
        let help = try await TestSupport.run(["run", "--help"], in: dir)
        #expect(help.status == 0)
        #expect(help.stdout.contains("USAGE: synthset run [<options>] <workflow>"), "\(help.stdout)")
        let version = try await TestSupport.run(["--version"], in: dir)
        #expect(version.status == 0)
        #expect(version.stdout == SynthsetCommand.version + "\n")
    }

    @Test("A damaged state.db exits 2 with the path and how to recover, for run and status, and is left as it was")
    func damagedStore() async throws {
        let dir = try Self.folder("damaged-store")
        defer { try? FileManager.default.removeItem(at: dir) }
        let workspace = dir.appendingPathComponent(".synthset/exits")
        try FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true)
        let store = workspace.appendingPathComponent("state.db")
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
        try garbage.write(to: store)
        for verb in ["run", "status"] {
            let result = try await TestSupport.run([verb, "w.yaml"], in: dir)
            #expect(result.status == 2, "\(verb): \(result.stderr)")
            #expect(result.stderr.contains("error: the checkpoint database \(store.path) is damaged"), "\(verb): \(result.stderr)")
            #expect(result.stderr.contains("move it aside"), "\(verb): \(result.stderr)")
            #expect(!result.stderr.contains("internal error"), "\(verb): \(result.stderr)")
        }
        #expect(try Data(contentsOf: store) == garbage)
        #expect(!FileManager.default.fileExists(atPath: workspace.appendingPathComponent("outputs/scenes").path))
    }

    @Test("A workspace path that is a regular file exits 2 saying so, without Foundation's error text")
    func workspaceIsAFile() async throws {
        let dir = try Self.folder("workspace-file")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("notes.txt")
        try Data("keep me\n".utf8).write(to: file)
        let result = try await TestSupport.run(["run", "w.yaml", "--workspace", "notes.txt"], in: dir)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("error: the workspace \(file.path) is a file, not a folder; pass --workspace"), "\(result.stderr)")
        #expect(!result.stderr.contains("NSCocoaErrorDomain") && !result.stderr.contains("Error Domain"), "\(result.stderr)")
        #expect(try String(contentsOf: file, encoding: .utf8) == "keep me\n")
    }

    @Test("A workspace that cannot be created (a file where a parent folder should be) exits 2 with a hint")
    func workspaceCannotBeCreated() async throws {
        let dir = try Self.folder("workspace-parent")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("x".utf8).write(to: dir.appendingPathComponent("blocker"))
        let result = try await TestSupport.run(["run", "w.yaml", "--workspace", "blocker/ws"], in: dir)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("error: cannot create the workspace folder \(dir.path)/blocker/ws: Not a directory;"),
                "\(result.stderr)")
        #expect(result.stderr.contains("check that the workspace is writable"), "\(result.stderr)")
        #expect(!result.stderr.contains("Error Domain"), "\(result.stderr)")
    }

    // MARK: The mapping itself (errors the binary cannot be made to throw from outside)

    struct Unexpected: Error {}

    @Test("An error nobody expected is an internal error: exit 70, called a bug, with what to report")
    func unexpectedErrorIsABug() {
        let outcome = ErrorMapping.classify(Unexpected())
        #expect(outcome == .internalError(String(reflecting: Unexpected())))
        #expect(outcome.exitCode == 70)
        let message = outcome.message ?? ""
        #expect(message.hasPrefix("internal error: "))
        #expect(message.contains("This is a bug in synthset \(SynthsetCommand.version)"))
        #expect(message.contains("Please report it with the command line, the recipe"))
        // The executor names only runs it recorded: an unknown one is our bug too.
        #expect(ErrorMapping.classify(CheckpointStoreError.unknownRun(7)).exitCode == 70)
    }

    @Test("Each kind of error gets its code")
    func codesByKind() {
        #expect(ErrorMapping.classify(ValidationError("--grace must be a number")).exitCode == 2)
        if case .usage(let message) = ErrorMapping.classify(ValidationError("--grace must be a number")) {
            #expect(message.hasPrefix("error: --grace must be a number"))
        } else {
            Issue.record("a ValidationError thrown by a command is a usage error")
        }
        #expect(ErrorMapping.classify(CancellationError()) == .interrupted)
        #expect(CommandError.interrupted.exitCode == 130)
        #expect(ErrorMapping.classify(CommandError.failedItems).exitCode == 1)
        let notAFolder = WorkspaceError.notAFolder(path: "/x")
        #expect(ErrorMapping.classify(notAFolder) == .workspace(notAFolder.description))
        let damaged = CheckpointStoreError.damaged(path: "/x/state.db", reason: "file is not a database")
        #expect(ErrorMapping.classify(damaged) == .workspace(damaged.description))
        #expect(ErrorMapping.classify(WorkspaceError.cannotWrite(path: "/x", reason: "Read-only file system")).exitCode == 2)
        #expect(ErrorMapping.classify(CocoaError(.fileWriteOutOfSpace)).exitCode == 2)
        // The database library's errors are the store's: a full disk is a workspace problem, not a bug.
        let full = ErrorMapping.classify(DatabaseError(resultCode: .SQLITE_FULL, message: "database or disk is full"))
        #expect(full == .workspace("the checkpoint database failed: database or disk is full; check free disk space and that the workspace is writable"))
        #expect(!ErrorMapping.isCleanExit(CommandError.invalidInput))
    }
}

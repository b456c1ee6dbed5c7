import Foundation
import Testing

/// The smaller verbs and behaviours of the CLI, on the built binary.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct CLITests {
    static func write(_ text: String, to url: URL) throws {
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    static func procedural(seeds: String, name: String = "cli") -> String {
        """
        version: 1
        name: \(name)
        steps:
          scenes:
            uses: procedural/scenes
            seeds: \(seeds)
            size: [320, 240]
            max_batch: 5
            objects:
              can: { shape: cylinder, colors: [red, blue], size: [0.2, 0.4], count: [1, 3] }
        """
    }

    @Test("A second run on a locked workspace exits 2 naming the holder's pid")
    func secondRunIsRefused() async throws {
        let dir = try TestSupport.temporaryDirectory("lock")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.write(Self.procedural(seeds: "0..3999"), to: dir.appendingPathComponent("w.yaml"))
        let launched = try TestSupport.launch(["run", "w.yaml"], in: dir)
        let first = launched.process
        defer { if first.isRunning { first.terminate() } }
        let lockFile = dir.appendingPathComponent(".synthset/cli/run.lock")
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, ((try? Data(contentsOf: lockFile))?.count ?? 0) == 0 { try await Task.sleep(for: .milliseconds(50)) }
        let second = try await TestSupport.run(["run", "w.yaml"], in: dir)
        #expect(first.isRunning, "the first run ended before the second started")
        #expect(second.status == 2)
        #expect(second.stderr.contains("pid \(first.processIdentifier)"), "\(second.stderr)")
        #expect(second.stderr.contains("started"), "\(second.stderr)")
        first.terminate()
        await launched.wait()
    }

    @Test("clean --orphans removes outputs the plan no longer has and keeps the rest")
    func cleanOrphans() async throws {
        let dir = try TestSupport.temporaryDirectory("clean")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("w.yaml")
        try Self.write(Self.procedural(seeds: "0..9"), to: file)
        #expect(try await TestSupport.run(["run", "w.yaml"], in: dir).status == 0)
        let outputs = dir.appendingPathComponent(".synthset/cli/outputs/scenes")
        let before = Set(try FileManager.default.contentsOfDirectory(atPath: outputs.path))
        #expect(before.count == 20)

        try Self.write(Self.procedural(seeds: "0..4"), to: file)
        let dry = try await TestSupport.run(["clean", "w.yaml", "--orphans", "--dry-run"], in: dir)
        #expect(dry.status == 0)
        #expect(dry.stdout.contains("10 orphaned outputs"), "\(dry.stdout)")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: outputs.path)) == before)

        let clean = try await TestSupport.run(["clean", "w.yaml", "--orphans"], in: dir)
        #expect(clean.status == 0, "\(clean.stderr)")
        let after = Set(try FileManager.default.contentsOfDirectory(atPath: outputs.path))
        #expect(after.count == 10)
        #expect(after.isSubset(of: before))
        let rerun = try await TestSupport.run(["run", "w.yaml", "--json"], in: dir)
        #expect(TestSupport.events(rerun.stdout).filter { $0["event"] as? String == "item_done" }.isEmpty,
                "cleaning orphans made kept items run again")
    }

    @Test("Without a TTY, progress is plain lines and the summary says where the outputs are")
    func plainProgress() async throws {
        let dir = try TestSupport.temporaryDirectory("plain")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.write(Self.procedural(seeds: "0..19"), to: dir.appendingPathComponent("w.yaml"))
        let result = try await TestSupport.run(["run", "w.yaml"], in: dir)
        #expect(result.status == 0)
        #expect(!result.stderr.contains("\u{1B}["), "escape codes without a TTY")
        #expect(result.stderr.contains("scenes  [########################] 20/20"), "\(result.stderr)")
        #expect(result.stderr.contains("outputs in "), "\(result.stderr)")
        let status = try await TestSupport.run(["status", "w.yaml"], in: dir)
        #expect(status.stdout.contains("20/20"), "\(status.stdout)")
    }

    @Test("Bad input exits 2 with a located message and writes nothing")
    func invalidManifestWritesNothing() async throws {
        let dir = try TestSupport.temporaryDirectory("invalid")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.write(Self.procedural(seeds: "0..9").replacingOccurrences(of: "max_batch: 5", with: "max_batch: 5\n    colour: red"),
                       to: dir.appendingPathComponent("w.yaml"))
        for verb in ["validate", "plan", "run"] {
            let result = try await TestSupport.run([verb, "w.yaml"], in: dir)
            #expect(result.status == 2, "\(verb): \(result.stderr)")
            #expect(result.stderr.contains("w.yaml:9:5: error: unknown key 'colour' in step 'scenes'"), "\(verb): \(result.stderr)")
        }
        let entries = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !$0.hasPrefix(".stdout") && !$0.hasPrefix(".stderr") }
        #expect(entries == ["w.yaml"], "bad input wrote \(entries)")
    }
}

/// Every invalid fixture, through the CLI: exit 2 and the located message on stderr.
@Suite(.timeLimit(.minutes(3)))
struct ValidateCommandTests {
    @Test(arguments: invalidCases)
    func fixtureFailsWithLocatedMessage(_ item: InvalidCase) async throws {
        let result = try await TestSupport.run(["validate", item.fixture], in: fixturesDirectory)
        #expect(result.status == 2, "\(item.fixture): \(result.stderr)")
        let file = item.inFile ?? item.fixture
        #expect(result.stderr.contains("\(file):\(item.line):\(item.column): error: "), "\(result.stderr)")
        #expect(result.stderr.contains(item.message), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }
}

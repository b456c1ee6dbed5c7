import Foundation
import Testing

/// `run --dry-run`, `--until`, `--forcerun`, and `--only` with missing inputs, on the
/// built binary with a small procedural recipe.
@Suite struct RunScopeTests {
    static let recipe = """
        version: 1
        name: scope
        steps:
          scenes:
            uses: procedural/scenes
            seeds: 0..5
            size: [64, 48]
            objects: { can: { shape: cylinder } }
          dataset:
            uses: export
            from: scenes
            formats: [yolo]
        """

    func folder(_ name: String) throws -> URL {
        let dir = try TestSupport.temporaryDirectory(name)
        try Self.recipe.write(to: dir.appendingPathComponent("scope.yaml"), atomically: true, encoding: .utf8)
        return dir
    }

    static func produced(_ result: TestSupport.Result) -> [String] {
        TestSupport.events(result.stdout).filter { $0["event"] as? String == "item_done" }
            .compactMap { ($0["data"] as? [String: Any])?["step"] as? String }
    }

    @Test func dryRunShowsTheWorkAndWritesNothing() async throws {
        let dir = try folder("dry")
        defer { try? FileManager.default.removeItem(at: dir) }
        let before = TestSupport.files(under: dir)
        let dry = try await TestSupport.run(["run", "scope.yaml", "--dry-run"], in: dir)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("would make 7 items in 2 invocations"), "\(dry.stdout)")
        #expect(dry.stdout.contains("scenes") && dry.stdout.contains("dataset"))
        #expect(TestSupport.files(under: dir) == before, "a dry run writes nothing")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent(".synthset").path))

        let run = try await TestSupport.run(["run", "scope.yaml"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        let after = TestSupport.files(under: dir.appendingPathComponent(".synthset/scope/outputs"))
        let again = try await TestSupport.run(["run", "scope.yaml", "--dry-run", "--json"], in: dir)
        #expect(again.status == 0)
        let work = try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any]
        #expect(work?["items"] as? Int == 0)
        #expect(TestSupport.files(under: dir.appendingPathComponent(".synthset/scope/outputs")) == after)
    }

    @Test func untilMakesWhatAStepNeedsAndStops() async throws {
        let dir = try folder("until")
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try await TestSupport.run(["run", "scope.yaml", "--until", "scenes", "--json"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(Self.produced(run).filter { $0 == "scenes" }.count == 6)
        #expect(!Self.produced(run).contains("dataset"))
        let plan = try await TestSupport.run(["plan", "scope.yaml"], in: dir)
        #expect(plan.stdout.contains("6 of 7 items done; still to do: 1 item in 1 invocation"), "\(plan.stdout)")
    }

    @Test func forcerunRedoesAStepAndWhatDependsOnIt() async throws {
        let dir = try folder("force")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try await TestSupport.run(["run", "scope.yaml"], in: dir).status == 0)
        let nothing = try await TestSupport.run(["run", "scope.yaml", "--json"], in: dir)
        #expect(Self.produced(nothing).isEmpty)
        let dataset = try await TestSupport.run(["run", "scope.yaml", "--forcerun", "dataset", "--json"], in: dir)
        #expect(dataset.status == 0, "\(dataset.stderr)")
        #expect(Self.produced(dataset) == ["dataset"])
        let all = try await TestSupport.run(["run", "scope.yaml", "--forcerun", "scenes", "--json"], in: dir)
        #expect(all.status == 0, "\(all.stderr)")
        #expect(Self.produced(all).filter { $0 == "scenes" }.count == 6)
        #expect(Self.produced(all).filter { $0 == "dataset" }.count == 1)
    }

    @Test func onlyWithMissingInputsIsAnErrorNamingThem() async throws {
        let dir = try folder("only")
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try await TestSupport.run(["run", "scope.yaml", "--only", "dataset"], in: dir)
        #expect(run.status == 2)
        #expect(run.stderr.contains("--only dataset: its inputs are not made yet (6 from step 'scenes')"), "\(run.stderr)")
        #expect(run.stderr.contains("--until dataset"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent(".synthset").path))
        let unknown = try await TestSupport.run(["run", "scope.yaml", "--forcerun", "scens"], in: dir)
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("unknown step in --forcerun: scens"), "\(unknown.stderr)")
    }

    @Test func initWritesAStarterThatValidates() async throws {
        let dir = try TestSupport.temporaryDirectory("init")
        defer { try? FileManager.default.removeItem(at: dir) }
        for template in ["procedural", "can-factory"] {
            let written = try await TestSupport.run(["init", "\(template).yaml", "--from", template], in: dir)
            #expect(written.status == 0, "\(written.stderr)")
            let text = try String(contentsOf: dir.appendingPathComponent("\(template).yaml"), encoding: .utf8)
            #expect(text.hasPrefix("# yaml-language-server: $schema="))
            let validate = try await TestSupport.run(["validate", "\(template).yaml"], in: dir)
            #expect(validate.status == 0, "\(template): \(validate.output)")
        }
        let again = try await TestSupport.run(["init", "procedural.yaml"], in: dir)
        #expect(again.status == 2)
        #expect(again.stderr.contains("never overwrites"))
    }
}

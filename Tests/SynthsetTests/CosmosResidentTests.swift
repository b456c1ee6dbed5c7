import Foundation
import Testing

/// `runner: resident` for Cosmos-Predict2 against the stand-in checkout, whose
/// text2image.py and video2world.py have upstream's importable functions (cosmos-predict2
/// 661da47) and log every pipeline build to `loads.jsonl`.
@Suite(.serialized) struct CosmosResidentTests {
    typealias Fixture = CosmosAdapterTests.Fixture

    /// 2 prompts with negative "blurry", 2 with "dark", 3 seeds: 12 images, 6 (seed,
    /// negative) pairs.
    static func workflow(_ root: URL, runner: String, extra: String = "") -> String {
        """
        version: 1
        name: resident
        hardware: { gpu: h100-sxm }
        tools:
          cosmos-predict2: { root: \(root.path), python: python3 }
        prompts:
          orange: { template: "Orange cans {v}", vars: { v: [on a belt, in a crate] }, negative: blurry }
          blue: { template: "Blue cans {v}", vars: { v: [on a belt, in a crate] }, negative: dark }
        steps:
          images:
            uses: cosmos-predict2/text2image
            runner: \(runner)
            prompts: [orange, blue]
            seeds: [0, 1, 2]
        \(extra)
        """
    }

    static func lines(_ file: URL) throws -> [[String: Any]] {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    static func loads(_ fixture: Fixture) throws -> [[String: Any]] {
        try lines(fixture.root.appendingPathComponent("loads.jsonl"))
    }

    @Test func threeSeedsTimesTwoNegativesLoadOnceWithTheCLIsImages() async throws {
        let resident = try Fixture { Self.workflow($0, runner: "resident") }
        let cli = try Fixture { Self.workflow($0, runner: "cli") }
        defer {
            try? FileManager.default.removeItem(at: resident.directory)
            try? FileManager.default.removeItem(at: cli.directory)
        }
        let residentRun = try await resident.run()
        #expect(residentRun.status == 0, "\(residentRun.stderr)")
        let cliRun = try await cli.run()
        #expect(cliRun.status == 0, "\(cliRun.stderr)")

        #expect(try Self.loads(resident).count == 1)
        #expect(try Self.loads(cli).count == 6)  // one per (seed, negative prompt)
        // The same item ids (file names) and the same bytes, image and prompt sidecar.
        let images = resident.files("images", ext: "jpg")
        #expect(images.count == 12)
        #expect(images == cli.files("images", ext: "jpg"))
        for ext in ["jpg", "txt"] {
            for name in resident.files("images", ext: ext) {
                let a = try Data(contentsOf: resident.workspace.appendingPathComponent("outputs/images/\(name)"))
                let b = try Data(contentsOf: cli.workspace.appendingPathComponent("outputs/images/\(name)"))
                #expect(a == b, "\(name) differs between the runners")
            }
        }
        // Each seeded call got its own negative prompt (the sidecars say which).
        let negatives = try resident.files("images", ext: "txt").map {
            try String(contentsOf: resident.workspace.appendingPathComponent("outputs/images/\($0)"), encoding: .utf8)
        }
        #expect(negatives.filter { $0.contains("[Negative Prompt]\nblurry") }.count == 6)
        #expect(negatives.filter { $0.contains("[Negative Prompt]\ndark") }.count == 6)
        // The CLI ran examples/text2image.py; the resident worker never did.
        #expect(try resident.invocations().isEmpty)
        #expect(try cli.invocations().count == 6)
    }

    @Test func aKilledWorkerIsRetriedWithOnlyTheUnansweredItems() async throws {
        let fixture = try Fixture { Self.workflow($0, runner: "resident").replacingOccurrences(of: "    seeds: [0, 1, 2]", with: "    seeds: [0, 1, 2]\n    retries: 1") }
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        // The first worker is SIGKILLed after its 5th image.
        try Data("5".utf8).write(to: fixture.root.appendingPathComponent("die_after"))
        let result = try await fixture.run()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(fixture.files("images", ext: "jpg").count == 12)

        let loads = try Self.loads(fixture)
        #expect(loads.count == 2)  // the killed worker and its replacement
        let generations = try Self.lines(fixture.root.appendingPathComponent("generations.jsonl"))
        let pids = loads.compactMap { $0["pid"] as? Int }
        let first = generations.filter { $0["pid"] as? Int == pids.first }.compactMap { $0["output"] as? String }
        let second = generations.filter { $0["pid"] as? Int == pids.last }.compactMap { $0["output"] as? String }
        #expect(first.count == 5)
        #expect(second.count == 7)  // only the items the killed worker had not answered
        #expect(Set(first).isDisjoint(with: second))

        // A second run has nothing left to do: no worker starts.
        let again = try await fixture.run()
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try Self.loads(fixture).count == 2)
    }

    @Test func aHungItemTimesOutAndTheRestAreRetried() async throws {
        let fixture = try Fixture { root in
            Self.workflow(root, runner: "resident")
                .replacingOccurrences(of: "python: python3 }", with: "python: python3, env: { SYNTHSET_ITEM_TIMEOUT: \"2\" } }")
                .replacingOccurrences(of: "    seeds: [0, 1, 2]", with: "    seeds: [0, 1, 2]\n    retries: 1")
        }
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        try Data("3".utf8).write(to: fixture.root.appendingPathComponent("hang_after"))
        let result = try await fixture.run()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(fixture.files("images", ext: "jpg").count == 12)
        #expect(try Self.loads(fixture).count == 2)
        let generations = try Self.lines(fixture.root.appendingPathComponent("generations.jsonl"))
        #expect(generations.count == 12)  // 2 before the hang, the other 10 by the second worker
        let logs = try FileManager.default.subpathsOfDirectory(atPath: fixture.workspace.path).filter { $0.hasSuffix(".log") }
        let text = logs.compactMap { try? String(contentsOf: fixture.workspace.appendingPathComponent($0), encoding: .utf8) }.joined()
        #expect(text.contains("timed out after 2 s"), "\(logs)")
    }

    @Test func anIncompatibleModuleIsRefusedBeforeAnyLoad() async throws {
        let fixture = try Fixture { Self.workflow($0, runner: "resident") }
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        // An older example script: process_single_generation without aspect_ratio, ...
        let script = fixture.root.appendingPathComponent("examples/text2image.py")
        let text = try String(contentsOf: script, encoding: .utf8)
        let old = "def process_single_generation(pipe, prompt, output_path, negative_prompt, aspect_ratio, seed, use_cuda_graphs, benchmark):"
        #expect(text.contains(old))
        try text.replacingOccurrences(of: old, with: "def process_single_generation(pipe, prompt, output_path, negative_prompt, seed, use_cuda_graphs=False, benchmark=False, aspect_ratio=None, size=None, *, style):")
            .write(to: script, atomically: true, encoding: .utf8)
        let result = try await fixture.run()
        #expect(result.status != 0)
        #expect(try Self.loads(fixture).isEmpty)
        #expect(fixture.files("images", ext: "jpg").isEmpty)
        let report = result.stdout + result.stderr
        #expect(report.contains("process_single_generation() requires style"), "\(report)")
        #expect(report.contains("runner: cli"), "\(report)")
    }

    @Test func planShowsBothRunnersFigures() async throws {
        let fixture = try Fixture { Self.workflow($0, runner: "resident") }
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let plan = try await Synthset.run(["plan", fixture.workflow.path])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("step 'images': resident: 1 load, "), "\(plan.stdout)")
        #expect(plan.stdout.contains("; cli: 6 loads, "), "\(plan.stdout)")
        let json = try await Synthset.run(["plan", fixture.workflow.path, "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let step = try #require((object["steps"] as? [[String: Any]])?.first)
        #expect(step["model_loads"] as? Int == 1)
        let alternative = try #require(step["alternative_runner"] as? [String: Any])
        #expect(alternative["alternative"] as? String == "cli")
        #expect(alternative["model_loads"] as? Int == 6)
        #expect((alternative["gpu_hours"] as? Double ?? 0) > (step["gpu_hours"] as? Double ?? 0))
    }

    @Test func residentSplitsItemsOverGPUsAndHonoursMaxBatch() async throws {
        let fixture = try Fixture { Self.workflow($0, runner: "resident") }
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let four = try await Synthset.run(["plan", fixture.workflow.path, "--gpus", "4"])
        #expect(four.stdout.contains("step 'images': resident: 4 loads, "), "\(four.stdout)")
        let batched = try Fixture { Self.workflow($0, runner: "resident").replacingOccurrences(of: "    seeds: [0, 1, 2]", with: "    seeds: [0, 1, 2]\n    max_batch: 5") }
        defer { try? FileManager.default.removeItem(at: batched.directory) }
        let plan = try await Synthset.run(["plan", batched.workflow.path])
        #expect(plan.stdout.contains("step 'images': resident: 3 loads, "), "\(plan.stdout)")
    }

    @Test func canFactoryPlansOneLoadPerModelPerGPU() async throws {
        var recipe = try String(contentsOf: TestSupport.packageRoot.appendingPathComponent("workflows/can-factory.yaml"), encoding: .utf8)
        for uses in ["    uses: cosmos-predict2/text2image\n", "    uses: cosmos-predict2/video2world\n"] {
            #expect(recipe.contains(uses))
            recipe = recipe.replacingOccurrences(of: uses, with: uses + "    runner: resident\n")
        }
        let directory = try TestSupport.temporaryDirectory("synthset-resident-plan")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(at: TestSupport.packageRoot.appendingPathComponent("workflows/prompts"),
                                         to: directory.appendingPathComponent("prompts"))
        let file = directory.appendingPathComponent("can-factory.yaml")
        try recipe.write(to: file, atomically: true, encoding: .utf8)
        let json = try await Synthset.run(["plan", file.path, "--format", "json"])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let steps = try #require(object["steps"] as? [[String: Any]])
        let cosmos = steps.filter { ($0["uses"] as? String)?.hasPrefix("cosmos-predict2/") == true }
        #expect(cosmos.count == 2)
        for step in cosmos {
            #expect(step["model_loads"] as? Int == 1, "\(step["id"] ?? "?")")
            let cli = try #require(step["alternative_runner"] as? [String: Any])
            #expect((cli["model_loads"] as? Int ?? 0) > 1)
        }
    }

    @Test func text2worldRefusesTheResidentRunner() async throws {
        let fixture = try Fixture { root in
            Self.workflow(root, runner: "resident").replacingOccurrences(of: "cosmos-predict2/text2image", with: "cosmos-predict2/text2world")
        }
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let plan = try await Synthset.run(["plan", fixture.workflow.path])
        #expect(plan.status == 2)
        #expect(plan.stderr.contains("workflow.yaml:"), "\(plan.stderr)")
        #expect(plan.stderr.contains("cannot use 'runner: resident'") && plan.stderr.contains("use 'runner: cli'"), "\(plan.stderr)")
    }
}

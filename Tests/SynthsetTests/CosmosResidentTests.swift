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

    @Test func text2worldLoadsEachModelOnceWithTheCLIsClips() async throws {
        let text2world = { (root: URL, runner: String) in
            Self.workflow(root, runner: runner).replacingOccurrences(of: "cosmos-predict2/text2image", with: "cosmos-predict2/text2world")
        }
        let resident = try Fixture { text2world($0, "resident") }
        let cli = try Fixture { text2world($0, "cli") }
        defer {
            try? FileManager.default.removeItem(at: resident.directory)
            try? FileManager.default.removeItem(at: cli.directory)
        }
        let residentRun = try await resident.run()
        #expect(residentRun.status == 0, "\(residentRun.stderr)")
        let cliRun = try await cli.run()
        #expect(cliRun.status == 0, "\(cliRun.stderr)")
        // Upstream's two phases, each pipeline built once; the CLI builds both per (seed, negative).
        let scripts = try Self.loads(resident).compactMap { $0["script"] as? String }
        #expect(scripts == ["text2image", "video2world"])
        #expect(try Self.loads(cli).count == 12)
        let clips = resident.files("images", ext: "mp4")
        #expect(clips.count == 12)
        #expect(clips == cli.files("images", ext: "mp4"))
        for ext in ["mp4", "txt"] {
            for name in resident.files("images", ext: ext) {
                let a = try Data(contentsOf: resident.workspace.appendingPathComponent("outputs/images/\(name)"))
                let b = try Data(contentsOf: cli.workspace.appendingPathComponent("outputs/images/\(name)"))
                #expect(a == b, "\(name) differs between the runners")
            }
        }
        #expect(try resident.invocations().isEmpty)
    }

    @Test func theToolsBlockSetsTheRunnerOfEveryStep() async throws {
        let fixture = try Fixture { root in
            Self.workflow(root, runner: "cli")
                .replacingOccurrences(of: "    runner: cli\n", with: "")
                .replacingOccurrences(of: "python: python3 }", with: "python: python3, runner: resident }")
        }
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let text = try String(contentsOf: fixture.workflow, encoding: .utf8)
        #expect(!text.contains("    runner:") && text.contains("runner: resident }"))
        let plan = try await Synthset.run(["plan", fixture.workflow.path])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("step 'images': resident: 1 load, "), "\(plan.stdout)")
        let result = try await fixture.run()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Self.loads(fixture).count == 1)
        #expect(fixture.files("images", ext: "jpg").count == 12)

        // A step's own runner wins over the tools block's.
        let own = try Fixture { root in
            Self.workflow(root, runner: "cli").replacingOccurrences(of: "python: python3 }", with: "python: python3, runner: resident }")
        }
        defer { try? FileManager.default.removeItem(at: own.directory) }
        let ownPlan = try await Synthset.run(["plan", own.workflow.path])
        #expect(ownPlan.status == 0 && !ownPlan.stdout.contains("resident: 1 load"), "\(ownPlan.stdout)")

        // A bad value is located under tools.
        let bad = try Fixture { root in
            Self.workflow(root, runner: "cli").replacingOccurrences(of: "python: python3 }", with: "python: python3, runner: daemon }")
        }
        defer { try? FileManager.default.removeItem(at: bad.directory) }
        let validate = try await Synthset.run(["validate", bad.workflow.path])
        #expect(validate.status == 2)
        #expect(validate.stderr.contains("workflow.yaml:5:") && validate.stderr.contains("runner must be one of cli, resident"), "\(validate.stderr)")
    }

    @Test func itemsReachTheWorkerOnItsStandardInput() async throws {
        let fixture = try Fixture { Self.workflow($0, runner: "resident") }
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let json = try await Synthset.run(["plan", fixture.workflow.path, "--format", "json"])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let task = try #require((object["tasks"] as? [[String: Any]])?.first)
        let invocation = try #require(task["invocation"] as? [String: Any])
        let stdin = try #require(invocation["stdin"] as? [String: Any])
        let lines = try #require(stdin["lines"] as? [[String: Any]])
        #expect(lines.count == 12)
        #expect(Set(lines.compactMap { $0["seed"] as? Int }) == [0, 1, 2])
        #expect(stdin["answers"] as? [String: String] == ["scratch": "answers.jsonl"])
        // No item list on disk: the only planned file is the worker.
        let files = (invocation["files"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
        #expect(files == ["cosmos_resident_worker.py"])
        let arguments = (invocation["arguments"] as? [Any] ?? []).compactMap { $0 as? String }
        #expect(!arguments.contains("--items"))
    }

    @Test func ctrlCLetsTheWorkerFinishTheItemInHand() async throws {
        let fixture = try Fixture { Self.workflow($0, runner: "resident") }
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        // Each image takes 2 s: longer than the run's grace of 1 s.
        try Data("2".utf8).write(to: fixture.root.appendingPathComponent("slow"))
        let launched = try TestSupport.launch(["run", fixture.workflow.path, "--workspace", fixture.workspace.path, "--grace", "1"],
                                              in: fixture.directory)
        let generations = fixture.root.appendingPathComponent("generations.jsonl")
        let started = fixture.root.appendingPathComponent("started.jsonl")
        // Once the worker has started its second image, that image is in hand.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, try Self.lines(started).count < 2 {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(launched.process.isRunning)
        launched.process.interrupt()
        let result = await launched.result()
        #expect(result.status == 130, "\(result.stderr)")
        let made = try Self.lines(generations).count
        #expect(made >= 2 && made < 12, "\(made) generations")
        // Every image the worker finished is committed, the one in hand included.
        #expect(fixture.files("images", ext: "jpg").count == made)
        let pids = try Self.loads(fixture).compactMap { $0["pid"] as? Int32 }
        #expect(pids.count == 1)
        #expect(pids.allSatisfy { kill($0, 0) != 0 }, "the worker outlived the run")
        // The next run makes only the rest.
        try FileManager.default.removeItem(at: fixture.root.appendingPathComponent("slow"))
        let again = try await fixture.run()
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try Self.lines(generations).count == 12)
        #expect(fixture.files("images", ext: "jpg").count == 12)
    }
}

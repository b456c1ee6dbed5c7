import Datasets
import Foundation
import Testing

@testable import Execution
@testable import Planning
import WorkflowSpec

/// The Cosmos adapters against a stand-in checkout, through the real `synthset run`.
@Suite(.serialized) struct CosmosAdapterTests {
    /// A temp folder with the stand-in tree and a workflow file.
    struct Fixture {
        let directory: URL
        let root: URL
        let workflow: URL
        var workspace: URL { directory.appendingPathComponent("ws") }

        init(_ yaml: (URL) -> String) throws {
            directory = try TestSupport.temporaryDirectory("synthset-cosmos")
            root = try CosmosStandIn.make(in: directory)
            workflow = directory.appendingPathComponent("workflow.yaml")
            try Data(yaml(root).utf8).write(to: workflow)
        }

        func run(_ extra: [String] = []) async throws -> TestSupport.Result {
            try await Synthset.run(["run", workflow.path, "--workspace", workspace.path] + extra)
        }

        func invocations() throws -> [[String: Any]] { try CosmosStandIn.invocations(root) }

        func files(_ step: String, ext: String) -> [String] {
            let folder = workspace.appendingPathComponent("outputs/\(step)")
            return ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".\(ext)") }.sorted()
        }
    }

    static func header(_ root: URL, name: String = "standin") -> String {
        """
        version: 1
        name: \(name)
        hardware: { gpu: h100-sxm }
        tools:
          cosmos-predict2: { root: \(root.path), python: python3, env: { COSMOS_PREDICT2_ARGS: "--checkpoints /ckpt" } }
          cosmos-predict2.5: { root: \(root.path), python: python3 }
        prompts:
          matrix:
            template: "{color} cans on a {belt} belt, seen {view}. {extra}"
            vars:
              color: [Orange, Blue, Rainbow]
              belt: [green, white]
              view: [from above, from the side]
              extra: [Factory.]
            negative: blurry

        """
    }

    static func argument(_ argv: [String], _ flag: String) -> String? {
        guard let index = argv.firstIndex(of: flag), index + 1 < argv.count else { return nil }
        return argv[index + 1]
    }

    @Test func text2imageRunsOneInvocationPerSeedWithDocumentedBatchFiles() async throws {
        let fixture = try Fixture { root in
            Self.header(root) + """
            steps:
              images:
                uses: cosmos-predict2/text2image
                model: 2B
                prompts: [matrix]
                seeds: [0, 1]
                options: { disable_guardrail: true, offload_guardrail: false, aspect_ratio: "1:1" }
            """
        }
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let result = try await fixture.run()
        #expect(result.status == 0, "\(result.stderr)")

        let calls = try fixture.invocations()
        #expect(calls.count == 2)
        var seeds: [String] = []
        for call in calls {
            let argv = try #require(call["argv"] as? [String])
            #expect(call["script"] as? String == "text2image")
            #expect(call["cwd"] as? String == fixture.root.path)
            let env = try #require(call["env"] as? [String: String])
            #expect(env["COSMOS_PREDICT2_ARGS"] == "--checkpoints /ckpt")
            #expect(env["CUDA_VISIBLE_DEVICES"] == "0")
            #expect(Self.argument(argv, "--model_size") == "2B")
            seeds.append(Self.argument(argv, "--seed") ?? "?")
            #expect(Self.argument(argv, "--negative_prompt") == "blurry")
            #expect(Self.argument(argv, "--aspect_ratio") == "1:1")
            #expect(argv.contains("--disable_guardrail"))
            #expect(!argv.contains("--offload_guardrail"))  // false: no flag
            #expect(!argv.contains("--num_gpus") && !argv.contains("--resolution") && !argv.contains("--fps"))
            let batchPath = try #require(Self.argument(argv, "--batch_input_json"))
            #expect(batchPath.hasPrefix("/"))
            let savePath = try #require(Self.argument(argv, "--save_path"))
            #expect(savePath.hasPrefix(fixture.workspace.path) && savePath.hasSuffix(".jpg"))
            let batch = try #require(call["batch"] as? [[String: String]])
            #expect(batch.count == 12)
            for entry in batch {
                #expect(Set(entry.keys) == ["prompt", "output_image"])
                #expect(entry["output_image"]!.hasPrefix("/") && entry["output_image"]!.hasSuffix(".jpg"))
                #expect(entry["prompt"]!.hasSuffix("Factory."))
            }
            #expect(Set(batch.map { $0["prompt"]! }).count == 12)
        }
        #expect(seeds.sorted() == ["0", "1"])
        // 24 images, each with its prompt sidecar; the config YAML kept beside the logs.
        let images = fixture.files("images", ext: "jpg")
        #expect(images.count == 24)
        #expect(fixture.files("images", ext: "txt").count == 24)
        for image in images {
            let bytes = [UInt8](try Data(contentsOf: fixture.workspace.appendingPathComponent("outputs/images/\(image)")))
            #expect(MediaProbe.imageSize(bytes) != nil)
        }
        let sidecar = try String(contentsOf: fixture.workspace.appendingPathComponent("outputs/images/\((images[0] as NSString).deletingPathExtension).txt"), encoding: .utf8)
        #expect(sidecar.contains("[Prompt]") && sidecar.contains("[Negative Prompt]\nblurry"))
        let logs = FileManager.default.enumerator(atPath: fixture.workspace.appendingPathComponent("logs").path)?.allObjects as? [String] ?? []
        #expect(logs.filter { $0.hasSuffix(".config.yaml") }.count == 2)
    }

    @Test func predict25RunsOneInvocationWithPerSampleSeeds() async throws {
        let fixture = try Fixture { root in
            Self.header(root) + """
            steps:
              worlds:
                uses: cosmos-predict2.5/text2world
                prompts: [matrix]
                seeds: [3, 4]
                options: { disable_guardrails: true, offload_guardrail_models: false, guidance: 5 }
            """
        }
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let result = try await fixture.run()
        #expect(result.status == 0, "\(result.stderr)")
        let calls = try fixture.invocations()
        #expect(calls.count == 1)
        let call = try #require(calls.first)
        let argv = try #require(call["argv"] as? [String])
        #expect(Self.argument(argv, "--inference-type") == "text2world")
        #expect(Self.argument(argv, "--model") == "2B/post-trained")
        #expect(Self.argument(argv, "-i")?.hasSuffix(".jsonl") == true && Self.argument(argv, "-i")?.hasPrefix("/") == true)
        #expect(Self.argument(argv, "-o")?.hasPrefix("/") == true)
        // tyro's spelling, both ways: only --no-offload-guardrail-models turns that default off.
        #expect(argv.contains("--disable-guardrails"))
        #expect(argv.contains("--no-offload-guardrail-models"))
        #expect(!argv.contains("--offload-guardrail-models"))
        let samples = try #require(call["samples"] as? [[String: Any]])
        #expect(samples.count == 24)
        #expect(samples.filter { $0["seed"] as? Int == 3 }.count == 12)
        #expect(samples.filter { $0["seed"] as? Int == 4 }.count == 12)
        #expect(Set(samples.compactMap { $0["name"] as? String }).count == 24)
        #expect(samples.allSatisfy { $0["negative_prompt"] as? String == "blurry" && $0["guidance"] as? Int == 5
                && $0["num_output_frames"] == nil && $0["input_path"] == nil })
        #expect(fixture.files("worlds", ext: "mp4").count == 24)
        #expect(fixture.files("worlds", ext: "json").count == 24)
    }

    @Test func skippedItemIsRetriedAloneThenReportedFailed() async throws {
        let fixture = try Fixture { root in
            Self.header(root) + """
            steps:
              images:
                uses: cosmos-predict2/text2image
                prompts: [matrix]
                prompt: "A BLOCKME scene"
                negative: blurry
                seeds: [0]
            """
        }
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let result = try await fixture.run(["--retries", "1"])
        #expect(result.status == 1, "\(result.stderr)")
        let calls = try fixture.invocations()
        #expect(calls.count == 2)
        let first = try #require(calls.first?["batch"] as? [[String: String]])
        let second = try #require(calls.last?["batch"] as? [[String: String]])
        #expect(first.count == 13)
        #expect(second.count == 1)
        #expect(second.first?["prompt"] == "A BLOCKME scene")
        #expect(fixture.files("images", ext: "jpg").count == 12)
        let output = result.stdout + result.stderr
        #expect(output.contains("skipped by the tool (guardrail or input check?)"), "\(output)")
    }

    @Test func resumedBatchInvokesOnlyTheMissingPrompts() async throws {
        let fixture = try Fixture { root in
            Self.header(root) + """
              blocked:
                template: "A {thing} BLOCKME"
                vars: { thing: [forklift, pallet] }
                negative: blurry
            steps:
              images:
                uses: cosmos-predict2/text2image
                prompts: [matrix, blocked]
                seeds: [5]
            """
        }
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let first = try await fixture.run(["--retries", "0"])
        #expect(first.status == 1, "\(first.stderr)")
        #expect(fixture.files("images", ext: "jpg").count == 12)
        // The guardrail "fixed": the next run hands the tool only the two missing prompts.
        try Data().write(to: fixture.root.appendingPathComponent("guardrail_off"))
        let second = try await fixture.run()
        #expect(second.status == 0, "\(second.stderr)")
        let calls = try fixture.invocations()
        #expect(calls.count == 2)
        let last = try #require(calls.last)
        let batch = try #require(last["batch"] as? [[String: String]])
        #expect(batch.map { $0["prompt"]! }.sorted() == ["A forklift BLOCKME", "A pallet BLOCKME"])
        #expect(Self.argument(try #require(last["argv"] as? [String]), "--seed") == "5")
        #expect(fixture.files("images", ext: "jpg").count == 14)
    }

    @Test func bestOfNKeepsTheBestScoredClip() async throws {
        let fixture = try Fixture { root in
            Self.header(root) + """
            steps:
              images:
                uses: cosmos-predict2/text2image
                prompt: "A can on a belt"
                seeds: [0, 1]
              best:
                uses: cosmos-predict2/video2world-best-of-n
                from: images
                prompt: "The belt moves the can"
                seeds: [10]
                fps: 10
                resolution: 480
                options: { num_generations: 3, num_critic_trials: 4, disable_prompt_refiner: true }
            """
        }
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let result = try await fixture.run()
        #expect(result.status == 0, "\(result.stderr)")
        let calls = try fixture.invocations().filter { $0["script"] as? String == "video2world_bestofn" }
        #expect(calls.count == 2)
        for call in calls {
            let argv = try #require(call["argv"] as? [String])
            #expect(Self.argument(argv, "--input_path")?.hasPrefix(fixture.workspace.path) == true)
            #expect(Self.argument(argv, "--input_path")?.hasSuffix(".jpg") == true)
            #expect(Self.argument(argv, "--num_generations") == "3")
            #expect(Self.argument(argv, "--num_critic_trials") == "4")
            #expect(Self.argument(argv, "--seed") == "10")
            #expect(Self.argument(argv, "--resolution") == "480" && Self.argument(argv, "--fps") == "10")
            #expect(argv.contains("--disable_prompt_refiner") && !argv.contains("--batch_input_json"))
        }
        let clips = fixture.files("best", ext: "mp4")
        #expect(clips.count == 2)
        for clip in clips {
            let stem = (clip as NSString).deletingPathExtension
            let data = try Data(contentsOf: fixture.workspace.appendingPathComponent("outputs/best/\(stem).scores.json"))
            let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let generations = try #require(report["generations"] as? [[String: Any]])
            #expect(generations.map { $0["seed"] as? Int } == [10, 11, 12])
            let scores = generations.compactMap { $0["score"] as? Double }
            #expect(scores.count == 3)
            let best = try #require(report["best"] as? [String: Any])
            #expect(best["score"] as? Double == scores.max())
            #expect(generations.allSatisfy { ($0["answers"] as? [String])?.count == 4 })
        }
    }

    @Test func video2worldFromACommandWritingWebpIsAPlanningError() async throws {
        let directory = try TestSupport.temporaryDirectory("synthset-cosmos")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("w.yaml")
        try Data("""
        version: 1
        name: webp
        hardware: { gpu: h100-sxm }
        tools: { cosmos-predict2: { root: /nonexistent } }
        steps:
          shots:
            uses: command
            program: cp
            args: ["a.webp", "{output}"]
            output: webp
            seeds: [0]
          clips:
            uses: cosmos-predict2/video2world
            from: shots
            prompt: "Move"
          good:
            uses: command
            program: cp
            args: ["a.png", "{output}"]
            output: png
            seeds: [0]
          clips2:
            uses: cosmos-predict2/video2world
            from: good
            prompt: "Move"
        """.utf8).write(to: file)
        let loaded = WorkflowLoader().load(file: file.path)
        let workflow = try #require(loaded.workflow, "\(loaded.diagnostics)")
        let result = Planner().plan(workflow)
        #expect(result.plan == nil)
        let errors = result.errors.map(\.description)
        #expect(errors.count == 1, "\(errors)")
        let error = try #require(result.errors.first)
        #expect(error.message.contains(".webp") && error.message.contains("'shots'"))
        #expect(error.hint?.contains("output: jpg") == true)
    }

    /// What a task runs is in the plan (`plan --format json` shows `tasks[].invocation`):
    /// the command line, batch file and outputs, built once by the tool's definition.
    @Test func plannedInvocationsForMultiGPUAndPredict25() async throws {
        let text = """
            version: 1
            name: x
            hardware: { gpu: h100-sxm, count: 4 }
            tools:
              cosmos-predict2: { python: /venv/bin/python }
            steps:
              images:
                uses: cosmos-predict2/text2image
                model: 0.6B
                prompt: "cans"
                negative: bad
                seeds: [0]
                options: { use_fast_tokenizer: true, distill_steps: 2 }
              clips:
                uses: cosmos-predict2/video2world
                from: images
                model: 14B
                gpus: 4
                seeds: [7]
                options: { natten: true, guidance: 6, num_conditional_frames: 1, disable_prompt_refiner: false }
              world:
                uses: cosmos-predict2.5/video2world
                from: clips
                gpus: 2
                options: { offload_diffusion_model: true, num_steps: 20 }
            """
        let workflow = try #require(WorkflowLoader().load(text: text, file: "/tmp/x.yaml", directory: URL(fileURLWithPath: "/tmp")).workflow)
        var plan = try #require(Planner().plan(workflow).plan)
        Planner.attachInvocations(to: &plan, workflow: workflow)
        let scratch = URL(fileURLWithPath: "/s"), workspace = URL(fileURLWithPath: "/w")
        func invocation(_ step: String) throws -> TaskInvocation {
            try #require(plan.tasks.first { $0.step == step }?.invocation)
        }
        let image = try #require(plan.items.first { $0.step == "images" })
        let images = try invocation("images")
        #expect(images.commandLine(scratch: scratch, workspace: workspace)
                == ["/venv/bin/python", "-m", "examples.text2image", "--model_size", "0.6B", "--seed", "0", "--negative_prompt", "bad",
                    "--batch_input_json", "/s/batch.json", "--save_path", "/s/run.jpg", "--distill_steps", "2", "--use_fast_tokenizer"])
        let batch = try #require(images.files.first)
        let entries = try #require(try JSONSerialization.jsonObject(with: batch.rendered(scratch: scratch, workspace: workspace)) as? [[String: String]])
        #expect(entries == [["prompt": "cans", "output_image": "/s/\(URL(fileURLWithPath: image.path).lastPathComponent)"]])
        #expect(images.outputs.map(\.item) == [image.id])
        #expect(images.outputs.first?.companions.first?.destination == image.companionPath("txt"))

        let clips = try invocation("clips")
        #expect(clips.commandLine(scratch: scratch, workspace: workspace)
                == ["/venv/bin/python", "-m", "torch.distributed.run", "--nproc_per_node=4", "examples/video2world.py",
                    "--model_size", "14B", "--resolution", "720", "--fps", "16", "--seed", "7", "--negative_prompt", "bad",
                    "--batch_input_json", "/s/batch.json", "--save_path", "/s/run.mp4",
                    "--guidance", "6.0", "--natten", "--num_conditional_frames", "1", "--num_gpus", "4"])
        let clipEntries = try #require(try JSONSerialization.jsonObject(with: clips.files[0].rendered(scratch: scratch, workspace: workspace)) as? [[String: String]])
        #expect(clipEntries.first?["input_video"] == "/w/" + image.path, "inputs are the upstream items' workspace files")

        let world = try invocation("world")
        #expect(world.commandLine(scratch: scratch, workspace: workspace)
                == ["python3", "-m", "torch.distributed.run", "--nproc_per_node=2", "examples/inference.py", "-i", "/s/samples.jsonl", "-o", "/s/out",
                    "--inference-type", "video2world", "--model", "2B/post-trained", "--offload-diffusion-model"])
        let samples = String(decoding: world.files[0].rendered(scratch: scratch, workspace: workspace), as: UTF8.self)
        #expect(samples.split(separator: "\n").count == 1)
        #expect(samples.contains("\"num_steps\":20") && samples.contains("\"seed\":0"))
        // The JSON is plain (documented in docs/plan-format.md) and reads back as the same value.
        let sorted = JSONEncoder()
        sorted.outputFormatting = [.sortedKeys]
        let encoded = try sorted.encode(images)
        #expect(String(decoding: encoded, as: UTF8.self).contains(#""content":[{"#))
        #expect(try sorted.encode(JSONDecoder().decode(TaskInvocation.self, from: encoded)) == encoded)
        // A resumed task runs only its missing items: a smaller batch from the same definition.
        let task = try #require(plan.tasks.first { $0.step == "images" })
        #expect(task.invocation == images)
    }

    @Test func timingsFollowResolutionFpsAndNatten() {
        let resolver = TimingResolver(catalog: .builtIn)
        func figure(_ model: String, _ resolution: Int?, _ fps: Int?, natten: Bool) -> Double? {
            var step = Step(id: "clips", uses: .video2world)
            step.model = model
            step.resolution = resolution
            step.fps = fps
            if natten { step.options["natten"] = .bool(true) }
            return resolver.secondsPerItem(step, gpu: "h100-sxm")?.value
        }
        #expect(figure("2B", 720, 16, natten: false) == 228.8)
        #expect(figure("2B", nil, nil, natten: false) == 228.8)  // the tool's defaults: 720p, 16 fps
        #expect(figure("2B", 720, 16, natten: true) == 94.2)
        #expect(figure("14B", 720, 16, natten: true) == 426.0)
        #expect(figure("2B", 720, 10, natten: false) == 115.1)
        #expect(figure("2B", 720, 10, natten: true) == 56.0)
        // No published H100 SXM 480p row: H200 SXM's 176.19 s x the published 720p
        // H100/H200 SXM ratio (856.9 / 836.9), never the slower H100 PCIe's 286.46 s.
        #expect(figure("14B", 480, 16, natten: false) == 180.4)
        // Best-of-n: the video2world figure for its settings times the generations.
        var best = Step(id: "best", uses: .video2worldBestOfN)
        best.model = "2B"
        best.options = ["natten": .bool(true), "num_generations": .int(3)]
        #expect(resolver.secondsPerItem(best, gpu: "h100-sxm").map { ($0.value * 100).rounded() / 100 } == 282.6)
    }
}

import Foundation
import Testing

@testable import Execution
@testable import Planning
import WorkflowSpec

/// What the real tools take and do, as their upstream code says (issue 12): each test
/// runs the built binary against a stand-in that follows the upstream file named in its
/// comment, or validates a recipe the tool would fail on.
@Suite(.serialized) struct UpstreamContractTests {
    typealias Fixture = CosmosAdapterTests.Fixture

    static func validate(_ yaml: String) async throws -> TestSupport.Result {
        let directory = try TestSupport.temporaryDirectory("synthset-contract")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("recipe.yaml")
        try Data(yaml.utf8).write(to: file)
        return try await Synthset.run(["validate", file.path])
    }

    static let scenes = """
      scenes:
        uses: procedural/scenes
        seeds: 0..1
        size: [160, 96]
        objects:
          can: { shape: cylinder, colors: [red], size: [0.2, 0.4], count: [1, 2] }

    """

    // MARK: 1. Cosmos-Predict2.5

    /// procedural → Predict2.5 image2world → frames, end to end: the stand-in writes the
    /// released checkpoints' 93 frames and synthset plans, checks and keeps them.
    @Test func predict25Image2WorldClipsHave93FramesAndFeedFrames() async throws {
        _ = try requireFFmpeg()
        let fixture = try Fixture { root in
            CosmosAdapterTests.header(root) + "steps:\n" + Self.scenes + """
              worlds:
                uses: cosmos-predict2.5/image2world
                from: scenes
                prompt: "The cans move along the belt."
                seeds: [5]
                resolution: [704, 1280]
                options: { disable_guardrails: true, offload_guardrail_models: false }
              frames:
                uses: ffmpeg/extract-frames
                from: worlds
                every: 8
            """
        }
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let plan = try await Synthset.run(["plan", fixture.workflow.path, "--format", "json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])
        let items = try #require(json["items"] as? [[String: Any]])
        // 93 frames, every 8th: 0, 8, ..., 88 of each of the 2 clips.
        #expect(items.filter { $0["step"] as? String == "frames" }.count == 24)

        let result = try await fixture.run()
        #expect(result.status == 0, "\(result.output)")
        let call = try #require(try fixture.invocations().first)
        let argv = try #require(call["argv"] as? [String])
        #expect(argv.contains("--no-offload-guardrail-models") && argv.contains("--disable-guardrails"))
        let samples = try #require(call["samples"] as? [[String: Any]])
        #expect(samples.count == 2)
        #expect(samples.allSatisfy { $0["resolution"] as? String == "704,1280" && ($0["input_path"] as? String)?.hasSuffix(".jpg") == true })
        #expect(fixture.files("worlds", ext: "mp4").count == 2)
        #expect(fixture.files("frames", ext: "jpg").count == 24)
        #expect(CosmosPredict25Tool.image2world.clipFrames(Step(id: "w", uses: .predict25Image2World))?.count == 93)
    }

    /// What `generate_vid2world` asserts on is refused when the recipe is validated, with
    /// its location and a fix; [H, W] and "H,W" are accepted.
    @Test(arguments: [
        ("720", "resolution an integer '720'"),
        ("\"720\"", "resolution the text '720'"),
        ("[720]", "resolution a list"),
        ("[0, 1280]", "resolution a list"),
        ("\"704x1280\"", "resolution the text '704x1280'"),
    ])
    func predict25RefusesResolutionsTheToolAssertsOn(_ value: String, _ named: String) async throws {
        let result = try await Self.validate("""
            version: 1
            name: r
            steps:
              worlds:
                uses: cosmos-predict2.5/text2world
                prompt: "A belt."
                seeds: [0]
                resolution: \(value)
            """)
        #expect(result.status == 2, "\(result.output)")
        #expect(result.stderr.contains("recipe.yaml:8:"), "\(result.stderr)")
        #expect(result.stderr.contains("\(named) is not [height, width]") && result.stderr.contains("asserts on anything but \"H,W\""), "\(result.stderr)")
        #expect(result.stderr.contains("resolution: [704, 1280]"), "\(result.stderr)")
    }

    @Test func predict25AcceptsSizesAndRefusesFrameCounts() async throws {
        for value in ["[480, 832]", "\"480,832\"", "none"] {
            let ok = try await Self.validate("""
                version: 1
                name: r
                hardware: { gpu: h100-sxm }
                steps:
                  worlds:
                    uses: cosmos-predict2.5/video2world
                    from: scenes
                    prompt: "A belt."
                    seeds: [0]
                    resolution: \(value)
                \(Self.scenes.replacingOccurrences(of: "\n  ", with: "\n      "))
                """)
            #expect(ok.status == 0, "\(value): \(ok.output)")  // video2world takes images too
        }
        let frames = try await Self.validate("""
            version: 1
            name: r
            steps:
              worlds:
                uses: cosmos-predict2.5/text2world
                prompt: "A belt."
                seeds: [0]
                options: { num_output_frames: 121 }
            """)
        #expect(frames.status == 2)
        #expect(frames.stderr.contains("recipe.yaml:8:") && frames.stderr.contains("writes 93 frames"), "\(frames.stderr)")
        // A command step's files the tool's validate_input_path refuses (case-sensitive).
        let upper = try await Self.validate("""
            version: 1
            name: r
            steps:
              shots:
                uses: command
                program: cp
                args: ["a", "{output}"]
                output: JPG
                seeds: [0]
              worlds:
                uses: cosmos-predict2.5/image2world
                from: shots
                prompt: "A belt."
                seeds: [0]
            """)
        #expect(upper.status == 2)
        #expect(upper.stderr.contains("would read .JPG files") && upper.stderr.contains("output: jpg"), "\(upper.stderr)")
    }

    /// The stand-in behaves as 9557c1a: an unknown sample key ends the run before the load;
    /// a bare "720" resolution asserts after the load and loses every clip of the batch.
    @Test func predict25StandInLosesTheBatchAsUpstreamDoes() async throws {
        let directory = try TestSupport.temporaryDirectory("synthset-p25")
        defer { try? FileManager.default.removeItem(at: directory) }
        let root = try CosmosStandIn.make(in: directory)
        func run(_ lines: [String]) async throws -> (TestSupport.Result, [String]) {
            let file = directory.appendingPathComponent("samples.jsonl")
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: file)
            let out = directory.appendingPathComponent("out-\(UUID().uuidString.prefix(6))")
            let result = try await TestSupport.run(["python3", root.appendingPathComponent("examples/inference.py").path,
                                                    "-i", file.path, "-o", out.path, "--inference-type", "text2world", "--disable-guardrails"],
                                                   in: directory, program: URL(fileURLWithPath: "/usr/bin/env"))
            return (result, ((try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []).sorted())
        }
        let (extra, extraFiles) = try await run([#"{"name": "a", "prompt": "p", "num_frames": 93}"#])
        #expect(extra.status == 1 && extra.stderr.contains("Extra inputs are not permitted"), "\(extra.output)")
        #expect(extraFiles.isEmpty)
        let (bad, badFiles) = try await run([#"{"name": "a", "prompt": "p"}"#, #"{"name": "b", "prompt": "p", "resolution": "720"}"#,
                                              #"{"name": "c", "prompt": "p"}"#])
        #expect(bad.status == 1 && bad.stderr.contains("'H,W' format"), "\(bad.output)")
        #expect(badFiles == ["a.json", "a.mp4", "b.json", "config.yaml"], "the batch ends at b: \(badFiles)")
        let (flag, _) = try await run([#"{"name": "a", "prompt": "p"}"#])
        #expect(flag.status == 0, "\(flag.output)")
    }

    // MARK: 2. Best-of-N

    @Test func bestOfNTakesOnlyTheScriptsFlags() async throws {
        for (option, expected) in [("natten: true", "option 'natten' is not accepted"),
                                   ("use_cuda_graphs: true", "option 'use_cuda_graphs' is not accepted"),
                                   ("prompt_prefix: \"Robot: \"", "does nothing without 'gr00t_variant'")] {
            let result = try await Self.validate("""
                version: 1
                name: b
                steps:
                \(Self.scenes.replacingOccurrences(of: "\n  ", with: "\n    "))
                  best:
                    uses: cosmos-predict2/video2world-best-of-n
                    from: scenes
                    prompt: "A belt."
                    seeds: [0]
                    options: { \(option) }
                """)
            #expect(result.status == 2, "\(option): \(result.output)")
            #expect(result.stderr.contains(expected), "\(option): \(result.stderr)")
        }
        // With gr00t_variant the prefix reaches the GR00T pipeline, through the stand-in's argparse.
        let fixture = try Fixture { root in
            CosmosAdapterTests.header(root) + "steps:\n" + Self.scenes + """
              best:
                uses: cosmos-predict2/video2world-best-of-n
                from: scenes
                prompt: "the arm picks a can"
                seeds: [0]
                options: { gr00t_variant: gr1, prompt_prefix: "The robot arm is working. ", num_generations: 2, disable_guardrail: true }
            """
        }
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let result = try await fixture.run()
        #expect(result.status == 0, "\(result.output)")
        let calls = try fixture.invocations().filter { $0["script"] as? String == "video2world_bestofn" }
        #expect(calls.count == 2)
        for call in calls {
            let argv = call["argv"] as? [String] ?? []
            #expect(CosmosAdapterTests.argument(argv, "--gr00t_variant") == "gr1")
            #expect(((call["samples"] as? [[String: Any]])?.first?["prompt"] as? String) == "The robot arm is working. the arm picks a can")
        }
    }

    // MARK: 3. ffmpeg 5.1 through 9

    /// A wrapper around the real ffmpeg that answers `-version` as `version` does (and
    /// counts the calls), and refuses `refused` as that release does ("Unrecognized
    /// option", exit 8).
    static func fakeFFmpeg(in directory: URL, version: String, refused: String) throws -> URL {
        let real = try requireFFmpeg()
        let url = directory.appendingPathComponent("ffmpeg-\(version)")
        try TestSupport.script("""
            #!/bin/sh
            if [ "$1" = "-version" ]; then
              echo x >> "\(directory.path)/version-calls-\(version)"
              echo "ffmpeg version \(version) Copyright (c) 2000-2026 the FFmpeg developers"
              exit 0
            fi
            for a in "$@"; do
              if [ "$a" = "\(refused)" ]; then
                echo "Unrecognized option '\(refused.dropFirst())'." >&2
                echo "Error splitting the argument list: Option not found" >&2
                exit 8
              fi
            done
            exec "\(real)" "$@"
            """, at: url)
        return url
    }

    @Test(arguments: [("9.0", "-vsync", "-fps_mode"), ("n7.1.1", "-vsync", "-fps_mode"), ("4.4.2-0ubuntu0.22.04.1", "-fps_mode", "-vsync")])
    func framesPickTheOptionTheInstalledFFmpegTakes(_ version: String, _ refused: String, _ used: String) async throws {
        let directory = try TestSupport.temporaryDirectory("synthset-ffmpeg")
        defer { try? FileManager.default.removeItem(at: directory) }
        let clip = try FramesTests.makeClip(in: directory)
        let ffmpeg = try Self.fakeFFmpeg(in: directory, version: version, refused: refused)
        let file = directory.appendingPathComponent("frames.yaml")
        try Data("""
            version: 1
            name: frames
            tools:
              ffmpeg: { program: \(ffmpeg.path) }
            steps:
              clip:
                uses: command
                program: cp
                args: ["\(clip.path)", "{output}"]
                output: mp4
                seeds: [0, 1, 2]
              every8:
                uses: ffmpeg/extract-frames
                from: clip
                every: 8
                max_frames: 4
            """.utf8).write(to: file)
        let workspace = directory.appendingPathComponent("ws")
        let result = try await Synthset.run(["run", file.path, "--workspace", workspace.path])
        #expect(result.status == 0, "\(result.output)")
        #expect(FramesTests.files(workspace, "every8", ext: "jpg").count == 12)
        // One version probe for the three clips' tasks and the lock file.
        let calls = try String(contentsOf: directory.appendingPathComponent("version-calls-\(version)"), encoding: .utf8)
        #expect(calls.split(separator: "\n").count == 1)
        let logs = try FileManager.default.subpathsOfDirectory(atPath: workspace.appendingPathComponent("logs").path)
            .filter { $0.contains("every8") && $0.hasSuffix(".log") }
        #expect(logs.count == 3)
        for log in logs {
            let text = try String(contentsOf: workspace.appendingPathComponent("logs/\(log)"), encoding: .utf8)
            #expect(text.contains("using \(used) vfr"), "\(text)")
            #expect(text.contains(" \(used) vfr ") && !text.contains(" \(refused) "), "\(text)")
        }
        let lock = try String(contentsOf: directory.appendingPathComponent("frames.yaml.lock"), encoding: .utf8)
        #expect(lock.contains("ffmpeg version \(version)"), "\(lock)")
    }

    @Test func ffmpegVersionsParse() {
        #expect(FFmpegVersion(line: "ffmpeg version 5.1.9-0+deb12u1 Copyright").syncOption == "-fps_mode")
        #expect(FFmpegVersion(line: "ffmpeg version 5.0.3 Copyright").syncOption == "-vsync")
        #expect(FFmpegVersion(line: "ffmpeg version n4.4 Copyright").syncOption == "-vsync")
        #expect(FFmpegVersion(line: "ffmpeg version 9.0 Copyright").syncOption == "-fps_mode")
        #expect(FFmpegVersion(line: "ffmpeg version N-112345-gabcdef Copyright").syncOption == "-fps_mode")  // a git build: new
        #expect(FFmpegVersion(line: "ffmpeg version 6.1.1-3ubuntu5").shortName == "ffmpeg 6.1")
    }

    // MARK: 5. Edge Impulse

    /// The export's `info.labels` read as the Python SDK reads it (edgeimpulse/python-sdk
    /// 109eb50, edgeimpulse/data/_functions/upload_files.py: `upload_directory` takes the
    /// exported-dataset path when `info.labels` is there, and `upload_exported_dataset`
    /// reads each file's `path`, `boundingBoxes` (no default), `label`, `metadata` and
    /// `category`): every image with its boxes and its split's category.
    @Test func edgeImpulseExportCarriesTheSDKsInfoLabels() async throws {
        let (root, dataset) = try await ExportEndToEndTests.exportDataset(images: 10)
        defer { try? FileManager.default.removeItem(at: root) }
        let reader = #"""
import json, os, sys
directory, expected_category = sys.argv[1], sys.argv[2]
with open(os.path.join(directory, "info.labels")) as file:
    labels = json.load(file)
    labels = {os.path.join(directory, file["path"]): file for file in labels["files"]}
boxes = json.load(open(os.path.join(directory, "bounding_boxes.labels")))["boundingBoxes"]
count = 0
for file, file_info in labels.items():
    data = open(file, "rb").read()
    assert data[:2] == b"\xff\xd8", file
    sample = dict(bounding_boxes=file_info["boundingBoxes"], filename=os.path.basename(file),
                  structured_labels=file_info["label"].get("labels", None), metadata=file_info.get("metadata", None),
                  category=file_info.get("category", None), label=file_info["label"].get("label", None))
    assert sample["category"] == expected_category, sample
    assert sample["bounding_boxes"] == boxes[sample["filename"]], sample
    assert all(set(b) == {"label", "x", "y", "width", "height"} for b in sample["bounding_boxes"]), sample
    count += len(sample["bounding_boxes"])
images = [n for n in os.listdir(directory) if n.endswith(".jpg")]
assert len(labels) == len(images), (len(labels), len(images))
print(json.dumps({"files": len(labels), "boxes": count}))
"""#
        let script = root.appendingPathComponent("sdk_reader.py")
        try Data(reader.utf8).write(to: script)
        let splits = try FileManager.default.contentsOfDirectory(atPath: dataset.appendingPathComponent("edge-impulse").path).sorted()
        #expect(splits == ["test", "train", "validation"])
        var total = 0
        for split in splits {
            let category = ["train": "training", "test": "testing", "validation": "validation"][split]!
            let result = try await TestSupport.run(["python3", script.path, dataset.appendingPathComponent("edge-impulse/\(split)").path, category],
                                                   in: root, program: URL(fileURLWithPath: "/usr/bin/env"))
            #expect(result.status == 0, "\(split): \(result.output)")
            let counts = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Int])
            total += counts["files"] ?? 0
        }
        #expect(total == 10)
    }

    // MARK: 4. Grounded-SAM-2 script mode

    @Test func scriptModeRunsAsTheScriptResolvesItsFiles() async throws {
        let directory = try TestSupport.temporaryDirectory("synthset-sam2")
        defer { try? FileManager.default.removeItem(at: directory) }
        let checkout = directory.appendingPathComponent("Grounded-SAM-2")
        try FileManager.default.createDirectory(at: checkout, withIntermediateDirectories: true)
        let text = """
            version: 1
            name: s
            hardware: { gpu: h100-sxm }
            tools:
              grounded-sam2: { root: \(checkout.path), python: python3 }
            steps:
            \(Self.scenes.replacingOccurrences(of: "\n  ", with: "\n    "))
              labels:
                uses: grounded-sam2/label
                from: scenes
                mode: script
                script: /opt/labelers/grounded_sam2_batch_image.py
                classes: [can]
                options:
                  sam2_config: configs/sam2.1/sam2.1_hiera_l.yaml
                  sam2_checkpoint: ./checkpoints/sam2.1_hiera_large.pt
                  grounding_checkpoint: /weights/gdino.pth
            """
        let workflow = try #require(WorkflowLoader().load(text: text, file: directory.appendingPathComponent("s.yaml").path, directory: directory).workflow)
        var plan = try #require(Planner().plan(workflow).plan)
        Planner.attachInvocations(to: &plan, workflow: workflow)
        let invocation = try #require(plan.tasks.first { $0.step == "labels" }?.invocation)
        let argv = invocation.commandLine(scratch: URL(fileURLWithPath: "/s"), workspace: URL(fileURLWithPath: "/w"))
        #expect(CosmosAdapterTests.argument(argv, "--sam2_config") == "configs/sam2.1/sam2.1_hiera_l.yaml")
        #expect(CosmosAdapterTests.argument(argv, "--sam2_checkpoint") == checkout.path + "/checkpoints/sam2.1_hiera_large.pt")
        #expect(CosmosAdapterTests.argument(argv, "--grounding_checkpoint") == "/weights/gdino.pth")
        #expect(invocation.environment["PYTHONPATH"] == checkout.standardizedFileURL.path)
        #expect(invocation.workingDirectory == .absolute(checkout.standardizedFileURL.path))

        let path = try await Self.validate("""
            version: 1
            name: s
            steps:
            \(Self.scenes.replacingOccurrences(of: "\n  ", with: "\n    "))
              labels:
                uses: grounded-sam2/label
                from: scenes
                mode: script
                script: label.py
                classes: [can]
                options: { sam2_config: /home/me/Grounded-SAM-2/sam2/configs/sam2.1/sam2.1_hiera_l.yaml }
            """)
        #expect(path.status == 2)
        #expect(path.stderr.contains("a file path") && path.stderr.contains("configs/sam2.1/sam2.1_hiera_l.yaml"), "\(path.stderr)")
    }
}

import Foundation
import Testing

@testable import Execution
import Planning
import WorkflowSpec
import WorkspaceStore

/// `synthset doctor` through the built binary: a machine where everything is in place
/// passes every check; then each check fails on a machine that lacks its thing, and says
/// how to fix it (exit 2).
@Suite(.serialized) struct DoctorTests {
    /// A machine for the recipe: the Cosmos stand-in checkout with importable packages
    /// and checkpoint files, a Grounded-SAM-2 checkout, a fake nvidia-smi first on PATH.
    struct Machine {
        let directory: URL
        let cosmos: URL
        let sam2: URL
        let bin: URL
        var recipe: URL { directory.appendingPathComponent("doctor.yaml") }

        init(gpus: [FakeNvidiaSMI.GPU] = [FakeNvidiaSMI.h100]) throws {
            directory = try TestSupport.temporaryDirectory("synthset-doctor")
            cosmos = try CosmosStandIn.make(in: directory)
            sam2 = directory.appendingPathComponent("Grounded-SAM-2")
            bin = try FakeNvidiaSMI.install(in: directory, gpus: gpus)
            let fm = FileManager.default
            for package in ["torch", "imaginaire", "cosmos_predict2"] {
                try Self.touch(cosmos.appendingPathComponent("\(package)/__init__.py"))
            }
            for file in ["checkpoints/nvidia/Cosmos-Predict2-2B-Text2Image/model.pt",
                         "checkpoints/nvidia/Cosmos-Predict2-2B-Video2World/model-720p-16fps.pt",
                         "checkpoints/google-t5/t5-11b/config.json"] {
                try Self.touch(cosmos.appendingPathComponent(file))
            }
            for file in ["grounding_dino/__init__.py", "grounding_dino/groundingdino/__init__.py",
                         "grounding_dino/groundingdino/util/__init__.py", "grounding_dino/groundingdino/util/inference.py",
                         "grounding_dino/groundingdino/config/GroundingDINO_SwinT_OGC.py", "gdino_checkpoints/groundingdino_swint_ogc.pth",
                         "torch/__init__.py"] {
                try Self.touch(sam2.appendingPathComponent(file))
            }
            _ = fm
        }

        static func touch(_ url: URL) throws {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data().write(to: url)
        }

        func write(_ steps: String, hardware: String = "{ gpu: h100-sxm, count: 1 }", ffmpeg: String? = nil) throws {
            try Data("""
                version: 1
                name: doctor
                hardware: \(hardware)
                tools:
                  cosmos-predict2: { root: \(cosmos.path), python: python3 }
                  grounded-sam2: { root: \(sam2.path), python: python3 }
                \(ffmpeg.map { "  ffmpeg: { program: \($0) }" } ?? "")
                steps:
                \(steps)
                """.utf8).write(to: recipe)
        }

        /// `doctor --json`: exit status, and each check by name.
        func doctor(environment: [String: String] = [:]) async throws -> (Int32, [String: [String: Any]], String) {
            var env = ["PATH": FakeNvidiaSMI.path(bin), "EI_DOCTOR_KEY": "ei_test"]
            env.merge(environment) { _, new in new }
            let result = try await Synthset.run(["doctor", recipe.path, "--json", "--workspace", directory.appendingPathComponent("ws").path], environment: env)
            let report = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any] ?? [:]
            var checks: [String: [String: Any]] = [:]
            for check in report["checks"] as? [[String: Any]] ?? [] { checks[check["name"] as? String ?? ""] = check }
            return (result.status, checks, result.output)
        }
    }

    static let steps = """
          images:
            uses: cosmos-predict2/text2image
            runner: resident
            prompt: "Cans on a belt."
            seeds: [0]
            options: { disable_guardrail: true }
          clips:
            uses: cosmos-predict2/video2world
            from: images
            prompt: "The belt moves."
            seeds: [0]
            options: { disable_guardrail: true, disable_prompt_refiner: true }
          frames:
            uses: ffmpeg/extract-frames
            from: clips
            every: 30
          labels:
            uses: grounded-sam2/label
            from: [images, frames]
            classes: [can]
          dataset:
            uses: export
            from: labels
            formats: [yolo, edge-impulse]
          upload:
            uses: edge-impulse/upload
            from: dataset
            api_key_env: EI_DOCTOR_KEY
    """

    static let probeStep = """
          probe:
            uses: command
            program: synthset-no-such-program
            args: ["{output}"]
            seeds: [0]
    """

    static func failed(_ checks: [String: [String: Any]], _ prefix: String) -> [String: Any]? {
        checks.first { $0.key.hasPrefix(prefix) && $0.value["status"] as? String == "failed" }?.value
    }

    @Test func aReadyMachinePassesEveryCheck() async throws {
        let machine = try Machine()
        defer { try? FileManager.default.removeItem(at: machine.directory) }
        try machine.write(Self.steps)
        let (status, checks, output) = try await machine.doctor()
        #expect(status == 0, "\(output)")
        let names = checks.keys.sorted()
        for expected in ["cosmos-predict2: checkout", "cosmos-predict2: examples/text2image.py", "cosmos-predict2: examples/video2world.py",
                         "cosmos-predict2: python3 imports torch, imaginaire, cosmos_predict2",
                         "cosmos-predict2: the resident worker can drive examples.text2image",
                         "cosmos-predict2: checkpoint checkpoints/nvidia/Cosmos-Predict2-2B-Text2Image/model.pt",
                         "cosmos-predict2: checkpoint checkpoints/nvidia/Cosmos-Predict2-2B-Video2World/model-720p-16fps.pt",
                         "grounded-sam2: checkout", "grounded-sam2: python3 imports torch, grounding_dino.groundingdino.util.inference",
                         "grounded-sam2: grounding_checkpoint", "ffmpeg: ffmpeg", "edge-impulse: API key in $EI_DOCTOR_KEY",
                         "machine: nvidia-smi driver", "machine: GPU count", "machine: GPU model", "machine: GPU memory",
                         "machine: ffprobe", "machine: free disk"] {
            #expect(names.contains { $0.hasPrefix(expected) }, "no check \(expected) in \(names)")
        }
        #expect(checks.values.allSatisfy { $0["status"] as? String == "ok" }, "\(output)")
        #expect(!output.contains("ei_test"), "the key's value is never shown")
        // The text form says the same.
        let text = try await Synthset.run(["doctor", machine.recipe.path, "--workspace", machine.directory.appendingPathComponent("ws").path],
                                          environment: ["PATH": FakeNvidiaSMI.path(machine.bin), "EI_DOCTOR_KEY": "ei_test"])
        #expect(text.status == 0 && text.stdout.contains("ready: \(checks.count) checks passed"), "\(text.output)")
    }

    @Test func eachToolCheckFailsAndSaysWhatToDo() async throws {
        let machine = try Machine()
        defer { try? FileManager.default.removeItem(at: machine.directory) }
        // Take away one thing per check.
        let fm = FileManager.default
        try fm.removeItem(at: machine.cosmos.appendingPathComponent("examples/video2world.py"))
        try Data("def parse_args():\n    pass\n".utf8).write(to: machine.cosmos.appendingPathComponent("examples/text2image.py"))
        try fm.removeItem(at: machine.cosmos.appendingPathComponent("imaginaire"))
        try fm.removeItem(at: machine.cosmos.appendingPathComponent("checkpoints/nvidia/Cosmos-Predict2-2B-Text2Image/model.pt"))
        try fm.removeItem(at: machine.sam2.appendingPathComponent("gdino_checkpoints"))
        try machine.write(Self.steps + "\n" + Self.probeStep, ffmpeg: "/nonexistent/ffmpeg")
        let (status, checks, output) = try await machine.doctor(environment: ["EI_DOCTOR_KEY": ""])
        #expect(status == 2, "\(output)")
        let expectations: [(String, String, String)] = [
            ("cosmos-predict2: examples/video2world.py", "does not exist", "cosmos-predict2 checkout"),
            ("cosmos-predict2: python3 imports", "imaginaire", "documentations/setup.md"),
            ("cosmos-predict2: the resident worker can drive examples.text2image", "setup_pipeline", "use 'runner: cli' for this step"),
            ("cosmos-predict2: checkpoint checkpoints/nvidia/Cosmos-Predict2-2B-Text2Image/model.pt", "does not exist",
             "python -m scripts.download_checkpoints --checkpoint_dir \(machine.cosmos.path)/checkpoints --model_types text2image --model_sizes 2B"),
            ("grounded-sam2: grounding_checkpoint", "does not exist", "gdino_checkpoints && bash download_ckpts.sh"),
            ("ffmpeg: /nonexistent/ffmpeg", "was not found", "apt-get install ffmpeg"),
            ("edge-impulse: API key", "EI_DOCTOR_KEY is not set", "export EI_DOCTOR_KEY="),
            ("command: synthset-no-such-program", "was not found", "set 'program:' of step 'probe'"),
        ]
        for (name, detail, fix) in expectations {
            let check = try #require(Self.failed(checks, name), "\(name) did not fail: \(output)")
            #expect((check["detail"] as? String)?.contains(detail) == true, "\(name): \(check)")
            #expect((check["fix"] as? String)?.contains(fix) == true, "\(name): \(check)")
        }
        // The things that are there still pass.
        #expect(checks.first { $0.key.hasPrefix("cosmos-predict2: examples/text2image.py") }?.value["status"] as? String == "ok")
        // The text form: FAIL lines, each followed by its fix.
        let text = try await Synthset.run(["doctor", machine.recipe.path], environment: ["PATH": FakeNvidiaSMI.path(machine.bin)])
        #expect(text.status == 2)
        #expect(text.stdout.contains("FAIL  cosmos-predict2: examples/video2world.py") && text.stdout.contains("      fix: "), "\(text.stdout)")
        #expect(text.stdout.contains("checks failed"), "\(text.stdout)")
    }

    @Test func checkoutsScriptsAndSam2ConfigsFail() async throws {
        let machine = try Machine()
        defer { try? FileManager.default.removeItem(at: machine.directory) }
        try Data("""
            version: 1
            name: doctor
            hardware: { gpu: h100-sxm }
            tools:
              cosmos-predict2.5: { root: \(machine.directory.path)/no-checkout, python: python3 }
              grounded-sam2: { root: \(machine.sam2.path), python: python3 }
            steps:
              worlds:
                uses: cosmos-predict2.5/text2world
                prompt: "A belt."
                seeds: [0]
              shots:
                uses: procedural/scenes
                seeds: [0]
                objects: { can: { shape: cylinder, colors: [red], size: [0.2, 0.3], count: [1, 1] } }
              labels:
                uses: grounded-sam2/label
                from: shots
                mode: script
                script: missing_labeler.py
                classes: [can]
                options: { sam2_config: configs/sam2.1/sam2.1_hiera_x.yaml }
            """.utf8).write(to: machine.recipe)
        let (status, checks, output) = try await machine.doctor()
        #expect(status == 2, "\(output)")
        for (name, fix) in [("cosmos-predict2.5: checkout", "git clone https://github.com/nvidia-cosmos/cosmos-predict2.5"),
                            ("grounded-sam2: script missing_labeler.py", "set 'script:' of step 'labels'"),
                            ("grounded-sam2: python3 imports torch, grounding_dino.groundingdino.util.inference, sam2.build_sam", "pip install -e ."),
                            ("grounded-sam2: sam2_checkpoint ./checkpoints/sam2.1_hiera_large.pt", "checkpoints && bash download_ckpts.sh"),
                            ("grounded-sam2: sam2_config configs/sam2.1/sam2.1_hiera_x.yaml", "sam2/configs")] {
            let check = try #require(Self.failed(checks, name), "\(name) did not fail: \(checks.keys.sorted())")
            #expect((check["fix"] as? String)?.contains(fix) == true, "\(name): \(check)")
        }
    }

    @Test(arguments: [
        ([FakeNvidiaSMI.h100, FakeNvidiaSMI.h100], "{ gpu: h100-sxm, count: 4 }", "machine: GPU count", "set hardware.count (or --gpus) to 2"),
        ([FakeNvidiaSMI.h100PCIe], "{ gpu: h100-sxm }", "machine: GPU model", "set hardware.gpu to this machine's GPU"),
        ([FakeNvidiaSMI.h100], "{ gpu: h100-sxm, vram_gb: 141 }", "machine: GPU memory", "set hardware.vram_gb to 85"),
    ] as [([FakeNvidiaSMI.GPU], String, String, String)])
    func gpuChecksFailAgainstHardware(_ gpus: [FakeNvidiaSMI.GPU], _ hardware: String, _ name: String, _ fix: String) async throws {
        let machine = try Machine(gpus: gpus)
        defer { try? FileManager.default.removeItem(at: machine.directory) }
        try machine.write(Self.steps, hardware: hardware)
        let (status, checks, output) = try await machine.doctor()
        #expect(status == 2, "\(output)")
        let check = try #require(Self.failed(checks, name), "\(name) did not fail: \(output)")
        #expect((check["fix"] as? String)?.contains(fix) == true, "\(check)")
        #expect(checks.filter { $0.value["status"] as? String == "failed" }.count == 1, "only \(name) fails: \(output)")
    }

    @Test func noNvidiaSMIOrFFprobeFails() async throws {
        let machine = try Machine()
        defer { try? FileManager.default.removeItem(at: machine.directory) }
        try machine.write(Self.steps)
        // A PATH with python3 alone: no nvidia-smi, no ffprobe.
        let bare = machine.directory.appendingPathComponent("bare-bin")
        try FileManager.default.createDirectory(at: bare, withIntermediateDirectories: true)
        let python = try #require(ToolSupport.findExecutable("python3"))
        try FileManager.default.createSymbolicLink(at: bare.appendingPathComponent("python3"), withDestinationURL: URL(fileURLWithPath: python))
        let (status, checks, output) = try await machine.doctor(environment: ["PATH": bare.path])
        #expect(status == 2, "\(output)")
        let smi = try #require(Self.failed(checks, "machine: nvidia-smi driver"), "\(output)")
        #expect((smi["fix"] as? String)?.contains("install the NVIDIA driver") == true)
        let probe = try #require(Self.failed(checks, "machine: ffprobe"), "\(output)")
        #expect((probe["fix"] as? String)?.contains("apt-get install ffmpeg") == true)
    }

    @Test func diskCheckFailsWhenThePlannedOutputsDoNotFit() async throws {
        let text = """
            version: 1
            name: disk
            hardware: { gpu: h100-sxm }
            steps:
              worlds:
                uses: cosmos-predict2.5/text2world
                prompt: "A belt."
                seeds: 0..99
            """
        let workflow = try #require(WorkflowLoader().load(text: text, file: "/tmp/disk.yaml", directory: URL(fileURLWithPath: "/tmp")).workflow)
        let plan = try #require(Planner().plan(workflow).plan)
        let workspace = Workspace(root: URL(fileURLWithPath: "/tmp/synthset-doctor-disk-\(UUID().uuidString.prefix(6))"))
        #expect(Doctor.plannedBytes(plan, done: []) == 100 * 8_000_000)
        let tight = await Doctor.diskCheck(plan: plan, workspace: workspace, free: { _ in 500_000_000 }).probe()
        #expect(tight.status == .failed)
        #expect(tight.detail.contains("about 0.8 GB to write") && tight.detail.contains("0.5 GB free on /tmp"), "\(tight.detail)")
        #expect(tight.fix?.contains("--workspace on a bigger disk") == true)
        let roomy = await Doctor.diskCheck(plan: plan, workspace: workspace, free: { _ in 50_000_000_000 }).probe()
        #expect(roomy.status == .ok)
    }
}

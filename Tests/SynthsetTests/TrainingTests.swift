import Datasets
@testable import Execution
import Planning
import Foundation
import Testing
import WorkflowSpec

/// `ultralytics/train`: bad inputs at validation and preflight, the lock's measured
/// results and metrics, `diff` between two locks with metrics, and the train demo run
/// end to end with the real Ultralytics from `.build/venv` (bash .ci/setup-python.sh).
@Suite struct TrainingTests {
    static let scenes = """
        version: 1
        name: t
        steps:
          scenes:
            uses: procedural/scenes
            seeds: 0..9
            size: [64, 64]
            objects: { can: { shape: cylinder } }
          dataset:
            uses: export
            from: scenes
            formats: [FORMATS]
            split: { train: 0.8, test: 0.2 }

        """

    static func recipe(formats: String = "yolo", training: String) -> String {
        scenes.replacingOccurrences(of: "FORMATS", with: formats) + training
    }

    static func validate(_ text: String, files: [String: String] = [:]) async throws -> TestSupport.Result {
        let root = try TestSupport.temporaryDirectory("train")
        for (path, content) in files {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try content.write(to: url, atomically: true, encoding: .utf8)
        }
        try text.write(to: root.appendingPathComponent("t.yaml"), atomically: true, encoding: .utf8)
        return try await TestSupport.run(["validate", "t.yaml"], in: root)
    }

    @Test func trainingFromAnExportWithoutYOLOIsALocatedError() async throws {
        let result = try await Self.validate(Self.recipe(formats: "coco", training: """
              detector:
                uses: ultralytics/train
                from: dataset

            """))
        #expect(result.status == 2)
        #expect(result.stderr.contains("t.yaml:"), "\(result.stderr)")
        #expect(result.stderr.contains("exports no YOLO dataset"), "\(result.stderr)")
        #expect(result.stderr.contains("formats: [coco, yolo]"), "\(result.stderr)")
    }

    @Test func trainingFromAStepThatIsNotAnExportIsAnError() async throws {
        let result = try await Self.validate(Self.recipe(training: """
              detector:
                uses: ultralytics/train
                from: scenes

            """))
        #expect(result.status == 2)
        #expect(result.stderr.contains("t.yaml:16:5: error: step 'detector' (ultralytics/train) cannot take images from step 'scenes'"), "\(result.stderr)")
    }

    @Test func anEvaluationDatasetThatDoesNotParseIsALocatedError() async throws {
        let result = try await Self.validate(Self.recipe(training: """
              detector:
                uses: ultralytics/train
                from: dataset
                evaluate_on: { real: real/data.yaml, cam: real/instances.json }

            """), files: ["real/data.yaml": "names: [can]\nval: images/val\n", "real/instances.json": "{\"images\": []"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("t.yaml:17:26: error: evaluate_on.real"), "\(result.stderr)")
        #expect(result.stderr.contains("evaluate_on.real: real/data.yaml is not a YOLO dataset: its split images/val does not exist"), "\(result.stderr)")
        #expect(result.stderr.contains("evaluate_on.cam: real/instances.json is not a COCO dataset: it is not JSON"), "\(result.stderr)")
    }

    @Test func anEvaluationDatasetOutsideTheManifestFolderIsRefused() async throws {
        let result = try await Self.validate(Self.recipe(training: """
              detector:
                uses: ultralytics/train
                from: dataset
                evaluate_on: { real: ../elsewhere/data.yaml }

            """))
        #expect(result.status == 2)
        #expect(result.stderr.contains("escapes the manifest's folder"), "\(result.stderr)")
    }

    @Test func weightsByBareNameWouldBeDownloadedAndAreRefused() async throws {
        let result = try await Self.validate(Self.recipe(training: """
              detector:
                uses: ultralytics/train
                from: dataset
                model: yolov8n.pt
                imgsz: 100
                fractions: [0.5, 0]

            """))
        #expect(result.status == 2)
        #expect(result.stderr.contains("Ultralytics would download it"), "\(result.stderr)")
        #expect(result.stderr.contains("imgsz must be a multiple of 32"), "\(result.stderr)")
        #expect(result.stderr.contains("fractions[1] must be above 0"), "\(result.stderr)")
    }

    /// A Python without ultralytics fails the run at preflight: exit 2, nothing run.
    @Test func aPythonWithoutUltralyticsFailsAtPreflight() async throws {
        let root = try TestSupport.temporaryDirectory("train")
        let text = Self.recipe(training: """
              detector:
                uses: ultralytics/train
                from: dataset

            """).replacingOccurrences(of: "name: t\n", with: "name: t\ntools:\n  ultralytics: { python: /usr/bin/python3 }\n")
        try text.write(to: root.appendingPathComponent("t.yaml"), atomically: true, encoding: .utf8)
        let result = try await TestSupport.run(["run", "t.yaml"], in: root)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("ultralytics cannot be imported in '/usr/bin/python3'"), "\(result.stderr)")
        #expect(result.stderr.contains("pip install ultralytics"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent(".synthset/t/outputs").path))

        // doctor imports it, and says the same.
        let doctor = try await TestSupport.run(["doctor", "t.yaml", "--json"], in: root)
        #expect(doctor.status == 2, "\(doctor.stdout)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(doctor.stdout.utf8)) as? [String: Any], "\(doctor.stdout)")
        let check = try #require((object["checks"] as? [[String: Any]])?.first { ($0["name"] as? String)?.hasPrefix("ultralytics: ") == true })
        #expect(check["status"] as? String == "failed")
        #expect((check["detail"] as? String)?.contains("ultralytics cannot be imported in '/usr/bin/python3'") == true, "\(check)")
        #expect((check["fix"] as? String)?.contains("pip install ultralytics") == true, "\(check)")
    }

    @Test func fractionsMakeOneItemEachAndNestedSubsets() throws {
        let text = Self.recipe(training: """
              detector:
                uses: ultralytics/train
                from: dataset
                fractions: [1.0, 0.25, 0.5]

            """)
        let root = try TestSupport.temporaryDirectory("train")
        try text.write(to: root.appendingPathComponent("t.yaml"), atomically: true, encoding: .utf8)
        let workflow = try #require(WorkflowLoader().load(file: root.appendingPathComponent("t.yaml").path).workflow)
        #expect(workflow.step("detector")?.training?.fractions == [0.25, 0.5, 1.0])
        let plan = try #require(Planner().plan(workflow).plan)
        let trainings = plan.items.filter { $0.step == "detector" }
        #expect(trainings.count == 3)
        #expect(Set(trainings.map(\.id)).count == 3)
        #expect(trainings.allSatisfy { $0.kind == .model && $0.kind.isMeasured })
        // Subsets by lineage: each smaller fraction's images are inside the larger one's.
        let sources = (0..<400).map { ExportParameters.Source(lineage: "lineage-\($0)", fileName: "s-\($0).jpg", image: .workspace("a"), labels: .workspace("b")) }
        var previous: Set<String> = []
        for fraction in [0.25, 0.5, 1.0] {
            let lists = UltralyticsTrainTool.lists(sources, split: Split(train: 0.8, test: 0.2), fraction: fraction)
            let listed = Set(lists["train"] ?? [])
            #expect(previous.isSubset(of: listed))
            #expect(lists["test"]?.count == lists["test"].map { Set($0).count })
            #expect(Set(lists["test"] ?? []).isDisjoint(with: listed))
            let expected = 400.0 * 0.8 * fraction
            #expect(abs(Double(listed.count) - expected) < expected * 0.25 + 8, "fraction \(fraction): \(listed.count) images")
            previous = listed
        }
        #expect(previous.count + (UltralyticsTrainTool.lists(sources, split: Split(train: 0.8, test: 0.2), fraction: 1)["test"]?.count ?? 0) == 400)
    }

    // MARK: - Lock and diff

    static let lockOld = """
        synthset-lock 1
        workflow t
        recipe t.yaml sha256 aa
        plan bb
        tool synthset 0.1.0
        item dataset 1111 cc 10 outputs/dataset/1111
        result detector 2222 dd 20 outputs/detector/2222
        metrics detector 2222 fraction=1.0 split=test images=80 map50=0.5000 map50_95=0.2500 precision=0.6000 recall=0.4000
        metrics detector 2222 fraction=1.0 split=validation images=80 map50=0.5500 map50_95=0.3000 precision=0.6000 recall=0.4000
        fingerprint ee export 1

        """

    @Test func theLockKeepsMeasuredResultsApartAndRoundTrips() throws {
        let lock = try LockFile.parse(Self.lockOld)
        #expect(lock.items.map(\.step) == ["dataset"])
        #expect(lock.results.map(\.id) == ["2222"])
        #expect(lock.metrics.count == 2)
        #expect(lock.text == Self.lockOld.replacingOccurrences(of: "\n\n", with: "\n"))
        let metrics = try #require(LockedMetrics(line: lock.metrics[0]))
        #expect(metrics.split == "test" && metrics.map50 == 0.5 && metrics.images == 80)
        // A changed training hash is not a reproduction failure.
        var produced = lock
        produced.results[0].sha256 = "ff"
        #expect(Reproduction.outputDifferences(locked: lock, produced: produced).isEmpty)
    }

    @Test func diffShowsTheMetricChangeBetweenTwoLockFiles() async throws {
        let root = try TestSupport.temporaryDirectory("train-diff")
        let text = Self.recipe(training: """
              detector:
                uses: ultralytics/train
                from: dataset

            """)
        try text.write(to: root.appendingPathComponent("old.yaml"), atomically: true, encoding: .utf8)
        try text.replacingOccurrences(of: "seeds: 0..9", with: "seeds: 0..19").write(to: root.appendingPathComponent("new.yaml"), atomically: true, encoding: .utf8)
        try Self.lockOld.write(to: root.appendingPathComponent("old.yaml.lock"), atomically: true, encoding: .utf8)
        let newLock = Self.lockOld.replacingOccurrences(of: "2222", with: "3333")
            .replacingOccurrences(of: "images=80 map50=0.5000 map50_95=0.2500", with: "images=160 map50=0.7000 map50_95=0.4000")
        try newLock.write(to: root.appendingPathComponent("new.yaml.lock"), atomically: true, encoding: .utf8)
        let result = try await TestSupport.run(["diff", "old.yaml", "new.yaml"], in: root)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("training metrics"), "\(result.stdout)")
        let row = try #require(result.stdout.split(separator: "\n").first { $0.contains("test") && $0.contains("detector") })
        #expect(row.contains("80 -> 160"), "\(row)")
        #expect(row.contains("0.5000") && row.contains("0.7000") && row.contains("+0.2000"), "\(row)")
        #expect(row.contains("+0.1500"), "\(row)")
        let json = try await TestSupport.run(["diff", "old.yaml", "new.yaml", "--json"], in: root)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let rows = try #require(object["metrics"] as? [[String: Any]])
        let test = try #require(rows.first { $0["split"] as? String == "test" })
        #expect(abs((test["map50_delta"] as? Double ?? 0) - 0.2) < 1e-9)
        #expect(object["steps"] != nil)
        // Without lock files, no metrics section.
        try FileManager.default.removeItem(at: root.appendingPathComponent("old.yaml.lock"))
        let plain = try await TestSupport.run(["diff", "old.yaml", "new.yaml"], in: root)
        #expect(!plain.stdout.contains("training metrics"))
    }

    // MARK: - The train demo, with the real Ultralytics

    static var venvBin: URL { TestSupport.packageRoot.appendingPathComponent(".build/venv/bin") }

    /// The test venv's Python (with the real Ultralytics), or nil with a recorded failure
    /// saying how to install it: these tests never pass by skipping.
    static func venvPython() -> URL? {
        let python = venvBin.appendingPathComponent("python3")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            Issue.record("no Python with ultralytics at \(venvBin.path): run bash .ci/setup-python.sh first")
            return nil
        }
        return python
    }

    /// PATH with the test venv first, so `python3` in a recipe is its Python.
    static var venvEnvironment: [String: String] {
        ["PATH": venvBin.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")]
    }

    @Test(.timeLimit(.minutes(20))) func theTrainDemoRunsWithTheRealUltralytics() async throws {
        guard Self.venvPython() != nil else { return }
        let root = try TestSupport.temporaryDirectory("train-demo")
        defer { try? FileManager.default.removeItem(at: root) }
        let recipe = root.appendingPathComponent("train-demo.yaml")
        try FileManager.default.copyItem(at: TestSupport.packageRoot.appendingPathComponent("workflows/train-demo.yaml"), to: recipe)
        let environment = Self.venvEnvironment
        let workspace = root.appendingPathComponent(".synthset/train-demo")
        let outputs = workspace.appendingPathComponent("outputs/detector")

        // Killed mid-training (after its first epoch): nothing is committed, and the next
        // run trains again from the start and finishes.
        let killed = try TestSupport.launch(["run", "train-demo.yaml"], in: root, environment: environment)
        let deadline = Date().addingTimeInterval(600)
        func epochWritten() -> Bool {
            let scratch = workspace.appendingPathComponent("tmp")  // Workspace.scratch
            guard let walker = FileManager.default.enumerator(atPath: scratch.path) else { return false }
            return walker.contains { ($0 as? String)?.hasSuffix("train/results.csv") == true }
        }
        while !epochWritten() && killed.process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(200)) }
        #expect(killed.process.isRunning, "the run ended before a training wrote its first epoch")
        kill(killed.process.processIdentifier, SIGKILL)
        _ = await killed.result()
        try await Task.sleep(for: .seconds(2))  // the watchdog ends the training script
        let committed = (try? FileManager.default.contentsOfDirectory(atPath: outputs.path)) ?? []
        #expect(committed.isEmpty, "a killed training left \(committed)")

        let started = Date()
        let run = try await TestSupport.run(["run", "train-demo.yaml"], in: root, environment: environment)
        let seconds = Date().timeIntervalSince(started)
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        print("train demo: \(Int(seconds)) s")

        // metrics.json per training, with the headline figures.
        let folders = try FileManager.default.contentsOfDirectory(atPath: outputs.path).filter { !$0.hasPrefix(".") }.sorted()
        #expect(folders.count == 2)
        var trainImages: [Int] = []
        for folder in folders {
            let url = outputs.appendingPathComponent(folder)
            let metrics = try TrainingMetrics.read(from: url)
            #expect((0...1).contains(metrics.map50) && (0...1).contains(metrics.map50_95))
            #expect(metrics.map50 >= metrics.map50_95)
            #expect(Set(metrics.splits.keys) == ["test", "validation"])
            #expect(metrics.splits["test"]?.instances?["can"] ?? 0 > 0)
            #expect(metrics.epochsRun >= 1 && metrics.epochsRun <= 12)
            #expect(FileManager.default.fileExists(atPath: url.appendingPathComponent("weights.pt").path))
            let csv = try String(contentsOf: url.appendingPathComponent("results.csv"), encoding: .utf8)
            #expect(TrainingMetrics.epochs(fromCSV: csv).count == metrics.epochsRun)
            trainImages.append(metrics.trainImages)
            let json = try String(contentsOf: url.appendingPathComponent("metrics.json"), encoding: .utf8)
            #expect(json.contains("\"map50\"") && json.contains("\"map50_95\""))
        }
        #expect(trainImages.sorted()[0] < trainImages.sorted()[1])
        // The export was left as it was: Ultralytics' label caches went to scratch space.
        let dataset = root.appendingPathComponent(".synthset/train-demo/outputs/dataset")
        let exportFiles = TestSupport.files(under: dataset).keys
        #expect(!exportFiles.contains { $0.hasSuffix(".cache") }, "\(exportFiles.filter { $0.hasSuffix(".cache") })")

        // The lock: trainings as results with metrics, the fingerprint over the export only.
        let lockText = try String(contentsOf: root.appendingPathComponent("train-demo.yaml.lock"), encoding: .utf8)
        let lock = try LockFile.parse(lockText)
        #expect(lock.results.count == 2 && lock.results.allSatisfy { $0.step == "detector" })
        #expect(!lock.items.contains { $0.step == "detector" })
        #expect(lock.metrics.count == 4)
        #expect(lock.fingerprintCount == 1)
        #expect(lock.tools["ultralytics"] == "8.4.190")

        // A re-run trains nothing again; verify passes against a lock whose trainings were
        // measured elsewhere (other hashes), and still fails on a changed export.
        let again = try await TestSupport.run(["run", "train-demo.yaml"], in: root, environment: environment)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("0 items made") || again.stdout.contains("0 items made"), "\(again.stdout)\(again.stderr)")
        var elsewhere = try LockFile.parse(String(contentsOf: root.appendingPathComponent("train-demo.yaml.lock"), encoding: .utf8))
        for index in elsewhere.results.indices { elsewhere.results[index].sha256 = String(repeating: "0", count: 64) }
        try elsewhere.write(to: root.appendingPathComponent("train-demo.yaml.lock"))
        let verify = try await TestSupport.run(["verify", "train-demo.yaml"], in: root, environment: environment)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        elsewhere.items[elsewhere.items.count - 1].sha256 = String(repeating: "0", count: 64)
        try elsewhere.write(to: root.appendingPathComponent("train-demo.yaml.lock"))
        let changed = try await TestSupport.run(["verify", "train-demo.yaml"], in: root, environment: environment)
        #expect(changed.status != 0, "\(changed.stdout)")

        // The report's Training section.
        let report = try await TestSupport.run(["report", "train-demo.yaml", "-o", "report.html"], in: root, environment: environment)
        #expect(report.status == 0, "\(report.stderr)")
        let html = try String(contentsOf: root.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("<section id=\"training\">"))
        #expect(html.contains("mAP50-95 against training images"))
        #expect(html.contains("Validation metrics per epoch"))
        #expect(html.contains("class=\"truth\""))
    }
}

extension TrainingTests {
    /// `evaluate_on` with a YOLO data.yaml and a COCO JSON (another export standing in for
    /// the user's real images): both are evaluated and named in metrics and the lock.
    @Test(.timeLimit(.minutes(15))) func evaluateOnReadsYOLOAndCOCODatasets() async throws {
        guard Self.venvPython() != nil else { return }
        let root = try TestSupport.temporaryDirectory("train-eval")
        defer { try? FileManager.default.removeItem(at: root) }
        let environment = Self.venvEnvironment
        // The "real" dataset: an export of other scenes, copied into the recipe's folder.
        let real = Self.recipe(formats: "yolo, coco", training: "").replacingOccurrences(of: "name: t\n", with: "name: real\n")
            .replacingOccurrences(of: "seeds: 0..9", with: "seeds: 100..119")
        try real.write(to: root.appendingPathComponent("real.yaml"), atomically: true, encoding: .utf8)
        let made = try await TestSupport.run(["run", "real.yaml"], in: root)
        #expect(made.status == 0, "\(made.stderr)")
        let exports = root.appendingPathComponent(".synthset/real/outputs/dataset")
        let export = try #require(try FileManager.default.contentsOfDirectory(atPath: exports.path).first)
        try FileManager.default.copyItem(at: exports.appendingPathComponent(export), to: root.appendingPathComponent("real"))
        let text = Self.recipe(training: """
              detector:
                uses: ultralytics/train
                from: dataset
                epochs: 1
                imgsz: 64
                evaluate_on: { yolo-real: real/data.yaml, coco-real: real/annotations/instances_test.json }

            """)
        try text.replacingOccurrences(of: "seeds: 0..9", with: "seeds: 0..29").write(to: root.appendingPathComponent("t.yaml"), atomically: true, encoding: .utf8)
        let run = try await TestSupport.run(["run", "t.yaml"], in: root, environment: environment)
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        let outputs = root.appendingPathComponent(".synthset/t/outputs/detector")
        let folder = try #require(try FileManager.default.contentsOfDirectory(atPath: outputs.path).first)
        let metrics = try TrainingMetrics.read(from: outputs.appendingPathComponent(folder))
        #expect(Set(metrics.splits.keys) == ["test", "coco-real", "yolo-real"])
        // The same images and boxes through either format.
        #expect(metrics.splits["coco-real"]?.instances == metrics.splits["yolo-real"]?.instances)
        #expect((metrics.splits["coco-real"]?.instances?["can"] ?? 0) > 0)
        let lock = try String(contentsOf: root.appendingPathComponent("t.yaml.lock"), encoding: .utf8)
        #expect(lock.contains("split=coco-real") && lock.contains("split=yolo-real"))

        // Fine-tuning: the weights just trained, put beside a recipe as `model: base.pt`,
        // are loaded (not downloaded, not trained from scratch) and trained on further;
        // their bytes are part of the training's identity.
        try FileManager.default.copyItem(at: outputs.appendingPathComponent(folder).appendingPathComponent("weights.pt"),
                                         to: root.appendingPathComponent("base.pt"))
        let tune = Self.recipe(training: """
              detector:
                uses: ultralytics/train
                from: dataset
                model: base.pt
                epochs: 1
                imgsz: 64

            """).replacingOccurrences(of: "name: t\n", with: "name: tune\n").replacingOccurrences(of: "seeds: 0..9", with: "seeds: 0..29")
        try tune.write(to: root.appendingPathComponent("tune.yaml"), atomically: true, encoding: .utf8)
        func trainingID() async throws -> String {
            let plan = try await TestSupport.run(["plan", "tune.yaml", "--format", "json"], in: root, environment: environment)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any], "\(plan.stderr)")
            let items = try #require(json["items"] as? [[String: Any]])
            return try #require(items.first { $0["step"] as? String == "detector" }?["id"] as? String)
        }
        let before = try await trainingID()
        let tuned = try await TestSupport.run(["run", "tune.yaml"], in: root, environment: environment)
        #expect(tuned.status == 0, "\(tuned.stderr)\n\(tuned.stdout)")
        let tuneOutputs = root.appendingPathComponent(".synthset/tune/outputs/detector")
        let tuneFolder = try #require(try FileManager.default.contentsOfDirectory(atPath: tuneOutputs.path).first { !$0.hasPrefix(".") })
        let tunedMetrics = try TrainingMetrics.read(from: tuneOutputs.appendingPathComponent(tuneFolder))
        #expect(tunedMetrics.epochsRun == 1 && (0...1).contains(tunedMetrics.map50))
        let written = try JSONSerialization.jsonObject(with: Data(contentsOf: tuneOutputs.appendingPathComponent(tuneFolder)
            .appendingPathComponent("metrics.json"))) as? [String: Any]
        #expect((written?["model"] as? String)?.hasSuffix("/base.pt") == true, "\(written?["model"] ?? "none")")
        // Ultralytics says it transferred the weights into the model it trains.
        let logs = TestSupport.files(under: root.appendingPathComponent(".synthset/tune/logs"))
        #expect(logs.values.contains { String(decoding: $0, as: UTF8.self).contains("Transferred") }, "\(logs.keys.sorted())")
        // Other weights, another training: the id changes with the file's bytes.
        let handle = try FileHandle(forWritingTo: root.appendingPathComponent("base.pt"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0]))
        try handle.close()
        #expect(try await trainingID() != before)
    }
}

extension TrainingTests {
    /// `gpu: true`: the task takes a GPU slot from the executor, the script is told
    /// `--device 0` and sees the slot's GPU as CUDA_VISIBLE_DEVICES. This machine has no
    /// GPU, so the Python named in `tools.ultralytics.python` is a wrapper that records
    /// what it was given and then runs the real script on the real Ultralytics with
    /// `--device cpu` in place of `--device 0`: everything else is the run a GPU machine does.
    @Test(.timeLimit(.minutes(10))) func aGPUTrainingGetsAGPUFromTheExecutor() async throws {
        guard let python = Self.venvPython() else { return }
        let root = try TestSupport.temporaryDirectory("train-gpu")
        defer { try? FileManager.default.removeItem(at: root) }
        let seen = root.appendingPathComponent("seen.jsonl")
        try TestSupport.script("""
            #!\(python.path)
            import json, os, sys
            args = sys.argv[1:]
            if args and args[0].endswith("synthset_train.py"):
                with open(\(String(reflecting: seen.path)), "a") as log:
                    log.write(json.dumps({"cuda": os.environ.get("CUDA_VISIBLE_DEVICES"), "args": args}) + "\\n")
                at = args.index("--device")
                args[at + 1] = "cpu" if args[at + 1] == "0" else args[at + 1]
            os.execv(\(String(reflecting: python.path)), [\(String(reflecting: python.path))] + args)
            """, at: root.appendingPathComponent("gpu-python"))
        let text = Self.recipe(training: """
              detector:
                uses: ultralytics/train
                from: dataset
                epochs: 1
                imgsz: 64
                fractions: [0.5, 1.0]
                gpu: true

            """).replacingOccurrences(of: "seeds: 0..9", with: "seeds: 0..29")
            .replacingOccurrences(of: "name: t\n", with: "name: t\nhardware: { gpu: h100-sxm, count: 2 }\ntools:\n  ultralytics: { python: \(root.appendingPathComponent("gpu-python").path) }\n")
        try text.write(to: root.appendingPathComponent("t.yaml"), atomically: true, encoding: .utf8)
        let smi = try FakeNvidiaSMI.install(in: root, gpus: [FakeNvidiaSMI.h100, FakeNvidiaSMI.h100])
        let environment = ["PATH": FakeNvidiaSMI.path(smi)]

        // The plan puts the trainings on the GPUs.
        let plan = try await TestSupport.run(["plan", "t.yaml", "--format", "json"], in: root, environment: environment)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any], "\(plan.stderr)")
        let steps = try #require(json["steps"] as? [[String: Any]])
        #expect(steps.first { $0["id"] as? String == "detector" }?["device"] as? String == "gpu")

        let run = try await TestSupport.run(["run", "t.yaml"], in: root, environment: environment)
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        let calls = try String(contentsOf: seen, encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(calls.count == 2)
        for call in calls {
            let args = try #require(call["args"] as? [String])
            let device = try #require(args.firstIndex(of: "--device"))
            #expect(args[device + 1] == "0", "\(args)")
            #expect(["0", "1"].contains(call["cuda"] as? String ?? "-"), "\(call)")
        }
        let outputs = root.appendingPathComponent(".synthset/t/outputs/detector")
        let folders = try FileManager.default.contentsOfDirectory(atPath: outputs.path).filter { !$0.hasPrefix(".") }
        #expect(folders.count == 2)
        for folder in folders {
            #expect(try TrainingMetrics.read(from: outputs.appendingPathComponent(folder)).epochsRun == 1)
        }
    }
}

extension TrainingTests {
    static func trainingPlan(_ training: String, hardware: String = "") throws -> StepPlan {
        var text = Self.recipe(training: training).replacingOccurrences(of: "seeds: 0..9", with: "seeds: 0..99")
        if !hardware.isEmpty { text = text.replacingOccurrences(of: "name: t\n", with: "name: t\n\(hardware)\n") }
        let loaded = WorkflowLoader().load(text: text, file: "t.yaml", directory: URL(fileURLWithPath: "/tmp"))
        let workflow = try #require(loaded.workflow, "\(loaded.diagnostics)")
        let plan = try #require(Planner().plan(workflow).plan)
        return try #require(plan.steps.first { $0.id == "detector" })
    }

    /// The plan counts a training's time from the catalog's training rows: epochs x the
    /// images it trains on x seconds per image-epoch scaled by pixels, plus start-up; on a
    /// GPU it is GPU-hours (and money).
    @Test func theEstimateScalesWithEpochsImagesAndPixels() throws {
        let rows = try #require(Catalog.builtIn.trainingTimings)
        let cpu = try #require(rows.first { $0.uses == "ultralytics/train" && $0.device == "cpu" })
        let gpu = try #require(rows.first { $0.uses == "ultralytics/train" && $0.device == "gpu" && $0.gpu == nil })
        func expected(_ row: Catalog.TrainingTiming, epochs: Double, images: Double, size: Double) -> Double {
            row.startupSeconds + epochs * images * row.secondsPerImageEpoch * pow(size / Double(row.imageSize), 2)
        }
        // 100 scenes, 0.8 of them in the training split, fractions 0.5 and 1.0: 60 images on average.
        let onCPU = try Self.trainingPlan("""
              detector: { uses: ultralytics/train, from: dataset, epochs: 10, imgsz: 320, fractions: [0.5, 1.0] }
            """)
        let perItem = try #require(onCPU.secondsPerItem)
        #expect(abs(perItem.value - expected(cpu, epochs: 10, images: 60, size: 320)) < 1e-9, "\(perItem)")
        #expect(perItem.basis == cpu.basis && perItem.source.contains("10 epochs (at most) x 60 training images"))
        #expect(onCPU.device == .cpu && onCPU.gpuHours == 0)

        let longer = try Self.trainingPlan("""
              detector: { uses: ultralytics/train, from: dataset, epochs: 20, imgsz: 640 }
            """)
        #expect(abs(try #require(longer.secondsPerItem).value - expected(cpu, epochs: 20, images: 80, size: 640)) < 1e-9)

        let onGPU = try Self.trainingPlan("""
              detector: { uses: ultralytics/train, from: dataset, epochs: 10, imgsz: 640, gpu: true }
            """, hardware: "hardware: { gpu: h100-sxm }")
        let gpuFigure = try #require(onGPU.secondsPerItem)
        #expect(abs(gpuFigure.value - expected(gpu, epochs: 10, images: 80, size: 640)) < 1e-9, "\(gpuFigure)")
        #expect(onGPU.device == .gpu && abs(onGPU.gpuHours - gpuFigure.value / 3600) < 1e-9)
    }
}

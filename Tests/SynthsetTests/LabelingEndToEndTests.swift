import Datasets
import Foundation
import SceneFormats
import Scenes
import Testing

/// Runs the built binary on procedural → grounded-sam2/label → export, with stand-ins for
/// the labeling scripts that honor their contracts (argv, files, failure modes). The
/// stand-ins see only the staged `<id16>.jpg` links, so they find each image's ground
/// truth by resolving the link (the truth JSON sits beside the real image).
@Suite(.serialized) struct LabelingEndToEndTests {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The article's `grounded_sam2_batch_image.py` contract: required
    /// `--input_folder --output_folder --json_output_folder --text_prompt`, optional
    /// thresholds; reads `.jpg`/`.jpeg` only; writes `annotated_<img>` and `<stem>.json`
    /// (`detections: []` when nothing is found). Labels `forklift` objects `##lift`, as the
    /// article saw, and drops boxes not above `--box_threshold`.
    static let batchScript = #"""
    import argparse, json, os, shutil, sys
    p = argparse.ArgumentParser()
    for flag in ["--input_folder", "--output_folder", "--json_output_folder", "--text_prompt"]:
        p.add_argument(flag, required=True)
    p.add_argument("--box_threshold", type=float, default=0.25)
    p.add_argument("--text_threshold", type=float, default=0.25)
    a = p.parse_args()
    with open(os.environ["STANDIN_LOG"], "a") as log:
        log.write(json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd()}) + "\n")
    os.makedirs(a.output_folder, exist_ok=True); os.makedirs(a.json_output_folder, exist_ok=True)
    for name in sorted(os.listdir(a.input_folder)):
        if not name.lower().endswith((".jpg", ".jpeg")):
            continue
        path = os.path.join(a.input_folder, name)
        truth = json.load(open(os.path.splitext(os.path.realpath(path))[0] + ".json"))
        shutil.copy(path, os.path.join(a.output_folder, "annotated_" + name))
        detections = []
        for o in truth["objects"]:
            b = o["bbox"]
            if b["xmax"] <= b["xmin"] or b["ymax"] <= b["ymin"]:
                continue
            confidence = 0.9
            if confidence > a.box_threshold:
                detections.append({"class": "##lift" if o["class"] == "forklift" else o["class"],
                                   "confidence": confidence, "bbox": b})
        out = {"filename": name, "image_width": truth["width"], "image_height": truth["height"], "detections": detections}
        json.dump(out, open(os.path.join(a.json_output_folder, os.path.splitext(name)[0] + ".json"), "w"))
    """#

    /// synthset's raw labeler contract (RawLabelerScript): `--input_folder
    /// --json_output_folder --text_prompt --box_floor`; writes `synthset-candidates/1`.
    /// Tokenizes like BERT would here (`forklift` → `fork ##lift`). Truth objects get
    /// scores 0.40 (even index) or 0.30 (odd) on their phrase's tokens; each image also
    /// gets a `##lift`-only box, a merged `can . person` box, a `.`-only (empty) box and a
    /// 0.1 box (below every threshold, kept by the 0.05 floor).
    static let rawScript = #"""
    import argparse, json, os, sys
    p = argparse.ArgumentParser()
    for flag in ["--input_folder", "--json_output_folder", "--text_prompt"]:
        p.add_argument(flag, required=True)
    p.add_argument("--box_floor", type=float, required=True)
    p.add_argument("--grounding_config"); p.add_argument("--grounding_checkpoint"); p.add_argument("--device")
    a = p.parse_args()
    with open(os.environ["STANDIN_LOG"], "a") as log:
        log.write(json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd()}) + "\n")
    caption = a.text_prompt.lower().strip()
    tokens = ["[CLS]"]
    for word in caption.replace(".", " . ").split():
        tokens += ["fork", "##lift"] if word == "forklift" else [word]
    tokens.append("[SEP]")
    def at(word):
        return tokens.index(word)
    def scores(values):
        return [values.get(i, 0.02) for i in range(len(tokens))]
    phrase_tokens = {"can": [at("can")], "person": [at("person")], "forklift": [at("fork"), at("##lift")]}
    os.makedirs(a.json_output_folder, exist_ok=True)
    for name in sorted(os.listdir(a.input_folder)):
        if not name.lower().endswith((".jpg", ".jpeg")):
            continue
        path = os.path.join(a.input_folder, name)
        truth = json.load(open(os.path.splitext(os.path.realpath(path))[0] + ".json"))
        W, H = truth["width"], truth["height"]
        candidates = []
        kept = [o for o in truth["objects"] if o["bbox"]["xmax"] > o["bbox"]["xmin"] and o["bbox"]["ymax"] > o["bbox"]["ymin"]]
        for index, o in enumerate(kept):
            b = o["bbox"]
            score = 0.40 if index % 2 == 0 else 0.30
            box = [(b["xmin"] + b["xmax"]) / 2 / W, (b["ymin"] + b["ymax"]) / 2 / H, (b["xmax"] - b["xmin"]) / W, (b["ymax"] - b["ymin"]) / H]
            candidates.append({"cxcywh": box, "scores": scores({i: score for i in phrase_tokens[o["class"]]})})
        candidates.append({"cxcywh": [0.5, 0.5, 0.2, 0.2], "scores": scores({at("fork"): 0.1, at("##lift"): 0.5})})
        candidates.append({"cxcywh": [0.3, 0.3, 0.1, 0.1], "scores": scores({at("can"): 0.5, at("person"): 0.45})})
        candidates.append({"cxcywh": [0.7, 0.7, 0.1, 0.1], "scores": scores({2: 0.5})})
        candidates.append({"cxcywh": [0.2, 0.8, 0.1, 0.1], "scores": scores({at("can"): 0.1})})
        out = {"format": "synthset-candidates/1", "image": name, "width": W, "height": H, "caption": caption,
               "box_floor": a.box_floor, "tokens": tokens, "candidates": candidates}
        json.dump(out, open(os.path.join(a.json_output_folder, os.path.splitext(name)[0] + ".json"), "w"))
    """#

    static func manifest(mode: String, script: String, boxThreshold: Double, images: Int) -> String {
        """
        version: 1
        name: label-e2e
        hardware: { gpu: h100-sxm }
        tools:
          grounded-sam2: { root: tool, python: python3 }
        steps:
          scenes:
            uses: procedural/scenes
            seeds: 0..\(images - 1)
            size: [320, 240]
            objects:
              can: { shape: cylinder, colors: [red, blue], size: [0.15, 0.3], count: [1, 3] }
              forklift: { shape: box, colors: [cardboard], size: [0.2, 0.35], count: [0, 2] }
          labels:
            uses: grounded-sam2/label
            from: scenes
            mode: \(mode)
            script: \(script)
            classes: { can: can, person: person, forklift: forklift }
            box_threshold: \(boxThreshold)
            text_threshold: 0.25
          dataset:
            uses: export
            from: labels
            formats: [pascal-voc, coco, yolo, edge-impulse]
            split: { train: 0.75, test: 0.25 }
        """
    }

    /// A folder with the manifest, the stand-in and the fake tool checkout.
    static func setUp(mode: String, script: String, boxThreshold: Double, images: Int) throws -> URL {
        let root = try TestSupport.temporaryDirectory("synthset-label")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("tool"), withIntermediateDirectories: true)
        try script.write(to: root.appendingPathComponent("standin.py"), atomically: true, encoding: .utf8)
        try manifest(mode: mode, script: "standin.py", boxThreshold: boxThreshold, images: images)
            .write(to: root.appendingPathComponent("label.yaml"), atomically: true, encoding: .utf8)
        return root
    }

    static func run(_ root: URL) async throws {
        let result = try await TestSupport.run(["run", "label.yaml", "--workspace", "ws", "--jobs", "2"], in: root,
                                               environment: ["STANDIN_LOG": root.appendingPathComponent("invocations.log").path])
        guard result.status == 0 else { throw Failure(description: "synthset run exited \(result.status):\n\(result.output)") }
    }

    static func invocations(_ root: URL) -> [[String: Any]] {
        let text = (try? String(contentsOf: root.appendingPathComponent("invocations.log"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    static func datasets(_ root: URL) throws -> [URL] {
        let outputs = root.appendingPathComponent("ws/outputs/dataset")
        return try FileManager.default.contentsOfDirectory(atPath: outputs.path).filter { !$0.hasPrefix(".") }
            .map { outputs.appendingPathComponent($0) }
    }

    static func report(_ dataset: URL) throws -> DatasetReport {
        try JSONDecoder().decode(DatasetReport.self, from: Data(contentsOf: dataset.appendingPathComponent("report.json")))
    }

    /// Truth objects with a non-empty box, per image, in file order.
    static func truth(_ root: URL) throws -> [[GroundTruth.Object]] {
        let scenes = root.appendingPathComponent("ws/outputs/scenes")
        return try FileManager.default.contentsOfDirectory(atPath: scenes.path).filter { $0.hasSuffix(".json") }.map { file in
            try GroundTruth.decode(from: Data(contentsOf: scenes.appendingPathComponent(file))).objects
                .filter { $0.bbox.width > 0 && $0.bbox.height > 0 }
        }
    }

    // MARK: (a) script mode, checked by real consumers

    @Test func scriptModeLabelsAProceduralRunAndExports() async throws {
        let root = try Self.setUp(mode: "script", script: Self.batchScript, boxThreshold: 0.15, images: 12)
        defer { try? FileManager.default.removeItem(at: root) }
        try await Self.run(root)

        // One invocation with the article's command line, in the tool's checkout.
        let calls = Self.invocations(root)
        #expect(calls.count == 1)
        let argv = try #require(calls.first?["argv"] as? [String])
        #expect(argv.count == 12)
        #expect(argv.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
                == ["--input_folder", "--output_folder", "--json_output_folder", "--text_prompt", "--box_threshold", "--text_threshold"])
        #expect(argv[7] == "can. person. forklift.")
        #expect(argv[9] == "0.15" && argv[11] == "0.25")
        #expect((calls.first?["cwd"] as? String).map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path }
                == root.appendingPathComponent("tool").resolvingSymlinksInPath().path)

        // Every truth box is exported, `##lift` mapped to forklift.
        let dataset = try #require(try Self.datasets(root).first)
        let report = try Self.report(dataset)
        var expected: [String: Int] = [:]
        for object in try Self.truth(root).joined() { expected[object.className, default: 0] += 1 }
        #expect(report.images == 12)
        #expect(report.classes == ["can", "person", "forklift"])
        #expect(report.boxesPerClass.filter { $0.value > 0 } == expected)
        let labels = root.appendingPathComponent("ws/outputs/labels")
        let stats = try FileManager.default.contentsOfDirectory(atPath: labels.path).filter { $0.hasSuffix(".stats.json") }
        #expect(stats.count == 12)

        // Real consumers read the dataset.
        let configured = ProcessInfo.processInfo.environment["SYNTHSET_TEST_PYTHON"]
        let python = configured.map { URL(fileURLWithPath: $0, relativeTo: TestSupport.packageRoot) }
            ?? TestSupport.packageRoot.appendingPathComponent(".build/venv/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            Issue.record("no Python with pycocotools and globox at \(python.path): run bash .ci/setup-python.sh")
            return
        }
        let check = TestSupport.packageRoot.appendingPathComponent("Tests/SynthsetTests/Consumers/check_dataset.py")
        let result = try await TestSupport.run([check.path, dataset.path], in: root, program: python)
        #expect(result.status == 0, "check_dataset.py failed:\n\(result.output)")
    }

    @Test func scriptModeWithoutJSONFailsThatItem() async throws {
        // Contract: a missing per-image JSON means that image failed; the rest go on.
        let failing = Self.batchScript.replacingOccurrences(of: "for name in sorted(os.listdir(a.input_folder)):\n",
                                                            with: "for name in sorted(os.listdir(a.input_folder))[1:]:\n")
        #expect(failing != Self.batchScript)
        let root = try Self.setUp(mode: "script", script: failing, boxThreshold: 0.15, images: 3)
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try await TestSupport.run(["run", "label.yaml", "--workspace", "ws", "--keep-going", "--retries", "0"], in: root,
                                               environment: ["STANDIN_LOG": root.appendingPathComponent("invocations.log").path])
        #expect(result.status != 0)
        #expect(result.output.contains("wrote no"), "\(result.output)")
        let labels = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("ws/outputs/labels").path)
        #expect(labels.filter { $0.hasSuffix(".json") && !$0.hasSuffix(".stats.json") }.count == 2)
    }

    // MARK: (b), (c) raw mode: thresholds in Swift, no GPU re-run

    @Test func rawModeThresholdChangeRerunsNoLabeling() async throws {
        let images = 8
        let root = try Self.setUp(mode: "raw", script: Self.rawScript, boxThreshold: 0.25, images: images)
        defer { try? FileManager.default.removeItem(at: root) }
        try await Self.run(root)
        #expect(Self.invocations(root).count == 1)
        let argv = try #require(Self.invocations(root).first?["argv"] as? [String])
        #expect(argv.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
                == ["--input_folder", "--json_output_folder", "--text_prompt", "--box_floor"])
        #expect(argv[5] == "can. person. forklift." && argv[7] == "0.05")

        let truth = try Self.truth(root)
        let first = try #require(try Self.datasets(root).first)
        let low = try Self.report(first)
        // 0.25: every truth box, plus per image the ##lift box (forklift) and the merged
        // "can person" box (can: its can token scores higher).
        var expectedLow: [String: Int] = ["can": images, "forklift": images]
        for object in truth.joined() { expectedLow[object.className, default: 0] += 1 }
        #expect(low.boxesPerClass.filter { $0.value > 0 } == expectedLow)

        // (c) The step's report: per-image stats, and the run's summed in the log.
        var total = LabelStats()
        let labels = root.appendingPathComponent("ws/outputs/labels")
        for file in try FileManager.default.contentsOfDirectory(atPath: labels.path) where file.hasSuffix(".stats.json") {
            total.add(try JSONDecoder().decode(LabelStats.self, from: Data(contentsOf: labels.appendingPathComponent(file))))
        }
        #expect(total.unassigned["empty"] == images)
        #expect(total.resolvedMerges == ["can person -> can": images])
        #expect(total.dropped(.threshold) == images)
        #expect(total.classes["can"]?.dropped["threshold"] == images)
        #expect(total.kept == expectedLow.values.reduce(0, +))

        // 0.35: the 0.30 boxes go, no labeling runs again, only labels and export redo.
        try Self.manifest(mode: "raw", script: "standin.py", boxThreshold: 0.35, images: images)
            .write(to: root.appendingPathComponent("label.yaml"), atomically: true, encoding: .utf8)
        try await Self.run(root)
        #expect(Self.invocations(root).count == 1, "the labeler ran again")
        let second = try #require(try Self.datasets(root).first { $0.lastPathComponent != first.lastPathComponent })
        let high = try Self.report(second)
        var expectedHigh: [String: Int] = ["can": images, "forklift": images]
        for objects in truth { for (index, object) in objects.enumerated() where index % 2 == 0 { expectedHigh[object.className, default: 0] += 1 } }
        #expect(high.boxesPerClass.filter { $0.value > 0 } == expectedHigh)
        #expect(high.boxes < low.boxes)
    }
}

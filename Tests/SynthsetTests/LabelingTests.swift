import Datasets
import Foundation
import Planning
import SceneFormats
import Scenes
import Testing
import WorkflowSpec

/// Auto-label post-processing (pure Swift): Grounding DINO's thresholds, phrase → class
/// rules, NMS and limits, the demo JSON reader, and the raw-mode plan split.
@Suite struct LabelingTests {
    static let tokens = ["[CLS]", "can", ".", "person", ".", "fork", "##lift", ".", "[SEP]"]
    static let classes: [(phrase: String, className: String)] = [("can", "can"), ("person", "person"), ("forklift", "forklift")]

    static func candidates(_ scores: [[Double]]) -> LabelCandidates {
        LabelCandidates(image: "a.jpg", width: 100, height: 50, caption: "can. person. forklift.", boxFloor: 0.05,
                        tokens: tokens, candidates: scores.map { .init(cxcywh: [0.5, 0.5, 0.2, 0.4], scores: $0) })
    }

    static func scores(_ values: [Int: Double]) -> [Double] {
        tokens.indices.map { values[$0] ?? 0.01 }
    }

    // MARK: Grounding DINO's rules

    @Test func decodeJoinsWordPiecesAndCleansSpaces() {
        #expect(GroundingDINO.decode(["fork", "##lift"]) == "forklift")
        #expect(GroundingDINO.decode(["##lift"]) == "##lift")
        #expect(GroundingDINO.decode(["can", ".", "person"]) == "can. person")
        #expect(GroundingDINO.decode([]) == "")
        #expect(GroundingDINO.phraseSpans(Self.tokens) == [1..<2, 3..<4, 5..<7])
    }

    @Test func thresholdsAreStrictAndPhrasesComeFromTokensAboveTextThreshold() {
        let input = Self.candidates([
            Self.scores([1: 0.35]),                 // exactly box_threshold: dropped (strict >)
            Self.scores([1: 0.36]),                 // can
            Self.scores([5: 0.3, 6: 0.5]),          // fork ##lift -> forklift
            Self.scores([5: 0.2, 6: 0.5]),          // only ##lift
            Self.scores([1: 0.5, 2: 0.3, 3: 0.45]), // can . person -> "can person"
            Self.scores([2: 0.5]),                  // only "." -> empty
            Self.scores([0: 0.9, 3: 0.2]),          // [CLS] is never part of a phrase
        ])
        let (kept, below) = GroundingDINO.apply(input, boxThreshold: 0.35, textThreshold: 0.25)
        #expect(below == [0])
        #expect(kept.map(\.phrase) == ["can", "forklift", "##lift", "can person", "", ""])
        #expect(kept[0].confidence == 0.36)
        #expect(kept[0].box == GroundTruth.BoundingBox(xmin: 40, ymin: 15, xmax: 60, ymax: 35))
        #expect(kept[3].phraseScores == [0.5, 0.45, 0.01])
    }

    // MARK: phrase -> class

    @Test func phraseRules() {
        let mapper = PhraseMapper(classes: Self.classes)
        #expect(mapper.map("can") == .mapped(className: "can", merged: false))
        #expect(mapper.map("Can") == .mapped(className: "can", merged: false))
        #expect(mapper.map("##lift") == .mapped(className: "forklift", merged: false))
        #expect(mapper.map("##xyz") == .dropped(.unmatched))
        #expect(mapper.map("truck") == .dropped(.unmatched))
        #expect(mapper.map("") == .dropped(.empty))
        #expect(mapper.map("[SEP]") == .dropped(.empty))
        #expect(mapper.map("can [SEP]") == .mapped(className: "can", merged: false))
        // Merged: without scores (script mode) dropped; with scores the best phrase wins.
        #expect(mapper.map("can person") == .dropped(.merged))
        #expect(mapper.map("can person", phraseScores: [0.5, 0.45, 0.1]) == .mapped(className: "can", merged: true))
        #expect(mapper.map("can person", phraseScores: [0.4, 0.45, 0.1]) == .mapped(className: "person", merged: true))
        #expect(mapper.map("can can") == .mapped(className: "can", merged: false))
        // Several phrases of one class are not a conflict.
        let synonyms = PhraseMapper(classes: [("soda can", "can"), ("tin", "can"), ("person", "person")])
        #expect(synonyms.map("soda can tin") == .mapped(className: "can", merged: true))
        #expect(synonyms.map("soda can") == .mapped(className: "can", merged: false))
        #expect(synonyms.map("soda") == .dropped(.unmatched))
    }

    // MARK: NMS, size, limits, stats

    @Test func postprocessorCountsEveryDrop() {
        func box(_ x: Double, _ w: Double = 20) -> GroundTruth.BoundingBox { .init(xmin: x, ymin: 0, xmax: x + w, ymax: 20) }
        let detections = [
            PhraseDetection(phrase: "can", confidence: 0.9, box: box(0)),
            PhraseDetection(phrase: "can", confidence: 0.8, box: box(2)),        // IoU 0.82 with the first: nms
            PhraseDetection(phrase: "person", confidence: 0.7, box: box(2)),     // other class: no nms
            PhraseDetection(phrase: "can", confidence: 0.6, box: box(50, 3)),    // 60 px² < 100: size
            PhraseDetection(phrase: "can", confidence: 0.5, box: box(-30)),      // outside the image: size
            PhraseDetection(phrase: "##lift", confidence: 0.4, box: box(90, 20)), // clamped to x 90..100
            PhraseDetection(phrase: "can", confidence: 0.3, box: box(60)),       // 4th kept: max_per_image
            PhraseDetection(phrase: "", confidence: 0.9, box: box(0)),
            PhraseDetection(phrase: "truck", confidence: 0.9, box: box(0)),
            PhraseDetection(phrase: "can person", confidence: 0.9, box: box(0)),
        ]
        let processor = LabelPostprocessor(classes: Self.classes, nmsIoU: 0.5, minBoxArea: 100, maxPerImage: 3)
        let (labels, stats) = processor.process(detections, belowThreshold: [0, nil], image: "a.jpg", width: 100, height: 50)
        #expect(labels.format == GroundTruth.formatIdentifier)
        #expect(labels.source == "grounded-sam2/label")
        #expect(labels.objects.map(\.className) == ["can", "person", "forklift"])
        #expect(labels.objects[2].bbox == GroundTruth.BoundingBox(xmin: 90, ymin: 0, xmax: 100, ymax: 20))
        #expect(stats.classes["can"]?.kept == 1)
        #expect(stats.classes["can"]?.dropped == ["nms": 1, "size": 2, "max_per_image": 1, "threshold": 1])
        #expect(stats.unassigned == ["empty": 1, "unmatched": 1, "merged": 1, "threshold": 1])
        #expect(stats.unmatchedPhrases == ["truck": 1])
        #expect(stats.kept == 3)
        let decoded = try? JSONDecoder().decode(LabelStats.self, from: stats.encoded())
        #expect(decoded == stats)
    }

    // MARK: (d) Grounded-SAM-2 demo JSON

    @Test func readsTheBatchScriptJSON() throws {
        let text = """
        {"filename": "00001.jpg", "image_width": 1280, "image_height": 704,
         "detections": [{"class": "can", "confidence": 0.41, "bbox": {"xmin": 12.3, "ymin": 40.1, "xmax": 88.0, "ymax": 130.7}}]}
        """
        let labels = try BatchScriptLabels.decode(from: Data(text.utf8))
        #expect(labels.imageWidth == 1280 && labels.imageHeight == 704)
        #expect(labels.phraseDetections == [PhraseDetection(phrase: "can", confidence: 0.41,
                                                            box: .init(xmin: 12.3, ymin: 40.1, xmax: 88.0, ymax: 130.7))])
        let empty = try BatchScriptLabels.decode(from: Data(#"{"filename": "a.jpg", "image_width": 1, "image_height": 1, "detections": []}"#.utf8))
        #expect(empty.detections.isEmpty)
    }

    // MARK: the raw-mode plan

    static func manifest(mode: String, boxThreshold: String, textThreshold: String = "0.25") -> String {
        """
        version: 1
        name: label-plan
        hardware: { gpu: h100-sxm }
        tools:
          grounded-sam2: { root: /tmp, python: python3 }
        steps:
          scenes:
            uses: procedural/scenes
            seeds: 0..3
            objects:
              can: { shape: cylinder }
          labels:
            uses: grounded-sam2/label
            from: scenes
            mode: \(mode)
            script: /tmp/label.py
            classes: { can: can, fork lift: forklift }
            box_threshold: \(boxThreshold)
            text_threshold: \(textThreshold)
          dataset:
            uses: export
            from: labels
        """
    }

    static func plan(_ text: String) throws -> Plan {
        let loaded = WorkflowLoader().load(text: text, file: "label-plan.yaml", directory: URL(fileURLWithPath: "/tmp"))
        let workflow = try #require(loaded.workflow, "\(loaded.diagnostics)")
        let result = Planner().plan(workflow)
        return try #require(result.plan, "\(result.diagnostics)")
    }

    @Test func rawModeSplitsCandidatesFromThresholds() throws {
        let plan = try Self.plan(Self.manifest(mode: "raw", boxThreshold: "0.25"))
        #expect(plan.steps.map(\.id) == ["scenes", "labels.candidates", "labels", "dataset"])
        let candidates = try #require(plan.steps.first { $0.id == "labels.candidates" })
        let labels = try #require(plan.steps.first { $0.id == "labels" })
        #expect(candidates.device == .gpu && candidates.uses == .label && candidates.items == 4 && candidates.modelLoads == 1)
        #expect(labels.device == .cpu && labels.gpuHours == 0 && labels.items == 4)
        let candidateTasks = plan.tasks.filter { $0.step == "labels.candidates" }
        let labelTasks = plan.tasks.filter { $0.step == "labels" }
        #expect(candidateTasks.allSatisfy { $0.device == .gpu })
        #expect(labelTasks.allSatisfy { $0.device == .cpu && !$0.dependsOn.isEmpty })
        #expect(Set(labelTasks.flatMap(\.dependsOn)).isSubset(of: Set(candidateTasks.map(\.id)).union(plan.tasks.filter { $0.step == "scenes" }.map(\.id))))
        // Each label item reads [image, candidates]; the candidates item reads the image.
        let byID = plan.itemsByID()
        for item in plan.items where item.step == "labels" {
            #expect(item.inputs.count == 2)
            #expect(byID[item.inputs[0]]?.step == "scenes")
            #expect(byID[item.inputs[1]]?.step == "labels.candidates")
            #expect(byID[item.inputs[1]]?.inputs == [item.inputs[0]])
        }
        let candidate = try #require(plan.items.first { $0.step == "labels.candidates" })
        #expect(candidate.signature.prompt == "can. fork lift.")
        #expect(candidate.signature.params?["box_threshold"] == nil)
        #expect(candidate.path.hasPrefix("outputs/labels.candidates/"))

        // (b) a threshold change re-runs no GPU work: candidates keep their ids.
        func ids(_ plan: Plan, _ step: String) -> Set<String> { Set(plan.items.filter { $0.step == step }.map(\.id)) }
        for other in [Self.manifest(mode: "raw", boxThreshold: "0.35"), Self.manifest(mode: "raw", boxThreshold: "0.25", textThreshold: "0.3")] {
            let changed = try Self.plan(other)
            #expect(ids(changed, "labels.candidates") == ids(plan, "labels.candidates"))
            #expect(ids(changed, "labels").isDisjoint(with: ids(plan, "labels")))
            #expect(ids(changed, "dataset") != ids(plan, "dataset"))
        }
        // Planning items alone agrees with the plan.
        let loaded = WorkflowLoader().load(text: Self.manifest(mode: "raw", boxThreshold: "0.25"), file: "label-plan.yaml",
                                           directory: URL(fileURLWithPath: "/tmp"))
        #expect(Planner.expandItems(try #require(loaded.workflow)).map(\.id) == plan.items.map(\.id))
    }

    @Test func scriptModeIsOneGPUStep() throws {
        let plan = try Self.plan(Self.manifest(mode: "script", boxThreshold: "0.25"))
        #expect(plan.steps.map(\.id) == ["scenes", "labels", "dataset"])
        #expect(plan.steps[1].device == .gpu)
        #expect(plan.items.filter { $0.step == "labels" }.allSatisfy { $0.inputs.count == 1 })
    }
}

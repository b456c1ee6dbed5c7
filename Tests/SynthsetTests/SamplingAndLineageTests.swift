import Foundation
import Testing
import WorkflowSpec
@testable import Datasets
@testable import Planning

/// Stable sampling, splits by lineage, and `diff`'s price of the work (issue 14).
@Suite struct SamplingAndLineageTests {
    static func vars(_ colors: [String]) -> [(name: String, values: [String])] {
        [("belt", ["green", "white", "black"]), ("color", colors), ("light", ["lit", "dim"]), ("view", ["above", "beside"])]
    }

    /// 12 of 36 -> 12 of 48 by adding a color: only combinations with the new color enter,
    /// about a quarter of the kept ones (the old shuffle replaced about 9 of 12).
    @Test func addingAValueReplacesOnlyWhatTheNewOnesOutrank() {
        var replaced = 0
        let seeds = 0..<200
        for seed in seeds {
            func kept(_ colors: [String]) -> Set<[String]> {
                let vars = Self.vars(colors)
                return Set(PromptExpander.sampleIndices(count: 12, vars: vars, seed: UInt64(seed)).map { index in
                    var remainder = index
                    var values: [String] = []
                    for variable in vars.reversed() {
                        values.insert(variable.values[remainder % variable.values.count], at: 0)
                        remainder /= variable.values.count
                    }
                    return values
                })
            }
            let before = kept(["Orange", "Blue", "Rainbow"])
            let after = kept(["Orange", "Blue", "Rainbow", "Green"])
            #expect(before.count == 12 && after.count == 12)
            let entered = after.subtracting(before)
            #expect(entered.allSatisfy { $0[1] == "Green" }, "seed \(seed): an old combination entered the sample")
            replaced += entered.count
        }
        let mean = Double(replaced) / Double(seeds.count)
        #expect(mean > 2 && mean < 4, "mean replaced \(mean), expected about 3")
    }

    @Test func sampleIsDeterministicAndSeeded() {
        let vars = Self.vars(["Orange", "Blue", "Rainbow"])
        let a = PromptExpander.sampleIndices(count: 12, vars: vars, seed: 7)
        #expect(a == PromptExpander.sampleIndices(count: 12, vars: vars, seed: 7))
        #expect(a != PromptExpander.sampleIndices(count: 12, vars: vars, seed: 8))
        #expect(Set(a).count == 12 && a == a.sorted() && a.allSatisfy { (0..<36).contains($0) })
        #expect(PromptExpander.sampleIndices(count: 40, vars: vars, seed: 7) == Array(0..<36))
    }

    // MARK: lineage

    static func scenes(jpegQuality: String, seeds: String = "0..199") -> String {
        """
        version: 1
        name: lineage
        steps:
          scenes:
            uses: procedural/scenes
            seeds: \(seeds)
            objects: { can: { shape: cylinder } }
            camera: { jpeg_quality: \(jpegQuality) }
          dataset:
            uses: export
            from: scenes
            split: { train: 0.8, test: 0.2 }
        """
    }

    static func splits(_ plan: Plan, step: String) -> [Int: DatasetSplit] {
        let assigner = SplitAssigner(train: 0.8, test: 0.2)
        return Dictionary(uniqueKeysWithValues: plan.items.filter { $0.step == step }.map { ($0.seed ?? -1, assigner.split($0.lineage)) })
    }

    /// A JPEG-quality change renames every image and moves none between splits; adding
    /// images moves none either.
    @Test func anOptionChangeMovesNoImageBetweenSplits() async throws {
        let before = try await makePlan(loadWorkflow(Self.scenes(jpegQuality: "[75, 95]")))
        let after = try await makePlan(loadWorkflow(Self.scenes(jpegQuality: "[60, 80]")))
        #expect(before.ids("scenes").isDisjoint(with: after.ids("scenes")), "the option renames every image")
        let old = Self.splits(before, step: "scenes"), new = Self.splits(after, step: "scenes")
        #expect(old.count == 200)
        #expect(old.filter { new[$0.key] != $0.value }.count == 0)
        #expect(old.values.filter { $0 == .test }.count > 20, "both splits are used")
        let more = try await makePlan(loadWorkflow(Self.scenes(jpegQuality: "[75, 95]", seeds: "0..299")))
        let grown = Self.splits(more, step: "scenes")
        #expect(old.allSatisfy { grown[$0.key] == $0.value })
    }

    /// Every clip, frame and label derived from one root image shares its lineage.
    @Test func framesOfOneClipShareTheRootsSplit() async throws {
        let plan = try await makePlan(loadExample("can-factory.yaml"))
        let byID = plan.itemsByID()
        let images = plan.items.filter { $0.step == "images" }
        #expect(Set(images.map(\.lineage)).count == images.count, "each root has its own lineage")
        var checked = 0
        for item in plan.items where item.step == "frames" || item.step == "labels" || item.step == "clips" {
            var root = item
            while let input = root.inputs.first, let parent = byID[input] { root = parent }
            #expect(root.step == "images")
            #expect(item.lineage == root.lineage)
            checked += 1
        }
        #expect(checked > 1000)
        let assigner = SplitAssigner(train: 0.8, test: 0.2)
        let frames = Dictionary(grouping: plan.items.filter { $0.step == "frames" }, by: { $0.inputs[0] })
        for (_, group) in frames { #expect(Set(group.map { assigner.split($0.lineage) }).count == 1) }
    }

    // MARK: diff prices the work

    static func matrix(colors: String, promptFileLine: String? = nil) -> String {
        """
        version: 1
        name: cans
        hardware: { gpu: h100-sxm, count: 1, price_per_gpu_hour: 2.50 }
        prompts:
          line:
            template: "{color} cans on a {belt} belt, {light}."
            vars: { color: \(colors), belt: [green, white, black], light: [lit, dim] }
            sample: { count: 9, seed: 3 }
        steps:
          images:
            uses: cosmos-predict2/text2image
            model: 2B
            prompts: [line]
            seeds: 0..9
          clips:
            uses: cosmos-predict2/video2world
            from: images
            model: 14B
            resolution: 480
            prompt: "cans move along the belt"
        """
    }

    /// One more value in a sampled matrix replaces some images (and their clips): the net
    /// change is zero, the work is not.
    @Test func diffPricesTheWorkNotTheNetChange() async throws {
        let old = try await makePlan(loadWorkflow(Self.matrix(colors: "[Orange, Blue, Rainbow]")))
        let new = try await makePlan(loadWorkflow(Self.matrix(colors: "[Orange, Blue, Rainbow, Green]")))
        let diff = PlanDiff.compare(old: old, new: new)
        let images = try #require(diff.steps.first { $0.step == "images" })
        let made = images.added.count + images.changed.count
        #expect(made > 0 && made < 90, "stable sampling: \(made) of 90 images are new")
        #expect(abs(diff.gpuHoursDelta) < 1e-9, "9 prompts x 10 seeds either way")
        #expect(diff.work.gpuHours > 0)
        let clips = try #require(new.step("clips")), imagesPlan = try #require(new.step("images"))
        let perClip = try #require(clips.secondsPerItem?.value)
        #expect(diff.work.gpuHours >= Double(made) * perClip / 3600, "every new image brings a 14B clip")
        #expect(diff.work.gpuHours <= new.totals.gpuHours)
        #expect(diff.work.cost == diff.work.gpuHours * 2.5)
        #expect(imagesPlan.gpuHours > 0)
        #expect(diff.summary.contains("GPU-hours of work"), "\(diff.summary)")
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(diff)) as? [String: Any]
        #expect((json?["work_gpu_hours"] as? Double).map { abs($0 - diff.work.gpuHours) < 1e-9 } == true)
    }
}

import Foundation
import Planning
import Testing
import WorkflowSpec

/// `PlanDiff` on pairs of recipes: added, removed and changed items per step, and why.
@Suite struct PlanDiffTests {
    static func recipe(colors: String = "[Orange, Blue]", boxThreshold: String = "0.30",
                       template: String = "{color} drink cans on a {belt} conveyor belt.") -> String {
        """
        version: 1
        name: cans
        hardware: { gpu: h100-sxm, count: 1, price_per_gpu_hour: 2.50 }
        prompts:
          line:
            template: "\(template)"
            vars:
              color: \(colors)
              belt: [green, white]
        steps:
          images:
            uses: cosmos-predict2/text2image
            model: 2B
            prompts: [line]
            seeds: 0..1
          labels:
            uses: grounded-sam2/label
            from: images
            classes: { can: can }
            box_threshold: \(boxThreshold)
            text_threshold: 0.25
          dataset:
            uses: export
            from: labels
            formats: [coco, yolo]
            split: { train: 0.8, test: 0.2 }
        """
    }

    func diff(_ old: String, _ new: String) async throws -> PlanDiff {
        let oldPlan = try await makePlan(loadWorkflow(old))
        let newPlan = try await makePlan(loadWorkflow(new))
        return PlanDiff.compare(old: oldPlan, new: newPlan)
    }

    func step(_ diff: PlanDiff, _ id: String) throws -> PlanDiff.StepDiff {
        try #require(diff.steps.first { $0.step == id })
    }

    @Test func sameRecipeDiffersInNothing() async throws {
        let result = try await diff(Self.recipe(), Self.recipe())
        #expect(result.isEmpty)
        #expect(result.gpuHoursDelta == 0)
        #expect(try step(result, "labels").unchanged == 8)
    }

    /// The acceptance case: one more color in the prompt matrix and a new box_threshold.
    @Test func oneMoreColorAndANewBoxThreshold() async throws {
        let result = try await diff(Self.recipe(), Self.recipe(colors: "[Orange, Blue, Green]", boxThreshold: "0.35"))

        let images = try step(result, "images")
        #expect(images.added.count == 4)  // 2 belts x 2 seeds with the new color
        #expect(images.removed.isEmpty && images.changed.isEmpty)
        #expect(images.unchanged == 8)
        #expect(images.added.allSatisfy { $0.prompt?.hasPrefix("Green drink cans") == true })
        #expect(images.newGPUHours > images.oldGPUHours)

        let labels = try step(result, "labels")
        #expect(labels.added.count == 4)  // labels of the new images
        #expect(labels.removed.isEmpty)
        #expect(labels.changed.count == 8)
        for item in labels.changed {
            #expect(item.causes == ["params.box_threshold"])
            #expect(item.fields == [PlanDiff.FieldChange(field: "params.box_threshold", old: "0.3", new: "0.35")])
            #expect(item.reason == "params.box_threshold: 0.3 -> 0.35")
        }

        let dataset = try step(result, "dataset")
        #expect(dataset.changed.count == 1 && dataset.added.isEmpty && dataset.removed.isEmpty)
        let export = try #require(dataset.changed.first)
        #expect(export.causes.contains("params.box_threshold"))
        #expect(export.causes.contains("inputs added"))
        #expect(export.reason == "inputs: 4 added, 8 changed (params.box_threshold)")

        #expect(result.gpuHoursDelta > 0)
        // Raw-mode labeling plans a GPU candidates step and a CPU labels step; the
        // thresholds only change the CPU half, so the candidates step adds GPU-hours
        // for the new images alone.
        let candidates = try step(result, "labels.candidates")
        #expect(candidates.added.count == 4 && candidates.changed.isEmpty)
        let stepDeltas = result.steps.reduce(0.0) { $0 + ($1.newGPUHours - $1.oldGPUHours) }
        #expect(abs(result.gpuHoursDelta - stepDeltas) < 1e-9)
        #expect(abs(result.gpuHoursDelta - (images.newGPUHours - images.oldGPUHours) - (candidates.newGPUHours - candidates.oldGPUHours)) < 1e-9)
        let cost = try #require(result.costDelta)
        #expect(abs(cost - result.gpuHoursDelta * 2.5) < 1e-6)

        // The JSON names the same things.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(result), as: UTF8.self)
        #expect(json.contains("\"gpu_hours_delta\""))
        #expect(json.contains("\"field\":\"params.box_threshold\""))
    }

    @Test func aPromptEditedInPlaceIsAChangeOfPrompt() async throws {
        let result = try await diff(Self.recipe(), Self.recipe(template: "{color} soda cans on a {belt} conveyor belt."))
        let images = try step(result, "images")
        #expect(images.added.isEmpty && images.removed.isEmpty)
        #expect(images.changed.count == 8)
        #expect(images.changed.allSatisfy { $0.causes == ["prompt"] })
        let labels = try step(result, "labels")
        #expect(labels.changed.count == 8)
        // A label reads its image and the image's candidates: both changed with the prompt.
        #expect(labels.changed.allSatisfy { $0.causes == ["prompt"] && $0.reason == "inputs: 2 changed (prompt)" })
    }

    @Test func fewerSeedsRemoveItemsDownTheChain() async throws {
        let result = try await diff(chainManifest(seeds: "0..1"), chainManifest(seeds: "[0]"))
        let images = try step(result, "images")
        #expect(images.removed.count == images.oldItems / 2)
        #expect(images.added.isEmpty && images.changed.isEmpty)
        let frames = try step(result, "frames")
        #expect(frames.removed.count == frames.oldItems / 2)
        #expect(frames.changed.isEmpty)
        #expect(try step(result, "dataset").changed.first?.causes == ["inputs removed"])
        #expect(result.gpuHoursDelta < 0)
    }
}

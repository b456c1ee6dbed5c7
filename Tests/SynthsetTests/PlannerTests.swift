import Basics
import Foundation
import Planning
import Testing
import WorkflowSpec

/// Loads manifest text (relative paths resolve against `workflows/`), failing the test on errors.
func loadWorkflow(_ yaml: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> Workflow {
    let directory = repositoryRoot.appendingPathComponent("workflows")
    let result = WorkflowLoader().load(text: yaml, file: "test.yaml", directory: directory)
    #expect(result.errors.isEmpty, "\(render(result.errors))", sourceLocation: sourceLocation)
    return try #require(result.workflow, sourceLocation: sourceLocation)
}

/// The design document's can-factory manifest, verbatim (RTX 5090: the 14B video2world
/// step does not fit). `workflows/can-factory.yaml` is the same recipe on an H100.
let designExample = repositoryRoot.appendingPathComponent("Tests/SynthsetTests/Fixtures/design/can-factory.yaml")

func loadDesignExample(sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> Workflow {
    let result = WorkflowLoader().load(file: designExample.path)
    return try #require(result.workflow, "\(render(result.diagnostics))", sourceLocation: sourceLocation)
}

func loadExample(_ name: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> Workflow {
    let result = WorkflowLoader().load(file: repositoryRoot.appendingPathComponent("workflows/\(name)").path)
    return try #require(result.workflow, "\(render(result.diagnostics))", sourceLocation: sourceLocation)
}

/// One plan at a time, off Swift concurrency's cooperative threads: planning is
/// CPU-bound and synchronous, and on a 2-core machine parallel plans would hold every
/// cooperative thread (and core) for seconds, starving the timing-sensitive async tests
/// of other suites (ProcessRunnerTests) that run in parallel.
let planningQueue = DispatchQueue(label: "PlannerTests.planning")

func planOffPool(_ workflow: Workflow, _ options: PlanOptions = PlanOptions()) async -> Planner.Result {
    await withCheckedContinuation { continuation in
        planningQueue.async { continuation.resume(returning: Planner(options: options).plan(workflow)) }
    }
}

/// Any CPU-bound work of a test (loading and planning big recipes), on the planning
/// queue instead of a cooperative thread.
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        planningQueue.async { continuation.resume(with: Result { try work() }) }
    }
}

func makePlan(_ workflow: Workflow, _ options: PlanOptions = PlanOptions(),
              sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws -> Plan {
    let result = await planOffPool(workflow, options)
    return try #require(result.plan, "\(render(result.diagnostics))", sourceLocation: sourceLocation)
}

extension Plan {
    func ids(_ step: String) -> Set<String> { Set(items.filter { $0.step == step }.map(\.id)) }
    func step(_ id: String) -> StepPlan? { steps.first { $0.id == id } }
    func tasks(_ step: String) -> [PlannedTask] { tasks.filter { $0.step == step } }
}

/// A five-step chain like the design's example, small enough to plan in milliseconds.
func chainManifest(colors: String = "[red, blue]", seeds: String = "0..1", boxThreshold: String = "0.30") -> String {
    """
    version: 1
    name: chain
    hardware: { gpu: h100-sxm, count: 1 }
    prompts:
      line:
        template: "{color} cans on a {belt} conveyor belt."
        vars:
          color: \(colors)
          belt: [green, black]
        negative: "blurry"
    steps:
      images:
        uses: cosmos-predict2/text2image
        model: 2B
        prompts: [line]
        seeds: \(seeds)
      clips:
        uses: cosmos-predict2/video2world
        from: images
        model: 2B
        resolution: 480
        prompt: "The belt moves the cans."
        seeds: [0]
      frames:
        uses: ffmpeg/extract-frames
        from: clips
        every: 16
      labels:
        uses: grounded-sam2/label
        from: [images, frames]
        classes: { can: can }
        box_threshold: \(boxThreshold)
      dataset:
        uses: export
        from: labels
        formats: [coco, yolo]
        split: { train: 0.8, test: 0.2 }
    """
}

@Suite struct PlannerTests {
    // MARK: (a) adding a prompt var value or a seed renames nothing

    @Test func addingAVarValueOrASeedKeepsEveryItemID() async throws {
        let base = try await makePlan(loadWorkflow(chainManifest()))
        let moreColors = try await makePlan(loadWorkflow(chainManifest(colors: "[red, blue, green]")))
        let moreSeeds = try await makePlan(loadWorkflow(chainManifest(seeds: "0..2")))
        for grown in [moreColors, moreSeeds] {
            for step in ["images", "clips", "frames", "labels"] {
                #expect(grown.ids(step).count > base.ids(step).count, "\(step) gained no items")
                let renamed = base.ids(step).subtracting(grown.ids(step))
                #expect(renamed.isEmpty, "\(step): \(renamed.count) of \(base.ids(step).count) items renamed")
            }
            // The one exported dataset has more images in it, so it is a new item.
            #expect(grown.ids("dataset").count == 1)
            #expect(grown.ids("dataset") != base.ids("dataset"))
        }
        // 2 colors x 2 belts x 2 seeds, then one more color or one more seed.
        #expect(base.ids("images").count == 8)
        #expect(moreColors.ids("images").count == 12)
        #expect(moreSeeds.ids("images").count == 12)
    }

    // MARK: (b) a labeling threshold changes labels and exports only

    @Test func changingBoxThresholdChangesOnlyLabelAndExportIDs() async throws {
        let a = try await makePlan(loadWorkflow(chainManifest(boxThreshold: "0.30")))
        let b = try await makePlan(loadWorkflow(chainManifest(boxThreshold: "0.35")))
        for step in ["images", "clips", "frames"] {
            #expect(!a.ids(step).isEmpty)
            #expect(a.ids(step) == b.ids(step), "\(step) ids changed")
        }
        for step in ["labels", "dataset"] {
            #expect(!a.ids(step).isEmpty)
            #expect(a.ids(step).isDisjoint(with: b.ids(step)), "\(step) kept ids")
            #expect(a.ids(step).count == b.ids(step).count)
        }
    }

    // MARK: (c) identity does not depend on runs or key order

    @Test func samePlanTwiceAndWithReorderedKeys() async throws {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("workflows/can-factory-h100.yaml"), encoding: .utf8)
        let options = PlanOptions()
        let first = try await makePlan(loadWorkflow(text), options)
        let second = try await makePlan(loadWorkflow(text), options)
        #expect(first.items.map(\.id) == second.items.map(\.id))
        #expect(first.tasks.map(\.id) == second.tasks.map(\.id))
        #expect(first.hash == second.hash)

        // Same recipe, every mapping written in another order: top-level keys, prompt
        // sets, template vars, sample, steps (dataset first; `from:` keeps the DAG) and
        // the keys inside each step.
        let reordered = """
        steps:
          dataset:
            split: { test: 0.2, train: 0.8 }
            formats: [pascal-voc, coco, yolo, edge-impulse]
            from: labels
            uses: export
          labels:
            text_threshold: 0.25
            box_threshold: 0.30
            classes: { can: can, person: person, forklift: forklift }
            from: [images, frames]
            uses: grounded-sam2/label
          frames:
            every: 8
            from: clips
            uses: ffmpeg/extract-frames
          clips:
            options: { offload_prompt_refiner: true, offload_guardrail: true }
            seeds: [0]
            prompt: "A conveyor belt steadily transports soda cans past workers in a factory."
            fps: 16
            resolution: 720
            model: 14B
            from: images
            uses: cosmos-predict2/video2world
          images:
            options: { disable_guardrail: true }
            seeds: 0..2
            prompts: [can_line, enhanced]
            model: 2B
            uses: cosmos-predict2/text2image
        prompts:
          enhanced:
            file: prompts/can-factory-llm.json
          can_line:
            negative: "sharp focus, ultra-high detail, DSLR, 4K"
            sample: { seed: 7, count: 12 }
            vars:
              view: ["from directly above", "1 meter beside the belt"]
              light: ["The factory floor is well lit.", "Dim, warm yellow roof lights."]
              belt: [green, white, black]
              color: [Orange, Blue, Rainbow]
            template: >-
              A conveyor belt in a factory. {color} drink cans are lined up on the belt.
              The conveyor belt is colored {belt}. {light} Perspective is {view}.
        tools:
          grounded-sam2: { python: python3, root: ~/Grounded-SAM-2 }
          cosmos-predict2: { python: python3, root: ~/cosmos-predict2 }
        hardware:
          price_per_gpu_hour: 2.50
          count: 2
          gpu: h100-sxm
        description: Drink cans and workers on a factory line, planned for 2x H100 SXM.
        name: can-factory-h100
        version: 1
        """
        let shuffled = try await makePlan(loadWorkflow(reordered), options)
        #expect(Set(shuffled.tasks.map(\.id)).symmetricDifference(first.tasks.map(\.id)).isEmpty)
        #expect(shuffled.totals.items == first.totals.items)
        for step in ["images", "clips", "frames", "labels", "dataset"] {
            #expect(shuffled.ids(step).symmetricDifference(first.ids(step)).isEmpty, "\(step) ids differ after reordering keys")
        }
    }

    // MARK: (d) can-factory: VRAM misfit on the RTX 5090, plans on an H100

    @Test func canFactoryMisfitsOnRTX5090() async throws {
        let workflow = try loadDesignExample()
        let result = await planOffPool(workflow)
        #expect(result.plan == nil)
        #expect(result.errors.count == 1, "\(render(result.errors))")
        let error = try #require(result.errors.first)
        #expect(error.message.contains("14B"))
        #expect(error.message.contains("cosmos-predict2/video2world"))
        #expect(error.message.contains("'clips'"))
        #expect(error.message.contains("56.38 GB"))
        #expect(error.message.contains("32 GB"))
        #expect(error.message.contains("rtx-5090"))
        #expect(error.hint?.isEmpty == false)
        let location = try #require(error.location)
        // `model: 14B` of the clips step.
        #expect(location.file.hasSuffix("design/can-factory.yaml"))
        #expect(location.line == 41 && location.column == 5, "\(location)")
        let lines = try String(contentsOf: designExample, encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[location.line - 1].trimmingCharacters(in: .whitespaces).hasPrefix("model: 14B"))
    }

    @Test func canFactoryPlansOnH100() async throws {
        let workflow = try loadDesignExample()
        let plan = try await makePlan(workflow, PlanOptions(gpu: "h100-sxm"))
        #expect(plan.diagnostics.filter { $0.severity == .error }.isEmpty)
        let images = try #require(plan.step("images"))
        // 12 sampled template prompts + 30 from the file, for 10 seeds.
        #expect(images.items == 42 * 10)
        let items = plan.items.filter { $0.step == "images" }
        // Cosmos-Predict2 takes one --seed and one --negative_prompt per invocation, so a
        // model is loaded once per distinct (model, seed, negative prompt). can_line has
        // a negative prompt and the LLM file has none: two invocations per seed.
        let invocations = Set(items.map { "\(workflow.step("images")!.model!)|\($0.seed!)|\($0.negative ?? "")" })
        #expect(images.modelLoads == invocations.count)
        #expect(images.modelLoads == images.tasks)
        #expect(images.modelLoads == 20)
        #expect(plan.step("clips")?.vramFit == .fits)

        // With one negative prompt for all, a model load per distinct (model, seed): 10.
        // (Only the images step, to keep the test fast.)
        let text = try String(contentsOf: designExample, encoding: .utf8)
        let imagesOnly = try #require(text.components(separatedBy: "  clips:\n").first)
        let sameNegative = imagesOnly.replacingOccurrences(of: "    negative: \"sharp focus, ultra-high detail, DSLR, 4K\"\n", with: "")
        #expect(sameNegative != imagesOnly)
        let plain = try await makePlan(loadWorkflow(sameNegative), PlanOptions(gpu: "h100-sxm"))
        let seeds = Set(plain.items.filter { $0.step == "images" }.compactMap(\.seed))
        #expect(seeds.count == 10)
        #expect(plain.step("images")?.modelLoads == seeds.count)
        #expect(plain.tasks("images").allSatisfy { $0.items.count == 42 })
    }

    // MARK: (e) seeded sampling

    @Test func seededSamplingIsStableAndRespectsCount() async throws {
        let vars = [("a", ["1", "2", "3"]), ("b", ["x", "y", "z"]), ("c", ["p", "q"]), ("d", ["u", "v"])].map { (name: $0.0, values: $0.1) }
        let a = PromptExpander.sampleIndices(count: 12, vars: vars, seed: 7)
        let again = PromptExpander.sampleIndices(count: 12, vars: vars, seed: 7)
        let other = PromptExpander.sampleIndices(count: 12, vars: vars, seed: 8)
        #expect(a == again)
        #expect(a != other)
        for sample in [a, other] {
            #expect(sample.count == 12)
            #expect(Set(sample).count == 12)
            #expect(sample.allSatisfy { (0..<36).contains($0) })
        }
        // Through a workflow: the same seed gives the same prompts, another seed others.
        let workflow = try loadDesignExample()
        let set = try #require(workflow.promptSet("can_line"))
        let prompts = PromptExpander.expand(set).map(\.text)
        #expect(prompts.count == 12)
        #expect(Set(prompts).count == 12)
        #expect(PromptExpander.expand(set).map(\.text) == prompts)
        var reseeded = set
        if case .template(let template, let vars, _) = set.source {
            reseeded.source = .template(template: template, vars: vars, sample: Sample(count: 12, seed: 8))
        }
        let otherPrompts = PromptExpander.expand(reseeded).map(\.text)
        #expect(otherPrompts.count == 12)
        #expect(Set(otherPrompts) != Set(prompts))
    }

    // MARK: (f) batching follows the tool's seed semantics

    func batchManifest(_ uses: String, model: String) -> String {
        """
        version: 1
        name: batching
        hardware: { gpu: h100-sxm }
        prompts:
          line:
            template: "{color} cans on a {belt} belt, {light}."
            vars:
              color: [red, blue, silver]
              belt: [green, black]
              light: [bright, dim]
        steps:
          gen:
            uses: \(uses)
            model: \(model)
            prompts: [line]
            seeds: [0, 1]
        """
    }

    @Test func predict25PutsAllSeedsInOneTask() async throws {
        let plan = try await makePlan(loadWorkflow(batchManifest("cosmos-predict2.5/text2world", model: "2B/post-trained")))
        let tasks = plan.tasks("gen")
        #expect(tasks.count == 1)
        #expect(tasks.first?.items.count == 24)
        #expect(plan.step("gen")?.modelLoads == 1)
        #expect(Set(plan.items.compactMap(\.seed)) == [0, 1])
    }

    @Test func predict2NeedsOneTaskPerSeed() async throws {
        let plan = try await makePlan(loadWorkflow(batchManifest("cosmos-predict2/text2image", model: "2B")))
        let tasks = plan.tasks("gen")
        #expect(tasks.count == 2)
        #expect(tasks.map(\.items.count) == [12, 12])
        #expect(Set(tasks.compactMap(\.seed)) == [0, 1])
        #expect(plan.step("gen")?.modelLoads == 2)
        let seedOfItem = Dictionary(uniqueKeysWithValues: plan.items.map { ($0.id, $0.seed) })
        for task in tasks {
            #expect(task.items.allSatisfy { seedOfItem[$0] == task.seed }, "a task mixes seeds")
        }
    }

    // MARK: (g) wall clock comes from scheduling

    @Test func twoGPUsAreFasterButNotTwiceAsFast() async throws {
        let workflow = try loadExample("can-factory-h100.yaml")
        let one = try await makePlan(workflow, PlanOptions(gpuCount: 1))
        let two = try await makePlan(workflow, PlanOptions(gpuCount: 2))
        #expect(one.totals.gpuHours == two.totals.gpuHours)
        #expect(two.totals.wallHours < one.totals.wallHours)
        #expect(two.totals.wallHours > one.totals.wallHours / 2)
        // One GPU runs every GPU task in turn.
        #expect(one.totals.wallHours >= one.totals.gpuHours - 1e-9)
        // The chain images -> clips -> frames -> labels -> dataset has dependencies.
        #expect(one.tasks.contains { !$0.dependsOn.isEmpty })
    }

    // MARK: (h) plan JSON

    @Test func planJSONHasTheDocumentedFields() async throws {
        let plan = try await makePlan(loadExample("can-factory-h100.yaml"))
        let data = try JSONEncoder().encode(plan)
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let steps = try #require(json["steps"] as? [[String: Any]])
        // Five manifest steps; the raw-mode label step is planned as two (candidates on the GPU).
        #expect(steps.count == 6)
        #expect(steps.map { $0["id"] as? String } == ["images", "clips", "frames", "labels.candidates", "labels", "dataset"])
        for step in steps {
            for key in ["id", "uses", "items", "tasks", "model_loads", "gpu_hours"] {
                #expect(step[key] != nil, "steps[] lacks \(key)")
            }
        }
        #expect(steps.first?["id"] as? String == "images")
        #expect(steps.first?["uses"] as? String == "cosmos-predict2/text2image")
        let items = try #require(json["items"] as? [[String: Any]])
        #expect(items.count == plan.items.count)
        let image = try #require(items.first { $0["step"] as? String == "images" })
        for key in ["id", "step", "seed", "prompt"] {
            #expect(image[key] != nil, "items[] lacks \(key)")
        }
        #expect((image["id"] as? String)?.count == 64)
        let totals = try #require(json["totals"] as? [String: Any])
        for key in ["items", "gpu_hours", "wall_hours", "cost"] {
            #expect(totals[key] != nil, "totals lacks \(key)")
        }
        #expect(totals["items"] as? Int == plan.items.count)
        // The JSON decodes back to the same plan.
        #expect(try JSONDecoder().decode(Plan.self, from: data) == plan)
    }

    /// A workflow with every kind of per-item member: prompts with quotes, backslashes and
    /// newlines, negatives, seeds, inputs, frames, commands, procedural scenes.
    static let everyMemberManifest = """
        version: 1
        name: every-member
        hardware: { gpu: h100-sxm, count: 2 }
        prompts:
          line:
            template: "A {color} \\"can\\" on a belt.\\n{view}"
            vars:
              color: [Orange, Blue]
              view: ["from above", "side \\\\ view"]
            negative: "blurry/dark"
        steps:
          shots:
            uses: command
            program: ./gen.sh
            args: ["{seed}", "{prompt_file}", "{output}"]
            prompts: [line]
            seeds: 0..2
            output: png
          batch:
            uses: command
            program: ./batch.py
            args: ["{batch_file}"]
            per: batch
            from: shots
            output: txt
          clips:
            uses: cosmos-predict2/video2world
            from: shots
            model: 2B
          frames:
            uses: ffmpeg/extract-frames
            from: clips
            every: 10
          scenes:
            uses: procedural/scenes
            seeds: 0..3
            size: [64, 48]
            objects:
              can: { shape: cylinder, colors: [red, blue], size: [0.12, 0.3], count: [1, 5] }
          labels:
            uses: grounded-sam2/label
            from: [frames, shots, scenes]
            classes: { can: can, person: person }
          dataset:
            uses: export
            from: labels
        """

    @Test func itemIDsAreTheHashOfFoundationsJSONOfTheirSignature() async throws {
        for yaml in [chainManifest(), Self.everyMemberManifest, Self.manyItemsManifest] {
            let plan = try await makePlan(loadWorkflow(yaml))
            for item in plan.items {
                #expect(item.id == ContentHash.sha256(item.signature.foundationJSON()), "\(item.step)")
                #expect(item.path.hasPrefix("outputs/\(item.step)/\(item.id.prefix(16))"))
            }
        }
    }

    /// Enough items for the planner's parallel expansion and the JSON writer's chunks.
    static let manyItemsManifest = """
        version: 1
        name: many
        hardware: { gpu: h100-sxm, count: 8 }
        prompts:
          line:
            template: "{color} cans on a {belt} belt."
            vars: { color: [red, blue], belt: [green, black] }
        steps:
          images: { uses: cosmos-predict2/text2image, model: 2B, prompts: [line], seeds: 0..1099 }
          labels: { uses: grounded-sam2/label, from: images, classes: { can: can } }
          dataset: { uses: export, from: labels }
        """

    @Test func planJSONIsFoundationsByteForByte() async throws {
        for yaml in [chainManifest(), Self.everyMemberManifest, Self.manyItemsManifest] {
            let workflow = try loadWorkflow(yaml)
            var plan = try await makePlan(workflow)
            // As `plan --format json` writes it: the invocations built while the items
            // are written, never attached to the plan.
            var overlapped: [UInt8] = []
            PlanRenderer.writeJSON(plan, workflow: workflow) { overlapped.append(contentsOf: $0) }
            #expect(plan.tasks.allSatisfy { $0.invocation == nil })
            // As `plan --format json` writes it: with every task's invocation.
            Planner.attachInvocations(to: &plan, workflow: workflow)
            #expect(plan.tasks.allSatisfy { $0.invocation != nil })
            #expect(PlanRenderer.json(plan) == PlanRenderer.foundationJSON(plan))
            var streamed: [UInt8] = []
            PlanRenderer.writeJSON(plan) { streamed.append(contentsOf: $0) }
            #expect(String(decoding: streamed, as: UTF8.self) == PlanRenderer.foundationJSON(plan))
            #expect(String(decoding: overlapped, as: UTF8.self) == PlanRenderer.foundationJSON(plan))
            // With the large tasks (here, any of 100 items or inputs) built up front.
            var prebuilt: [UInt8] = []
            let unattached = try await makePlan(workflow)
            PlanRenderer.writeJSON(unattached, invocations: Parallel.Pending { PlanInvocations(unattached, workflow: workflow, aloneFrom: 100) }) {
                prebuilt.append(contentsOf: $0)
            }
            #expect(String(decoding: prebuilt, as: UTF8.self) == PlanRenderer.foundationJSON(plan))
        }
    }

    // MARK: examples

    @Test func demoPlansWithoutAGPU() async throws {
        let result = await planOffPool(try loadExample("demo.yaml"))
        let plan = try #require(result.plan)
        #expect(result.diagnostics.isEmpty, "\(render(result.diagnostics))")
        #expect(plan.totals.items == 200)
        #expect(plan.totals.gpuHours == 0)
        #expect(plan.tasks.allSatisfy { $0.device == .cpu })
    }

    @Test func h100VariantPlansCleanly() async throws {
        let result = await planOffPool(try loadExample("can-factory-h100.yaml"))
        let plan = try #require(result.plan, "\(render(result.diagnostics))")
        #expect(result.diagnostics.isEmpty, "\(render(result.diagnostics))")
        #expect(plan.hardware.gpu == "h100-sxm")
        #expect(plan.hardware.count == 2)
        #expect(plan.steps.allSatisfy { $0.vramFit != .misfit })
    }
}

/// The shipped can-factory example: the design recipe on an 80 GB H100 with one
/// negative prompt, so model loads are exactly the distinct (model, seed) pairs.
@Test func shippedCanFactoryLoadsOncePerModelAndSeed() async throws {
    let workflow = try loadExample("can-factory.yaml")
    let plan = try await makePlan(workflow)
    let images = try #require(plan.step("images"))
    let pairs = Set(plan.items.filter { $0.step == "images" }.map { "\(images.model ?? "")|\($0.seed ?? -1)" })
    #expect(images.modelLoads == pairs.count)
    #expect(pairs.count == 10)
    #expect(plan.step("clips")?.vramFit == .fits)
    #expect(plan.totals.gpuHours > 0)
    #expect(plan.totals.cost != nil)
}

/// Every shipped example plans on the hardware it declares (VRAM fits, no errors).
@Test(arguments: (try? FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("workflows").path))?
    .filter { $0.hasSuffix(".yaml") }.sorted() ?? [])
func exampleWorkflowPlans(_ name: String) async throws {
    let plan = try await makePlan(loadExample(name))
    #expect(plan.totals.items > 0)
    #expect(plan.steps.allSatisfy { $0.vramFit != .misfit })
}

import Foundation
import WorkflowSpec

/// Expands one step into its items, given the items of the steps it reads from.
struct ItemExpander {
    let workflow: Workflow
    let step: Step
    let upstream: [PlannedItem]
    let upstreamSteps: [Step]
    private(set) var diagnostics: [Diagnostic] = []

    init(workflow: Workflow, step: Step, upstream: [PlannedItem], upstreamSteps: [Step]) {
        self.workflow = workflow
        self.step = step
        self.upstream = upstream
        self.upstreamSteps = upstreamSteps
    }

    mutating func expand() -> [PlannedItem] {
        switch step.uses {
        case .text2image, .text2world, .predict25Text2World:
            return fromPrompts()
        case .video2world, .video2worldBestOfN, .predict25Image2World, .predict25Video2World:
            return fromInputs()
        case .proceduralScenes:
            return (step.seeds ?? []).map { seed in
                var signature = baseSignature()
                signature.seed = seed
                signature.scene = step.scene
                return item(signature, seed: seed)
            }
        case .extractFrames:
            return frames()
        case .label:
            return labelItems()
        case .export:
            guard !upstream.isEmpty else { return [] }
            var signature = baseSignature()
            let inputs = upstream.map(\.id).sorted()
            signature.inputs = inputs
            signature.formats = step.export?.formats.map(\.rawValue)
            signature.split = step.export?.split
            return [item(signature, inputs: inputs)]
        case .edgeImpulseUpload:
            return upstream.map { input in
                var signature = baseSignature()
                signature.inputs = [input.id]
                return item(signature, inputs: [input.id])
            }
        case .command:
            return command()
        }
    }

    // MARK: signatures

    /// What every item of the step shares: tool, model, output-changing options and params.
    func baseSignature() -> ItemSignature {
        var signature = ItemSignature(tool: step.uses)
        signature.model = step.model
        var options: [String: OptionValue] = [:]
        for spec in step.uses.options where spec.affectsOutput {
            guard let value = step.options[spec.name] else { continue }
            if case .bool(false) = value { continue }  // CLI flags: false is the default
            options[spec.name] = value
        }
        signature.options = options.isEmpty ? nil : options
        var params: [String: OptionValue] = [:]
        if !step.uses.resolutions.isEmpty {
            let video = TimingResolver.videoSettings(step)
            params["resolution"] = .int(step.resolution ?? video.resolution)
            if !step.uses.frameRates.isEmpty { params["fps"] = .int(step.fps ?? video.fps) }
        }
        if let labeling = step.labeling, labeling.stage == .candidates {
            // Everything the GPU stage's output depends on, and no threshold.
            signature.prompt = Self.caption(labeling)
            params["stage"] = .string("candidates")
            params["box_floor"] = .number(Self.boxFloor(labeling))
        } else if let labeling = step.labeling {
            signature.classes = labeling.classes
            params["box_threshold"] = .number(labeling.boxThreshold)
            params["text_threshold"] = .number(labeling.textThreshold)
            params["mode"] = .string(labeling.mode.rawValue)
            if let script = labeling.script { params["script"] = .string(script) }
            if let nms = labeling.nmsIoU { params["nms_iou"] = .number(nms) }
            if let area = labeling.minBoxArea { params["min_box_area"] = .number(area) }
            if let count = labeling.maxPerImage { params["max_per_image"] = .int(count) }
        }
        if let frames = step.frames {
            if let every = frames.every { params["every"] = .int(every) }
            if let fps = frames.fps { params["fps"] = .number(fps) }
        }
        if let upload = step.upload {
            params["base_url"] = .string(upload.baseURL)
            params["splits"] = .string(upload.splits.joined(separator: ","))
        }
        if let command = step.command {
            signature.command = [command.program] + command.arguments
            params["per"] = .string(command.granularity.rawValue)
            params["output"] = .string(command.outputExtension)
        }
        signature.params = params.isEmpty ? nil : params
        return signature
    }

    func item(_ signature: ItemSignature, seed: Int? = nil, prompt: ResolvedPrompt? = nil,
              inputs: [String] = [], frameIndex: Int? = nil) -> PlannedItem {
        let id = signature.id
        let ext: String
        switch step.uses.output {
        case .image: ext = ".jpg"
        case .video: ext = ".mp4"
        case .labels, .upload: ext = ".json"
        case .dataset: ext = ""
        case .file: ext = "." + (step.command?.outputExtension ?? "bin")
        }
        return PlannedItem(id: id, step: step.id, kind: step.uses.output, seed: seed, prompt: prompt?.text,
                           negative: prompt?.negative, promptRef: prompt?.ref, inputs: inputs, frameIndex: frameIndex,
                           path: "outputs/\(step.id)/\(id.prefix(16))\(ext)", signature: signature)
    }

    // MARK: prompts

    /// The step's own prompts: its prompt sets, then its inline prompt.
    func stepPrompts() -> [ResolvedPrompt] {
        var prompts: [ResolvedPrompt] = []
        for setID in step.promptSets {
            guard let set = workflow.promptSet(setID) else { continue }
            prompts += PromptExpander.expand(set).map { prompt in
                var prompt = prompt
                if prompt.negative == nil { prompt.negative = step.negative }
                return prompt
            }
        }
        if let inline = step.prompt {
            prompts.append(ResolvedPrompt(text: inline, negative: step.negative, ref: "\(step.id).prompt", vars: nil))
        }
        return prompts
    }

    func generated(_ prompt: ResolvedPrompt, seed: Int, inputs: [String]) -> PlannedItem {
        var signature = baseSignature()
        signature.prompt = prompt.text
        signature.negative = prompt.negative
        signature.seed = seed
        signature.inputs = inputs.isEmpty ? nil : inputs
        return item(signature, seed: seed, prompt: prompt, inputs: inputs)
    }

    /// Text-only generators: every prompt with every seed, batched seed by seed.
    func fromPrompts() -> [PlannedItem] {
        let prompts = stepPrompts()
        return (step.seeds ?? [0]).flatMap { seed in prompts.map { generated($0, seed: seed, inputs: []) } }
    }

    /// Conditioned generators: one output per input, prompt and seed. With no prompt of
    /// its own, an item inherits its input's prompt.
    mutating func fromInputs() -> [PlannedItem] {
        let own = stepPrompts()
        var items: [PlannedItem] = []
        var reportedMissingPrompt = false
        for seed in step.seeds ?? [0] {
            for input in upstream {
                var prompts = own
                if prompts.isEmpty {
                    if let text = input.prompt {
                        prompts = [ResolvedPrompt(text: text, negative: step.negative ?? input.negative, ref: "inherited from \(input.step)", vars: nil)]
                    } else if !reportedMissingPrompt {
                        reportedMissingPrompt = true
                        diagnostics.append(Diagnostic(.error, "step '\(step.id)' has no prompt and its input step '\(input.step)' has none to inherit",
                                                      hint: "add 'prompt: \"...\"' or 'prompts: [...]' to the step",
                                                      at: workflow.location(of: "steps.\(step.id)")))
                    }
                }
                items += prompts.map { generated($0, seed: seed, inputs: [input.id]) }
            }
        }
        return items
    }

    // MARK: frames

    /// Frames per clip and the clip's frame rate, as the upstream tool documents them.
    static func clipFrames(_ producer: Step) -> (count: Int, fps: Double)? {
        switch producer.uses {
        case .video2world, .text2world, .video2worldBestOfN:
            let fps = producer.fps ?? 16
            return (fps == 16 ? 93 : 61, Double(fps))  // state_t 24 or 16 (cosmos-predict2.md)
        case .predict25Text2World, .predict25Image2World, .predict25Video2World:
            if case .int(let frames)? = producer.options["num_output_frames"] { return (frames, 16) }
            return (77, 16)
        default:
            return nil
        }
    }

    mutating func frames() -> [PlannedItem] {
        guard let sampling = step.frames else { return [] }
        var items: [PlannedItem] = []
        let producers = Dictionary(upstreamSteps.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var reported = Set<String>()
        for clip in upstream {
            var indices: [Int]
            if let producer = producers[clip.step], let known = Self.clipFrames(producer) {
                if let fps = sampling.fps {
                    let count = max(1, Int((Double(known.count) / known.fps * fps).rounded(.down)))
                    indices = Array(0..<count)
                } else {
                    indices = Array(stride(from: 0, to: known.count, by: sampling.every ?? 1))
                }
                if let cap = sampling.maxFrames { indices = Array(indices.prefix(cap)) }
            } else if let cap = sampling.maxFrames {
                // Frame indices in the clip: every Nth decoded frame, or the kth sample.
                let step = sampling.fps == nil ? (sampling.every ?? 1) : 1
                indices = (0..<cap).map { $0 * step }
            } else {
                if reported.insert(clip.step).inserted {
                    diagnostics.append(Diagnostic(.error, "step '\(step.id)' cannot know how many frames the clips of step '\(clip.step)' have",
                                                  hint: "set 'max_frames:' to the number of frames to extract per clip",
                                                  at: workflow.location(of: "steps.\(step.id)")))
                }
                continue
            }
            for index in indices {
                var signature = baseSignature()
                signature.inputs = [clip.id]
                var params = signature.params ?? [:]
                params["frame"] = .int(index)
                signature.params = params
                items.append(item(signature, prompt: clip.prompt.map { ResolvedPrompt(text: $0, negative: nil, ref: "clip", vars: nil) },
                                  inputs: [clip.id], frameIndex: index))
            }
        }
        return items
    }

    // MARK: command

    func command() -> [PlannedItem] {
        let prompts = stepPrompts()
        let seeds: [Int?] = step.seeds.map { $0.map(Optional.some) } ?? [nil]
        var items: [PlannedItem] = []
        let inputs: [PlannedItem?] = step.from.isEmpty ? [nil] : upstream.map(Optional.some)
        for seed in seeds {
            for input in inputs {
                let promptList: [ResolvedPrompt?] = prompts.isEmpty ? [nil] : prompts.map(Optional.some)
                for prompt in promptList {
                    var signature = baseSignature()
                    signature.seed = seed
                    signature.prompt = prompt?.text
                    signature.negative = prompt?.negative
                    let inputIDs = input.map { [$0.id] } ?? []
                    signature.inputs = inputIDs.isEmpty ? nil : inputIDs
                    items.append(item(signature, seed: seed, prompt: prompt, inputs: inputIDs))
                }
            }
        }
        return items
    }

    // MARK: labels

    /// The Grounding DINO caption of a label step: its class phrases joined as
    /// `"can. person."` (the article's `--text_prompt` form).
    static func caption(_ labeling: Labeling) -> String {
        labeling.classes.map(\.phrase).joined(separator: ". ") + "."
    }

    /// The score a raw-mode candidate must exceed to be recorded: 0.05, or the box
    /// threshold when that is lower (so the Swift-side threshold always has what it needs).
    static func boxFloor(_ labeling: Labeling) -> Double {
        min(0.05, labeling.boxThreshold)
    }

    /// One label item per input image. In raw mode (see `Step.plannedStages`) the
    /// candidates stage has one candidates item per image and the step itself one labels
    /// item per image whose inputs are `[image, candidates]` (the image first: export reads
    /// it as the labeled image); the candidates id is computed, not looked up.
    mutating func labelItems() -> [PlannedItem] {
        switch step.labeling?.stage {
        case .candidates?:
            if workflow.step(step.id) != nil {
                diagnostics.append(Diagnostic(.error, "step id '\(step.id)' is reserved for the candidates of raw-mode label step '\(workflow.manifestStepID(step.id))'",
                                              hint: "rename step '\(step.id)'", at: workflow.location(of: "steps.\(step.id)")))
            }
            return upstream.map { input in
                var signature = baseSignature()
                signature.inputs = [input.id]
                return item(signature, inputs: [input.id])
            }
        case .postprocess?:
            guard let candidatesStep = step.plannedStagesOfManifestStep.first else { return [] }
            let candidates = ItemExpander(workflow: workflow, step: candidatesStep, upstream: [], upstreamSteps: [])
            let shared = candidates.baseSignature()
            return upstream.map { input in
                var candidateSignature = shared
                candidateSignature.inputs = [input.id]
                let inputs = [input.id, candidateSignature.id]
                var signature = baseSignature()
                signature.inputs = inputs
                return item(signature, inputs: inputs)
            }
        default:
            return upstream.map { input in
                var signature = baseSignature()
                signature.inputs = [input.id]
                return item(signature, inputs: [input.id])
            }
        }
    }
}

extension Step {
    /// The stages of the manifest step a planned stage came from.
    var plannedStagesOfManifestStep: [Step] {
        var manifest = self
        manifest.labeling?.stage = .whole
        return manifest.plannedStages
    }
}

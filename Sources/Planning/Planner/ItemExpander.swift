import Basics
import Foundation
import WorkflowSpec

/// Expands one step into its items, given the items of the steps it reads from. The
/// tool decides which of the ways below its items are made (``PlanningTool/expandItems(_:)``).
public struct ItemExpander {
    package let workflow: Workflow
    package let step: Step
    package let upstream: ArraySlice<PlannedItem>
    package let upstreamSteps: [Step]
    package private(set) var diagnostics: [Diagnostic] = []

    init(workflow: Workflow, step: Step, upstream: ArraySlice<PlannedItem>, upstreamSteps: [Step]) {
        self.workflow = workflow
        self.step = step
        self.upstream = upstream
        self.upstreamSteps = upstreamSteps
    }

    mutating func expand() -> [PlannedItem] {
        step.planning.expandItems(&self)
    }

    /// One item per seed (procedural scenes): the seed is all that varies.
    package func onePerSeed() -> [PlannedItem] {
        let factory = ItemFactory(step: step, base: baseSignature(), fromItem: [.seed])
        let seeds = step.seeds ?? []
        return factory.make(count: seeds.count) { index, out in factory.item(seed: seeds[index], using: out) }
    }

    /// One item over every upstream item (an exported dataset), its inputs sorted so the
    /// order of `from:` does not matter.
    package func oneOverAllInputs() -> [PlannedItem] {
        guard !upstream.isEmpty else { return [] }
        let factory = ItemFactory(step: step, base: baseSignature(), fromItem: [.inputs])
        // By position in the buffer: mapping the slice copies each whole item to read its id.
        let ids = upstream.withUnsafeBufferPointer { items in items.indices.map { items[$0].id } }
        return [factory.item(inputs: Self.sortedIDs(ids), using: CanonicalJSONWriter())]
    }

    /// `ids.sorted()`, faster for item ids: ordered by their first 16 hex digits as a
    /// number (the same order for lowercase hex), then by the whole id on a tie.
    static func sortedIDs(_ ids: [String]) -> [String] {
        // Keys and positions sort without touching a string (a retain and a cache miss
        // each, when the tuples held the ids); the ids are compared on a tie only.
        var keyed: [(key: UInt64, position: Int)] = []
        keyed.reserveCapacity(ids.count)
        for position in ids.indices {
            var id = ids[position]
            guard let key = id.withUTF8({ hexPrefix($0) }) else { return ids.sorted() }
            keyed.append((key, position))
        }
        return ids.withUnsafeBufferPointer { ids in
            keyed.sort { $0.key != $1.key ? $0.key < $1.key : ids[$0.position] < ids[$1.position] }
            return keyed.map { ids[$0.position] }
        }
    }

    /// The first 16 characters as a number, when they are lowercase hex digits.
    static func hexPrefix(_ utf8: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard utf8.count >= 16 else { return nil }
        var value: UInt64 = 0
        for byte in utf8.prefix(16) {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            default: return nil
            }
            value = value << 4 | UInt64(digit)
        }
        return value
    }

    // MARK: signatures

    /// What every item of the step shares: tool, model, output-changing options and
    /// params, and what the tool's own settings add.
    package func baseSignature() -> ItemSignature {
        var signature = ItemSignature(tool: step.uses)
        signature.model = step.model
        var options: [String: OptionValue] = [:]
        for spec in step.tool.options where spec.affectsOutput {
            guard let value = step.options[spec.name] else { continue }
            if case .bool(false) = value { continue }  // CLI flags: false is the default
            options[spec.name] = value
        }
        signature.options = options.isEmpty ? nil : options
        var params: [String: OptionValue] = [:]
        if !step.tool.resolutions.isEmpty {
            let video = TimingResolver.videoSettings(step)
            params["resolution"] = .int(video.resolution)
            if !step.tool.frameRates.isEmpty { params["fps"] = .int(video.fps) }
        }
        // The tool's checkout decides its output too; raw labeling's CPU stage runs none of it.
        if let family = step.tool.family, let commit = workflow.tools[family]?.checkout, step.labeling?.stage != .postprocess {
            params["checkout"] = .string(commit)
        }
        step.planning.addSignatureMembers(of: step, to: &signature, params: &params)
        signature.params = params.isEmpty ? nil : params
        return signature
    }

    // MARK: prompts

    /// The step's own prompts: its prompt sets, then its inline prompt.
    package func stepPrompts() -> [ResolvedPrompt] {
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

    /// Text-only generators: every prompt with every seed, batched seed by seed.
    package func fromPrompts() -> [PlannedItem] {
        let prompts = stepPrompts()
        let seeds = step.seeds ?? [0]
        let factory = ItemFactory(step: step, base: baseSignature(), fromItem: [.prompt, .seed, .inputs])
        guard !prompts.isEmpty else { return [] }
        return factory.make(count: seeds.count * prompts.count) { index, out in
            factory.item(seed: seeds[index / prompts.count], prompt: prompts[index % prompts.count], using: out)
        }
    }

    /// Conditioned generators: one output per input, prompt and seed. With no prompt of
    /// its own, an item inherits its input's prompt.
    package mutating func fromInputs() -> [PlannedItem] {
        let own = stepPrompts()
        let factory = ItemFactory(step: step, base: baseSignature(), fromItem: [.prompt, .seed, .inputs])
        let out = CanonicalJSONWriter()
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
                for prompt in prompts {
                    items.append(factory.item(seed: seed, prompt: prompt, inputs: [input.id], lineage: input.lineageOrigin, using: out))
                }
            }
        }
        return items
    }

    // MARK: frames

    /// Frames of each upstream clip, as the step's sampling picks them.
    package mutating func frames() -> [PlannedItem] {
        guard let sampling = step.frames else { return [] }
        var items: [PlannedItem] = []
        let producers = Dictionary(upstreamSteps.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var reported = Set<String>()
        let factory = ItemFactory(step: step, base: baseSignature(), fromItem: [.inputs, .frame])
        let out = CanonicalJSONWriter()
        for clip in upstream {
            var indices: [Int]
            if let producer = producers[clip.step], let known = producer.planning.clipFrames(producer) {
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
            let lineage = clip.lineageOrigin
            for index in indices {
                items.append(factory.item(prompt: clip.prompt.map { ResolvedPrompt(text: $0, negative: nil, ref: "clip", vars: nil) },
                                          inputs: [clip.id], frameIndex: index, lineage: lineage, using: out))
            }
        }
        return items
    }

    // MARK: command

    /// Every seed × input × prompt that applies (a `command` step).
    package func command() -> [PlannedItem] {
        let prompts = stepPrompts()
        let seeds: [Int?] = step.seeds.map { $0.map(Optional.some) } ?? [nil]
        var items: [PlannedItem] = []
        let inputs: [PlannedItem?] = step.from.isEmpty ? [nil] : upstream.map(Optional.some)
        let factory = ItemFactory(step: step, base: baseSignature(), fromItem: [.prompt, .seed, .inputs])
        let out = CanonicalJSONWriter()
        for seed in seeds {
            for input in inputs {
                let promptList: [ResolvedPrompt?] = prompts.isEmpty ? [nil] : prompts.map(Optional.some)
                for prompt in promptList {
                    items.append(factory.item(seed: seed, prompt: prompt, inputs: input.map { [$0.id] } ?? [], lineage: input?.lineageOrigin, using: out))
                }
            }
        }
        return items
    }

    // MARK: labels

    /// The Grounding DINO caption of a label step: its class phrases joined as
    /// `"can. person."` (the article's `--text_prompt` form).
    package static func caption(_ labeling: Labeling) -> String {
        labeling.classes.map(\.phrase).joined(separator: ". ") + "."
    }

    /// The score a raw-mode candidate must exceed to be recorded: 0.05, or the box
    /// threshold when that is lower (so the Swift-side threshold always has what it needs).
    package static func boxFloor(_ labeling: Labeling) -> Double {
        min(0.05, labeling.boxThreshold)
    }

    /// One label item per input image. In raw mode (see `Step.plannedStages`) the
    /// candidates stage has one candidates item per image and the step itself one labels
    /// item per image whose inputs are `[image, candidates]` (the image first: export reads
    /// it as the labeled image); the candidates id is computed, not looked up.
    package mutating func labelItems() -> [PlannedItem] {
        switch step.labeling?.stage {
        case .candidates?:
            if workflow.step(step.id) != nil {
                diagnostics.append(Diagnostic(.error, "step id '\(step.id)' is reserved for the candidates of raw-mode label step '\(workflow.manifestStepID(step.id))'",
                                              hint: "rename step '\(step.id)'", at: workflow.location(of: "steps.\(step.id)")))
            }
            return oneItemPerInput()
        case .postprocess?:
            guard let candidatesStep = step.plannedStagesOfManifestStep.first else { return [] }
            let candidates = ItemFactory(step: candidatesStep,
                                         base: ItemExpander(workflow: workflow, step: candidatesStep, upstream: [], upstreamSteps: []).baseSignature(),
                                         fromItem: [.inputs])
            let factory = ItemFactory(step: step, base: baseSignature(), fromItem: [.inputs])
            return upstream.withUnsafeBufferPointer { upstream in
                let upstream = UncheckedSendable(upstream)
                return factory.make(count: upstream.value.count) { index, out in
                    let image = upstream.value[index].id
                    return factory.item(inputs: [image, candidates.id(inputs: [image], using: out)],
                                        lineage: upstream.value[index].lineageOrigin, using: out)
                }
            }
        default:
            return oneItemPerInput()
        }
    }

    /// One item per upstream item and per value of `param` (training `fractions:`): the
    /// items of one value share a signature whose `params[param]` is that value.
    package func oneItemPerInput(varying param: String, over values: [OptionValue]) -> [PlannedItem] {
        values.flatMap { value -> [PlannedItem] in
            var base = baseSignature()
            base.params = (base.params ?? [:]).merging([param: value]) { _, new in new }
            let factory = ItemFactory(step: step, base: base, fromItem: [.inputs])
            let out = CanonicalJSONWriter()
            return upstream.map { input in factory.item(inputs: [input.id], lineage: input.lineageOrigin, using: out) }
        }
    }

    /// One item per upstream item, whose only input it is.
    package func oneItemPerInput() -> [PlannedItem] {
        let factory = ItemFactory(step: step, base: baseSignature(), fromItem: [.inputs])
        // Read in place through the buffer: the slice's subscript copies each whole item.
        return upstream.withUnsafeBufferPointer { upstream in
            let upstream = UncheckedSendable(upstream)
            return factory.make(count: upstream.value.count) { index, out in
                factory.item(inputs: [upstream.value[index].id], lineage: upstream.value[index].lineageOrigin, using: out)
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

/// Makes the items of one step: the members of their signature every item shares are
/// encoded once (``SignatureEncoder``) and held once (``SignatureShape``).
struct ItemFactory: Sendable {
    let step: String
    let kind: ToolKind.Output
    let shape: SignatureShape
    /// Nil when the frame index varies: that changes `params`, so those ids take the
    /// general path.
    let encoder: SignatureEncoder?
    /// `shape.fromItem`, looked up once.
    let varies: (prompt: Bool, seed: Bool, inputs: Bool)
    init(step: Step, base: ItemSignature, fromItem: Set<SignatureShape.Member>) {
        self.step = step.id
        kind = step.tool.output
        let ext = step.tool.outputExtension(step)
        let pathSuffix = ext.isEmpty ? "" : "." + ext
        varies = (fromItem.contains(.prompt), fromItem.contains(.seed), fromItem.contains(.inputs))
        shape = SignatureShape(base, fromItem: fromItem, pathPrefix: "outputs/\(step.id)/", pathSuffix: pathSuffix)
        if fromItem.contains(.frame) {
            encoder = nil
        } else {
            var varying: Set<ItemSignature.Field> = []
            if fromItem.contains(.prompt) { varying.formUnion([.prompt, .negative]) }
            if fromItem.contains(.seed) { varying.insert(.seed) }
            if fromItem.contains(.inputs) { varying.insert(.inputs) }
            encoder = SignatureEncoder(base: base, varying: varying)
        }
    }

    /// `lineage`: the first input's lineage origin for a derived item (see ``PlannedItem/lineage``).
    func item(seed: Int? = nil, prompt: ResolvedPrompt? = nil, inputs: [String] = [], frameIndex: Int? = nil,
              lineage: PlannedItem.LineageOrigin? = nil, using out: CanonicalJSONWriter) -> PlannedItem {
        let id = id(seed: seed, prompt: prompt, inputs: inputs, frameIndex: frameIndex, using: out)
        // A root generation's lineage, shared with the items derived from it (candidates,
        // labels, frames), so that it is hashed once for all of them when asked for.
        var lineage = lineage
        if lineage == nil, inputs.isEmpty, seed != nil || prompt != nil {
            lineage = PlannedItem.LineageOrigin(seed: seed, prompt: prompt?.text)
        }
        return PlannedItem(id: id, step: step, kind: kind, seed: seed, prompt: prompt?.text, negative: prompt?.negative,
                           promptRef: prompt?.ref, inputs: inputs, frameIndex: frameIndex, path: nil, shape: shape,
                           lineage: lineage)
    }

    /// The id of the item ``item(seed:prompt:inputs:frameIndex:lineage:using:)`` makes, without
    /// the item.
    func id(seed: Int? = nil, prompt: ResolvedPrompt? = nil, inputs: [String] = [], frameIndex: Int? = nil,
            using out: CanonicalJSONWriter) -> String {
        guard let encoder else {
            return shape.signature(seed: seed, prompt: prompt?.text, negative: prompt?.negative, inputs: inputs,
                                   frameIndex: frameIndex).id
        }
        return encoder.id(inputs: varies.inputs && !inputs.isEmpty ? inputs : nil,
                          negative: varies.prompt ? prompt?.negative : nil,
                          prompt: varies.prompt ? prompt?.text : nil,
                          seed: varies.seed ? seed : nil, using: out)
    }

    /// `count` items made by `body(index, writer)`, in index order; large steps are split
    /// into chunks made on all cores. Each chunk has its own writer, so the result is the
    /// same as a loop's.
    func make(count: Int, _ body: @Sendable (Int, CanonicalJSONWriter) -> PlannedItem) -> [PlannedItem] {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        guard count >= 4096, cores > 1 else {
            let out = CanonicalJSONWriter()
            return (0..<count).map { body($0, out) }
        }
        let chunks = min(cores * 4, count / 1024)
        return [PlannedItem](unsafeUninitializedCapacity: count) { buffer, initialized in
            // Chunks initialize disjoint ranges of the buffer.
            let base = UncheckedSendable(buffer.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let out = CanonicalJSONWriter()
                let start = count * chunk / chunks, end = count * (chunk + 1) / chunks
                for index in start..<end { (base.value + index).initialize(to: body(index, out)) }
            }
            initialized = count
        }
    }
}

import Basics
import Foundation
import Synchronization
import WorkflowSpec

/// One output artifact: an image, a clip, a frame, a label file, a dataset.
extension PlannedItem {
    /// The item's workspace path with another extension (`outputs/s/abc.txt`).
    public func companionPath(_ ext: String) -> String {
        pathWithoutExtension + "." + ext
    }

    /// The item's file name (`abc.jpg` of `outputs/s/abc.jpg`). Plain byte work: planning
    /// asks for it on every item of every task, where `URL` and `NSString` cost most of
    /// the time, and searching the path by `Character` most of the rest.
    package var fileName: String { PathParts.fileName(of: path) }

    /// The path without the file's extension (`outputs/s/abc`).
    package var pathWithoutExtension: String { PathParts.withoutExtension(path) }

    /// The file name without its extension (`abc` of `outputs/s/abc.jpg`): for a planned
    /// item, the id's first 16 digits, taken without making its path.
    package var stem: String {
        if storedPath == nil, let digits = shape.stem(id: id) { return digits }
        return PathParts.withoutExtension(fileName)
    }
}

public struct PlannedItem: Sendable, Codable, Hashable, Identifiable {
    public var id: String
    public var step: String
    public var kind: ToolKind.Output
    public var seed: Int?
    public var prompt: String?
    public var negative: String?
    /// Which prompt it came from, for people: `can_line[3]`, `inline`, `inherited`.
    public var promptRef: String?
    public var inputs: [String]
    public var frameIndex: Int?
    /// Output path relative to the workspace: `outputs/<step>/<first 16 digits of the
    /// id><extension>` for planned items, made when asked for.
    public var path: String {
        get { storedPath ?? shape.path(id: id) }
        set { storedPath = newValue }
    }
    /// A path set or decoded explicitly; nil for planned items.
    private var storedPath: String?

    /// Writes ``path`` as a JSON string, without making the string when it comes from the
    /// shape (300,000 of them in a large plan's JSON).
    func writePath(to out: CanonicalJSONWriter) {
        if let storedPath { return out.string(storedPath) }
        shape.writePath(id: id, to: out)
    }
    /// The identity of the root generation the item derives from, which the train/test
    /// split follows: for an item with no inputs and a seed or prompt (a Cosmos image, a
    /// procedural scene), the SHA-256 of its seed and prompt text; for a derived item
    /// (clip, frame, label), its first input's lineage; otherwise its id. Options, models
    /// and thresholds are not part of it, so changing them moves nothing between splits.
    public var lineage: String { lineageOrigin.key }

    /// Where the lineage comes from: planning hands a root's down from input to derived
    /// item, so that all of them share one hash, made when first asked for.
    public var lineageOrigin: LineageOrigin {
        if let storedLineage { return storedLineage }
        if inputs.isEmpty, seed != nil || prompt != nil { return LineageOrigin(seed: seed, prompt: prompt) }
        return LineageOrigin(key: id)
    }
    /// Set for planned and decoded items; nil for items made without one.
    private var storedLineage: LineageOrigin?

    /// A root generation's identity (seed and prompt text), hashed the first time its key
    /// is asked for and kept (the plan JSON and the export ask for it of every item derived
    /// from the root), or a lineage key as is.
    public final class LineageOrigin: Sendable {
        private let seed: Int?
        private let prompt: String?
        private let cached: Mutex<String?>

        public init(seed: Int?, prompt: String?) {
            self.seed = seed
            self.prompt = prompt
            cached = Mutex(nil)
        }

        public init(key: String) {
            seed = nil
            prompt = nil
            cached = Mutex(key)
        }

        public var key: String {
            cached.withLock { cached in
                if let cached { return cached }
                let key = Self.rootKey(seed: seed, prompt: prompt)
                cached = key
                return key
            }
        }

        /// The SHA-256 of "lineage\nseed:<seed or ->\nprompt:<prompt>", its bytes laid out
        /// directly (an interpolated string was most of the cost).
        private static func rootKey(seed: Int?, prompt: String?) -> String {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(40 + (prompt?.utf8.count ?? 0))
            bytes.append(contentsOf: "lineage\nseed:".utf8)
            if let seed { bytes.append(contentsOf: String(seed).utf8) } else { bytes.append(UInt8(ascii: "-")) }
            bytes.append(contentsOf: "\nprompt:".utf8)
            if let prompt { bytes.append(contentsOf: prompt.utf8) }
            return bytes.withUnsafeBytes { ContentHash.sha256(bytes: $0) }
        }
    }

    /// Everything that determines the item's content; its canonical JSON hashes to `id`.
    /// Rebuilt on demand from the step's shared members and the item's own fields, so a
    /// plan of a million items does not hold a million copies of the same signature.
    public var signature: ItemSignature {
        get { shape.signature(seed: seed, prompt: prompt, negative: negative, inputs: inputs, frameIndex: frameIndex) }
        set { shape = SignatureShape(newValue) }
    }
    private(set) var shape: SignatureShape

    public init(id: String, step: String, kind: ToolKind.Output, seed: Int?, prompt: String?, negative: String?,
                promptRef: String?, inputs: [String], frameIndex: Int?, path: String, signature: ItemSignature,
                lineage: LineageOrigin? = nil) {
        self.init(id: id, step: step, kind: kind, seed: seed, prompt: prompt, negative: negative, promptRef: promptRef,
                  inputs: inputs, frameIndex: frameIndex, path: path, shape: SignatureShape(signature), lineage: lineage)
    }

    init(id: String, step: String, kind: ToolKind.Output, seed: Int?, prompt: String?, negative: String?,
         promptRef: String?, inputs: [String], frameIndex: Int?, path: String?, shape: SignatureShape, lineage: LineageOrigin? = nil) {
        self.id = id
        self.step = step
        self.kind = kind
        self.seed = seed
        self.prompt = prompt
        self.negative = negative
        self.promptRef = promptRef
        self.inputs = inputs
        self.frameIndex = frameIndex
        self.storedPath = path
        self.shape = shape
        self.storedLineage = lineage
    }

    /// An item that holds nothing of its own: what a step's array of items is left holding
    /// once they are moved into the plan's (``Swift/Array/appendMoving(_:leaving:)``).
    static let filler = PlannedItem(id: "", step: "", kind: .file, seed: nil, prompt: nil, negative: nil, promptRef: nil,
                                    inputs: [], frameIndex: nil, path: nil, shape: SignatureShape(ItemSignature(tool: .command)))

    enum CodingKeys: String, CodingKey {
        case id, step, kind, seed, prompt, negative, inputs, path, signature, lineage
        case promptRef = "prompt_ref"
        case frameIndex = "frame_index"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(id: try container.decode(String.self, forKey: .id),
                  step: try container.decode(String.self, forKey: .step),
                  kind: try container.decode(ToolKind.Output.self, forKey: .kind),
                  seed: try container.decodeIfPresent(Int.self, forKey: .seed),
                  prompt: try container.decodeIfPresent(String.self, forKey: .prompt),
                  negative: try container.decodeIfPresent(String.self, forKey: .negative),
                  promptRef: try container.decodeIfPresent(String.self, forKey: .promptRef),
                  inputs: try container.decode([String].self, forKey: .inputs),
                  frameIndex: try container.decodeIfPresent(Int.self, forKey: .frameIndex),
                  path: try container.decode(String.self, forKey: .path),
                  signature: try container.decode(ItemSignature.self, forKey: .signature),
                  lineage: try container.decodeIfPresent(String.self, forKey: .lineage).map(LineageOrigin.init(key:)))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(step, forKey: .step)
        try container.encode(kind, forKey: .kind)
        try container.encode(lineage, forKey: .lineage)
        try container.encodeIfPresent(seed, forKey: .seed)
        try container.encodeIfPresent(prompt, forKey: .prompt)
        try container.encodeIfPresent(negative, forKey: .negative)
        try container.encodeIfPresent(promptRef, forKey: .promptRef)
        try container.encode(inputs, forKey: .inputs)
        try container.encodeIfPresent(frameIndex, forKey: .frameIndex)
        try container.encode(path, forKey: .path)
        try container.encode(signature, forKey: .signature)
    }

    public static func == (a: PlannedItem, b: PlannedItem) -> Bool {
        a.id == b.id && a.step == b.step && a.kind == b.kind && a.seed == b.seed && a.prompt == b.prompt
            && a.negative == b.negative && a.promptRef == b.promptRef && a.inputs == b.inputs
            && a.frameIndex == b.frameIndex && a.path == b.path
            && (a.shape === b.shape || a.signature == b.signature)
    }

    /// Equal items have equal ids.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
    }
}

/// How an item's signature is made from its step's shared members and its own fields:
/// the members named in `fromItem` come from the item, the rest from `base`. Shared by
/// every item of a step. A signature set or decoded whole has nothing from the item.
final class SignatureShape: Sendable {
    enum Member: Sendable {
        /// `prompt` and `negative` from the item's.
        case prompt
        case seed
        /// `inputs` from the item's, absent when it has none.
        case inputs
        /// `params.frame` from the item's frame index.
        case frame
    }

    let base: ItemSignature
    let fromItem: Set<Member>
    /// The path of the step's items around the id's first 16 digits.
    let pathPrefix: String
    let pathSuffix: String
    /// Whether the prefix and suffix go into a JSON string as they are.
    let pathIsPlain: Bool
    /// Whether the path's stem is the id's first 16 digits: the prefix is a folder and the
    /// suffix one extension.
    let stemIsDigits: Bool

    init(_ base: ItemSignature, fromItem: Set<Member> = [], pathPrefix: String = "", pathSuffix: String = "") {
        self.base = base
        self.fromItem = fromItem
        self.pathPrefix = pathPrefix
        self.pathSuffix = pathSuffix
        var joined = pathPrefix + pathSuffix
        pathIsPlain = joined.withUTF8 { CanonicalJSONWriter.needsNoEscaping($0) }
        let suffix = Array(pathSuffix.utf8)
        stemIsDigits = (pathPrefix.isEmpty || pathPrefix.utf8.last == UInt8(ascii: "/"))
            && (suffix.isEmpty || (suffix.count > 1 && suffix[0] == UInt8(ascii: ".")
                && !suffix.dropFirst().contains(UInt8(ascii: ".")) && !suffix.contains(UInt8(ascii: "/"))))
    }

    func path(id: String) -> String {
        String(unsafeUninitializedCapacity: pathPrefix.utf8.count + 16 + pathSuffix.utf8.count) { buffer in
            var end = 0
            for byte in pathPrefix.utf8 { buffer[end] = byte; end += 1 }
            for byte in id.utf8.prefix(16) { buffer[end] = byte; end += 1 }
            for byte in pathSuffix.utf8 { buffer[end] = byte; end += 1 }
            return end
        }
    }

    /// The stem of ``path(id:)`` when it is the id's first 16 digits (a suffix that is one
    /// extension, an id of plain digits); nil otherwise.
    func stem(id: String) -> String? {
        guard stemIsDigits, id.utf8.count >= 16,
              id.utf8.prefix(16).allSatisfy({ $0 != UInt8(ascii: ".") && $0 != UInt8(ascii: "/") && $0 < 0x80 }) else { return nil }
        return String(Substring(id.utf8.prefix(16)))
    }

    /// ``path(id:)`` as a JSON string, its pieces copied straight into `out` when none
    /// needs escaping.
    func writePath(id: String, to out: CanonicalJSONWriter) {
        var id = id
        let written = pathIsPlain && id.withUTF8 { utf8 in
            guard utf8.count >= 16 else { return false }
            let digits = UnsafeBufferPointer(rebasing: utf8.prefix(16))
            guard digits.allSatisfy({ $0 < 0x80 }), CanonicalJSONWriter.needsNoEscaping(digits) else { return false }
            out.withBytes { bytes in
                bytes.append(UInt8(ascii: "\""))
                bytes.append(contentsOf: pathPrefix.utf8)
                bytes.append(contentsOf: digits)
                bytes.append(contentsOf: pathSuffix.utf8)
                bytes.append(UInt8(ascii: "\""))
            }
            return true
        }
        if !written { out.string(path(id: id)) }
    }

    func signature(seed: Int?, prompt: String?, negative: String?, inputs: [String], frameIndex: Int?) -> ItemSignature {
        var signature = base
        if fromItem.contains(.prompt) {
            signature.prompt = prompt
            signature.negative = negative
        }
        if fromItem.contains(.seed) { signature.seed = seed }
        if fromItem.contains(.inputs) { signature.inputs = inputs.isEmpty ? nil : inputs }
        if fromItem.contains(.frame), let frameIndex {
            var params = signature.params ?? [:]
            params["frame"] = .int(frameIndex)
            signature.params = params
        }
        return signature
    }
}

/// One tool invocation producing a batch of items.
public struct PlannedTask: Sendable, Codable, Hashable, Identifiable {
    public var id: String
    public var step: String
    public var uses: ToolKind
    public var model: String?
    /// The seed of the whole batch, for tools that take one `--seed` per invocation.
    public var seed: Int?
    public var items: [String]
    /// Tasks whose items this task reads.
    public var dependsOn: [String]
    public var device: ToolKind.Device
    /// GPUs one invocation occupies.
    public var gpus: Int
    /// VRAM one invocation needs per GPU, when known.
    public var vramGB: Double?
    /// Estimated seconds: model load plus items times seconds per item.
    public var seconds: Double
    /// What the task runs (``Planner/attachInvocations(to:workflow:)`` fills it in; the
    /// executor builds the same from the same items, or from the items still missing).
    public var invocation: TaskInvocation?

    enum CodingKeys: String, CodingKey {
        case id, step, uses, model, seed, items, device, gpus, seconds, invocation
        case dependsOn = "depends_on"
        case vramGB = "vram_gb"
    }
}

/// Per-step summary: counts, figures and the VRAM check.
public struct StepPlan: Sendable, Codable, Hashable {
    public enum VRAMFit: String, Sendable, Codable, Hashable {
        case fits, misfit, unknown
        case notApplicable = "n/a"
    }

    public var id: String
    public var uses: ToolKind
    public var model: String?
    public var from: [String]
    public var device: ToolKind.Device
    public var items: Int
    public var tasks: Int
    public var modelLoads: Int
    public var gpuHours: Double
    /// Seconds of busy time (GPU or CPU) for the step.
    public var busySeconds: Double
    public var vramNeededGB: Double?
    public var vramFit: VRAMFit
    public var secondsPerItem: Figure?
    public var loadSeconds: Figure?
    /// The step under its other runner, for tools with two (`alternative_runner`, absent
    /// otherwise).
    public var alternative: Alternative? = nil

    /// Model loads and GPU-hours of a step under the runner it does not use.
    public struct Alternative: Sendable, Codable, Hashable {
        /// The step's runner and the other one (`resident`, `cli`).
        public var runner: String
        public var alternative: String
        /// Model loads and GPU-hours under the other runner.
        public var modelLoads: Int
        public var gpuHours: Double

        enum CodingKeys: String, CodingKey {
            case runner, alternative
            case modelLoads = "model_loads"
            case gpuHours = "gpu_hours"
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, uses, model, from, device, items, tasks
        case modelLoads = "model_loads"
        case gpuHours = "gpu_hours"
        case busySeconds = "busy_seconds"
        case vramNeededGB = "vram_needed_gb"
        case vramFit = "vram_fit"
        case secondsPerItem = "seconds_per_item"
        case loadSeconds = "load_seconds"
        case alternative = "alternative_runner"
    }
}

/// The hardware a plan was made for, after `--gpu`/`--gpus` and manifest overrides.
public struct PlannedHardware: Sendable, Codable, Hashable {
    public var gpu: String?
    public var name: String?
    public var count: Int
    public var vramGB: Double?
    public var pricePerGPUHour: Double?
    public var cpuSlots: Int

    enum CodingKeys: String, CodingKey {
        case gpu, name, count
        case vramGB = "vram_gb"
        case pricePerGPUHour = "price_per_gpu_hour"
        case cpuSlots = "cpu_slots"
    }
}

public struct PlanTotals: Sendable, Codable, Hashable {
    public var items: Int
    public var tasks: Int
    public var modelLoads: Int
    public var gpuHours: Double
    /// Wall-clock hours from scheduling the task DAG on the GPU and CPU slots.
    public var wallHours: Double
    /// Dollars: GPU-hours times the price per GPU-hour (nil without a price).
    public var cost: Double?

    enum CodingKeys: String, CodingKey {
        case items, tasks, cost
        case modelLoads = "model_loads"
        case gpuHours = "gpu_hours"
        case wallHours = "wall_hours"
    }
}

/// The plan: every item and task, the step DAG and estimates. A value made without I/O
/// (beyond the prompt files the loader read); the executor only consumes it.
public struct Plan: Sendable, Codable, Hashable {
    /// The plan JSON's format id; bumped on incompatible changes.
    public static let format = "synthset-plan/1"

    public var format: String = Plan.format
    public var workflow: String
    public var manifestSHA256: String
    public var catalogVersion: String
    public var hardware: PlannedHardware
    public var steps: [StepPlan]
    public var items: [PlannedItem]
    public var tasks: [PlannedTask]
    public var totals: PlanTotals
    public var diagnostics: [Diagnostic]

    enum CodingKeys: String, CodingKey {
        case format, workflow, hardware, steps, items, tasks, totals, diagnostics
        case manifestSHA256 = "manifest_sha256"
        case catalogVersion = "catalog_version"
    }

    /// A hash of the item ids in order: equal plans produce equal datasets.
    public var hash: String {
        // Ids read in place through the buffer: mapping the array by key path copied
        // every whole item.
        items.withUnsafeBufferPointer { items in
            ContentHash.sha256(joining: items.indices.lazy.map { items[$0].id }, separator: "\n")
        }
    }

    public func itemsByID() -> [String: PlannedItem] {
        Dictionary(items.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

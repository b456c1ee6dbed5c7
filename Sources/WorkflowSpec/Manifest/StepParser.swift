import Foundation
import SceneFormats
import Yams

/// Reads the fields of one step. The set of keys was already checked against the tool's
/// ``ToolDefinition/stepKeys``; this checks their types and values: the common keys here,
/// the tool's own through its ``ToolDefinition/parseKeys(_:into:)``, which calls the
/// readers below (or ``parseGenericKeys(_:into:)``).
public struct StepParser {
    let parser: ManifestParser
    let fields: NodeReader.Fields
    package let id: String
    let tool: any ToolDefinition
    var uses: ToolKind { tool.uses }

    package var reader: NodeReader { parser.reader }

    package func node(_ key: String) -> Node? { fields[key] }
    package func path(_ key: String) -> String { fields.path(key) }

    func parse() -> Step {
        var step = Step(id: id, tool: tool)
        step.description = node("description").flatMap { reader.string($0, path("description")) }
        if let from = node("from") {
            step.from = reader.stringList(from, path("from")) ?? []
            if step.from.isEmpty { reader.error("step '\(id)': 'from' is empty", hint: "name the upstream step(s)", at: from) }
        } else if tool.requiresInput {
            reader.error("step '\(id)' (\(uses.rawValue)) needs input", hint: "add 'from: <step id>'", at: fields.node)
        }
        // A tool without model sizes that takes `model:` reads it itself (ultralytics/train).
        if !tool.models.isEmpty, let model = node("model") {
            if let value = reader.string(model, path("model"), allowNonText: true) {
                if tool.models.contains(value) {
                    step.model = value
                } else {
                    reader.error("model '\(value)' is not offered by \(uses.rawValue)",
                                 hint: "choose one of: \(tool.models.joined(separator: ", "))", at: model)
                }
            }
        } else {
            step.model = tool.defaultModel
        }
        parsePrompts(&step)
        if let seeds = node("seeds") {
            step.seeds = SeedParser(reader: reader).parse(seeds, path("seeds"))
        }
        if !tool.resolutions.isEmpty, let node = node("resolution"), let value = reader.int(node, path("resolution")) {
            if tool.resolutions.contains(value) { step.resolution = value } else {
                reader.error("resolution \(value) is not offered by \(uses.rawValue)",
                             hint: "choose one of: \(tool.resolutions.map(String.init).joined(separator: ", "))", at: node)
            }
        }
        if let node = node("fps"), !tool.frameRates.isEmpty {
            if let value = reader.int(node, path("fps")) {
                if tool.frameRates.contains(value) { step.fps = value } else {
                    reader.error("fps \(value) is not offered by \(uses.rawValue)",
                                 hint: "choose one of: \(tool.frameRates.map(String.init).joined(separator: ", "))", at: node)
                }
            }
        }
        if let node = node("options") { step.options = parseOptions(node) }
        step.maxBatch = positiveInt("max_batch")
        step.gpus = positiveInt("gpus")
        if let node = node("retries"), let value = reader.int(node, path("retries")) {
            if value < 0 { reader.error("retries cannot be negative", hint: "write 0 or more", at: node) }
            step.retries = value
        }
        tool.parseKeys(self, into: &step)
        if tool.requiresSeeds && node("seeds") == nil {
            reader.error("step '\(id)' (\(uses.rawValue)) has no seeds", hint: "add 'seeds: 0..9' (or a list, or {from: 0, count: 10})", at: fields.node)
        }
        return step
    }

    /// Reads each key with a ``KeySpec/kind`` into ``Step/settings``, checking its type
    /// and range; a missing key takes its default, and a missing required key is an error.
    package func parseGenericKeys(_ keys: [KeySpec], into step: inout Step) {
        for key in keys {
            guard let kind = key.kind else { continue }
            guard let node = node(key.name) else {
                if key.familyWide, let family = tool.family, let value = parser.toolLocations[family]?.stepDefaults[key.name] {
                    step.settings[key.name] = value
                    continue
                }
                if key.required {
                    reader.error("step '\(id)' (\(uses.rawValue)) has no '\(key.name)'", hint: "add '\(key.name):' (\(key.help))", at: fields.node)
                }
                continue
            }
            if let value = typedValue(node, path(key.name), name: key.name, kind: kind) { step.settings[key.name] = value }
        }
    }

    /// Reads the Scene keys of a procedural step.
    package func parseScene() -> SceneSpec? { SceneParser(reader: reader, fields: fields).parse() }

    func positiveInt(_ key: String) -> Int? {
        guard let node = node(key), let value = reader.int(node, path(key)) else { return nil }
        if value < 1 { reader.error("\(key) must be at least 1, found \(value)", hint: "write a positive integer", at: node) }
        return value
    }

    func parsePrompts(_ step: inout Step) {
        if let node = node("prompts") {
            step.promptSets = reader.stringList(node, path("prompts")) ?? []
            if step.promptSets.isEmpty { reader.error("step '\(id)': 'prompts' is empty", hint: "name at least one prompt set", at: node) }
        }
        if let node = node("prompt") {
            step.prompt = reader.string(node, path("prompt"))
            if step.prompt?.trimmingCharacters(in: .whitespaces).isEmpty == true {
                reader.error("step '\(id)': 'prompt' is empty", hint: "write the prompt text", at: node)
            }
        }
        step.negative = node("negative").flatMap { reader.string($0, path("negative")) }
        if tool.requiresPrompts && step.promptSets.isEmpty && step.prompt == nil {
            reader.error("step '\(id)' (\(uses.rawValue)) has no prompts", hint: "add 'prompts: [<set id>]' or 'prompt: \"...\"'", at: fields.node)
        }
    }

    func parseOptions(_ node: Node) -> [String: OptionValue] {
        let specs = tool.options
        var options: [String: OptionValue] = [:]
        for entry in reader.entries(node, path("options")) ?? [] {
            let optionPath = path("options") + ".\(entry.key)"
            guard let spec = specs.first(where: { $0.name == entry.key }) else {
                var hint = "valid options for \(uses.rawValue): \(specs.map(\.name).joined(separator: ", "))"
                if specs.isEmpty { hint = "\(uses.rawValue) takes no options" }
                if let guess = NodeReader.closest(to: entry.key, in: specs.map(\.name)) { hint = "did you mean '\(guess)'? " + hint }
                reader.error("option '\(entry.key)' is not accepted by \(uses.rawValue)", hint: hint, at: entry.keyNode)
                continue
            }
            reader.record(optionPath, entry.keyNode)
            if let value = typedValue(entry.value, optionPath, name: "option '\(entry.key)'", kind: spec.kind) { options[entry.key] = value }
        }
        return options
    }

    /// A value of `kind` at `node`, or nil after reporting why it is not one.
    func typedValue(_ value: Node, _ valuePath: String, name: String, kind: OptionSpec.Kind) -> OptionValue? {
        parser.typedValue(value, valuePath, name: name, kind: kind)
    }

    package func parseFrames(_ step: inout Step) {
        var frames = FrameSampling(every: nil, fps: nil, maxFrames: nil)
        if let node = node("fps"), let value = reader.double(node, path("fps")) {
            if value <= 0 { reader.error("fps must be positive", hint: "write frames per second to keep, e.g. 2", at: node) }
            frames.fps = value
        }
        frames.every = positiveInt("every")
        frames.maxFrames = positiveInt("max_frames")
        if frames.every != nil && frames.fps != nil {
            reader.error("step '\(id)' sets both 'every' and 'fps'", hint: "keep one: every Nth frame, or N frames per second", at: fields.keyNodes["fps"])
        }
        if frames.every == nil && frames.fps == nil { frames.every = 1 }
        step.frames = frames
    }

    func threshold(_ key: String, default value: Double) -> Double {
        guard let node = node(key), let number = reader.double(node, path(key)) else { return value }
        if !(0...1).contains(number) {
            reader.error("\(key) must be between 0 and 1, found \(number)", hint: "Grounding DINO scores are probabilities; typical values are 0.25 to 0.35", at: node)
        }
        return number
    }

    package func parseLabeling() -> Labeling? {
        var classes: [ClassMapping] = []
        if let node = node("classes") {
            if case .sequence(let seq) = node {
                for (index, item) in seq.enumerated() {
                    if let name = reader.string(item, path("classes") + "[\(index)]") { classes.append(ClassMapping(phrase: name, className: name)) }
                }
            } else {
                for entry in reader.entries(node, path("classes")) ?? [] {
                    if let name = reader.string(entry.value, path("classes") + ".\(entry.key)") {
                        classes.append(ClassMapping(phrase: entry.key, className: name))
                    }
                }
            }
            if classes.isEmpty { reader.error("step '\(id)' has no classes", hint: "add 'classes: { can: can }' (prompt phrase: dataset class)", at: node) }
            for mapping in classes where mapping.phrase.contains(".") {
                reader.error("class phrase '\(mapping.phrase)' contains '.'", hint: "'.' separates phrases in the caption; remove it", at: node)
            }
        } else {
            reader.error("step '\(id)' (grounded-sam2/label) has no classes", hint: "add 'classes: { can: can, person: person }'", at: fields.node)
        }
        var mode = Labeling.Mode.raw
        if let node = node("mode"), let text = reader.string(node, path("mode")) {
            if let value = Labeling.Mode(rawValue: text) { mode = value } else {
                reader.error("mode '\(text)' is not known", hint: "use 'raw' (synthset applies thresholds) or 'script' (the article's labeling script)", at: node)
            }
        }
        let script = node("script").flatMap { parser.toolPath($0, path("script")) }
        if mode == .script && script == nil && node("script") == nil {
            reader.error("mode 'script' needs 'script:'", hint: "set the path of a script with the contract of grounded_sam2_batch_image.py", at: fields.node)
        }
        var nms: Double?
        if let node = node("nms_iou") { nms = threshold("nms_iou", default: 0.5); _ = node }
        var minArea: Double?
        if let node = node("min_box_area") { minArea = parser.nonNegative(node, path("min_box_area")) }
        return Labeling(classes: classes, boxThreshold: threshold("box_threshold", default: 0.35),
                        textThreshold: threshold("text_threshold", default: 0.25), mode: mode, script: script,
                        scriptSHA256: script.flatMap { parser.userFileSHA256($0, bareNameIsFile: true) },
                        nmsIoU: nms, minBoxArea: minArea, maxPerImage: positiveInt("max_per_image"))
    }

    package func parseExport() -> ExportSpec? {
        var formats = ExportSpec.Format.allCases
        if let node = node("formats"), let names = reader.stringList(node, path("formats")) {
            formats = []
            for name in names {
                if let format = ExportSpec.Format(rawValue: name) {
                    if !formats.contains(format) { formats.append(format) }
                } else {
                    reader.error("unknown export format '\(name)'", hint: "valid formats: \(ExportSpec.Format.allCases.map(\.rawValue).joined(separator: ", "))", at: node)
                }
            }
            if names.isEmpty { reader.error("'formats' is empty", hint: "name at least one format", at: node) }
        }
        var split = Split()
        if let node = node("split"), let fields = reader.fields(node, path("split"), allowed: ["train", "test", "validation", "val"]) {
            func fraction(_ key: String) -> Double? {
                guard let node = fields[key], let value = reader.double(node, fields.path(key)) else { return nil }
                if !(0...1).contains(value) { reader.error("split \(key) must be between 0 and 1, found \(value)", hint: "write a fraction such as 0.8", at: node) }
                return value
            }
            split = Split(train: fraction("train") ?? 0, test: fraction("test") ?? 0,
                          validation: fraction("validation") ?? fraction("val") ?? 0)
            let sum = split.train + split.test + split.validation
            if abs(sum - 1) > 1e-6 {
                reader.error("split fractions add up to \(sum), not 1", hint: "e.g. { train: 0.8, test: 0.2 }", at: node)
            }
        }
        return ExportSpec(formats: formats, split: split)
    }

    package func parseUpload() -> UploadSpec? {
        var spec = UploadSpec(apiKeyEnvironment: "EI_API_KEY", baseURL: "https://ingestion.edgeimpulse.com", splits: ["train", "test"])
        if let node = node("api_key_env"), let name = reader.string(node, path("api_key_env")) {
            if name.wholeMatch(of: /[A-Za-z_][A-Za-z0-9_]*/) == nil {
                reader.error("api_key_env must name an environment variable, found '\(name)'",
                             hint: "write the variable's name (e.g. EI_API_KEY), never the key itself", at: node)
            }
            spec.apiKeyEnvironment = name
        }
        if let node = node("base_url"), let url = reader.string(node, path("base_url")) {
            if !(url.hasPrefix("https://") || url.hasPrefix("http://")) {
                reader.error("base_url must start with https:// or http://", hint: "e.g. https://ingestion.edgeimpulse.com", at: node)
            }
            spec.baseURL = url
        }
        if let node = node("splits"), let splits = reader.stringList(node, path("splits")) {
            for split in splits where !["train", "test", "validation"].contains(split) {
                reader.error("unknown split '\(split)'", hint: "use train, test or validation", at: node)
            }
            spec.splits = splits
        }
        return spec
    }

    package static let commandPlaceholders = ["input", "inputs", "output", "output_dir", "seed", "prompt_file",
                                      "negative_file", "item_id", "batch_file", "index", "workspace"]

    /// The folder placeholder (`output_dir`, `output`, `workspace`) an argument climbs
    /// out of with a `..` component after it, e.g. `{output_dir}/../../x`; nil when none.
    static func escapingPlaceholder(_ argument: String) -> String? {
        for name in ["output_dir", "output", "workspace"] {
            guard let range = argument.range(of: "{\(name)}") else { continue }
            let rest = argument[range.upperBound...]
            if rest.split(whereSeparator: { $0 == "/" || $0 == "\\" }).contains(where: { $0 == ".." }) { return name }
        }
        return nil
    }

    package func parseCommand(_ step: Step) -> CommandSpec? {
        guard let programNode = node("program") else {
            reader.error("step '\(id)' (command) has no 'program'", hint: "add 'program: my-tool' (a name in PATH or a path)", at: fields.node)
            return nil
        }
        guard let program = parser.toolPath(programNode, path("program")) else { return nil }
        var arguments: [String] = []
        if let node = node("args"), let list = reader.sequence(node, path("args")) {
            for (index, item) in list.enumerated() {
                guard let argument = reader.string(item, path("args") + "[\(index)]", allowNonText: true) else { continue }
                switch PromptTemplate.placeholders(in: argument) {
                case .failure(let problem): reader.error("argument \(index): \(problem.message)", hint: problem.hint, at: item)
                case .success(let names):
                    for name in names where !Self.commandPlaceholders.contains(name) {
                        reader.error("argument \(index) uses unknown placeholder {\(name)}",
                                     hint: "available: \(Self.commandPlaceholders.map { "{\($0)}" }.joined(separator: ", "))", at: item)
                    }
                }
                if let escape = Self.escapingPlaceholder(argument) {
                    reader.error("argument \(index) leaves {\(escape)} with '..': a tool must write inside the folder synthset gives it",
                                 hint: "write to {output} or below {output_dir}, without '..'", at: item)
                }
                arguments.append(argument)
            }
        }
        var granularity = CommandSpec.Granularity.item
        if let node = node("per"), let text = reader.string(node, path("per")) {
            if let value = CommandSpec.Granularity(rawValue: text) { granularity = value } else {
                reader.error("per must be 'item' or 'batch', found '\(text)'", hint: "'item' runs the program once per item, 'batch' once per batch with {batch_file}", at: node)
            }
        }
        if granularity == .batch, !arguments.contains(where: { $0.contains("{batch_file}") }) {
            reader.error("step '\(id)' runs per batch but no argument uses {batch_file}", hint: "pass the batch file, e.g. args: [\"--batch\", \"{batch_file}\"]", at: fields.node)
        }
        if granularity == .item, !arguments.contains(where: { $0.contains("{output}") || $0.contains("{output_dir}") }) {
            reader.error("step '\(id)' never tells the program where to write: no argument uses {output}", hint: "add an argument with {output}", at: node("args") ?? fields.node)
        }
        var ext = "bin"
        if let node = node("output"), let text = reader.string(node, path("output")) {
            if text.wholeMatch(of: /[A-Za-z0-9]{1,8}/) == nil {
                reader.error("output must be a file extension such as jpg, mp4 or json, found '\(text)'", hint: "write the extension without a dot", at: node)
            }
            ext = text
        }
        let environment = node("env").map { parser.parseEnvironment($0, path("env")) } ?? [:]
        var usesGPU = false
        if let node = node("gpu"), let flag = reader.bool(node, path("gpu")) { usesGPU = flag }
        let vram = node("vram_gb").flatMap { parser.positive($0, path("vram_gb")) }
        if step.from.isEmpty && step.seeds == nil {
            reader.error("step '\(id)' (command) has neither 'from' nor 'seeds'", hint: "items come from upstream items or from seeds; add one", at: fields.node)
        }
        return CommandSpec(program: program, arguments: arguments, granularity: granularity, outputExtension: ext,
                           environment: environment, usesGPU: usesGPU, vramGB: vram,
                           programSHA256: parser.userFileSHA256(program))
    }
}

/// Seeds: `0..9` (inclusive), a list, a single integer, or `{ from: 0, count: 10 }`.
struct SeedParser {
    let reader: NodeReader
    static let maximum = Int(UInt32.max)
    /// The most seeds one step may list: the planner's default item limit, checked here
    /// because seeds are materialized while the manifest is read.
    static let maximumCount = 10_000_000

    func parse(_ node: Node, _ path: String) -> [Int]? {
        switch node {
        case .sequence(let seq):
            var seeds: [Int] = []
            for (index, item) in seq.enumerated() {
                if let seed = seedValue(item, "\(path)[\(index)]") { seeds.append(seed) }
            }
            if seq.isEmpty { reader.error("seed list is empty", hint: "give at least one seed, e.g. [0]", at: node); return nil }
            var seen = Set<Int>()
            for seed in seeds where !seen.insert(seed).inserted {
                reader.error("seed \(seed) is listed twice", hint: "remove the duplicate; it would give identical items", at: node)
            }
            return seeds.count == seq.count ? seeds : nil
        case .mapping:
            guard let fields = reader.fields(node, path, allowed: ["from", "count"], required: ["from", "count"]) else { return nil }
            guard let fromNode = fields["from"], let countNode = fields["count"],
                  let start = seedValue(fromNode, fields.path("from")),
                  let count = reader.int(countNode, fields.path("count")) else { return nil }
            if count < 1 { reader.error("seed count must be at least 1, found \(count)", hint: "the range would be empty", at: countNode); return nil }
            if count > Self.maximum - start + 1 { reader.error("seed range ends past \(Self.maximum)", hint: "use smaller seeds", at: node); return nil }
            if count > Self.maximumCount { tooMany(count, node); return nil }
            return Array(start..<(start + count))
        case .scalar(let scalar):
            if node.tagName == .int { return seedValue(node, path).map { [$0] } }
            if node.tagName == .str, let match = scalar.string.wholeMatch(of: /\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*/) {
                guard let low = Int(match.1), let high = Int(match.2) else {
                    reader.error("seed range '\(scalar.string)' has a seed past \(Self.maximum)", hint: "seeds go up to \(Self.maximum)", at: node)
                    return nil
                }
                if low < 0 || high < 0 {
                    reader.error("seeds must not be negative, found '\(scalar.string)'", hint: "Cosmos seeds are 0 or more", at: node)
                    return nil
                }
                if low > high {
                    reader.error("seed range '\(scalar.string)' is empty", hint: "write low..high with low <= high, e.g. 0..9", at: node)
                    return nil
                }
                if high > Self.maximum { reader.error("seed \(high) is too large", hint: "seeds go up to \(Self.maximum)", at: node); return nil }
                if high - low + 1 > Self.maximumCount { tooMany(high - low + 1, node); return nil }
                return Array(low...high)
            }
            if node.tagName == .float {
                reader.error("seed must be an integer, found '\(scalar.string)'", hint: "write whole numbers, e.g. 0..9 or [0, 4, 9]", at: node)
                return nil
            }
            reader.error("\(path): expected seeds, found \(NodeReader.describe(node))",
                         hint: "write a range '0..9', a list [0, 4, 9], or { from: 0, count: 10 }", at: node)
            return nil
        case .alias:
            reader.error("\(path): aliases are not supported here", hint: "write the seeds out", at: node)
            return nil
        }
    }

    func tooMany(_ count: Int, _ node: Node) {
        reader.error("seed range has \(count) seeds, more than the \(Self.maximumCount) one step may have",
                     hint: "use a shorter range; a step's items are its seeds times its prompts and inputs", at: node)
    }

    func seedValue(_ node: Node, _ path: String) -> Int? {
        if node.tagName == .float {
            reader.error("seed must be an integer, found '\(node.scalar?.string ?? "")'", hint: "write whole numbers", at: node)
            return nil
        }
        guard let value = reader.int(node, path) else { return nil }
        if value < 0 { reader.error("seed must not be negative, found \(value)", hint: "Cosmos seeds are 0 or more", at: node); return nil }
        if value > Self.maximum { reader.error("seed \(value) is too large", hint: "seeds go up to \(Self.maximum)", at: node); return nil }
        return value
    }
}

import Basics
import Foundation
import SceneFormats
import Yams

/// Walks a composed manifest node tree into a `Workflow`, recording every problem in the
/// reader's diagnostics. One parser per load.
final class ManifestParser {
    let reader: NodeReader
    let directory: URL
    let registry: ToolRegistry
    /// Whether a missing pinned file of an `llm:` set is allowed (for `prompts refresh`).
    let allowMissingPinnedPrompts: Bool
    /// The parsed `tools:` block (read before the steps, whose family-wide defaults it holds).
    var toolLocations: [String: ToolLocation] = [:]

    init(reader: NodeReader, directory: URL, registry: ToolRegistry, allowMissingPinnedPrompts: Bool = false) {
        self.reader = reader
        self.directory = directory
        self.registry = registry
        self.allowMissingPinnedPrompts = allowMissingPinnedPrompts
    }

    static let topLevelKeys = ["version", "name", "description", "hardware", "tools", "prompts", "steps", "catalog"]
    nonisolated(unsafe) static let identifierPattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

    func parse(root: Node, sourceHash: String) -> Workflow? {
        guard let top = reader.fields(root, "", allowed: Self.topLevelKeys, context: "the workflow") else { return nil }
        var version = 0
        if let node = top["version"] {
            if let value = reader.int(node, "version") {
                version = value
                if !WorkflowLoader.supportedVersions.contains(value) {
                    reader.error("unsupported manifest version \(value)",
                                 hint: "this synthset reads version \(WorkflowLoader.supportedVersions.map(String.init).joined(separator: ", ")); write 'version: 1' or upgrade synthset",
                                 at: node)
                }
            }
        } else {
            reader.error("missing 'version'", hint: "add 'version: 1' at the top of the file",
                         at: root.mapping?.first?.key ?? root)
        }
        var name = ""
        if let node = top["name"], let value = reader.string(node, "name") {
            name = value
            if value.wholeMatch(of: Self.identifierPattern) == nil {
                reader.error("name '\(value)' is not a valid workflow name",
                             hint: "use letters, digits, '.', '_' and '-' (it names the workspace folder)", at: node)
            }
        } else if top["name"] == nil {
            reader.error("missing 'name'", hint: "add 'name: my-dataset' (it names the workspace folder)",
                         at: root.mapping?.first?.key ?? root)
        }
        let description = top["description"].flatMap { reader.string($0, "description") }
        let hardware = top["hardware"].flatMap(parseHardware)
        let tools = top["tools"].map(parseTools) ?? [:]
        let prompts = top["prompts"].map(parsePrompts) ?? []
        let catalog = top["catalog"].map(parseCatalog) ?? CatalogOverrides()
        var steps: [Step] = []
        if let node = top["steps"] {
            steps = parseSteps(node)
        } else {
            reader.error("missing 'steps'", hint: "add 'steps:' with at least one step", at: root.mapping?.first?.key ?? root)
        }
        checkReferences(steps: steps, prompts: prompts, stepsNode: top["steps"])
        return Workflow(version: version, name: name, description: description, hardware: hardware,
                        tools: tools, prompts: prompts, steps: steps, catalog: catalog,
                        file: reader.file, directory: directory, sourceHash: sourceHash,
                        sourceMap: reader.sourceMap)
    }

    // MARK: hardware, tools, catalog

    func parseHardware(_ node: Node) -> Hardware? {
        guard let fields = reader.fields(node, "hardware", allowed: ["gpu", "count", "vram_gb", "price_per_gpu_hour"],
                                         required: ["gpu"]) else { return nil }
        guard let gpuNode = fields["gpu"], let gpu = reader.string(gpuNode, "hardware.gpu") else { return nil }
        var hardware = Hardware(gpu: gpu)
        if let node = fields["count"], let count = reader.int(node, "hardware.count") {
            if count < 1 { reader.error("hardware.count must be at least 1, found \(count)", hint: "write the number of GPUs, e.g. 'count: 1'", at: node) }
            hardware.count = count
        }
        if let node = fields["vram_gb"], let value = reader.double(node, "hardware.vram_gb") {
            if value <= 0 { reader.error("hardware.vram_gb must be positive", hint: "write the GPU's memory in GB, e.g. 80", at: node) }
            hardware.vramGB = value
        }
        if let node = fields["price_per_gpu_hour"], let value = reader.double(node, "hardware.price_per_gpu_hour") {
            if value < 0 { reader.error("hardware.price_per_gpu_hour cannot be negative", hint: "write dollars per GPU-hour, e.g. 2.50", at: node) }
            hardware.pricePerGPUHour = value
        }
        return hardware
    }

    func parseTools(_ node: Node) -> [String: ToolLocation] {
        var tools: [String: ToolLocation] = [:]
        for entry in reader.entries(node, "tools") ?? [] {
            let path = "tools.\(entry.key)"
            let families = registry.families
            guard families.contains(entry.key) else {
                var hint = "known tools: \(families.joined(separator: ", "))"
                if let guess = NodeReader.closest(to: entry.key, in: families) { hint = "did you mean '\(guess)'? " + hint }
                reader.error("unknown tool '\(entry.key)' in tools", hint: hint, at: entry.keyNode)
                continue
            }
            reader.record(path, entry.keyNode)
            let stepKeys = registry.familyWideKeys(entry.key)
            guard let fields = reader.fields(entry.value, path, allowed: ["root", "python", "env", "program"] + stepKeys.map(\.name))
            else { continue }
            var location = ToolLocation()
            location.root = fields["root"].flatMap { toolPath($0, fields.path("root")) }
            location.python = fields["python"].flatMap { toolPath($0, fields.path("python")) }
            location.checkout = location.root.flatMap { root in
                let expanded = (root as NSString).expandingTildeInPath
                return GitCheckout.head(of: expanded.hasPrefix("/") ? URL(fileURLWithPath: expanded) : directory.appendingPathComponent(root))
            }
            location.program = fields["program"].flatMap { toolPath($0, fields.path("program")) }
            if let envNode = fields["env"] { location.environment = parseEnvironment(envNode, fields.path("env")) }
            for key in stepKeys {
                guard let kind = key.kind, let node = fields[key.name] else { continue }
                if let value = typedValue(node, fields.path(key.name), name: key.name, kind: kind) { location.stepDefaults[key.name] = value }
            }
            tools[entry.key] = location
        }
        toolLocations = tools
        return tools
    }

    /// Reads a key's value, checking its type and range.
    func typedValue(_ value: Node, _ valuePath: String, name: String, kind: OptionSpec.Kind) -> OptionValue? {
        switch kind {
        case .bool:
            return reader.bool(value, valuePath).map(OptionValue.bool)
        case .number:
            return reader.double(value, valuePath).map(OptionValue.number)
        case .string:
            return reader.string(value, valuePath).map(OptionValue.string)
        case .path:
            return toolPath(value, valuePath).map(OptionValue.string)
        case .integerRange(let range):
            guard let number = reader.int(value, valuePath) else { return nil }
            if range.contains(number) { return .int(number) }
            reader.error("\(name) must be in \(range.lowerBound)...\(range.upperBound), found \(number)", hint: "pick a value in range", at: value)
        case .integerChoice(let choices):
            guard let number = reader.int(value, valuePath) else { return nil }
            if choices.contains(number) { return .int(number) }
            reader.error("\(name) must be one of \(choices.map(String.init).joined(separator: ", ")), found \(number)", hint: "pick one of those", at: value)
        case .choice(let choices):
            guard let text = reader.string(value, valuePath, allowNonText: true) else { return nil }
            if choices.contains(text) { return .string(text) }
            reader.error("\(name) must be one of \(choices.joined(separator: ", ")), found '\(text)'", hint: "quote the value, e.g. \"16:9\"", at: value)
        }
        return nil
    }

    func parseEnvironment(_ node: Node, _ path: String) -> [String: String] {
        var environment: [String: String] = [:]
        for entry in reader.entries(node, path) ?? [] {
            if entry.key.wholeMatch(of: /[A-Za-z_][A-Za-z0-9_]*/) == nil {
                reader.error("'\(entry.key)' is not a valid environment variable name", hint: "use letters, digits and '_'", at: entry.keyNode)
            }
            if let value = reader.string(entry.value, "\(path).\(entry.key)", allowNonText: true) {
                environment[entry.key] = value
            }
        }
        return environment
    }

    func parseCatalog(_ node: Node) -> CatalogOverrides {
        var overrides = CatalogOverrides()
        guard let fields = reader.fields(node, "catalog", allowed: ["gpus", "timings", "models"]) else { return overrides }
        if let gpus = fields["gpus"] {
            for entry in reader.entries(gpus, "catalog.gpus") ?? [] {
                let path = "catalog.gpus.\(entry.key)"
                guard let gpu = reader.fields(entry.value, path, allowed: ["vram_gb", "price_per_gpu_hour"]) else { continue }
                overrides.gpus[entry.key] = .init(
                    vramGB: gpu["vram_gb"].flatMap { positive($0, gpu.path("vram_gb")) },
                    pricePerGPUHour: gpu["price_per_gpu_hour"].flatMap { nonNegative($0, gpu.path("price_per_gpu_hour")) })
            }
        }
        if let timings = fields["timings"] {
            for (index, item) in (reader.sequence(timings, "catalog.timings") ?? []).enumerated() {
                let path = "catalog.timings[\(index)]"
                guard let timing = reader.fields(item, path, allowed: ["uses", "model", "gpu", "resolution", "fps", "seconds_per_item", "load_seconds"],
                                                 required: ["uses"]) else { continue }
                guard let usesNode = timing["uses"], let uses = parseUses(usesNode, timing.path("uses"))?.uses else { continue }
                if timing["seconds_per_item"] == nil && timing["load_seconds"] == nil {
                    reader.error("\(path) sets no figure", hint: "add 'seconds_per_item:' or 'load_seconds:'", at: item)
                }
                overrides.timings.append(.init(
                    uses: uses,
                    model: timing["model"].flatMap { reader.string($0, timing.path("model"), allowNonText: true) },
                    gpu: timing["gpu"].flatMap { reader.string($0, timing.path("gpu")) },
                    resolution: timing["resolution"].flatMap { reader.int($0, timing.path("resolution")) },
                    fps: timing["fps"].flatMap { reader.int($0, timing.path("fps")) },
                    secondsPerItem: timing["seconds_per_item"].flatMap { positive($0, timing.path("seconds_per_item")) },
                    loadSeconds: timing["load_seconds"].flatMap { nonNegative($0, timing.path("load_seconds")) }))
            }
        }
        if let models = fields["models"] {
            for (index, item) in (reader.sequence(models, "catalog.models") ?? []).enumerated() {
                let path = "catalog.models[\(index)]"
                guard let model = reader.fields(item, path, allowed: ["uses", "model", "vram_gb"], required: ["uses", "vram_gb"]),
                      let usesNode = model["uses"], let uses = parseUses(usesNode, model.path("uses"))?.uses,
                      let vramNode = model["vram_gb"], let vram = positive(vramNode, model.path("vram_gb")) else { continue }
                overrides.models.append(.init(
                    uses: uses, model: model["model"].flatMap { reader.string($0, model.path("model"), allowNonText: true) }, vramGB: vram))
            }
        }
        return overrides
    }

    func positive(_ node: Node, _ path: String) -> Double? {
        guard let value = reader.double(node, path) else { return nil }
        if value <= 0 { reader.error("\(path) must be positive, found \(value)", hint: "write a number above 0", at: node) }
        return value
    }

    func nonNegative(_ node: Node, _ path: String) -> Double? {
        guard let value = reader.double(node, path) else { return nil }
        if value < 0 { reader.error("\(path) cannot be negative, found \(value)", hint: "write 0 or more", at: node) }
        return value
    }

    // MARK: paths

    /// A path to a tool: absolute and `~` paths are the user's explicit choice; relative
    /// ones resolve against the manifest's folder and must stay inside it. A bare name
    /// (no slash) is looked up in PATH at run time.
    func toolPath(_ node: Node, _ path: String) -> String? {
        guard let value = reader.string(node, path) else { return nil }
        if value.hasPrefix("/") || value.hasPrefix("~") || !value.contains("/") { return value }
        return relativePath(value, node, path)
    }

    /// Whether `path` is `base` or inside it (both absolute, standardized).
    static func isInside(_ path: String, _ base: String) -> Bool {
        path == base || path.hasPrefix(base.hasSuffix("/") ? base : base + "/")
    }

    /// SHA-256 of a file a tool runs (a script, a program), when `value` is a path to a
    /// file that can be read: a relative path in the manifest's folder (kept in git with
    /// the recipe), or an absolute or `~` path of a tool installation. A program's bare
    /// name (looked up in PATH) has none, nor has a file that is not there (a dry run on
    /// another machine). A script's bare name is a file beside the manifest.
    func userFileSHA256(_ value: String, bareNameIsFile: Bool = false) -> String? {
        guard value.contains("/") || bareNameIsFile else { return nil }
        let expanded = (value as NSString).expandingTildeInPath
        let url = expanded.hasPrefix("/") ? URL(fileURLWithPath: expanded) : directory.appendingPathComponent(value)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue,
              let data = FileManager.default.contents(atPath: url.path) else { return nil }
        return WorkflowLoader.sha256(data)
    }

    /// A relative path inside the manifest's folder; escaping it is an error.
    func relativePath(_ value: String, _ node: Node, _ path: String) -> String? {
        if value.isEmpty {
            reader.error("\(path) is empty", hint: "write a path relative to the manifest's folder", at: node)
            return nil
        }
        if value.hasPrefix("/") || value.hasPrefix("~") {
            reader.error("\(path): '\(value)' is an absolute path",
                         hint: "data paths are relative to the manifest's folder (\(directory.path)) so the recipe works on any machine; move the file there",
                         at: node)
            return nil
        }
        let resolved = directory.appendingPathComponent(value).standardizedFileURL.path
        let base = directory.standardizedFileURL.path
        guard Self.isInside(resolved, base) else {
            reader.error("\(path): '\(value)' escapes the manifest's folder",
                         hint: "paths must stay inside \(base); move the file there or use a path without '..'",
                         at: node)
            return nil
        }
        // Links followed: a link inside the folder to a file outside it escapes too.
        let real = directory.appendingPathComponent(value).resolvingSymlinksInPath().path
        let realBase = directory.resolvingSymlinksInPath().path
        guard Self.isInside(real, realBase) else {
            reader.error("\(path): '\(value)' is a link to a file outside the manifest's folder",
                         hint: "copy the file into \(base) instead of linking to it",
                         at: node)
            return nil
        }
        return value
    }

    // MARK: prompts

    func parsePrompts(_ node: Node) -> [PromptSet] {
        var sets: [PromptSet] = []
        var llms: [(id: String, llm: LLMExpansion)] = []
        var declared: [String] = []
        for entry in reader.entries(node, "prompts") ?? [] {
            declared.append(entry.key)
            let path = "prompts.\(entry.key)"
            reader.record(path, entry.keyNode)
            if entry.key.wholeMatch(of: Self.identifierPattern) == nil {
                reader.error("prompt id '\(entry.key)' is not valid", hint: "use letters, digits, '.', '_' and '-'", at: entry.keyNode)
            }
            guard let fields = reader.fields(entry.value, path, allowed: ["template", "vars", "sample", "negative", "file", "llm"],
                                             context: "prompt '\(entry.key)'") else { continue }
            let negative = fields["negative"].flatMap { reader.string($0, fields.path("negative")) }
            let llm = fields["llm"].flatMap { parseLLM($0, setID: entry.key) }
            if let llm { llms.append((entry.key, llm)) }
            if let llmKey = fields.keyNodes["llm"] {
                if fields["template"] != nil {
                    reader.error("prompt '\(entry.key)' has both 'template' and 'llm'",
                                 hint: "llm: pins its answer in 'file:'; put the template in its own set and name it in llm.from", at: llmKey)
                } else if fields["file"] == nil {
                    reader.error("prompt '\(entry.key)' has 'llm' but no 'file' to pin the answer in",
                                 hint: "add 'file: prompts/\(entry.key).json' (commit it; 'synthset prompts refresh' writes it)", at: llmKey)
                    continue
                }
            }
            switch (fields["template"], fields["file"]) {
            case (nil, nil):
                reader.error("prompt '\(entry.key)' has neither 'template' nor 'file'", hint: "add 'template: ...' with {var} placeholders, or 'file: prompts.json'", at: entry.value)
            case (.some, .some):
                reader.error("prompt '\(entry.key)' has both 'template' and 'file'", hint: "keep one; make two prompt sets if you need both", at: fields.keyNodes["file"])
            case (let templateNode?, nil):
                if let set = parseTemplate(id: entry.key, templateNode: templateNode, fields: fields, negative: negative) {
                    sets.append(set)
                }
            case (nil, let fileNode?):
                for key in ["vars", "sample"] where fields[key] != nil {
                    reader.error("'\(key)' does not apply to a prompt file", hint: "remove it, or use 'template:' for a matrix", at: fields.keyNodes[key])
                }
                guard let value = reader.string(fileNode, fields.path("file")),
                      let relative = relativePath(value, fileNode, fields.path("file")) else { continue }
                if fields["llm"] != nil, llm == nil { continue }  // its errors were reported
                let fileReader = PromptFileReader(directory: directory, reader: reader)
                if let llm, !FileManager.default.fileExists(atPath: directory.appendingPathComponent(relative).path) {
                    if allowMissingPinnedPrompts {
                        sets.append(PromptSet(id: entry.key, source: .file(path: relative, prompts: [], sha256: ""),
                                              negative: negative, llm: llm))
                    } else {
                        reader.error("the pinned prompts of '\(entry.key)' are not there yet: \(relative) does not exist",
                                     hint: "run 'synthset prompts refresh \(reader.file) \(entry.key)' to ask \(llm.model) at \(llm.endpoint) and pin the answer, then commit \(relative)",
                                     at: fileNode)
                    }
                    continue
                }
                if let read = fileReader.read(relative, node: fileNode) {
                    sets.append(PromptSet(id: entry.key, source: .file(path: relative, prompts: read.prompts, sha256: read.sha256),
                                          negative: negative, llm: llm, pinned: read.header))
                }
            }
        }
        checkLLMReferences(llms, declared: declared)
        return sets
    }

    func parseTemplate(id: String, templateNode: Node, fields: NodeReader.Fields, negative: String?) -> PromptSet? {
        guard let template = reader.string(templateNode, fields.path("template")) else { return nil }
        var vars: [PromptVar] = []
        var varNodes: [String: Node] = [:]
        if let varsNode = fields["vars"] {
            for entry in reader.entries(varsNode, fields.path("vars")) ?? [] {
                let path = fields.path("vars") + ".\(entry.key)"
                varNodes[entry.key] = entry.keyNode
                let values: [String]
                if case .sequence(let seq) = entry.value {
                    values = seq.enumerated().compactMap { reader.string($1, "\(path)[\($0)]", allowNonText: true) }
                } else if let single = reader.string(entry.value, path, allowNonText: true) {
                    values = [single]
                } else { continue }
                if values.isEmpty {
                    reader.error("var '\(entry.key)' of prompt '\(id)' has no values, so the matrix is empty",
                                 hint: "give it at least one value, or remove it and its {\(entry.key)} placeholder", at: entry.value)
                }
                if Set(values).count != values.count {
                    reader.error("var '\(entry.key)' of prompt '\(id)' lists a value twice",
                                 hint: "remove the duplicate; it would make identical prompts", at: entry.value)
                }
                vars.append(PromptVar(name: entry.key, values: values))
            }
        }
        let placeholders: [String]
        switch PromptTemplate.placeholders(in: template) {
        case .success(let names): placeholders = names
        case .failure(let problem):
            reader.error("prompt '\(id)': \(problem.message)", hint: problem.hint, at: templateNode)
            return nil
        }
        let declared = Set(vars.map(\.name))
        for name in placeholders where !declared.contains(name) {
            var hint = "add '\(name): [...]' under vars, or write '{{' and '}}' for literal braces"
            if let guess = NodeReader.closest(to: name, in: Array(declared)) { hint = "did you mean '{\(guess)}'? " + hint }
            reader.error("template of prompt '\(id)' uses {\(name)} but no var '\(name)' is defined", hint: hint, at: templateNode)
        }
        for variable in vars where !placeholders.contains(variable.name) {
            reader.error("var '\(variable.name)' of prompt '\(id)' is never used in its template",
                         hint: "add {\(variable.name)} to the template or remove the var", at: varNodes[variable.name])
        }
        var sample: Sample?
        if let sampleNode = fields["sample"],
           let sampleFields = reader.fields(sampleNode, fields.path("sample"), allowed: ["count", "seed"], required: ["count"]) {
            let combinations = vars.reduce(1) { product, variable in  // saturating: never traps
                let (next, overflow) = product.multipliedReportingOverflow(by: max(variable.values.count, 0))
                return overflow ? Int.max : next
            }
            var count = 0
            if let node = sampleFields["count"], let value = reader.int(node, sampleFields.path("count")) {
                count = value
                if value < 1 {
                    reader.error("sample count must be at least 1, found \(value)", hint: "write how many of the \(combinations) combinations to keep", at: node)
                } else if value > combinations && combinations > 0 {
                    reader.error("sample count \(value) is larger than the \(combinations) combinations of prompt '\(id)'",
                                 hint: "use at most \(combinations), or remove 'sample' to keep them all", at: node)
                }
            }
            var seed: UInt64 = 0
            if let node = sampleFields["seed"], let value = reader.int(node, sampleFields.path("seed")) {
                if value < 0 { reader.error("sample seed must not be negative", hint: "write 0 or more", at: node) }
                seed = UInt64(max(0, value))
            }
            sample = Sample(count: count, seed: seed)
        }
        return PromptSet(id: id, source: .template(template: template, vars: vars, sample: sample), negative: negative)
    }

    // MARK: steps

    func parseSteps(_ node: Node) -> [Step] {
        guard let entries = reader.entries(node, "steps") else { return [] }
        if entries.isEmpty {
            reader.error("the workflow has no steps", hint: "add at least one step under 'steps:'", at: node)
        }
        var steps: [Step] = []
        for entry in entries {
            let path = "steps.\(entry.key)"
            reader.record(path, entry.keyNode)
            if entry.key.wholeMatch(of: Self.identifierPattern) == nil {
                reader.error("step id '\(entry.key)' is not valid", hint: "use letters, digits, '.', '_' and '-'", at: entry.keyNode)
            }
            guard let mapping = reader.entries(entry.value, path) else { continue }
            guard let usesEntry = mapping.first(where: { $0.key == "uses" }) else {
                reader.error("step '\(entry.key)' is missing 'uses'",
                             hint: "add 'uses:' with one of: \(registry.names.joined(separator: ", "))", at: entry.keyNode)
                continue
            }
            guard let tool = parseUses(usesEntry.value, "\(path).uses") else { continue }
            reader.record("\(path).uses", usesEntry.keyNode)
            guard let fields = reader.fields(entry.value, path, allowed: tool.stepKeys,
                                             context: "step '\(entry.key)' (\(tool.uses.rawValue))") else { continue }
            steps.append(StepParser(parser: self, fields: fields, id: entry.key, tool: tool).parse())
        }
        return steps
    }

    func parseUses(_ node: Node, _ path: String) -> (any ToolDefinition)? {
        guard let value = reader.string(node, path) else { return nil }
        if let tool = registry[ToolKind(value)] { return tool }
        let all = registry.names
        var hint = "valid tools: \(all.joined(separator: ", "))"
        if let guess = NodeReader.closest(to: value, in: all) { hint = "did you mean '\(guess)'? " + hint }
        reader.error("unknown tool '\(value)' in uses", hint: hint, at: node)
        return nil
    }

    // MARK: cross-references

    func checkReferences(steps: [Step], prompts: [PromptSet], stepsNode: Node?) {
        let byID = Dictionary(steps.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let promptIDs = Set(prompts.map(\.id))
        var usedPrompts = Set<String>()
        for step in steps {
            for (index, upstream) in step.from.enumerated() {
                let at = reader.sourceMap["steps.\(step.id).from"]
                guard let source = byID[upstream] else {
                    // Declared but invalid: its own errors were reported already.
                    if reader.sourceMap["steps.\(upstream)"] != nil { continue }
                    var hint = "steps are: \(steps.map(\.id).joined(separator: ", "))"
                    if let guess = NodeReader.closest(to: upstream, in: steps.map(\.id)) { hint = "did you mean '\(guess)'? " + hint }
                    reader.append(Diagnostic(.error, "step '\(step.id)' takes input from unknown step '\(upstream)' (steps.\(step.id).from[\(index)])",
                                             hint: hint, at: at))
                    continue
                }
                if upstream == step.id { continue }  // reported as a cycle below
                let accepts = step.tool.acceptedInputs
                if !accepts.contains(source.tool.output) && !accepts.contains(source.outputKind) {
                    let accepted = accepts.map(\.rawValue).sorted().joined(separator: " or ")
                    reader.append(Diagnostic(.error, "step '\(step.id)' (\(step.uses.rawValue)) cannot take \(source.tool.output.rawValue)s from step '\(upstream)' (\(source.uses.rawValue))",
                                             hint: "it takes \(accepted.isEmpty ? "no input" : accepted); point 'from:' at such a step", at: at))
                } else if let problem = step.tool.inputProblem(from: source, into: step) {
                    reader.append(Diagnostic(.error, "\(problem.message) (steps.\(step.id).from[\(index)])", hint: problem.hint, at: at))
                }
            }
            for set in step.promptSets {
                usedPrompts.insert(set)
                // A set declared but invalid (bad template, missing file) was reported already.
                if !promptIDs.contains(set) && reader.sourceMap["prompts.\(set)"] == nil {
                    var hint = "prompt sets are: \(prompts.map(\.id).joined(separator: ", "))"
                    if prompts.isEmpty { hint = "define it under 'prompts:'" }
                    if let guess = NodeReader.closest(to: set, in: Array(promptIDs)) { hint = "did you mean '\(guess)'? " + hint }
                    reader.append(Diagnostic(.error, "step '\(step.id)' uses unknown prompt set '\(set)'", hint: hint,
                                             at: reader.sourceMap["steps.\(step.id).prompts"]))
                }
            }
        }
        // A set that only serves as an LLM's examples is used too.
        usedPrompts.formUnion(prompts.compactMap(\.llm?.from))
        for set in prompts where !usedPrompts.contains(set.id) {
            reader.append(Diagnostic(.warning, "prompt set '\(set.id)' is not used by any step",
                                     hint: "add it to a step's 'prompts:' or remove it", at: reader.sourceMap["prompts.\(set.id)"]))
        }
        let ids = steps.map(\.id)
        if let cycle = findCycle(nodes: ids, successors: { id in (byID[id]?.from ?? []).filter { byID[$0] != nil } }) {
            let shown = cycle.joined(separator: " <- ")
            reader.append(Diagnostic(.error, "steps form a cycle through 'from:': \(shown)",
                                     hint: "'from:' must point to earlier stages; remove one of these links",
                                     at: reader.sourceMap["steps.\(cycle[0]).from"]))
        }
    }
}

import Foundation
import Yams

/// Reads a `file:` prompt list: a JSON list of strings, or of objects with a `prompt`
/// (the article's batch templates, whose `output_image`/`output_video` are ignored
/// because synthset names outputs itself), or a pinned file (`PinnedPromptsFile`): an
/// object with `format`, an `llm` header and that list under `prompts`.
///
/// JSON is parsed through the YAML composer (JSON is YAML's flow subset) so problems
/// carry a line and column inside the prompt file; text the composer rejects falls back
/// to Foundation's JSON parser.
struct PromptFileReader {
    let directory: URL
    let reader: NodeReader

    static let objectKeys = ["prompt", "negative_prompt", "output_image", "output_video", "input_video"]

    /// A prompt file's content.
    struct Read {
        var prompts: [FilePrompt]
        var sha256: String
        /// The header of a pinned file.
        var header: PinnedPromptsHeader?
    }

    func read(_ relative: String, node: Node) -> Read? {
        let url = directory.appendingPathComponent(relative)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            reader.error("prompt file '\(relative)' not found (looked at \(url.path))",
                         hint: "check the path; it is relative to the manifest's folder", at: node)
            return nil
        }
        let hash = WorkflowLoader.sha256(data)
        guard let text = String(data: data, encoding: .utf8) else {
            reader.error("prompt file '\(relative)' is not UTF-8 text", hint: "save it as UTF-8 JSON", at: node)
            return nil
        }
        let manifestFolder = (reader.file as NSString).deletingLastPathComponent
        let fileReader = NodeReader(file: manifestFolder.isEmpty ? relative : manifestFolder + "/" + relative, text: text)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            // Not YAML-parseable: let JSONSerialization say whether it is valid JSON.
            do {
                let value = try JSONSerialization.jsonObject(with: data)
                return prompts(fromJSON: value, relative: relative, node: node).map { Read(prompts: $0, sha256: hash) }
            } catch {
                if let yamlError = error as? YamlError {
                    reader.append(WorkflowLoader.diagnostic(for: yamlError, file: fileReader.file, text: text))
                } else {
                    reader.error("prompt file '\(relative)' is not valid JSON: \(error.localizedDescription)",
                                 hint: "it must be a JSON list of strings or of {\"prompt\": ...} objects", at: node)
                }
                return nil
            }
        }
        let opening = text.trimmingCharacters(in: .whitespacesAndNewlines).first
        var header: PinnedPromptsHeader?
        var list = root
        // An object is a pinned file when it says so; any other object is a mistake
        // (often one batch-file entry where a list was meant).
        if let root, case .mapping(let mapping) = root,
           mapping.keys.contains(where: { ["prompts", "format"].contains($0.scalar?.string) }) {
            if opening != "{" {
                fileReader.error("prompt file must be JSON", hint: "write a JSON list or a pinned file: {\"prompts\": [...]}", at: root)
            }
            guard let fields = fileReader.fields(root, "", allowed: PinnedPromptsFile.keys, required: ["prompts"],
                                                 context: "the pinned prompt file") else {
                reader.append(contentsOf: fileReader)
                return nil
            }
            if let formatNode = fields["format"], let format = fileReader.string(formatNode, "format"),
               format != PinnedPromptsFile.format {
                fileReader.error("pinned prompt file has format '\(format)', but this synthset reads '\(PinnedPromptsFile.format)'",
                                 hint: "upgrade synthset, or run 'synthset prompts refresh' to rewrite the file", at: formatNode)
            }
            header = fields["llm"].flatMap { readHeader($0, fileReader) }
            list = fields["prompts"]
        } else if let root, case .sequence = root, opening != "[" {
            fileReader.error("prompt file must be JSON", hint: "write a JSON list: [\"a prompt\", ...]", at: root)
        }
        guard let list, case .sequence(let items) = list else {
            let found = list.map(NodeReader.describeKind) ?? "nothing"
            fileReader.error("prompt file must be a JSON list, found \(found)",
                             hint: "write [\"a prompt\", ...] or [{\"prompt\": \"...\"}, ...], or a pinned file {\"prompts\": [...]}", at: list ?? root)
            reader.append(contentsOf: fileReader)
            return nil
        }
        var prompts: [FilePrompt] = []
        for (index, item) in items.enumerated() {
            let path = "[\(index)]"
            switch item {
            case .scalar where item.tagName != .str:
                fileReader.error("prompt \(index) must be a string or an object with \"prompt\", found \(NodeReader.describe(item))",
                                 hint: "write \"a prompt\" or {\"prompt\": \"...\"}", at: item)
            case .scalar:
                if let text = fileReader.string(item, path, allowNonText: false) {
                    if text.trimmingCharacters(in: .whitespaces).isEmpty {
                        fileReader.error("prompt \(index) is empty", hint: "remove it or write the prompt", at: item)
                    } else { prompts.append(FilePrompt(prompt: text)) }
                }
            case .mapping:
                guard let fields = fileReader.fields(item, path, allowed: Self.objectKeys, required: ["prompt"],
                                                     context: "prompt \(index)") else { continue }
                guard let promptNode = fields["prompt"], let text = fileReader.string(promptNode, "\(path).prompt") else { continue }
                if text.trimmingCharacters(in: .whitespaces).isEmpty {
                    fileReader.error("prompt \(index) is empty", hint: "remove it or write the prompt", at: promptNode)
                    continue
                }
                let negative = fields["negative_prompt"].flatMap { fileReader.string($0, "\(path).negative_prompt") }
                prompts.append(FilePrompt(prompt: text, negative: negative))
            default:
                fileReader.error("prompt \(index) must be a string or an object with \"prompt\", found \(NodeReader.describe(item))",
                                 hint: "write \"a prompt\" or {\"prompt\": \"...\"}", at: item)
            }
        }
        if items.isEmpty {
            fileReader.error("prompt file has no prompts", hint: "add at least one prompt", at: list)
        }
        let failed = fileReader.bag.hasErrors
        reader.append(contentsOf: fileReader)
        return failed ? nil : Read(prompts: prompts, sha256: hash, header: header)
    }

    /// The `llm` header of a pinned file; nil (with located errors) when it is malformed.
    private func readHeader(_ node: Node, _ fileReader: NodeReader) -> PinnedPromptsHeader? {
        guard let fields = fileReader.fields(node, "llm", allowed: PinnedPromptsHeader.keys,
                                             required: ["count", "endpoint", "examples", "examples_sha256", "from", "instruction", "model"],
                                             context: "the pinned file's llm header") else { return nil }
        func text(_ key: String) -> String? { fields[key].flatMap { fileReader.string($0, "llm.\(key)") } }
        func integer(_ key: String) -> Int? { fields[key].flatMap { fileReader.int($0, "llm.\(key)") } }
        guard let count = integer("count"), let endpoint = text("endpoint"), let examples = integer("examples"),
              let hash = text("examples_sha256"), let from = text("from"), let instruction = text("instruction"),
              let model = text("model") else { return nil }
        return PinnedPromptsHeader(count: count, endpoint: endpoint, examples: examples, examplesSHA256: hash, from: from,
                                   instruction: instruction, model: model, seed: integer("seed"),
                                   temperature: fields["temperature"].flatMap { fileReader.double($0, "llm.temperature") })
    }

    private func prompts(fromJSON value: Any, relative: String, node: Node) -> [FilePrompt]? {
        let pinned = (value as? [String: Any])?["prompts"]
        guard let list = (pinned ?? value) as? [Any], !list.isEmpty else {
            reader.error("prompt file '\(relative)' must be a non-empty JSON list", hint: "write [\"a prompt\", ...]", at: node)
            return nil
        }
        var prompts: [FilePrompt] = []
        for (index, item) in list.enumerated() {
            if let text = item as? String {
                prompts.append(FilePrompt(prompt: text))
            } else if let object = item as? [String: Any], let text = object["prompt"] as? String {
                prompts.append(FilePrompt(prompt: text, negative: object["negative_prompt"] as? String))
            } else {
                reader.error("prompt file '\(relative)': item \(index) is neither a string nor an object with \"prompt\"",
                             hint: "write \"a prompt\" or {\"prompt\": \"...\"}", at: node)
                return nil
            }
        }
        return prompts
    }
}

extension NodeReader {
    /// Moves another reader's diagnostics (from a prompt file) into this one.
    func append(contentsOf other: NodeReader) {
        for diagnostic in other.bag.diagnostics { append(diagnostic) }
        other.clear()
    }
}

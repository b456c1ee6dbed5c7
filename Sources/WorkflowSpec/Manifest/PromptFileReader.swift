import Foundation
import Yams

/// Reads a `file:` prompt list: a JSON list of strings, or of objects with a `prompt`
/// (the article's batch templates, whose `output_image`/`output_video` are ignored
/// because synthset names outputs itself).
///
/// JSON is parsed through the YAML composer (JSON is YAML's flow subset) so problems
/// carry a line and column inside the prompt file; text the composer rejects falls back
/// to Foundation's JSON parser.
struct PromptFileReader {
    let directory: URL
    let reader: NodeReader

    static let objectKeys = ["prompt", "negative_prompt", "output_image", "output_video", "input_video"]

    func read(_ relative: String, node: Node) -> (prompts: [FilePrompt], sha256: String)? {
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
                return prompts(fromJSON: value, relative: relative, node: node).map { ($0, hash) }
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
        guard let root, case .sequence(let items) = root else {
            let found = root.map(NodeReader.describeKind) ?? "nothing"
            fileReader.error("prompt file must be a JSON list, found \(found)",
                             hint: "write [\"a prompt\", ...] or [{\"prompt\": \"...\"}, ...]", at: root)
            reader.append(contentsOf: fileReader)
            return nil
        }
        if text.trimmingCharacters(in: .whitespacesAndNewlines).first != "[" {
            fileReader.error("prompt file must be JSON", hint: "write a JSON list: [\"a prompt\", ...]", at: root)
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
            fileReader.error("prompt file has no prompts", hint: "add at least one prompt", at: root)
        }
        let failed = fileReader.bag.hasErrors
        reader.append(contentsOf: fileReader)
        return failed ? nil : (prompts, hash)
    }

    private func prompts(fromJSON value: Any, relative: String, node: Node) -> [FilePrompt]? {
        guard let list = value as? [Any], !list.isEmpty else {
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

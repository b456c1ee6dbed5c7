import WorkflowSpec

/// What ties an `llm:` prompt set's pinned file to the recipe: the examples it was made
/// from, and warnings when the recipe no longer describes the file. Planning reads the
/// pinned file only; it never asks the LLM.
public enum PinnedPrompts {
    /// The examples an `llm:` set sends: the texts of its `from` set's expanded prompts.
    public static func examples(of set: PromptSet, in workflow: Workflow) -> [String] {
        guard let llm = set.llm, let source = workflow.promptSet(llm.from) else { return [] }
        return PromptExpander.expand(source).map(\.text)
    }

    /// One warning per pinned file whose header no longer matches its set's `llm:`
    /// (examples, instruction, model), saying what changed and how to refresh.
    public static func staleness(_ workflow: Workflow) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for set in workflow.prompts {
            guard let llm = set.llm, case .file(let path, let prompts, _) = set.source, !prompts.isEmpty else { continue }
            let refresh = "run 'synthset prompts refresh \(workflow.file) \(set.id)' (add --append to keep the pinned prompts), then commit \(path)"
            guard let header = set.pinned else {
                diagnostics.append(Diagnostic(
                    .warning, "prompt set '\(set.id)' has llm: but \(path) has no header recording how it was made",
                    hint: refresh, at: workflow.location(of: "prompts.\(set.id).file")))
                continue
            }
            var changes: [String] = []
            let examples = examples(of: set, in: workflow)
            if header.from != llm.from {
                changes.append("the examples now come from '\(llm.from)' (pinned from '\(header.from)')")
            } else if PinnedPromptsFile.examplesHash(examples) != header.examplesSHA256 {
                changes.append("the examples of '\(llm.from)' changed (\(examples.count) now, \(header.examples) when pinned)")
            }
            if header.instruction != llm.instruction { changes.append("the instruction changed") }
            if header.model != llm.model { changes.append("the model is now \(llm.model) (pinned with \(header.model))") }
            guard !changes.isEmpty else { continue }
            diagnostics.append(Diagnostic(
                .warning, "the pinned prompts of '\(set.id)' (\(path)) no longer match the recipe: \(changes.joined(separator: "; ")); planning uses them as pinned",
                hint: refresh, at: workflow.location(of: "prompts.\(set.id).llm")))
        }
        return diagnostics
    }
}

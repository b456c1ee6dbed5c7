/// A raw-mode `grounded-sam2/label` step is planned as two steps, so that changing a
/// threshold re-runs no GPU work:
///
/// - `<id>.candidates` (internal, GPU): synthset's labeler writes every candidate box
///   with its per-token scores; its items' ids leave the thresholds out;
/// - `<id>` (CPU): applies `box_threshold`/`text_threshold` the way Grounding DINO does,
///   maps phrases to classes, NMS and limits, and writes `synthset-boxes/1` labels.
///
/// Script mode stays one GPU step (the script applies the thresholds itself).
extension Step {
    /// The suffix of the internal candidates step's id.
    public static let candidatesSuffix = ".candidates"

    /// Whether the step is planned as the two stages above.
    public var isRawLabel: Bool { labeling?.mode == .raw }

    /// The device the step's tasks run on: a command or training step may ask for a GPU,
    /// and a raw-mode label step itself only post-processes on a CPU.
    public var device: ToolKind.Device {
        if command?.usesGPU == true || training?.usesGPU == true { return .gpu }
        if labeling?.stage == .postprocess { return .cpu }
        return tool.device
    }

    /// The steps the planner plans for this one, in order: a raw-mode label step becomes
    /// its candidates step and its post-processing step; any other step is itself.
    public var plannedStages: [Step] {
        guard isRawLabel, var labeling, labeling.stage == .whole else { return [self] }
        var candidates = self
        candidates.id = id + Self.candidatesSuffix
        labeling.stage = .candidates
        candidates.labeling = labeling
        var postprocess = self
        labeling.stage = .postprocess
        postprocess.labeling = labeling
        return [candidates, postprocess]
    }
}

extension Workflow {
    /// A step as planned, by the id its items and tasks carry: manifest steps, and the
    /// internal stages of ``Step/plannedStages`` (`labels.candidates`, and `labels` with
    /// its stage set).
    public func plannedStep(_ id: String) -> Step? {
        if let step = step(id) {
            return step.isRawLabel ? step.plannedStages.last : step
        }
        guard id.hasSuffix(Step.candidatesSuffix),
              let base = step(String(id.dropLast(Step.candidatesSuffix.count))), base.isRawLabel else { return nil }
        return base.plannedStages.first
    }

    /// The manifest step a planned step id belongs to (`labels.candidates` → `labels`).
    public func manifestStepID(_ id: String) -> String {
        if step(id) != nil { return id }
        if id.hasSuffix(Step.candidatesSuffix) { return String(id.dropLast(Step.candidatesSuffix.count)) }
        return id
    }
}

import WorkflowSpec

extension LabelPostprocessor {
    /// The post-processing a label step's settings describe (its classes, NMS IoU,
    /// minimum box area and per-image cap): what the labeling runs and the report's
    /// threshold sweep replays.
    public init(_ labeling: Labeling) {
        self.init(classes: labeling.classes.map { ($0.phrase, $0.className) }, nmsIoU: labeling.nmsIoU,
                  minBoxArea: labeling.minBoxArea, maxPerImage: labeling.maxPerImage)
    }
}

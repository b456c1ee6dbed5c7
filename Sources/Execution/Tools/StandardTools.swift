import WorkflowSpec

extension ToolRegistry {
    /// Every tool this build of synthset runs, one line each, in the order `uses:` lists
    /// them (JSON Schema, error hints). Adding a tool: its folder under `Tools/`, and a
    /// line here (see docs/adding-a-tool.md).
    public static let standard = ToolRegistry([
        CosmosPredict2Tool.text2image,
        CosmosPredict2Tool.video2world,
        CosmosPredict2Tool.text2world,
        CosmosBestOfNTool(),
        CosmosPredict25Tool.text2world,
        CosmosPredict25Tool.image2world,
        CosmosPredict25Tool.video2world,
        ProceduralScenesTool(),
        ExtractFramesTool(),
        LabelTool(),
        ExportTool(),
        EdgeImpulseUploadTool(),
        CommandTool(),
        UltralyticsTrainTool(),
    ])
}

extension WorkflowLoader {
    /// A loader for the tools of this build (``ToolRegistry/standard``).
    public init() {
        self.init(registry: .standard)
    }
}

extension Step {
    /// A step of a standard tool, for code that builds steps by hand (tests).
    public init(id: String, uses: ToolKind) {
        guard let tool = ToolRegistry.standard[uses] else { preconditionFailure("\(uses) is not a standard tool") }
        self.init(id: id, tool: tool)
    }
}

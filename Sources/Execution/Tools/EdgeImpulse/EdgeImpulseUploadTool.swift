import Planning
import WorkflowSpec

/// `edge-impulse/upload`: an exported dataset sent to an Edge Impulse project through the
/// ingestion API, resumably.
public struct EdgeImpulseUploadTool: RunnableTool {
    public init() {}
    public var uses: ToolKind { .edgeImpulseUpload }
    public var summary: String { "Edge Impulse upload: an exported dataset's images and boxes sent to a project's ingestion API." }
    public var family: String? { "edge-impulse" }
    public var output: ToolKind.Output { .upload }
    public var device: ToolKind.Device { .network }
    public var requiresInput: Bool { true }
    public var acceptedInputs: Set<ToolKind.Output> { [.dataset] }
    public var runner: any ToolAdapter { EdgeImpulseUploadAdapter() }

    /// A web service: nothing installed to record.
    public func versions(of step: Step, workflow: Workflow, synthsetVersion: String) async -> [String: String] { [:] }

    public var keys: [KeySpec] {
        let splits: JSONValue = ["enum": ["train", "test", "validation"]]
        return [
            KeySpec("api_key_env", help: "The name of the environment variable holding the key, never the key.",
                    schema: ["type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"], defaultValue: "EI_API_KEY"),
            KeySpec("base_url", help: "The ingestion API's origin.", schema: ["type": "string", "pattern": "^https?://"],
                    defaultValue: "https://ingestion.edgeimpulse.com", affectsOutput: true),
            KeySpec("splits", help: "Which splits of the dataset to upload.", schema: ["oneOf": [splits, ["type": "array", "items": splits]]],
                    defaultValue: ["train", "test"], affectsOutput: true),
        ]
    }

    public func parseKeys(_ parser: StepParser, into step: inout Step) { step.upload = parser.parseUpload() }

    public func addSignatureMembers(of step: Step, to signature: inout ItemSignature, params: inout [String: OptionValue]) {
        guard let upload = step.upload else { return }
        params["base_url"] = .string(upload.baseURL)
        params["splits"] = .string(upload.splits.joined(separator: ","))
    }
}

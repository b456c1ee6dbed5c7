import Planning
import SceneFormats
import Scenes
import WorkflowSpec

/// `procedural/scenes`: synthset's own CPU renderer of domain-randomized scenes with
/// exact boxes, one image per seed.
public struct ProceduralScenesTool: RunnableTool {
    public init() {}
    public var uses: ToolKind { .proceduralScenes }
    public var summary: String { "Built-in CPU renderer: domain-randomized scenes with exact ground-truth boxes, one JPEG per seed." }
    public var output: ToolKind.Output { .image }
    public var device: ToolKind.Device { .cpu }
    public var takesSeeds: Bool { true }
    public var defaultMaxBatch: Int? { 25 }
    public var seedsPerSample: Bool { true }
    public var runner: any ToolAdapter { ProceduralAdapter() }

    public var keys: [KeySpec] {
        [
            KeySpec("size", help: "[width, height] in pixels.",
                    schema: ["type": "array", "items": ["type": "integer", "minimum": 16, "maximum": 8192], "minItems": 2, "maxItems": 2],
                    defaultValue: [640, 480], affectsOutput: true),
            KeySpec("objects", help: "Object classes by name: shape, colors, size range, count range.",
                    schema: ["type": "object", "minProperties": 1, "additionalProperties": ["$ref": "#/$defs/sceneObject"]],
                    affectsOutput: true, required: true),
            KeySpec("background", help: "Background styles and colors to draw from.",
                    schema: .closedObject([
                        ("styles", ["description": "Background styles to draw from, one per image.",
                                    "oneOf": [["enum": ["gradient", "floor", "checker", "clutter"]],
                                              ["type": "array", "items": ["enum": ["gradient", "floor", "checker", "clutter"]], "minItems": 1]]]),
                        ("colors", ["description": "Background colors to draw from.", "$ref": "#/$defs/colors"]),
                    ]), affectsOutput: true),
            KeySpec("camera", help: "Camera effects: blur radius, sensor noise and JPEG quality, each a value or a [low, high] range.",
                    schema: .closedObject([
                        ("blur", Self.range(0, 16, "Box-blur radius in pixels.")),
                        ("noise", Self.range(0, 64, "Sensor noise amplitude.")),
                        ("jpeg_quality", Self.range(1, 100, "JPEG quality of the written image.")),
                    ]), affectsOutput: true),
        ]
    }

    /// A value, or a `[low, high]` range drawn from per image.
    static func range(_ low: Int, _ high: Int, _ help: String) -> JSONValue {
        let value: JSONValue = ["type": "integer", "minimum": .int(low), "maximum": .int(high)]
        return ["description": .string(help + " A value, or [low, high] drawn from per image."),
                "oneOf": [value, ["type": "array", "items": value, "minItems": 2, "maxItems": 2]]]
    }

    public func parseKeys(_ parser: StepParser, into step: inout Step) {
        step.scene = parser.parseScene()
    }

    public func addSignatureMembers(of step: Step, to signature: inout ItemSignature, params: inout [String: OptionValue]) {
        signature.scene = step.scene
    }

    public func expandItems(_ expander: inout ItemExpander) -> [PlannedItem] { expander.onePerSeed() }

    /// The renderer is given the scene description; each item is its seed.
    public func invocation(for items: [PlannedItem], context: InvocationContext) -> TaskInvocation {
        .builtin(uses.rawValue, parameters: context.step.scene.flatMap { try? InvocationContent(encoding: ProceduralParameters(scene: $0)) })
    }
}

/// What a `procedural/scenes` task is given, shown in `plan --format json`.
struct ProceduralParameters: Codable {
    var scene: SceneSpec
}

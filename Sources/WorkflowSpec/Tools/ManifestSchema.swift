import Foundation

/// The JSON Schema of the manifest, for editors and CI, generated from a tool registry:
/// the top level and shared definitions are written here once; each step's keys, with
/// their help, defaults and ranges, come from its tool's definition (`synthset schema`
/// prints it; `schemas/workflow.schema.json` is that output, committed).
public enum ManifestSchema {
    public static func generate(_ registry: ToolRegistry) -> JSONValue {
        let usesEnum = JSONValue.array(registry.names.map(JSONValue.string))
        let familiesEnum = JSONValue.array(registry.families.map(JSONValue.string))
        var defs: [(String, JSONValue)] = sharedDefinitions(usesEnum: usesEnum).objectMembers
        defs.append(("step", stepDefinition(registry, usesEnum: usesEnum)))
        defs.append(("stepByUses", .object(registry.definitions.map { ($0.uses.rawValue, stepSchema($0)) })))
        var top = topLevel(familiesEnum: familiesEnum).objectMembers
        // A family whose steps take defaults under `tools.<family>` gets its own object.
        let families: [(String, JSONValue)] = registry.families.compactMap { family in
            let keys = registry.familyWideKeys(family)
            guard !keys.isEmpty, case .object(var tool)? = sharedDefinitions(usesEnum: usesEnum)["tool"],
                  let index = tool.firstIndex(where: { $0.0 == "properties" }) else { return nil }
            tool[index].1 = .object(tool[index].1.objectMembers + keys.map { key in
                (key.name, .object([("description", .string("Default of every \(family) step that has no '\(key.name)': " + key.help))]
                        + key.fullSchema.objectMembers.filter { $0.0 != "description" }))
            })
            return (family, .object([("description", .string("Where \(family) lives, and defaults for its steps."))] + tool))
        }
        if !families.isEmpty, let index = top.firstIndex(where: { $0.0 == "properties" }),
           case .object(var properties) = top[index].1, let tools = properties.firstIndex(where: { $0.0 == "tools" }) {
            properties[tools].1 = .object(properties[tools].1.objectMembers + [("properties", .object(families))])
            top[index].1 = .object(properties)
        }
        top.append(("$defs", .object(defs)))
        return .object(top)
    }

    static func topLevel(familiesEnum: JSONValue) -> JSONValue {
        [
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://github.com/synthset/synthset/schemas/workflow.schema.json",
            "title": "synthset workflow, manifest version 1",
            "description": "A dataset recipe: prompts, seeds and steps that synthset plans and runs. Mirrors what `synthset validate` accepts (the loader also checks what a schema cannot: references between steps, cycles, template placeholders, paths and prompt files).",
            "type": "object",
            "properties": [
                "version": [
                    "const": 1,
                    "description": "The manifest format version.",
                ],
                "name": [
                    "$ref": "#/$defs/identifier",
                    "description": "Names the workspace folder.",
                ],
                "description": [
                    "description": "What the dataset is for, for people.",
                    "type": "string",
                ],
                "hardware": [
                    "description": "The GPU the plan is checked and estimated against, and how many the local executor may use.",
                    "$ref": "#/$defs/hardware",
                ],
                "tools": [
                    "type": "object",
                    "propertyNames": ["enum": familiesEnum],
                    "additionalProperties": [
                        "$ref": "#/$defs/tool",
                    ],
                    "description": "Where external tools live.",
                ],
                "prompts": [
                    "description": "Named prompt sets: a {var} template expanded over a matrix, or a JSON file of prompts.",
                    "type": "object",
                    "propertyNames": [
                        "$ref": "#/$defs/identifier",
                    ],
                    "additionalProperties": [
                        "$ref": "#/$defs/promptSet",
                    ],
                ],
                "steps": [
                    "description": "The steps, keyed by id; the DAG comes from their from: keys.",
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": [
                        "$ref": "#/$defs/identifier",
                    ],
                    "additionalProperties": [
                        "$ref": "#/$defs/step",
                    ],
                ],
                "catalog": [
                    "description": "Figures that replace the built-in catalog's (VRAM, prices, timings) for this workflow.",
                    "$ref": "#/$defs/catalog",
                ],
            ],
            "required": ["version", "name", "steps"],
            "additionalProperties": false,
        ]
    }

    static func sharedDefinitions(usesEnum: JSONValue) -> JSONValue {
        // `model:` of a catalog override (timings, models): a name like 2B, or a number.
        let onlyForModel: JSONValue = ["description": "Only for this model.", "type": ["string", "number"]]
        return [
            "identifier": [
                "type": "string",
                "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$",
            ],
            "positiveInteger": [
                "type": "integer",
                "minimum": 1,
            ],
            "fraction": [
                "type": "number",
                "minimum": 0,
                "maximum": 1,
            ],
            "scalar": [
                "type": ["string", "number", "boolean"],
            ],
            "stringOrList": [
                "oneOf": [
                    [
                        "type": "string",
                    ],
                    [
                        "type": "array",
                        "items": [
                            "type": "string",
                        ],
                        "minItems": 1,
                    ],
                ],
            ],
            "stepRefs": [
                "description": "Upstream step id(s): the DAG comes from these.",
                "oneOf": [
                    [
                        "$ref": "#/$defs/identifier",
                    ],
                    [
                        "type": "array",
                        "items": [
                            "$ref": "#/$defs/identifier",
                        ],
                        "minItems": 1,
                    ],
                ],
            ],
            "seed": [
                "type": "integer",
                "minimum": 0,
                "maximum": 4294967295,
            ],
            "seeds": [
                "description": "An inclusive range '0..9', one seed, a list [0, 4, 9], or { from: 0, count: 10 }.",
                "oneOf": [
                    [
                        "type": "string",
                        "pattern": "^\\s*[0-9]+\\s*\\.\\.\\s*[0-9]+\\s*$",
                    ],
                    [
                        "$ref": "#/$defs/seed",
                    ],
                    [
                        "type": "array",
                        "items": [
                            "$ref": "#/$defs/seed",
                        ],
                        "minItems": 1,
                        "uniqueItems": true,
                    ],
                    [
                        "type": "object",
                        "properties": [
                            "from": [
                                "description": "The first seed.",
                                "$ref": "#/$defs/seed",
                            ],
                            "count": [
                                "description": "How many consecutive seeds.",
                                "$ref": "#/$defs/positiveInteger",
                            ],
                        ],
                        "required": ["from", "count"],
                        "additionalProperties": false,
                    ],
                ],
            ],
            "environment": [
                "type": "object",
                "propertyNames": [
                    "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
                ],
                "additionalProperties": [
                    "$ref": "#/$defs/scalar",
                ],
            ],
            "color": [
                "anyOf": [
                    [
                        "enum": ["black", "blue", "brown", "cardboard", "cyan", "gray", "green", "grey", "navy", "orange", "pink", "purple", "red", "silver", "teal", "white", "wood", "yellow"],
                    ],
                    [
                        "type": "string",
                        "pattern": "^#[0-9A-Fa-f]{6}$",
                    ],
                ],
            ],
            "colors": [
                "oneOf": [
                    [
                        "$ref": "#/$defs/color",
                    ],
                    [
                        "type": "array",
                        "items": [
                            "$ref": "#/$defs/color",
                        ],
                        "minItems": 1,
                    ],
                ],
            ],
            "hardware": [
                "type": "object",
                "description": "The GPU the plan is checked and estimated against.",
                "properties": [
                    "gpu": [
                        "type": "string",
                        "description": "Catalog id such as rtx-5090 or h100-sxm.",
                    ],
                    "count": [
                        "description": "GPUs the local executor may use at once.",
                        "$ref": "#/$defs/positiveInteger",
                    ],
                    "vram_gb": [
                        "description": "VRAM per GPU in GB; overrides the catalog.",
                        "type": "number",
                        "exclusiveMinimum": 0,
                    ],
                    "price_per_gpu_hour": [
                        "description": "Dollars per GPU-hour, for the estimate; overrides the catalog.",
                        "type": "number",
                        "minimum": 0,
                    ],
                ],
                "required": ["gpu"],
                "additionalProperties": false,
            ],
            "tool": [
                "type": "object",
                "properties": [
                    "root": [
                        "description": "The tool's checkout (~ expanded; relative paths resolve against the manifest's folder).",
                        "type": "string",
                    ],
                    "python": [
                        "description": "The Python interpreter of the tool's environment.",
                        "type": "string",
                    ],
                    "program": [
                        "description": "An explicit program path (ffmpeg).",
                        "type": "string",
                    ],
                    "env": [
                        "description": "Extra environment for the tool.",
                        "$ref": "#/$defs/environment",
                    ],
                ],
                "additionalProperties": false,
            ],
            "promptSet": [
                "type": "object",
                "description": "A {var} template expanded over a matrix, or a JSON file of prompts (with llm:, written by an LLM and pinned).",
                "properties": [
                    "template": [
                        "description": "A prompt with {var} placeholders, expanded over every combination of vars.",
                        "type": "string",
                    ],
                    "vars": [
                        "description": "Each placeholder's values, in order.",
                        "type": "object",
                        "propertyNames": [
                            "pattern": "^[A-Za-z0-9_]+$",
                        ],
                        "additionalProperties": [
                            "oneOf": [
                                [
                                    "$ref": "#/$defs/scalar",
                                ],
                                [
                                    "type": "array",
                                    "items": [
                                        "$ref": "#/$defs/scalar",
                                    ],
                                    "minItems": 1,
                                    "uniqueItems": true,
                                ],
                            ],
                        ],
                    ],
                    "sample": [
                        "description": "A seeded subset of the combinations.",
                        "type": "object",
                        "properties": [
                            "count": [
                                "description": "How many combinations to keep.",
                                "$ref": "#/$defs/positiveInteger",
                            ],
                            "seed": [
                                "description": "The sampling seed.",
                                "type": "integer",
                                "minimum": 0,
                            ],
                        ],
                        "required": ["count"],
                        "additionalProperties": false,
                    ],
                    "negative": [
                        "description": "Negative prompt for every prompt of the set.",
                        "type": "string",
                    ],
                    "file": [
                        "type": "string",
                        "minLength": 1,
                        "description": "A JSON list of strings or of {\"prompt\": ...} objects, or a pinned file written by 'synthset prompts refresh' ({\"format\", \"llm\", \"prompts\"}), relative to the manifest's folder.",
                    ],
                    "llm": [
                        "description": "Ask an LLM for variations of another prompt set; 'synthset prompts refresh' pins the answer in file:.",
                        "$ref": "#/$defs/llm",
                    ],
                ],
                "oneOf": [
                    [
                        "required": ["template"],
                    ],
                    [
                        "required": ["file"],
                    ],
                ],
                "if": [
                    "required": ["file"],
                ],
                "then": [
                    "properties": [
                        "vars": false,
                        "sample": false,
                    ],
                ],
                "allOf": [
                    [
                        "if": ["required": ["llm"]],
                        "then": ["required": ["file"], "properties": ["template": false]],
                    ],
                ],
                "additionalProperties": false,
            ],
            "llm": LLMExpansion.jsonSchema,
            "catalog": [
                "type": "object",
                "properties": [
                    "gpus": [
                        "description": "Per GPU id: VRAM and price that replace the catalog's.",
                        "type": "object",
                        "additionalProperties": [
                            "type": "object",
                            "properties": [
                                "vram_gb": [
                                    "description": "VRAM per GPU in GB.",
                                    "type": "number",
                                    "exclusiveMinimum": 0,
                                ],
                                "price_per_gpu_hour": [
                                    "description": "Dollars per GPU-hour.",
                                    "type": "number",
                                    "minimum": 0,
                                ],
                            ],
                            "additionalProperties": false,
                        ],
                    ],
                    "timings": [
                        "description": "Timings that replace the catalog's, matched by uses (and model, gpu, resolution, fps when given).",
                        "type": "array",
                        "items": [
                            "type": "object",
                            "properties": [
                                "uses": ["description": "The tool these figures are for.", "enum": usesEnum],
                                "model": onlyForModel,
                                "gpu": [
                                    "description": "Only on this GPU.",
                                    "type": "string",
                                ],
                                "resolution": [
                                    "description": "Only at this resolution.",
                                    "type": "integer",
                                ],
                                "fps": [
                                    "description": "Only at this frame rate.",
                                    "type": "integer",
                                ],
                                "seconds_per_item": [
                                    "description": "GPU seconds per item, without the model load.",
                                    "type": "number",
                                    "exclusiveMinimum": 0,
                                ],
                                "load_seconds": [
                                    "description": "Seconds to load the model once per invocation.",
                                    "type": "number",
                                    "minimum": 0,
                                ],
                            ],
                            "required": ["uses"],
                            "anyOf": [
                                [
                                    "required": ["seconds_per_item"],
                                ],
                                [
                                    "required": ["load_seconds"],
                                ],
                            ],
                            "additionalProperties": false,
                        ],
                    ],
                    "models": [
                        "description": "VRAM needs that replace the catalog's (or fill a gap in it), matched by uses (and model when given).",
                        "type": "array",
                        "items": [
                            "type": "object",
                            "properties": [
                                "uses": ["description": "The tool this need is for.", "enum": usesEnum],
                                "model": onlyForModel,
                                "vram_gb": [
                                    "description": "GB of VRAM one invocation needs per GPU.",
                                    "type": "number",
                                    "exclusiveMinimum": 0,
                                ],
                            ],
                            "required": ["uses", "vram_gb"],
                            "additionalProperties": false,
                        ],
                    ],
                ],
                "additionalProperties": false,
            ],
            "sceneObject": [
                "type": "object",
                "properties": [
                    "shape": [
                        "description": "How the object is drawn.",
                        "enum": ["cylinder", "box", "pallet", "sphere"],
                    ],
                    "colors": [
                        "description": "Colors to draw from.",
                        "$ref": "#/$defs/colors",
                    ],
                    "size": [
                        "description": "[min, max] of the image height, within (0, 1].",
                        "oneOf": [
                            [
                                "type": "number",
                                "minimum": 0,
                                "maximum": 1,
                            ],
                            [
                                "type": "array",
                                "items": [
                                    "type": "number",
                                    "minimum": 0,
                                    "maximum": 1,
                                ],
                                "minItems": 2,
                                "maxItems": 2,
                            ],
                        ],
                    ],
                    "count": [
                        "description": "[min, max] objects per image, within 0...100.",
                        "oneOf": [
                            [
                                "type": "integer",
                                "minimum": 0,
                                "maximum": 100,
                            ],
                            [
                                "type": "array",
                                "items": [
                                    "type": "integer",
                                    "minimum": 0,
                                    "maximum": 100,
                                ],
                                "minItems": 2,
                                "maxItems": 2,
                            ],
                        ],
                    ],
                ],
                "required": ["shape"],
                "additionalProperties": false,
            ],
        ]
    }

    /// A step: `uses:` picks the tool, whose own schema then applies.
    static func stepDefinition(_ registry: ToolRegistry, usesEnum: JSONValue) -> JSONValue {
        let cases: [JSONValue] = registry.definitions.map { tool in
            let pointer = tool.uses.rawValue.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
            return ["if": ["properties": ["uses": ["const": .string(tool.uses.rawValue)]], "required": ["uses"]],
                    "then": ["$ref": .string("#/$defs/stepByUses/\(pointer)")]]
        }
        return [
            "type": "object",
            "required": ["uses"],
            "properties": ["uses": ["description": "The tool the step runs.", "enum": usesEnum]],
            "allOf": .array(cases),
        ]
    }

    /// One tool's step: every key it accepts, nothing else.
    public static func stepSchema(_ tool: any ToolDefinition) -> JSONValue {
        var required = ["uses"]
        if tool.requiresInput { required.append("from") }
        if tool.requiresSeeds { required.append("seeds") }
        required += tool.keys.filter(\.required).map(\.name)
        return .closedObject(tool.allKeys.map { ($0.name, $0.fullSchema) }, required: required,
                             extra: [("description", .string(tool.summary))])
    }
}

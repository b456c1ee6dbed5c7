import Foundation
import Testing
import Execution
import WorkflowSpec

let schemaURL = repositoryRoot.appendingPathComponent("schemas/workflow.schema.json")

/// Validates YAML files against the schema with Python's `jsonschema` and PyYAML, one
/// process for all files. Prints one JSON object: file -> list of error strings.
private let validatorScript = #"""
import json, sys
try:
    import jsonschema, yaml
except ImportError as error:
    print("missing Python module: %s; install them with 'python3 -m pip install jsonschema pyyaml'" % error, file=sys.stderr)
    sys.exit(3)
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
results = {}
for path in sys.argv[2:]:
    with open(path) as handle:
        document = yaml.safe_load(handle)
    results[path] = ["%s: %s" % ("/".join(map(str, e.absolute_path)) or "(root)", e.message)
                     for e in validator.iter_errors(document)]
print(json.dumps(results))
"""#

/// Runs the validator; records a failure (never a silent pass) when Python or its modules are missing.
func validateWithPython(_ files: [URL], sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> [String: [String]] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", validatorScript, schemaURL.path] + files.map(\.path)
    let stdout = Pipe(), stderr = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    let errors = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    switch process.terminationStatus {
    case 0:
        break
    case 127:
        Issue.record("python3 not found in PATH; the schema test needs python3 with jsonschema and PyYAML (python3 -m pip install jsonschema pyyaml)",
                     sourceLocation: sourceLocation)
        return [:]
    case 3:
        Issue.record(Comment(rawValue: errors.trimmingCharacters(in: .whitespacesAndNewlines)), sourceLocation: sourceLocation)
        return [:]
    default:
        Issue.record("schema validation failed to run (exit \(process.terminationStatus)): \(errors)", sourceLocation: sourceLocation)
        return [:]
    }
    let decoded = try JSONSerialization.jsonObject(with: output) as? [String: [String]]
    return try #require(decoded, "unexpected validator output: \(String(decoding: output, as: UTF8.self))", sourceLocation: sourceLocation)
}

@Suite struct SchemaTests {
    /// Every example workflow is valid under the schema, and the schema is not vacuous:
    /// fixtures the loader rejects for schema-level reasons are rejected by it too.
    @Test func workflowsValidateAgainstSchema() throws {
        let workflows = try FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("workflows").path)
            .filter { $0.hasSuffix(".yaml") }.sorted()
            .map { repositoryRoot.appendingPathComponent("workflows/\($0)") }
        #expect(workflows.count >= 3)
        let rejected = ["unknown-top-key", "unknown-step-key", "unknown-hardware-key", "missing-version",
                        "unsupported-version", "unknown-uses", "bad-model", "bad-option", "box-threshold",
                        "wrong-type", "empty-matrix", "negative-seed", "non-integer-seed", "llm-without-file", "llm-bad-endpoint"]
            .map { fixturesDirectory.appendingPathComponent("\($0).yaml") }
        let results = try validateWithPython(workflows + rejected)
        guard !results.isEmpty else { return }
        for file in workflows {
            let errors = try #require(results[file.path], "no result for \(file.lastPathComponent)")
            #expect(errors.isEmpty, "\(file.lastPathComponent): \(errors.joined(separator: "; "))")
        }
        for file in rejected {
            #expect(results[file.path]?.isEmpty == false, "the schema accepts \(file.lastPathComponent)")
        }
    }

    /// The committed schema is exactly what `synthset schema` generates from the registry;
    /// re-record it with `swift run synthset schema -o schemas/workflow.schema.json`.
    @Test func committedSchemaIsTheGeneratedOne() throws {
        let committed = try String(contentsOf: schemaURL, encoding: .utf8)
        let generated = ManifestSchema.generate(.standard).rendered()
        #expect(committed == generated, "schemas/workflow.schema.json is stale: run 'swift run synthset schema -o schemas/workflow.schema.json'")
    }

    /// The schema's per-tool keys, models and options are exactly the loader's (the registry).
    @Test func schemaMirrorsTheRegistry() throws {
        let data = try Data(contentsOf: schemaURL)
        let schema = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(schema["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
        let properties = try #require(schema["properties"] as? [String: Any])
        #expect(Set(properties.keys) == ["version", "name", "description", "hardware", "executor", "tools", "prompts", "steps", "catalog"])
        #expect(schema["additionalProperties"] as? Bool == false)
        let defs = try #require(schema["$defs"] as? [String: Any])
        let tools = try #require(properties["tools"] as? [String: Any])
        #expect(((tools["propertyNames"] as? [String: Any])?["enum"] as? [String]) == ToolRegistry.standard.families)
        let step = try #require(defs["step"] as? [String: Any])
        let usesEnum = try #require(((step["properties"] as? [String: Any])?["uses"] as? [String: Any])?["enum"] as? [String])
        #expect(usesEnum == ToolRegistry.standard.names)
        let byUses = try #require(defs["stepByUses"] as? [String: Any])
        #expect(Set(byUses.keys) == Set(ToolRegistry.standard.names))
        for tool in ToolRegistry.standard.definitions {
            let kind = tool.uses.rawValue
            let def = try #require(byUses[kind] as? [String: Any], "\(kind) missing")
            #expect(def["additionalProperties"] as? Bool == false, "\(kind) allows unknown keys")
            let keys = try #require(def["properties"] as? [String: Any])
            #expect(Set(keys.keys) == Set(tool.stepKeys), "\(kind) keys differ from the definition's")
            for (name, key) in keys {
                let description = (key as? [String: Any])?["description"] as? String
                #expect(description?.isEmpty == false, "\(kind).\(name) has no description")
            }
            if !tool.models.isEmpty {
                #expect((keys["model"] as? [String: Any])?["enum"] as? [String] == tool.models, "\(kind) models")
                #expect((keys["model"] as? [String: Any])?["default"] as? String == tool.defaultModel, "\(kind) default model")
            }
            if !tool.options.isEmpty {
                let options = try #require(keys["options"] as? [String: Any])
                #expect(options["additionalProperties"] as? Bool == false)
                let names = Set(((options["properties"] as? [String: Any]) ?? [:]).keys)
                #expect(names == Set(tool.options.map(\.name)), "\(kind) options differ")
            }
        }
    }

    /// Every property anywhere in the schema says what it is, so an editor shows help.
    @Test func everyPropertyHasADescription() throws {
        let schema = try JSONSerialization.jsonObject(with: try Data(contentsOf: schemaURL))
        var missing: [String] = []
        func walk(_ node: Any, _ path: String) {
            if let object = node as? [String: Any] {
                if let properties = object["properties"] as? [String: Any] {
                    // `false` forbids a key; every schema that allows one describes it.
                    for (name, value) in properties {
                        guard let schema = value as? [String: Any], schema["description"] == nil, schema["const"] == nil else { continue }
                        missing.append(path + "/" + name)
                    }
                }
                for (key, value) in object { walk(value, path + "/" + key) }
            } else if let array = node as? [Any] {
                for (index, value) in array.enumerated() { walk(value, path + "/\(index)") }
            }
        }
        walk(schema, "")
        #expect(missing.isEmpty, "properties without a description: \(missing.sorted().joined(separator: ", "))")
    }
}

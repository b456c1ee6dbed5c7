import Basics
@testable import Execution
import Foundation
@testable import Planning
import Testing
import WorkflowSpec

/// `plan --format json` writes each task's invocation by hand (PlanJSONWriter); it must be
/// exactly what `JSONEncoder` with `.sortedKeys` writes for ``TaskInvocation``'s Codable
/// form, which is the documented shape (docs/plan-format.md) and what decoding reads back.
@Suite struct InvocationJSONTests {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    @Test(arguments: ["can-factory.yaml", "demo-export.yaml", "train-demo.yaml", "demo.yaml"])
    func theHandWrittenInvocationIsTheEncodersJSON(_ name: String) async throws {
        let workflow = try loadExample(name)
        var plan = try await makePlan(workflow)
        Planner.attachInvocations(to: &plan, workflow: workflow)
        #expect(!plan.tasks.isEmpty)
        let out = CanonicalJSONWriter()
        for task in plan.tasks {
            let invocation = try #require(task.invocation)
            out.reset()
            PlanJSONWriter.invocation(out, invocation)
            let expected = try Self.encoder.encode(invocation)
            #expect(out.bytes == Array(expected), "task \(task.id) (\(task.uses.rawValue))")
            // It reads back as the same invocation (objects in content come back sorted).
            let decoded = try JSONDecoder().decode(TaskInvocation.self, from: Data(out.bytes))
            #expect(try Self.encoder.encode(decoded) == expected)
        }
    }

    /// The export's parameters are built by hand too (a dataset of 100,000 images is
    /// 100,000 sources): the same JSON as encoding them.
    @Test func exportParametersAreTheirEncoding() async throws {
        let workflow = try loadExample("demo-export.yaml")
        var plan = try await makePlan(workflow)
        Planner.attachInvocations(to: &plan, workflow: workflow)
        let task = try #require(plan.tasks.first { $0.uses == .export })
        let parameters = try #require(task.invocation).decodedParameters(ExportParameters.self)
        #expect(parameters.datasets.first?.sources.isEmpty == false)
        #expect(try Self.encoder.encode(parameters.content) == Self.encoder.encode(try InvocationContent(encoding: parameters)))
        var failing = parameters
        failing.datasets[0].problem = "input item 0123 is not in the current plan"
        #expect(try Self.encoder.encode(failing.content) == Self.encoder.encode(try InvocationContent(encoding: failing)))
    }

    @Test func contentWithEveryKindOfValue() throws {
        let content: InvocationContent = .object([
            .init("zeta", .number(0.35)), .init("alpha", .int(3)), .init("Beta", .bool(true)),
            .init("path", .path(.workspace("outputs/a b.jpg"))), .init("list", .array([.string("x\"y\\z/é"), .number(1e-5), .number(2)])),
            .init("a_b", .string("")), .init("a-b", .object([])),
        ])
        let invocation = TaskInvocation(program: "python3", arguments: ["-c", .joined(["--out=", .path(.scratch("o.jpg"))])],
                                        environment: ["B": "2", "A": "1"], workingDirectory: .absolute("/opt/tool"),
                                        files: [InvocationFile(path: "batch.json", format: .json, content: content)],
                                        standardInput: InvocationInput(lines: [content], answers: .scratch("answers.jsonl")),
                                        parameters: content)
        let out = CanonicalJSONWriter()
        PlanJSONWriter.invocation(out, invocation)
        #expect(String(decoding: out.bytes, as: UTF8.self) == String(decoding: try Self.encoder.encode(invocation), as: UTF8.self))
    }
}

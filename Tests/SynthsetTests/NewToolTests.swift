import Foundation
import Testing
import Execution
import Planning
import WorkflowSpec
import WorkspaceStore

// A tool defined in this one file, the way docs/adding-a-tool.md walks through it: its
// definition (keys, output, device, batching) and its runner. Nothing else in synthset
// knows it; the test registers it next to the standard tools and validates, plans and
// runs a workflow with it.

/// `test/stamp`: writes one text file per seed holding `message` `repeat` times.
struct StampTool: RunnableTool {
    var uses: ToolKind { ToolKind("test/stamp") }
    var summary: String { "Writes one text file per seed: the message, repeated." }
    var output: ToolKind.Output { .file }
    var device: ToolKind.Device { .cpu }
    var takesSeeds: Bool { true }
    var defaultMaxBatch: Int? { 4 }
    var keys: [KeySpec] {
        [
            KeySpec("message", .string, help: "The text to write.", affectsOutput: true, required: true),
            KeySpec("repeat", .integerRange(1...10), help: "How many times to write it.", defaultValue: .int(1), affectsOutput: true),
            KeySpec("verbose", .bool, help: "Log each file written (does not change the files).", affectsOutput: false),
        ]
    }
    var runner: any ToolAdapter { StampAdapter() }
    func outputExtension(_ step: Step) -> String { "txt" }

    /// What a task is given, decided here (the default of `repeat` included).
    func invocation(for items: [PlannedItem], context: InvocationContext) -> TaskInvocation {
        guard case .string(let message)? = context.step.settings["message"] else { return .builtin(uses.rawValue) }
        var times = 1
        if case .int(let value)? = context.step.settings["repeat"] { times = value }
        return .builtin(uses.rawValue, parameters: try? InvocationContent(encoding: StampParameters(message: message, times: times)))
    }
}

struct StampParameters: Codable {
    var message: String
    var times: Int
}

struct StampAdapter: ToolAdapter {
    func preflight(step: Step, workflow: Workflow) -> [Diagnostic] { [] }

    func run(_ invocation: Invocation, produced: @Sendable (ProducedOutput) async -> Void) async throws -> InvocationOutcome {
        let parameters: StampParameters
        do { parameters = try invocation.planned.decodedParameters(StampParameters.self) } catch {
            return InvocationOutcome(failures: Dictionary(uniqueKeysWithValues: invocation.items.map { ($0.id, "\(error)") }))
        }
        for item in invocation.items {
            let file = invocation.scratch.appendingPathComponent(item.id + ".txt")
            let text = Array(repeating: "\(parameters.message) \(item.seed ?? -1)", count: parameters.times).joined(separator: "\n") + "\n"
            try Data(text.utf8).write(to: file)
            await produced(ProducedOutput(itemID: item.id, file: file))
        }
        return InvocationOutcome()
    }
}

@Suite struct NewToolTests {
    static let registry = ToolRegistry.standard.adding([StampTool()])

    static func load(_ stamp: String) -> WorkflowLoader.Result {
        let text = """
            version: 1
            name: stamps
            steps:
              stamps:
                uses: test/stamp
            \(stamp)
            """
        return WorkflowLoader(registry: registry).load(text: text, file: "stamps.yaml", directory: URL(fileURLWithPath: NSTemporaryDirectory()))
    }

    @Test func validatesItsKeysWithLocatedErrors() throws {
        let missing = Self.load("    seeds: 0..3")
        #expect(missing.workflow == nil)
        let error = try #require(missing.errors.first)
        #expect(error.message == "step 'stamps' (test/stamp) has no 'message'")
        #expect(error.location?.line == 5)
        let outOfRange = Self.load("    seeds: 0..3\n    message: hi\n    repeat: 11")
        #expect(outOfRange.errors.map(\.message) == ["repeat must be in 1...10, found 11"])
        #expect(outOfRange.errors.first?.location?.line == 8)
        let unknown = Self.load("    seeds: 0..3\n    message: hi\n    colour: red")
        #expect(unknown.errors.first?.message.contains("colour") == true)
        // The standard registry does not know the tool.
        let standard = WorkflowLoader().load(text: "version: 1\nname: s\nsteps:\n  s: { uses: test/stamp, seeds: 0..1, message: x }\n",
                                             file: "s.yaml", directory: URL(fileURLWithPath: NSTemporaryDirectory()))
        #expect(standard.errors.first?.message == "unknown tool 'test/stamp' in uses")
    }

    static func plan(_ stamp: String) throws -> Plan {
        let workflow = try #require(load(stamp).workflow)
        return try #require(Planner().plan(workflow).plan)
    }

    @Test func plansItemsWithIdsFromTheKeysThatChangeTheOutput() throws {
        let plan = try Self.plan("    seeds: 0..9\n    message: hello")
        #expect(plan.items.count == 10)
        #expect(plan.tasks.map(\.items.count) == [4, 4, 2])  // defaultMaxBatch
        #expect(plan.items.allSatisfy { $0.path.hasSuffix(".txt") })
        let verbose = try Self.plan("    seeds: 0..9\n    message: hello\n    verbose: true")
        #expect(verbose.items.map(\.id) == plan.items.map(\.id), "a key that does not change the output keeps the ids")
        let other = try Self.plan("    seeds: 0..9\n    message: bye")
        #expect(Set(other.items.map(\.id)).isDisjoint(with: plan.items.map(\.id)), "a new message is new items")
        let batched = try Self.plan("    seeds: 0..9\n    message: hello\n    max_batch: 5")
        #expect(batched.tasks.map(\.items.count) == [5, 5])
    }

    @Test func thePlanCarriesWhatTheRunnerIsGiven() throws {
        let workflow = try #require(Self.load("    seeds: 0..5\n    message: hello").workflow)
        var plan = try #require(Planner().plan(workflow).plan)
        Planner.attachInvocations(to: &plan, workflow: workflow)
        let invocation = try #require(plan.tasks.first?.invocation)
        #expect(invocation.builtin == "test/stamp")
        let parameters = try invocation.decodedParameters(StampParameters.self)
        #expect(parameters.message == "hello")
        #expect(parameters.times == 1)  // the key's default, decided in planning
        // Round trip through the plan's JSON.
        let decoded = try JSONDecoder().decode(TaskInvocation.self, from: JSONEncoder().encode(invocation))
        #expect(try decoded.decodedParameters(StampParameters.self).message == "hello")
    }

    @Test func runsThroughTheExecutor() async throws {
        let workflow = try #require(Self.load("    seeds: 0..5\n    message: hello\n    repeat: 2").workflow)
        let plan = try #require(Planner().plan(workflow).plan)
        let root = try TestSupport.temporaryDirectory("new-tool")
        defer { try? FileManager.default.removeItem(at: root) }
        let executor = Executor(workflow: workflow, plan: plan,
                                options: RunOptions(workspace: Workspace(root: root), jobs: 2, argv: ["test"]))
        let summary = try await executor.run { _ in }
        #expect(summary.produced == 6)
        #expect(summary.failed.isEmpty)
        for item in plan.items {
            let text = try String(contentsOf: root.appendingPathComponent(item.path), encoding: .utf8)
            #expect(text == "hello \(item.seed!)\nhello \(item.seed!)\n")
        }
        let again = try await Executor(workflow: workflow, plan: plan,
                                       options: RunOptions(workspace: Workspace(root: root), jobs: 2, argv: ["test"])).run { _ in }
        #expect(again.produced == 0 && again.alreadyDone == 6, "a second run redoes nothing")
    }

    @Test func appearsInTheGeneratedSchema() throws {
        let schema = ManifestSchema.generate(Self.registry)
        let stamp = try #require(schema["$defs"]?["stepByUses"]?["test/stamp"])
        #expect(stamp["properties"]?["message"]?["description"] == "The text to write. Changes the output (part of item ids).")
        #expect(stamp["properties"]?["repeat"]?["default"] == 1)
        #expect(stamp["properties"]?["repeat"]?["maximum"] == 10)
        #expect(stamp["required"] == ["uses", "seeds", "message"])
        #expect(stamp["additionalProperties"] == false)
    }
}

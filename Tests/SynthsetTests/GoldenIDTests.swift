import Foundation
import Testing
import Planning
import WorkflowSpec

/// Item ids of every shipped recipe, pinned: restructuring the planner or the tool
/// definitions must not rename an item whose output did not change. The lists are
/// re-recorded only with `RECORD_GOLDEN_IDS=1 swift test --filter GoldenIDTests`, never
/// by hand; a change of the signature encoding bumps `ItemSignature.encodingVersion` and
/// is re-recorded in the same commit.
struct GoldenIDTests {
    static let recipes: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("workflows").path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted().map { "workflows/\($0)" }
            + ["Tests/SynthsetTests/Fixtures/design/can-factory.yaml"]
    }()

    static let goldenFolder = repositoryRoot.appendingPathComponent("Tests/SynthsetTests/Fixtures/golden-ids")

    /// One line per item, in plan order: `step id`.
    static func idList(_ path: String) async throws -> String {
        let result = try await offPool { WorkflowLoader().load(file: repositoryRoot.appendingPathComponent(path).path) }
        let workflow = try #require(result.workflow, "\(render(result.diagnostics))")
        let items = try await offPool { Planner.expandItems(workflow) }
        return items.map { "\($0.step) \($0.id)" }.joined(separator: "\n") + "\n"
    }

    @Test(arguments: recipes)
    func itemIDsMatchTheRecording(_ path: String) async throws {
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
            + (path.hasPrefix("Tests/") ? ".design" : "")
        let golden = Self.goldenFolder.appendingPathComponent("\(name).ids")
        let actual = try await Self.idList(path)
        if ProcessInfo.processInfo.environment["RECORD_GOLDEN_IDS"] == "1" {
            try FileManager.default.createDirectory(at: Self.goldenFolder, withIntermediateDirectories: true)
            try Data(actual.utf8).write(to: golden)
            return
        }
        let expected = try String(contentsOf: golden, encoding: .utf8)
        let expectedLines = expected.split(separator: "\n")
        let actualLines = actual.split(separator: "\n")
        #expect(actualLines.count == expectedLines.count, "\(path): \(actualLines.count) items, recorded \(expectedLines.count)")
        let changed = zip(expectedLines, actualLines).filter { $0 != $1 }
        #expect(changed.isEmpty, "\(path): \(changed.count) item ids differ from \(golden.lastPathComponent), first: \(changed.first.map { "\($0.0) → \($0.1)" } ?? "")")
    }
}

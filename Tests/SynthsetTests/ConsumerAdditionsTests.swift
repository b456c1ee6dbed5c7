import Foundation
import Testing

/// Files a dataset's consumer writes into an export (Ultralytics caches its label scan as
/// `labels/<split>.cache` beside `labels/<split>/`) are extra, not a change: `verify` and
/// `run --frozen` agree on that, and both still catch a changed file.
@Suite(.serialized) struct ConsumerAdditionsTests {
    @Test func anUltralyticsCacheIsExtraForVerifyAndFrozenRun() async throws {
        let root = try TestSupport.temporaryDirectory("synthset-extra")
        defer { try? FileManager.default.removeItem(at: root) }
        try ExportEndToEndTests.workflow(images: 6).write(to: root.appendingPathComponent("export.yaml"), atomically: true, encoding: .utf8)
        let first = try await TestSupport.run(["run", "export.yaml", "--workspace", "ws"], in: root)
        #expect(first.status == 0, "\(first.output)")

        let outputs = root.appendingPathComponent("ws/outputs/dataset")
        let folder = try #require(try FileManager.default.contentsOfDirectory(atPath: outputs.path).first { !$0.hasPrefix(".") })
        let dataset = outputs.appendingPathComponent(folder)
        // What `ultralytics` leaves after one `model.train(data=.../data.yaml)`.
        try Data("ultralytics label cache".utf8).write(to: dataset.appendingPathComponent("labels/train.cache"))

        let verify = try await TestSupport.run(["verify", "export.yaml", "--workspace", "ws"], in: root)
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.stdout.contains("extra    dataset"), "\(verify.stdout)")
        #expect(verify.stdout.contains("labels/train.cache"), "\(verify.stdout)")
        #expect(verify.stdout.contains("ok: "), "\(verify.stdout)")
        let json = try await TestSupport.run(["verify", "export.yaml", "--workspace", "ws", "--json"], in: root)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(report["ok"] as? Bool == true)
        let problems = (report["findings"] as? [[String: Any]] ?? []).compactMap { $0["problem"] as? String }
        #expect(problems == ["extra"])

        let frozen = try await TestSupport.run(["run", "export.yaml", "--workspace", "ws", "--frozen"], in: root)
        #expect(frozen.status == 0, "\(frozen.output)")

        // A file the export wrote, changed in place (same size, so the run does not make
        // it again): both say so.
        let labels = dataset.appendingPathComponent("labels/train")
        let label = try #require(try FileManager.default.contentsOfDirectory(atPath: labels.path).sorted()
            .first { (try? Data(contentsOf: labels.appendingPathComponent($0)).count) ?? 0 > 1 })
        let original = try Data(contentsOf: labels.appendingPathComponent(label))
        try Data(original.reversed()).write(to: labels.appendingPathComponent(label))
        let changed = try await TestSupport.run(["verify", "export.yaml", "--workspace", "ws"], in: root)
        #expect(changed.status == 1, "\(changed.output)")
        #expect(changed.stdout.contains("changed  dataset") && changed.stdout.contains("labels/train/\(label)"), "\(changed.stdout)")
        let frozenChanged = try await TestSupport.run(["run", "export.yaml", "--workspace", "ws", "--frozen"], in: root)
        #expect(frozenChanged.status == 1, "\(frozenChanged.output)")
        #expect(frozenChanged.stderr.contains("labels/train/\(label)"), "\(frozenChanged.stderr)")
        #expect(!frozenChanged.stderr.contains("train.cache"), "\(frozenChanged.stderr)")
    }
}

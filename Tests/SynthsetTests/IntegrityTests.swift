import Foundation
import Testing

/// Integrity of everything a later step reads (issue 13): dataset copies independent of
/// their sources, dataset files and ground-truth sidecars checked one by one.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct IntegrityTests {
    static let workflow = """
        version: 1
        name: integrity
        steps:
          scenes:
            uses: procedural/scenes
            seeds: 0..5
            size: [96, 64]
            objects:
              can: { shape: cylinder, colors: [red, blue], size: [0.2, 0.4], count: [1, 3] }
          dataset:
            uses: export
            from: scenes
            formats: [yolo, coco]
        """

    static func files(_ folder: URL, suffix: String) -> [URL] {
        let all = TestSupport.files(under: folder).keys.filter { $0.hasSuffix(suffix) }.sorted()
        return all.map { folder.appendingPathComponent($0) }
    }

    @Test("A source changed in place never corrupts the dataset; run repairs sizes and missing files; verify and --frozen find changed hashes")
    func integrity() async throws {
        let dir = try TestSupport.temporaryDirectory("integrity")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.workflow.write(to: dir.appendingPathComponent("w.yaml"), atomically: true, encoding: .utf8)
        let first = try await TestSupport.run(["run", "w.yaml"], in: dir)
        #expect(first.status == 0, "\(first.output)")
        let outputs = dir.appendingPathComponent(".synthset/integrity/outputs")
        let reference = TestSupport.files(under: outputs)
        let scene = try #require(Self.files(outputs.appendingPathComponent("scenes"), suffix: ".jpg").first)
        let sceneBytes = try Data(contentsOf: scene)
        let datasetImages = Self.files(outputs.appendingPathComponent("dataset"), suffix: ".jpg")
        #expect(!datasetImages.isEmpty)
        let copy = try #require(datasetImages.first { (try? Data(contentsOf: $0)) == sceneBytes }, "the scene is not in the dataset")
        let links = try FileManager.default.attributesOfItem(atPath: copy.path)[.referenceCount] as? Int
        #expect(links == 1, "the dataset image is a hard link (\(links ?? 0) links)")

        // Truncate the scene output in place: the dataset copy stays whole, run repairs the scene.
        let handle = try FileHandle(forWritingTo: scene)
        try handle.truncate(atOffset: UInt64(sceneBytes.count / 3))
        try handle.close()
        #expect(try Data(contentsOf: copy) == sceneBytes, "truncating the source corrupted the dataset copy")
        let repaired = try await TestSupport.run(["run", "w.yaml"], in: dir)
        #expect(repaired.status == 0, "\(repaired.output)")
        #expect(try Data(contentsOf: scene) == sceneBytes, "run did not repair the truncated scene")

        // A file deleted inside the dataset, and a deleted sidecar, are restored by run.
        let sidecar = try #require(Self.files(outputs.appendingPathComponent("scenes"), suffix: ".json").first)
        let sidecarBytes = try Data(contentsOf: sidecar)
        try FileManager.default.removeItem(at: copy)
        try FileManager.default.removeItem(at: sidecar)
        let verifyMissing = try await TestSupport.run(["verify", "w.yaml"], in: dir)
        #expect(verifyMissing.status == 1, "verify must see the missing sidecar and dataset file: \(verifyMissing.output)")
        #expect(verifyMissing.stdout.contains(sidecar.lastPathComponent), "\(verifyMissing.stdout)")
        let restored = try await TestSupport.run(["run", "w.yaml"], in: dir)
        #expect(restored.status == 0, "\(restored.output)")
        #expect(TestSupport.files(under: outputs) == reference, "run did not restore the deleted files exactly")

        // An edited sidecar (same size): verify and run --frozen find it.
        var edited = sidecarBytes
        let index = try #require(edited.firstIndex { $0 >= UInt8(ascii: "1") && $0 <= UInt8(ascii: "8") })
        edited[index] += 1
        try edited.write(to: sidecar)
        let verify = try await TestSupport.run(["verify", "w.yaml"], in: dir)
        #expect(verify.status == 1, "\(verify.output)")
        #expect(verify.stdout.contains("changed") && verify.stdout.contains(sidecar.lastPathComponent), "\(verify.stdout)")
        let frozen = try await TestSupport.run(["run", "w.yaml", "--frozen"], in: dir)
        #expect(frozen.status == 1, "\(frozen.output)")
        #expect(frozen.stderr.contains(sidecar.lastPathComponent), "\(frozen.stderr)")
    }
}

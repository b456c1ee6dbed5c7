import Basics
import Foundation
import Planning
import Testing
import WorkspaceStore

/// Lock files, `run --frozen`, `verify`, `diff` and measured estimates, end to end with
/// the built binary on procedural workflows (no GPU, no external tool).
@Suite(.serialized) struct ReproduceTests {
    static func recipe(seeds: String = "0..5") -> String {
        """
        version: 1
        name: repro
        steps:
          scenes:
            uses: procedural/scenes
            seeds: \(seeds)
            size: [160, 120]
            objects:
              can: { shape: cylinder, colors: [red, blue], size: [0.15, 0.35], count: [1, 3] }
            camera: { blur: [0, 1], noise: [0, 4], jpeg_quality: [80, 90] }
          dataset:
            uses: export
            from: scenes
            formats: [pascal-voc, coco, yolo]
            split: { train: 0.8, test: 0.2 }
        """
    }

    /// A fresh folder with `repro.yaml`, run once.
    func ranWorkspace(_ recipe: String = recipe()) async throws -> URL {
        let directory = try TestSupport.temporaryDirectory("reproduce")
        try recipe.write(to: directory.appendingPathComponent("repro.yaml"), atomically: true, encoding: .utf8)
        let result = try await TestSupport.run(["run", "repro.yaml", "--jobs", "2"], in: directory)
        #expect(result.status == 0, "\(result.output)")
        return directory
    }

    func lock(_ directory: URL) throws -> String {
        try String(contentsOf: directory.appendingPathComponent("repro.yaml.lock"), encoding: .utf8)
    }

    func itemLines(_ lock: String, step: String) -> [[String]] {
        lock.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            .filter { $0.first == "item" && $0[1] == step }
    }

    @Test func twoFreshWorkspacesWriteIdenticalLocksAndFingerprints() async throws {
        let first = try await ranWorkspace()
        let second = try await ranWorkspace()
        let a = try lock(first), b = try lock(second)
        #expect(a == b)
        let lines = a.split(separator: "\n").map(String.init)
        #expect(lines.first == "synthset-lock 1")
        #expect(lines.contains("workflow repro"))
        #expect(lines.contains("tool synthset 0.1.0"))
        #expect(itemLines(a, step: "scenes").count == 6)
        #expect(itemLines(a, step: "dataset").count == 1)
        let fingerprint = try #require(lines.last)
        #expect(fingerprint.hasPrefix("fingerprint ") && fingerprint.hasSuffix(" export 1"))
        // Sorted by step (pipeline order), then id.
        let scenes = itemLines(a, step: "scenes").map { $0[2] }
        #expect(scenes == scenes.sorted())
        // The fingerprint is the hash of the sorted export item hashes.
        let exportHash = try #require(itemLines(a, step: "dataset").first?[3])
        #expect(fingerprint.split(separator: " ")[1] == sha256Hex(exportHash + "\n"))
        // A second run with nothing to do leaves the same lock in place, untouched (the
        // same file, not a new one renamed over it).
        let lockPath = first.appendingPathComponent("repro.yaml.lock").path
        let inode = try FileManager.default.attributesOfItem(atPath: lockPath)[.systemFileNumber] as? Int
        let again = try await TestSupport.run(["run", "repro.yaml"], in: first)
        #expect(again.status == 0, "\(again.output)")
        #expect(try lock(first) == a)
        #expect(try FileManager.default.attributesOfItem(atPath: lockPath)[.systemFileNumber] as? Int == inode)
    }

    /// A re-run that makes nothing skips building the lock only while the store's items,
    /// the lock's inputs and the file are as when it was written.
    @Test func aNoOpRunRewritesALockOnlyWhenItIsNotTheOneItWouldWrite() async throws {
        let directory = try await ranWorkspace()
        let lockURL = directory.appendingPathComponent("repro.yaml.lock")
        let original = try lock(directory)
        let store = try CheckpointStore(path: directory.appendingPathComponent(".synthset/repro/state.db"))
        let written = try #require(try store.writtenLock())
        #expect(written.path == lockURL.path)
        #expect(written.sha256 == sha256Hex(original))
        #expect(written.itemChanges == (try store.itemChangeCount()))
        // Edited by hand: the next run writes the lock it makes.
        try (original + "edited by hand\n").write(to: lockURL, atomically: true, encoding: .utf8)
        var again = try await TestSupport.run(["run", "repro.yaml"], in: directory)
        #expect(again.status == 0, "\(again.output)")
        #expect(try lock(directory) == original)
        // Removed: written again.
        try FileManager.default.removeItem(at: lockURL)
        again = try await TestSupport.run(["run", "repro.yaml"], in: directory)
        #expect(again.status == 0, "\(again.output)")
        #expect(try lock(directory) == original)
        // Any change to the items (here one forgotten, made again by the run) makes the
        // record stale until the lock is made again.
        let scene = try #require(try store.items(step: "scenes").first)
        #expect(try store.deleteItems(ids: [scene.id]) == 1)
        #expect(try store.writtenLock() == nil)
        again = try await TestSupport.run(["run", "repro.yaml"], in: directory)
        #expect(again.status == 0, "\(again.output)")
        #expect(try lock(directory) == original)
        #expect(try store.writtenLock()?.itemChanges == (try store.itemChangeCount()))
        // A recipe that plans other items changes the lock's inputs: a new lock.
        try Self.recipe(seeds: "0..6").write(to: directory.appendingPathComponent("repro.yaml"), atomically: true, encoding: .utf8)
        again = try await TestSupport.run(["run", "repro.yaml"], in: directory)
        #expect(again.status == 0, "\(again.output)")
        #expect(itemLines(try lock(directory), step: "scenes").count == 7)
    }

    @Test func verifyNamesAChangedAndAMissingItem() async throws {
        let directory = try await ranWorkspace()
        let ok = try await TestSupport.run(["verify", "repro.yaml"], in: directory)
        #expect(ok.status == 0, "\(ok.output)")
        #expect(ok.stdout.contains("ok: 7 items match repro.yaml.lock"))

        let scenes = itemLines(try lock(directory), step: "scenes")
        let workspace = directory.appendingPathComponent(".synthset/repro")
        // One byte of one output changed, same size.
        let changed = workspace.appendingPathComponent(scenes[0][5])
        var bytes = try Data(contentsOf: changed)
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: changed)
        // Another output deleted.
        try FileManager.default.removeItem(at: workspace.appendingPathComponent(scenes[1][5]))

        let result = try await TestSupport.run(["verify", "repro.yaml"], in: directory)
        #expect(result.status == 1, "\(result.output)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("changed") && $0.contains(scenes[0][2]) && $0.contains(scenes[0][5]) })
        #expect(lines.contains { $0.hasPrefix("missing") && $0.contains(scenes[1][2]) })
        #expect(!lines.contains { $0.contains(scenes[2][2]) })
        // The dataset holds copies of the scene images, so editing one in place leaves it whole.
        let dataset = try #require(itemLines(try lock(directory), step: "dataset").first)
        #expect(!lines.contains { $0.contains(dataset[2]) })
        #expect(result.stdout.contains("1 missing, 1 changed of 7 items"))

        let json = try await TestSupport.run(["verify", "repro.yaml", "--json"], in: directory)
        #expect(json.status == 1)
        let report = try #require(TestSupport.events(json.stdout).first)
        #expect(report["ok"] as? Bool == false)
        let findings = try #require(report["findings"] as? [[String: Any]])
        #expect(Set(findings.compactMap { $0["item"] as? String }) == [scenes[0][2], scenes[1][2]])
    }

    @Test func frozenRefusesAPlanThatNoLongerMatchesTheLock() async throws {
        let directory = try await ranWorkspace()
        let before = try lock(directory)
        let frozen = try await TestSupport.run(["run", "repro.yaml", "--frozen"], in: directory)
        #expect(frozen.status == 0, "\(frozen.output)")

        try Self.recipe(seeds: "0..6").write(to: directory.appendingPathComponent("repro.yaml"), atomically: true, encoding: .utf8)
        let refused = try await TestSupport.run(["run", "repro.yaml", "--frozen"], in: directory)
        #expect(refused.status == 1, "\(refused.output)")
        #expect(refused.stderr.contains("no longer matches repro.yaml.lock"))
        #expect(refused.stderr.contains("step scenes: 1 item planned but not in the lock"))
        #expect(refused.stderr.contains("step dataset: 1 item planned but not in the lock"))
        #expect(try lock(directory) == before)
        // Nothing was run.
        let seven = directory.appendingPathComponent(".synthset/repro/outputs/scenes")
        #expect(try FileManager.default.contentsOfDirectory(atPath: seven.path).filter { $0.hasSuffix(".jpg") }.count == 6)

        // Without --frozen the run goes ahead and rewrites the lock.
        let unfrozen = try await TestSupport.run(["run", "repro.yaml"], in: directory)
        #expect(unfrozen.status == 0, "\(unfrozen.output)")
        #expect(itemLines(try lock(directory), step: "scenes").count == 7)

        // No lock at all: --frozen is a usage error.
        try FileManager.default.removeItem(at: directory.appendingPathComponent("repro.yaml.lock"))
        let missing = try await TestSupport.run(["run", "repro.yaml", "--frozen"], in: directory)
        #expect(missing.status == 2, "\(missing.output)")
    }

    @Test func planMarksMeasuredFiguresAndTheLastEstimateError() async throws {
        let directory = try TestSupport.temporaryDirectory("reproduce")
        try Self.recipe().write(to: directory.appendingPathComponent("repro.yaml"), atomically: true, encoding: .utf8)
        let fresh = try await TestSupport.run(["plan", "repro.yaml"], in: directory)
        #expect(fresh.status == 0, "\(fresh.output)")
        #expect(!fresh.stdout.contains("measured in this workspace"))
        #expect(!fresh.stdout.contains("last run"))

        let run = try await TestSupport.run(["run", "repro.yaml"], in: directory)
        #expect(run.status == 0, "\(run.output)")
        let plan = try await TestSupport.run(["plan", "repro.yaml"], in: directory)
        #expect(plan.status == 0, "\(plan.output)")
        let scenesRow = try #require(plan.stdout.split(separator: "\n").first { $0.hasPrefix("scenes ") })
        #expect(scenesRow.contains("m "), "\(scenesRow)")
        #expect(plan.stdout.contains("measured in this workspace: scenes s/item"))
        #expect(plan.stdout.contains(" task)") || plan.stdout.contains(" tasks)"), "\(plan.stdout)")
        #expect(plan.stdout.contains("last run #1 (succeeded): estimated 0.00 GPU-h, actual 0.00 GPU-h"))
        let json = try await TestSupport.run(["plan", "repro.yaml", "--format", "json"], in: directory)
        #expect(json.stdout.contains("\"basis\" : \"measured\""))
    }

    @Test func diffReadsTheOldRecipeAndItsPromptFilesFromGit() async throws {
        let directory = try TestSupport.temporaryDirectory("reproduce-git")
        let env = ["GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
                   "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": "/dev/null"]
        let git = URL(fileURLWithPath: "/usr/bin/env")
        func run(_ arguments: [String]) async throws {
            let result = try await TestSupport.run(["git"] + arguments, in: directory, environment: env, program: git)
            #expect(result.status == 0, "git \(arguments): \(result.output)")
        }
        func recipe(threshold: String) -> String {
            """
            version: 1
            name: x
            hardware: { gpu: h100-sxm, price_per_gpu_hour: 2.00 }
            prompts:
              llm: { file: prompts/llm.json }
            steps:
              images:
                uses: cosmos-predict2/text2image
                prompts: [llm]
                seeds: 0..1
              labels:
                uses: grounded-sam2/label
                from: images
                classes: { can: can }
                box_threshold: \(threshold)
            """
        }
        let prompts = directory.appendingPathComponent("prompts")
        try FileManager.default.createDirectory(at: prompts, withIntermediateDirectories: true)
        try #"[{"prompt": "Cans on a belt."}, {"prompt": "Cans in a crate."}]"#
            .write(to: prompts.appendingPathComponent("llm.json"), atomically: true, encoding: .utf8)
        try recipe(threshold: "0.30").write(to: directory.appendingPathComponent("x.yaml"), atomically: true, encoding: .utf8)
        try await run(["init", "-q"])
        try await run(["add", "."])
        try await run(["commit", "-q", "-m", "first"])
        try #"[{"prompt": "Cans on a belt."}, {"prompt": "Cans in a crate."}, {"prompt": "Cans on a shelf."}]"#
            .write(to: prompts.appendingPathComponent("llm.json"), atomically: true, encoding: .utf8)
        try recipe(threshold: "0.35").write(to: directory.appendingPathComponent("x.yaml"), atomically: true, encoding: .utf8)
        try await run(["commit", "-q", "-am", "second"])

        let table = try await TestSupport.run(["diff", "HEAD~1:x.yaml", "x.yaml"], in: directory)
        #expect(table.status == 0, "\(table.output)")
        #expect(table.stdout.contains("added in images (2)"), "\(table.stdout)")
        #expect(table.stdout.contains("Cans on a shelf."))
        #expect(table.stdout.contains("changed in labels (4)"))
        #expect(table.stdout.contains("params.box_threshold: 0.3 -> 0.35"))
        #expect(table.stdout.contains("GPU-hours "))
        #expect(table.stdout.contains("dollars $"))

        let json = try await TestSupport.run(["diff", "HEAD~1:x.yaml", "HEAD:x.yaml", "--json"], in: directory)
        #expect(json.status == 0, "\(json.output)")
        let document = try #require(TestSupport.events(json.stdout).first)
        let steps = try #require(document["steps"] as? [[String: Any]])
        let images = try #require(steps.first { $0["step"] as? String == "images" })
        #expect((images["added"] as? [Any])?.count == 2)
        #expect((document["gpu_hours_delta"] as? Double ?? 0) > 0)

        let bad = try await TestSupport.run(["diff", "nosuchrev:x.yaml", "x.yaml"], in: directory)
        #expect(bad.status == 2)
    }
}

private func sha256Hex(_ text: String) -> String { ContentHash.sha256(text) }

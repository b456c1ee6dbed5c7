import Foundation
import Testing
import Execution
import Planning
import WorkflowSpec

/// Everything that decides an output is in its item's signature: the content of the user
/// files a step runs (a labeling script in either mode, a command's program) and the
/// commit of a tool's checkout; the lock records the files and `diff` names the change.
@Suite struct SignatureInputsTests {
    static func folder() throws -> URL { try TestSupport.temporaryDirectory("signature-inputs") }

    static func manifest(mode: String, root: URL) -> String {
        """
        version: 1
        name: sig
        hardware: { gpu: h100-sxm }
        tools:
          grounded-sam2: { root: \(root.path), python: python3 }
        steps:
          scenes: { uses: procedural/scenes, seeds: 0..2, objects: { can: { shape: cylinder } } }
          labels:
            uses: grounded-sam2/label
            from: scenes
            mode: \(mode)
            script: labeler.py
            classes: { can: can }
          tool:
            uses: command
            from: scenes
            program: ./convert.sh
            args: ["{input}", "{output}"]
            output: jpg
        """
    }

    static func plan(_ directory: URL, mode: String, root: URL) throws -> (Workflow, Plan) {
        let loaded = WorkflowLoader().load(text: manifest(mode: mode, root: root), file: directory.appendingPathComponent("sig.yaml").path,
                                           directory: directory)
        let workflow = try #require(loaded.workflow, "\(loaded.diagnostics)")
        return (workflow, try #require(Planner().plan(workflow).plan))
    }

    static func ids(_ plan: Plan, _ step: String) -> Set<String> { Set(plan.items.filter { $0.step == step }.map(\.id)) }

    @Test(arguments: ["raw", "script"])
    func editingTheLabelingScriptMakesNewLabels(_ mode: String) throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("print('v1')\n".utf8).write(to: directory.appendingPathComponent("labeler.py"))
        try Data("#!/bin/sh\ncp \"$1\" \"$2\"\n".utf8).write(to: directory.appendingPathComponent("convert.sh"))
        let (_, before) = try Self.plan(directory, mode: mode, root: directory)
        try Data("print('v2')\n".utf8).write(to: directory.appendingPathComponent("labeler.py"))
        let (workflow, after) = try Self.plan(directory, mode: mode, root: directory)
        let gpuStep = mode == "raw" ? "labels.candidates" : "labels"
        #expect(Self.ids(before, gpuStep).isDisjoint(with: Self.ids(after, gpuStep)), "the new script's labels are new items")
        #expect(Self.ids(before, "labels").isDisjoint(with: Self.ids(after, "labels")))
        #expect(Self.ids(before, "scenes") == Self.ids(after, "scenes"), "images do not depend on the labeler")
        #expect(Self.ids(before, "tool") == Self.ids(after, "tool"))
        // diff says why.
        let diff = PlanDiff.compare(old: before, new: after)
        let reasons = diff.steps.flatMap(\.changed).map(\.reason)
        #expect(reasons.contains { $0.contains("script_sha256") }, "\(reasons.prefix(2))")
        // The lock records the file with its hash.
        let hash = try #require(workflow.step("labels")?.labeling?.scriptSHA256)
        #expect(Reproduction.fileLines(workflow).contains("labels.script labeler.py \(hash)"))
    }

    @Test func editingACommandsProgramMakesNewItems() throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("print('v1')\n".utf8).write(to: directory.appendingPathComponent("labeler.py"))
        try Data("#!/bin/sh\ncp \"$1\" \"$2\"\n".utf8).write(to: directory.appendingPathComponent("convert.sh"))
        let (_, before) = try Self.plan(directory, mode: "raw", root: directory)
        try Data("#!/bin/sh\nconvert \"$1\" \"$2\"\n".utf8).write(to: directory.appendingPathComponent("convert.sh"))
        let (workflow, after) = try Self.plan(directory, mode: "raw", root: directory)
        #expect(Self.ids(before, "tool").isDisjoint(with: Self.ids(after, "tool")))
        #expect(Self.ids(before, "labels") == Self.ids(after, "labels"))
        #expect(Reproduction.fileLines(workflow).contains { $0.hasPrefix("tool.program ./convert.sh ") && !$0.hasSuffix(" unread") })
    }

    @Test func theCheckoutsCommitIsPartOfItsItems() throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("print('v1')\n".utf8).write(to: directory.appendingPathComponent("labeler.py"))
        let checkout = directory.appendingPathComponent("Grounded-SAM-2")
        let git = checkout.appendingPathComponent(".git")
        try FileManager.default.createDirectory(at: git.appendingPathComponent("refs/heads"), withIntermediateDirectories: true)
        try Data("ref: refs/heads/main\n".utf8).write(to: git.appendingPathComponent("HEAD"))
        let first = String(repeating: "a", count: 40), second = String(repeating: "b", count: 40)
        try Data((first + "\n").utf8).write(to: git.appendingPathComponent("refs/heads/main"))
        let (workflow, before) = try Self.plan(directory, mode: "raw", root: checkout)
        #expect(workflow.tools["grounded-sam2"]?.checkout == first)
        #expect(before.items.first { $0.step == "labels.candidates" }?.signature.params?["checkout"] == .string(first))
        // A packed ref, as after `git gc`, reads the same way.
        try FileManager.default.removeItem(at: git.appendingPathComponent("refs/heads/main"))
        try Data("# pack-refs with: peeled fully-peeled sorted\n\(second) refs/heads/main\n".utf8).write(to: git.appendingPathComponent("packed-refs"))
        let (_, after) = try Self.plan(directory, mode: "raw", root: checkout)
        #expect(Self.ids(before, "labels.candidates").isDisjoint(with: Self.ids(after, "labels.candidates")))
        // The CPU stage runs none of the checkout: only its inputs changed.
        #expect(after.items.first { $0.step == "labels" }?.signature.params?["checkout"] == nil)
        #expect(Self.ids(before, "scenes") == Self.ids(after, "scenes"))
    }

    @Test func lockFileKeepsFileLines() throws {
        var lock = LockFile(workflow: "w", recipeFile: "w.yaml", recipeSHA256: "r", planHash: "p", prompts: [], tools: ["synthset": "0.1.0"],
                            items: [], fingerprint: "f", fingerprintScope: "leaf", fingerprintCount: 0)
        lock.files = ["labels.script labeler.py abc"]
        let parsed = try LockFile.parse(lock.text)
        #expect(parsed == lock)
        #expect(lock.text.contains("\nfile labels.script labeler.py abc\n"))
    }
}

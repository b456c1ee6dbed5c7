import Basics
@testable import Execution
import Foundation
import Planning
import Testing
import WorkspaceStore

/// End-to-end behaviour of `synthset run` on the built binary: crash safety, retries,
/// GPU slots and Ctrl-C. Serialized: they measure concurrency and kill processes.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct ExecutorTests {
    static func proceduralWorkflow(name: String, seeds: String, size: (Int, Int), batch: Int = 10) -> String {
        """
        version: 1
        name: \(name)
        steps:
          scenes:
            uses: procedural/scenes
            seeds: \(seeds)
            size: [\(size.0), \(size.1)]
            max_batch: \(batch)
            objects:
              can: { shape: cylinder, colors: [red, blue, silver], size: [0.15, 0.35], count: [1, 4] }
              box: { shape: box, colors: [cardboard], size: [0.2, 0.4], count: [0, 2] }
            camera: { blur: [0, 1], noise: [0, 6], jpeg_quality: [80, 92] }
        """
    }

    /// The random-kill workflow: procedural scenes, a `command` step (a batch tool that
    /// copies each scene), and an export of the scenes.
    static func killWorkflow(total: Int) -> String {
        proceduralWorkflow(name: "kill", seeds: "0..\(total - 1)", size: (320, 240)) + """

          copies:
            uses: command
            from: scenes
            program: ./copy.py
            args: ["{batch_file}"]
            per: batch
            output: jpg
            max_batch: 25
          dataset:
            uses: export
            from: scenes
            formats: [yolo, coco]
        """
    }

    @Test("SIGKILL at random moments (20+ times) never leaves a partial output, and resuming reproduces an uninterrupted run byte for byte")
    func killAndResume() async throws {
        let dir = try TestSupport.temporaryDirectory("kill")
        defer { try? FileManager.default.removeItem(at: dir) }
        let total = 300
        try Self.killWorkflow(total: total).write(to: dir.appendingPathComponent("kill.yaml"), atomically: true, encoding: .utf8)
        try TestSupport.script("""
            #!/usr/bin/env python3
            import json, shutil, sys
            for entry in json.load(open(sys.argv[1])):
                shutil.copyfile(entry["inputs"][0], entry["output"])
            """, at: dir.appendingPathComponent("copy.py"))
        // The kill moments are drawn from a printed seed, so a failure can be replayed.
        let seed = ProcessInfo.processInfo.environment["SYNTHSET_KILL_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max)
        print("random-kill seed: \(seed) (replay with SYNTHSET_KILL_SEED=\(seed))")
        var generator = SplitMix64(seed: seed)

        let referenceStart = Date()
        let reference = try await TestSupport.run(["run", "kill.yaml", "--workspace", "ref"], in: dir)
        let referenceSeconds = Date().timeIntervalSince(referenceStart)
        #expect(reference.status == 0, "reference run failed: \(reference.stderr)")
        let expected = TestSupport.files(under: dir.appendingPathComponent("ref/outputs"))
        #expect(expected.keys.filter { $0.hasPrefix("scenes/") }.count == 2 * total)  // images and their ground truth
        #expect(expected.keys.filter { $0.hasPrefix("copies/") }.count == total)
        #expect(expected.keys.contains { $0.hasPrefix("dataset/") })

        var killsMidRun = 0
        var previouslyDone = 0
        // Shrinks each time a run ends before its kill: the reference run, taken beside
        // other tests, can be much slower than the runs after it, which then finished
        // the work before enough kills had landed.
        var scale = 1.0
        for _ in 0..<60 where killsMidRun < 20 {
            let launched = try TestSupport.launch(["run", "kill.yaml", "--workspace", "crash"], in: dir)
            // A random moment within the time the remaining work should take, so kills land
            // mid-run on fast and slow machines alike.
            let expectedSeconds = 0.1 + referenceSeconds * Double(total - min(previouslyDone / 2, total - 1)) / Double(total)
            try await Task.sleep(for: .seconds(Double.random(in: 0.01...max(0.02, 0.7 * expectedSeconds * scale), using: &generator)))
            if launched.process.isRunning {
                kill(launched.process.processIdentifier, SIGKILL)
                killsMidRun += 1
            } else {
                scale /= 2
            }
            await launched.wait()
            // Whatever sits where an output belongs is complete and identical to the reference
            // (a dataset moved aside mid-replacement is swept by the next run).
            let present = TestSupport.files(under: dir.appendingPathComponent("crash/outputs"))
            for (path, data) in present where !path.contains("/.old-") {
                #expect(expected[path] == data, "partial or wrong file at \(path) after a kill (seed \(seed))")
            }
            // The store opens and never loses a finished item.
            let store = try CheckpointStore(path: dir.appendingPathComponent("crash/state.db"))
            let done = try store.allItems().filter { $0.status == .done }.count
            #expect(done >= previouslyDone, "the store lost finished items: \(done) < \(previouslyDone) (seed \(seed))")
            previouslyDone = done
        }
        #expect(killsMidRun >= 20, "only \(killsMidRun) kills landed while the run was working (seed \(seed))")

        let final = try await TestSupport.run(["run", "kill.yaml", "--workspace", "crash", "--json"], in: dir)
        #expect(final.status == 0, "resumed run failed: \(final.stderr)")
        let produced = TestSupport.events(final.stdout).filter { $0["event"] as? String == "item_done" }.count
        #expect(produced == 2 * total + 1 - previouslyDone, "the resumed run redid finished items (seed \(seed))")
        let actual = TestSupport.files(under: dir.appendingPathComponent("crash/outputs"))
        #expect(actual.keys.sorted() == expected.keys.sorted(), "seed \(seed)")
        #expect(actual == expected, "seed \(seed)")
        let scratch = (try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("crash/tmp").path)) ?? []
        #expect(scratch.isEmpty, "scratch files left behind: \(scratch)")
        let besideRecipe = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".tmp") }
        #expect(besideRecipe.isEmpty, "half-written lock files beside the recipe: \(besideRecipe)")
    }

    /// A stand-in batch tool that exits 0 but skips the item with seed 3 (the way Cosmos
    /// skips a guardrail-blocked item), always or only the first time.
    static func skippingWorkflow(name: String, always: Bool, directory: URL) throws -> String {
        let tool = directory.appendingPathComponent("batch-tool.py")
        try TestSupport.script("""
            #!/usr/bin/env python3
            import json, os, sys
            batch = json.load(open(sys.argv[1]))
            with open(os.environ["INVOCATIONS"], "a") as log:
                log.write(json.dumps(sorted(entry["seed"] for entry in batch)) + "\\n")
            marker = os.environ["INVOCATIONS"] + ".skipped"
            for entry in batch:
                if entry["seed"] == 3 and (\(always ? "True" : "False") or not os.path.exists(marker)):
                    open(marker, "w").close()
                    print("skipping item with seed 3 (guardrail)")
                    continue
                with open(entry["output"], "w") as out:
                    out.write("seed %d\\n" % entry["seed"])
            sys.exit(0)
            """, at: tool)
        return """
            version: 1
            name: \(name)
            steps:
              gen:
                uses: command
                program: ./batch-tool.py
                args: ["{batch_file}"]
                per: batch
                seeds: 0..5
                output: txt
                env: { INVOCATIONS: \(directory.appendingPathComponent("invocations.log").path) }
            """
    }

    static func invocations(_ directory: URL) throws -> [[Int]] {
        try String(contentsOf: directory.appendingPathComponent("invocations.log"), encoding: .utf8)
            .split(separator: "\n").map { try JSONDecoder().decode([Int].self, from: Data($0.utf8)) }
    }

    @Test("An item the tool skips with exit 0 is retried alone and succeeds")
    func skippedItemRetriedAlone() async throws {
        let dir = try TestSupport.temporaryDirectory("skip")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.skippingWorkflow(name: "skip", always: false, directory: dir)
            .write(to: dir.appendingPathComponent("skip.yaml"), atomically: true, encoding: .utf8)
        let result = try await TestSupport.run(["run", "skip.yaml"], in: dir, environment: ["SYNTHSET_RETRY_BACKOFF": "0.05"])
        #expect(result.status == 0, "\(result.stderr)")
        let calls = try Self.invocations(dir)
        #expect(calls == [[0, 1, 2, 3, 4, 5], [3]])
        // Both attempts are recorded as they ended (they are written with the items).
        let store = try #require(try CheckpointStore.openForReading(path: dir.appendingPathComponent(".synthset/skip/state.db")))
        let run = try #require(try store.lastRun()?.id)
        let attempts = try store.tasks(runID: run).sorted { $0.attempt < $1.attempt }
        #expect(attempts.map(\.attempt) == [1, 2])
        #expect(attempts.map(\.status) == [.failed, .succeeded])
        #expect(attempts.map(\.itemCount) == [6, 1])
        #expect(attempts.allSatisfy { $0.finishedAt != nil && $0.exitCode == 0 && $0.logPath.hasPrefix("logs/gen/") })
        #expect(try store.allItems().filter { $0.status == .done }.count == 6)
    }

    @Test("An item the tool keeps skipping is reported failed with exit 1 after the retries")
    func skippedItemReported() async throws {
        let dir = try TestSupport.temporaryDirectory("skip-always")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.skippingWorkflow(name: "skipalways", always: true, directory: dir)
            .write(to: dir.appendingPathComponent("skip.yaml"), atomically: true, encoding: .utf8)
        let result = try await TestSupport.run(["run", "skip.yaml", "--retries", "2"], in: dir, environment: ["SYNTHSET_RETRY_BACKOFF": "0.05"])
        #expect(result.status == 1)
        let calls = try Self.invocations(dir)
        #expect(calls == [[0, 1, 2, 3, 4, 5], [3], [3]])
        #expect(result.stderr.contains("1 failed"), "\(result.stderr)")
        #expect(result.stderr.contains("did not produce") || result.stderr.contains("without writing"), "\(result.stderr)")
        #expect(result.stderr.contains("skipping item with seed 3"), "the log tail is shown: \(result.stderr)")
        let status = try await TestSupport.run(["status", "skip.yaml", "--json"], in: dir)
        let report = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        let steps = report?["steps"] as? [[String: Any]]
        #expect(steps?.first?["failed"] as? Int == 1)
        #expect(steps?.first?["done"] as? Int == 5)
        let store = try #require(try CheckpointStore.openForReading(path: dir.appendingPathComponent(".synthset/skipalways/state.db")))
        let run = try #require(try store.lastRun()?.id)
        #expect(try store.tasks(runID: run).map(\.status) == [.failed, .failed, .failed])
        #expect(try store.allItems().filter { $0.status == .failed }.count == 1)
    }

    @Test("A GPU frees when its tool exits: the next task's tool starts while the last one's large output is hashed and moved")
    func slotFreesWhenTheToolExits() async throws {
        let dir = try TestSupport.temporaryDirectory("slot-free")
        defer { try? FileManager.default.removeItem(at: dir) }
        // 256 MiB per item: read and hashed off the task's thread for a few tenths of a
        // second, a wide margin over the next tool's launch even on a loaded machine.
        try TestSupport.script("""
            #!/bin/sh
            echo "start $(date +%s.%N) $1" >> "$TOOL_LOG"
            head -c 268435456 /dev/zero > "$2"
            """, at: dir.appendingPathComponent("big-tool.sh"))
        try Self.gpuCommandRecipe(name: "slotfree", gpus: 1, program: "./big-tool.sh", seeds: "0..1", output: "bin",
                                  log: ("TOOL_LOG", dir.appendingPathComponent("tool.log")))
            .write(to: dir.appendingPathComponent("slotfree.yaml"), atomically: true, encoding: .utf8)
        let result = try await TestSupport.run(["run", "slotfree.yaml", "--gpus", "1"], in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let starts = try String(contentsOf: dir.appendingPathComponent("tool.log"), encoding: .utf8)
            .split(separator: "\n").compactMap { line -> (Double, Int)? in
                let parts = line.split(separator: " ")
                guard parts.count == 3, let time = Double(parts[1]), let seed = Int(parts[2]) else { return nil }
                return (time, seed)
            }.sorted { $0.0 < $1.0 }
        try #require(starts.count == 2)
        let store = try #require(try CheckpointStore.openForReading(path: dir.appendingPathComponent(".synthset/slotfree/state.db")))
        let items = try store.allItems().filter { $0.status == .done }
        try #require(items.count == 2)
        // The item whose tool ran first was committed (its hash and move done) after the
        // second tool had started on the same, single GPU.
        let first = try #require(items.min { ($0.startedAt ?? .distantFuture) < ($1.startedAt ?? .distantFuture) })
        let firstDone = try #require(first.finishedAt).timeIntervalSince1970
        #expect(starts[1].0 < firstDone, "the second tool started \(starts[1].0 - firstDone) s after the first item was committed")
    }

    /// A GPU stand-in that records when it ran and which GPU it was given.
    static func gpuWorkflow(directory: URL) throws -> String {
        try TestSupport.script("""
            #!/bin/sh
            echo "start $(date +%s.%N) ${CUDA_VISIBLE_DEVICES:-none} $1" >> "$GPU_LOG"
            sleep 0.5
            echo "seed $1" > "$2"
            echo "end $(date +%s.%N) ${CUDA_VISIBLE_DEVICES:-none} $1" >> "$GPU_LOG"
            """, at: directory.appendingPathComponent("gpu-tool.sh"))
        return gpuCommandRecipe(name: "gpus", gpus: 2, program: "./gpu-tool.sh", seeds: "0..5", output: "txt",
                                log: ("GPU_LOG", directory.appendingPathComponent("gpu.log")))
    }

    /// One `command` step on `gpus` H100s: `program {seed} {output}` per seed, told where
    /// to log through the environment variable `log.variable`.
    static func gpuCommandRecipe(name: String, gpus: Int, program: String, seeds: String, output: String,
                                 log: (variable: String, file: URL)) -> String {
        """
        version: 1
        name: \(name)
        hardware: { gpu: h100-sxm, count: \(gpus) }
        steps:
          gen:
            uses: command
            program: \(program)
            args: ["{seed}", "{output}"]
            seeds: \(seeds)
            output: \(output)
            gpu: true
            vram_gb: 20
            env: { \(log.variable): \(log.file.path) }
        """
    }

    struct Interval { var start: Double; var end: Double; var device: String }

    static func intervals(_ log: URL) throws -> [Interval] {
        var starts: [String: (Double, String)] = [:]
        var result: [Interval] = []
        for line in try String(contentsOf: log, encoding: .utf8).split(separator: "\n") {
            let parts = line.split(separator: " ").map(String.init)
            if parts[0] == "start" { starts[parts[3]] = (Double(parts[1])!, parts[2]) }
            if parts[0] == "end", let start = starts[parts[3]] { result.append(Interval(start: start.0, end: Double(parts[1])!, device: start.1)) }
        }
        return result
    }

    @Test("--jobs 2: tasks prepared ahead never run a third tool at once, and an item's time is its tool's, not its wait")
    func cpuJobsLimit() async throws {
        let dir = try TestSupport.temporaryDirectory("jobs")
        defer { try? FileManager.default.removeItem(at: dir) }
        try TestSupport.script("""
            #!/bin/sh
            echo "start $(date +%s.%N) cpu $1" >> "$TOOL_LOG"
            sleep 0.4
            echo "seed $1" > "$2"
            echo "end $(date +%s.%N) cpu $1" >> "$TOOL_LOG"
            """, at: dir.appendingPathComponent("tool.sh"))
        try """
            version: 1
            name: jobs
            steps:
              gen:
                uses: command
                program: ./tool.sh
                args: ["{seed}", "{output}"]
                seeds: 0..7
                output: txt
                env: { TOOL_LOG: \(dir.appendingPathComponent("tool.log").path) }
            """.write(to: dir.appendingPathComponent("jobs.yaml"), atomically: true, encoding: .utf8)
        let result = try await TestSupport.run(["run", "jobs.yaml", "--jobs", "2", "--json"], in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let runs = try Self.intervals(dir.appendingPathComponent("tool.log"))
        #expect(runs.count == 8)
        // The most tools running at one moment: at some tool's start, those begun and not ended.
        let most = runs.map { run in runs.filter { $0.start <= run.start && run.start < $0.end }.count }.max() ?? 0
        #expect(most == 2, "at most \(most) tools ran at once with --jobs 2")
        // Timed from the slot, not from the preparation: about the tool's 0.4 s each (a
        // task timed from its start would count the wait for the tool before it, 0.8 s).
        let store = try #require(try CheckpointStore.openForReading(path: dir.appendingPathComponent(".synthset/jobs/state.db")))
        let seconds = try store.allItems().compactMap(\.duration).sorted()
        try #require(seconds.count == 8)
        #expect(seconds[4] < 0.65, "items' recorded times \(seconds) include the wait for a slot")
        // Every task_finished follows its task_started.
        let events = TestSupport.events(result.stdout).compactMap { $0["event"] as? String }
        #expect(events.filter { $0 == "task_started" }.count == 8 && events.filter { $0 == "task_finished" }.count == 8)
    }

    @Test("Ctrl-C while command tasks wait for a slot: exit 130, the waiting ones never start and their logs say so, the next run finishes")
    func interruptWhileTasksWaitForASlot() async throws {
        let dir = try TestSupport.temporaryDirectory("slot-stop")
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
            version: 1
            name: stop
            steps:
              slow:
                uses: command
                program: /bin/sh
                args: ["-c", 'sleep 0.4; echo "$1" > "$2"', "sh", "{seed}", "{output}"]
                output: txt
                seeds: 0..9
            """.write(to: dir.appendingPathComponent("stop.yaml"), atomically: true, encoding: .utf8)
        let launched = try TestSupport.launch(["run", "stop.yaml", "--jobs", "1"], in: dir)
        // With one slot, one task runs and one more waits for the slot, prepared: two logs
        // with their command line written.
        let logs = dir.appendingPathComponent(".synthset/stop/logs/slow")
        func prepared() -> Int {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: logs.path)) ?? []
            return names.filter { name in
                ((try? String(contentsOf: logs.appendingPathComponent(name), encoding: .utf8)) ?? "").hasPrefix("synthset: running")
            }.count
        }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, prepared() < 2 {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(launched.process.isRunning, "the run finished before it could be interrupted")
        launched.process.interrupt()
        let stopped = await launched.result()
        #expect(stopped.status == 130, "\(stopped.stderr)")
        let texts = try FileManager.default.contentsOfDirectory(atPath: logs.path)
            .map { try String(contentsOf: logs.appendingPathComponent($0), encoding: .utf8) }
        #expect(texts.contains { $0.contains("stopped before the tool started") }, "no waiting task's log says it never started: \(texts)")
        let resumed = try await TestSupport.run(["run", "stop.yaml", "--jobs", "2"], in: dir)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let outputs = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent(".synthset/stop/outputs/slow").path)
        #expect(outputs.count == 10)
    }

    @Test("Without --keep-going a failure starts no further tool, not even one prepared and waiting for its slot")
    func failureStartsNoWaitingTool() async throws {
        let dir = try TestSupport.temporaryDirectory("fail-stop")
        defer { try? FileManager.default.removeItem(at: dir) }
        try TestSupport.script("""
            #!/bin/sh
            echo "start $1" >> "$TOOL_LOG"
            sleep 0.3
            [ "$1" = 0 ] && exit 1
            echo "seed $1" > "$2"
            """, at: dir.appendingPathComponent("tool.sh"))
        try """
            version: 1
            name: failstop
            steps:
              gen:
                uses: command
                program: ./tool.sh
                args: ["{seed}", "{output}"]
                seeds: 0..5
                output: txt
                retries: 0
                env: { TOOL_LOG: \(dir.appendingPathComponent("tool.log").path) }
            """.write(to: dir.appendingPathComponent("failstop.yaml"), atomically: true, encoding: .utf8)
        let result = try await TestSupport.run(["run", "failstop.yaml", "--jobs", "1"], in: dir)
        #expect(result.status != 0)
        let starts = try String(contentsOf: dir.appendingPathComponent("tool.log"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        // Tasks run in the plan's order, not the seeds': whatever ran before the failing
        // one, none started after it.
        #expect(starts.last == "start 0" && starts.count < 6, "tools started after the failure: \(starts)")
    }

    @Test("Two GPU slots run two GPU tasks at once on different GPUs; one slot never overlaps")
    func gpuSlots() async throws {
        for slots in [2, 1] {
            let dir = try TestSupport.temporaryDirectory("gpu\(slots)")
            defer { try? FileManager.default.removeItem(at: dir) }
            try Self.gpuWorkflow(directory: dir).write(to: dir.appendingPathComponent("gpus.yaml"), atomically: true, encoding: .utf8)
            let result = try await TestSupport.run(["run", "gpus.yaml", "--gpus", String(slots), "--jobs", "4"], in: dir)
            #expect(result.status == 0, "\(result.stderr)")
            let runs = try Self.intervals(dir.appendingPathComponent("gpu.log"))
            #expect(runs.count == 6)
            var overlaps = 0
            for (i, a) in runs.enumerated() {
                for b in runs[(i + 1)...] where a.start < b.end && b.start < a.end {
                    overlaps += 1
                    #expect(a.device != b.device, "two tasks shared GPU \(a.device) at once")
                }
            }
            if slots == 2 {
                #expect(overlaps > 0, "two GPU slots never ran two tasks at once")
                #expect(Set(runs.map(\.device)) == ["0", "1"])
            } else {
                #expect(overlaps == 0, "one GPU slot ran tasks at the same time")
                #expect(Set(runs.map(\.device)) == ["0"])
            }
        }
    }

    /// Task records travel with the group commit, which waits up to `commitWindow` while
    /// every slot is busy: the start of a long task must still reach the store while it
    /// runs, so a killed run leaves it behind as interrupted.
    @Test("A long task's start is in the store while it runs, and a killed run leaves it interrupted")
    func longTaskStartIsRecordedWhileItRuns() async throws {
        let dir = try TestSupport.temporaryDirectory("long-task")
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
            version: 1
            name: long
            steps:
              slow:
                uses: command
                program: /bin/sh
                args: ["-c", 'sleep 30; echo "$1" > "$2"', "sh", "{seed}", "{output}"]
                output: txt
                seeds: 0..1
            """.write(to: dir.appendingPathComponent("long.yaml"), atomically: true, encoding: .utf8)
        // Two items, two slots: every slot is busy while both sleep.
        let launched = try TestSupport.launch(["run", "long.yaml", "--jobs", "2"], in: dir)
        let storeFile = dir.appendingPathComponent(".synthset/long/state.db")
        var running: [TaskRecord] = []
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, running.count < 2 {
            try await Task.sleep(for: .milliseconds(50))
            if let store = try? CheckpointStore.openForReading(path: storeFile), let run = try? store.lastRun()?.id {
                running = ((try? store.tasks(runID: run)) ?? []).filter { $0.status == .running }
            }
        }
        #expect(running.count == 2, "the starts of the two running tasks were not recorded")
        #expect(running.allSatisfy { $0.finishedAt == nil && $0.logPath.hasPrefix("logs/slow/") })
        kill(launched.process.processIdentifier, SIGKILL)
        _ = await launched.result()
        let store = try CheckpointStore(path: storeFile)
        let abandoned = try store.markAbandonedRuns()
        #expect(abandoned.count == 1)
        #expect(try store.tasks(runID: abandoned[0]).map(\.status) == [.interrupted, .interrupted])
    }

    @Test("Ctrl-C exits 130 and the next run resumes without redoing finished items")
    func interruptAndResume() async throws {
        let dir = try TestSupport.temporaryDirectory("sigint")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.proceduralWorkflow(name: "sigint", seeds: "0..399", size: (320, 240), batch: 20).write(
            to: dir.appendingPathComponent("sigint.yaml"), atomically: true, encoding: .utf8)
        let launched = try TestSupport.launch(["run", "sigint.yaml", "--json"], in: dir)
        let outputs = dir.appendingPathComponent(".synthset/sigint/outputs/scenes")
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, ((try? FileManager.default.contentsOfDirectory(atPath: outputs.path))?.count ?? 0) < 20 {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(launched.process.isRunning, "the run finished before it could be interrupted")
        launched.process.interrupt()
        let interrupted = await launched.result()
        #expect(interrupted.status == 130)
        let first = TestSupport.events(interrupted.stdout)
        let doneFirst = first.filter { $0["event"] as? String == "item_done" }.count
        #expect(doneFirst > 0)
        #expect(doneFirst < 400)
        let before = TestSupport.files(under: outputs)

        let second = try await TestSupport.run(["run", "sigint.yaml", "--json"], in: dir)
        #expect(second.status == 0, "\(second.stderr)")
        let events = TestSupport.events(second.stdout)
        let started = events.first { $0["event"] as? String == "run_started" }?["data"] as? [String: Any]
        #expect((started?["done"] as? [String: Int])?["scenes"] == doneFirst)
        #expect(events.filter { $0["event"] as? String == "item_done" }.count == 400 - doneFirst)
        let after = TestSupport.files(under: outputs)
        for (path, data) in before where path.hasSuffix(".jpg") { #expect(after[path] == data) }
    }

    @Test("A re-run checks every output: one removed or changed in size is made again, the rest are not")
    func resumeChecksEveryOutput() async throws {
        let dir = try TestSupport.temporaryDirectory("recheck")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.proceduralWorkflow(name: "recheck", seeds: "0..11", size: (64, 48), batch: 5).write(
            to: dir.appendingPathComponent("recheck.yaml"), atomically: true, encoding: .utf8)
        let first = try await TestSupport.run(["run", "recheck.yaml", "--json"], in: dir)
        #expect(first.status == 0, "\(first.stderr)")
        let outputs = dir.appendingPathComponent(".synthset/recheck/outputs/scenes")
        let images = try FileManager.default.contentsOfDirectory(atPath: outputs.path).filter { $0.hasSuffix(".jpg") }.sorted()
        #expect(images.count == 12)
        let noop = try await TestSupport.run(["run", "recheck.yaml", "--json"], in: dir)
        #expect(TestSupport.events(noop.stdout).filter { $0["event"] as? String == "item_done" }.isEmpty)

        let removed = outputs.appendingPathComponent(images[0])
        let truncated = outputs.appendingPathComponent(images[1])
        let original = try Data(contentsOf: truncated)
        try FileManager.default.removeItem(at: removed)
        try original.prefix(original.count - 1).write(to: truncated)
        let again = try await TestSupport.run(["run", "recheck.yaml", "--json"], in: dir)
        #expect(again.status == 0, "\(again.stderr)")
        let remade = TestSupport.events(again.stdout).filter { $0["event"] as? String == "item_done" }
            .compactMap { ($0["data"] as? [String: Any])?["path"] as? String }
            .map { URL(fileURLWithPath: $0).lastPathComponent }
        #expect(remade.sorted() == Array(images.prefix(2)).sorted())
        #expect(try Data(contentsOf: truncated) == original)
    }
}

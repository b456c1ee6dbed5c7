import Foundation
import Testing

@testable import Execution
import Planning
import WorkflowSpec
import WorkspaceStore

#if canImport(Glibc)
import Glibc
#endif

/// The single-node Slurm cluster the executor's tests run against: munged, slurmctld and
/// slurmd from Debian, two fake GPUs (scripts/slurm-test-cluster.sh, which scripts/test.sh
/// starts before the tests and stops after). Where Slurm is required (CI, or
/// SYNTHSET_REQUIRE_SLURM=1, which scripts/test.sh sets) a cluster that cannot start fails
/// the tests; elsewhere they are reported as skipped.
enum SlurmTestCluster {
    static var required: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["CI"] != nil || environment["SYNTHSET_REQUIRE_SLURM"] == "1"
    }

    /// Nil when a node answers; otherwise why not. Tries the harness (as root) once.
    static let problem: String? = {
        if nodeIsUp() { return nil }
        let script = TestSupport.packageRoot.appendingPathComponent("scripts/slurm-test-cluster.sh")
        guard getuid() == 0 else { return "sinfo shows no usable node, and only root can start the test cluster (\(script.path) start)" }
        let status = runAndReap("/bin/bash", [script.path, "ensure"])
        if nodeIsUp() { return nil }
        return "\(script.path) ensure exited \(status) and sinfo shows no usable node; see /var/log/slurm/"
    }()

    static var runnable: Bool { problem == nil || required }

    /// Runs a program to its end and returns its exit status (-1 when it could not start
    /// or did not exit). Spawned and reaped here with `waitpid`: `Process`, run while the
    /// suite's `.enabled(if:)` is evaluated, never saw the harness exit once it had started
    /// the daemons (the shell stayed a zombie and the test run hung).
    static func runAndReap(_ program: String, _ arguments: [String]) -> Int32 {
        var argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, program, nil, nil, &argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { return -1 }
        }
        // WIFEXITED and WEXITSTATUS, which Swift does not import.
        return status & 0x7f == 0 ? (status >> 8) & 0xff : -1
    }

    static func nodeIsUp() -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sinfo", "--noheader", "--format=%T"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return process.terminationStatus == 0 && ["idle", "mixed", "allocated"].contains { text.contains($0) }
    }

    /// Fails the test with the reason when the cluster is not there (only reached when required).
    static func require() throws {
        if let problem { Issue.record("Slurm is required here but not running: \(problem)") }
        try #require(problem == nil)
    }
}

/// `run --executor slurm` end to end against the real cluster: the built binary, a temp
/// folder, real sbatch/squeue, workers on the node.
@Suite(.serialized, .enabled(if: SlurmTestCluster.runnable,
                             "no Slurm cluster here: run scripts/slurm-test-cluster.sh start as root (scripts/test.sh does)"))
struct SlurmExecutorTests {
    static let environment = ["SYNTHSET_SLURM_POLL": "0.3", "SYNTHSET_RETRY_BACKOFF": "0.05"]

    static func run(_ arguments: [String], in directory: URL) async throws -> TestSupport.Result {
        try await TestSupport.run(arguments, in: directory, environment: environment)
    }

    static func jobs(_ workspace: URL) throws -> [ClusterJobRecord] {
        let store = try #require(try CheckpointStore.openForReading(path: workspace.appendingPathComponent("state.db")))
        return try store.allClusterJobs()
    }

    /// Submissions per task: the restart guarantee is that this is 1 for every task.
    static func submissions(_ jobs: [ClusterJobRecord]) -> [String: Int] {
        Dictionary(jobs.map { ($0.taskID, 1) }, uniquingKeysWith: +)
    }

    @Test func proceduralDemoThroughSlurmWritesTheLockOfALocalRun() async throws {
        try SlurmTestCluster.require()
        let directory = try TestSupport.temporaryDirectory("synthset-slurm-demo")
        defer { try? FileManager.default.removeItem(at: directory) }
        let recipe = directory.appendingPathComponent("demo.yaml")
        try FileManager.default.copyItem(at: TestSupport.packageRoot.appendingPathComponent("workflows/demo.yaml"), to: recipe)
        let lock = directory.appendingPathComponent("demo.yaml.lock")

        let local = try await Self.run(["run", recipe.path, "--workspace", "local"], in: directory)
        #expect(local.status == 0, "\(local.stderr)")
        let localLock = try Data(contentsOf: lock)
        try FileManager.default.removeItem(at: lock)

        let cluster = try await Self.run(["run", recipe.path, "--workspace", "cluster", "--executor", "slurm"], in: directory)
        #expect(cluster.status == 0, "\(cluster.stderr)")
        #expect(try Data(contentsOf: lock) == localLock, "the Slurm run's lock differs from the local run's")

        // Eight equal tasks went as one job array, each element submitted once and done.
        let workspace = directory.appendingPathComponent("cluster")
        let jobs = try Self.jobs(workspace)
        #expect(jobs.count == 8)
        #expect(Self.submissions(jobs).values.allSatisfy { $0 == 1 })
        #expect(jobs.allSatisfy { $0.state == "COMPLETED" && $0.settled && $0.attempt == 1 })
        let arrays = Set(jobs.compactMap { $0.jobID?.split(separator: "_").first.map(String.init) })
        #expect(arrays.count == 1 && jobs.allSatisfy { $0.jobID?.contains("_") == true }, "\(jobs.map(\.jobID))")
        // The items were made on the node: its Slurm output says so; the records are ingested.
        let logs = try FileManager.default.contentsOfDirectory(atPath: workspace.appendingPathComponent("logs/scenes").path)
        #expect(logs.filter { $0.hasPrefix("slurm-") }.count == 8)
        let records = try FileManager.default.contentsOfDirectory(atPath: workspace.appendingPathComponent("cluster/records").path)
        #expect(records.isEmpty)
    }

    @Test func gpuStandInJobsGetTheirOwnGPUsAndTheLocalLock() async throws {
        try SlurmTestCluster.require()
        let directory = try TestSupport.temporaryDirectory("synthset-slurm-gpu")
        defer { try? FileManager.default.removeItem(at: directory) }
        let root = try CosmosStandIn.make(in: directory)
        let recipe = directory.appendingPathComponent("gpu.yaml")
        try """
            version: 1
            name: gpu-standin
            hardware: { gpu: h100-sxm, count: 2 }
            executor: { cpus_per_task: 1, mem_gb: 1 }
            tools:
              cosmos-predict2: { root: \(root.path), python: python3, env: { STANDIN_SLEEP_S: "3" } }
            prompts:
              cans:
                template: "{color} cans on a belt."
                vars: { color: [Orange, Blue] }
            steps:
              images:
                uses: cosmos-predict2/text2image
                model: 2B
                prompts: [cans]
                seeds: [0, 1]
                options: { disable_guardrail: true }
            """.write(to: recipe, atomically: true, encoding: .utf8)
        let lock = directory.appendingPathComponent("gpu.yaml.lock")
        let local = try await Self.run(["run", recipe.path, "--workspace", "local"], in: directory)
        #expect(local.status == 0, "\(local.stderr)")
        let localLock = try Data(contentsOf: lock)
        try FileManager.default.removeItem(at: lock)
        let localCalls = try CosmosStandIn.invocations(root).count

        let cluster = try await Self.run(["run", recipe.path, "--workspace", "cluster", "--executor", "slurm"], in: directory)
        #expect(cluster.status == 0, "\(cluster.stderr)")
        #expect(try Data(contentsOf: lock) == localLock, "the Slurm run's lock differs from the local run's")
        let calls = try CosmosStandIn.invocations(root).dropFirst(localCalls)
        #expect(calls.count == 2)
        let devices = calls.compactMap { ($0["env"] as? [String: String])?["CUDA_VISIBLE_DEVICES"] }
        #expect(devices.sorted() == ["0", "1"], "the two GPU jobs ran with CUDA_VISIBLE_DEVICES \(devices)")
        let jobs = try Self.jobs(directory.appendingPathComponent("cluster"))
        #expect(jobs.count == 2 && jobs.allSatisfy { $0.state == "COMPLETED" })
    }

    /// A flaky `command` that fails its first attempt per seed (the worker then exits 1).
    static func flakyRecipe(in directory: URL, name: String, seeds: String, sleep: Double = 0, failFirst: Bool,
                            executor: String = "{ kind: slurm, cpus_per_task: 1, mem_gb: 1 }") throws -> URL {
        let flags = directory.appendingPathComponent("flags")
        try FileManager.default.createDirectory(at: flags, withIntermediateDirectories: true)
        try TestSupport.script("""
            #!/bin/sh
            # $1: the output, $2: the seed
            if [ "$FAIL_FIRST" = 1 ] && [ ! -e "$FLAG_DIR/tried-$2" ]; then
                touch "$FLAG_DIR/tried-$2"; echo "first attempt of seed $2 fails" >&2; exit 3
            fi
            sleep \(sleep)
            printf '{"seed": %s}\\n' "$2" > "$1"
            """, at: directory.appendingPathComponent("tool.sh"))
        let recipe = directory.appendingPathComponent("\(name).yaml")
        try """
            version: 1
            name: \(name)
            executor: \(executor)
            steps:
              things:
                uses: command
                program: ./tool.sh
                args: ["{output}", "{seed}"]
                output: json
                seeds: \(seeds)
                env: { FLAG_DIR: \(flags.path), FAIL_FIRST: "\(failFirst ? 1 : 0)" }
            """.write(to: recipe, atomically: true, encoding: .utf8)
        return recipe
    }

    @Test func aJobThatExitsNonZeroIsRetriedWithItsReasonRecorded() async throws {
        try SlurmTestCluster.require()
        let directory = try TestSupport.temporaryDirectory("synthset-slurm-retry")
        defer { try? FileManager.default.removeItem(at: directory) }
        let recipe = try Self.flakyRecipe(in: directory, name: "flaky", seeds: "[0, 1]", failFirst: true)
        let result = try await Self.run(["run", recipe.path, "--workspace", "ws", "--retries", "1"], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        let jobs = try Self.jobs(directory.appendingPathComponent("ws"))
        #expect(Self.submissions(jobs) .values.sorted() == [2, 2], "\(jobs.map { ($0.taskID, $0.attempt, $0.state) })")
        for job in jobs where job.attempt == 1 {
            #expect(job.state == "FAILED")
            // The worker exits 1 when items failed; Slurm says FAILED with that exit code.
            #expect(job.reason?.contains("Slurm job \(job.jobID ?? "?") ended FAILED (exit code 1:0") == true, "\(job.reason ?? "no reason")")
        }
        #expect(jobs.filter { $0.attempt == 2 }.allSatisfy { $0.state == "COMPLETED" && $0.reason == nil })
        let outputs = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("ws/outputs/things").path)
        #expect(outputs.filter { $0.hasSuffix(".json") }.count == 2)

        // Without retries the failure ends the run (exit 1) with the job's reason.
        let again = try Self.flakyRecipe(in: directory.appendingPathComponent("strict", isDirectory: true), name: "strict",
                                         seeds: "[0]", failFirst: true)
        let strict = try await Self.run(["run", again.path, "--workspace", "ws-strict", "--retries", "0"], in: directory)
        #expect(strict.status == 1, "\(strict.stderr)")
        #expect(strict.stderr.contains("./tool.sh ended with exit code 3"), "\(strict.stderr)")
    }

    @Test func anAttemptThatLeftItemsMissingIsRetriedForThoseItemsAlone() async throws {
        try SlurmTestCluster.require()
        let directory = try TestSupport.temporaryDirectory("synthset-slurm-partial")
        defer { try? FileManager.default.removeItem(at: directory) }
        // One batch of three; the first attempt writes only the first output.
        try TestSupport.script("""
            #!/usr/bin/env python3
            import json, os, sys
            entries = json.load(open(sys.argv[1]))
            flag = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tried")
            first = not os.path.exists(flag)
            open(flag, "a").close()
            for entry in entries[:1] if first else entries:
                open(entry["output"], "w").write(json.dumps({"seed": entry["seed"]}))
            """, at: directory.appendingPathComponent("batch.py"))
        let recipe = directory.appendingPathComponent("partial.yaml")
        try """
            version: 1
            name: partial
            executor: { kind: slurm, cpus_per_task: 1, mem_gb: 1 }
            steps:
              things: { uses: command, program: ./batch.py, args: ["{batch_file}"], per: batch, output: json, seeds: 0..2 }
            """.write(to: recipe, atomically: true, encoding: .utf8)
        let result = try await Self.run(["run", recipe.path, "--workspace", "ws", "--retries", "1"], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        let jobs = try Self.jobs(directory.appendingPathComponent("ws")).sorted { $0.attempt < $1.attempt }
        #expect(jobs.map(\.attempt) == [1, 2])
        #expect(jobs.map(\.items.count) == [3, 2], "the retry carries only the two missing items")
        #expect(jobs.first?.state == "FAILED" && jobs.last?.state == "COMPLETED")
        #expect(Set(jobs[1].items).isSubset(of: Set(jobs[0].items)))
    }

    @Test func aCoordinatorKilledMidRunAndRestartedSubmitsNoTaskTwice() async throws {
        try SlurmTestCluster.require()
        let directory = try TestSupport.temporaryDirectory("synthset-slurm-kill")
        defer { try? FileManager.default.removeItem(at: directory) }
        let recipe = try Self.flakyRecipe(in: directory, name: "slow", seeds: "0..5", sleep: 2, failFirst: false,
                                          executor: "{ kind: slurm, cpus_per_task: 1, mem_gb: 1, max_jobs: 2 }")
        let workspace = directory.appendingPathComponent("ws")
        let first = try TestSupport.launch(["run", recipe.path, "--workspace", workspace.path], in: directory, environment: Self.environment)
        // Kill it once it has jobs in flight (submitted, not yet ended).
        let deadline = Date().addingTimeInterval(60)
        var inFlight = 0
        while Date() < deadline {
            if let store = try? CheckpointStore.openForReading(path: workspace.appendingPathComponent("state.db")),
               let jobs = try? store.allClusterJobs() {
                inFlight = jobs.filter { $0.jobID != nil && !$0.settled }.count
                if inFlight >= 2 { break }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(inFlight >= 2, "the coordinator never had two jobs in flight")
        kill(first.process.processIdentifier, SIGKILL)
        await first.wait()
        #expect(first.process.terminationStatus == SIGKILL)
        let before = try Self.jobs(workspace)

        let second = try await Self.run(["run", recipe.path, "--workspace", workspace.path], in: directory)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("re-attached"), "\(second.stderr)")
        let jobs = try Self.jobs(workspace)
        #expect(jobs.count == 6)
        #expect(Self.submissions(jobs).values.allSatisfy { $0 == 1 }, "a task was submitted twice: \(Self.submissions(jobs))")
        #expect(jobs.allSatisfy { $0.state == "COMPLETED" && $0.attempt == 1 })
        // The jobs the killed coordinator submitted kept their ids: adopted, not resubmitted.
        for job in before where job.jobID != nil {
            #expect(jobs.first { $0.id == job.id }?.jobID == job.jobID)
        }
    }

    /// Waits until the store shows `count` submissions with a job id not yet settled.
    static func waitForJobsInFlight(_ workspace: URL, count: Int) async throws -> [ClusterJobRecord] {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let store = try? CheckpointStore.openForReading(path: workspace.appendingPathComponent("state.db")),
               let jobs = try? store.allClusterJobs().filter({ $0.jobID != nil && !$0.settled }), jobs.count >= count {
                return jobs
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("no \(count) jobs in flight after 60 s")
        return []
    }

    @Test func ctrlCLeavesJobsRunningAndCancelOnInterruptCancelsThem() async throws {
        try SlurmTestCluster.require()
        let directory = try TestSupport.temporaryDirectory("synthset-slurm-interrupt")
        defer { try? FileManager.default.removeItem(at: directory) }
        let recipe = try Self.flakyRecipe(in: directory, name: "interrupted", seeds: "[0, 1]", sleep: 120, failFirst: false)
        let workspace = directory.appendingPathComponent("ws")
        let first = try TestSupport.launch(["run", recipe.path, "--workspace", workspace.path], in: directory, environment: Self.environment)
        let submitted = try await Self.waitForJobsInFlight(workspace, count: 2)
        kill(first.process.processIdentifier, SIGINT)
        let interrupted = await first.result()
        #expect(interrupted.status == 130, "\(interrupted.stderr)")
        #expect(interrupted.stderr.contains("2 Slurm job(s) keep running"), "\(interrupted.stderr)")
        let queue = try await SlurmClient().queue()
        for job in submitted {
            let state = try #require(SlurmClient.status(of: job.jobID!, in: queue)?.state)
            #expect(["PENDING", "RUNNING"].contains(state), "job \(job.jobID!) is \(state) after Ctrl-C")
        }

        let second = try TestSupport.launch(["run", recipe.path, "--workspace", workspace.path, "--cancel-on-interrupt"],
                                            in: directory, environment: Self.environment)
        // Once it has re-attached (its run is recorded and it polled), interrupt it too.
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, !((try? String(contentsOf: second.stderr, encoding: .utf8)) ?? "").contains("re-attached") {
            try await Task.sleep(for: .milliseconds(100))
        }
        kill(second.process.processIdentifier, SIGINT)
        let cancelled = await second.result()
        #expect(cancelled.status == 130, "\(cancelled.stderr)")
        let jobs = try Self.jobs(workspace)
        #expect(jobs.count == 2 && jobs.allSatisfy { $0.settled && $0.state == "CANCELLED" }, "\(jobs.map { ($0.jobID, $0.state) })")
        var states: [String?] = []
        var listed: [String] = []
        for _ in 0..<50 {
            let after = try await SlurmClient().queue()
            states = submitted.map { SlurmClient.status(of: $0.jobID!, in: after)?.state }
            listed = after.values.filter { $0.name == submitted[0].jobName }.map { "\($0.id) \($0.state)" }
            if states == ["CANCELLED", "CANCELLED"] { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(states == ["CANCELLED", "CANCELLED"], "\(submitted.map(\.jobID)): \(states); squeue lists \(listed)")
    }

    /// The checks `doctor` runs for a cluster run, against the test cluster.
    @Test func clusterChecksPassOnTheTestCluster() async throws {
        try SlurmTestCluster.require()
        let commands = await ClusterChecks.slurmCommands()
        #expect(!commands.contains { $0.severity == .error }, "\(commands)")
        // The test cluster keeps no accounting: said as a note.
        #expect(commands.contains { $0.severity == .note && $0.message.contains("sacct") }, "\(commands)")
        let directory = try TestSupport.temporaryDirectory("synthset-slurm-doctor")
        defer { try? FileManager.default.removeItem(at: directory) }
        let shared = await ClusterChecks.sharedFilesystem(workspace: Workspace(root: directory), settings: ExecutorSettings(kind: .slurm))
        #expect(shared.isEmpty, "\(shared)")
        let wrongPartition = await ClusterChecks.sharedFilesystem(workspace: Workspace(root: directory),
                                                                  settings: ExecutorSettings(kind: .slurm, partition: "nosuchpartition"))
        #expect(wrongPartition.first?.message.contains("the test job failed") == true, "\(wrongPartition)")
    }

    /// `synthset doctor` on a cluster recipe runs the cluster's checks instead of the local
    /// GPUs'; without Slurm's commands they fail with a fix and doctor exits 2.
    @Test func doctorRunsTheClusterChecks() async throws {
        try SlurmTestCluster.require()
        let directory = try TestSupport.temporaryDirectory("synthset-slurm-doctor-cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let recipe = try Self.flakyRecipe(in: directory, name: "doctor", seeds: "[0]", failFirst: false)
        let workspace = directory.appendingPathComponent("ws").path
        func clusterChecks(_ result: TestSupport.Result) throws -> [[String: Any]] {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)")
            return (object["checks"] as? [[String: Any]] ?? []).filter { ($0["name"] as? String)?.hasPrefix("cluster: ") == true }
        }
        let ready = try await Self.run(["doctor", recipe.path, "--json", "--workspace", workspace], in: directory)
        let passed = try clusterChecks(ready)
        #expect(passed.count == 2, "\(ready.stdout)")
        #expect(passed.allSatisfy { $0["status"] as? String == "ok" }, "\(passed)")

        var environment = Self.environment
        environment["PATH"] = directory.appendingPathComponent("no-slurm-here").path
        let missing = try await TestSupport.run(["doctor", recipe.path, "--json", "--workspace", workspace], in: directory, environment: environment)
        #expect(missing.status == 2)
        let commands = try #require(try clusterChecks(missing).first { ($0["name"] as? String)?.contains("Slurm commands") == true })
        #expect(commands["status"] as? String == "failed")
        #expect((commands["detail"] as? String)?.contains("sbatch is not on PATH") == true, "\(commands)")
        #expect((commands["fix"] as? String)?.isEmpty == false)
    }

    /// The narrowest window: Slurm accepted the job but the coordinator died before it
    /// read the id. An `sbatch` shim on PATH submits for real, then SIGKILLs its parent.
    @Test func aCoordinatorKilledBeforeSbatchAnsweredFindsItsJobByName() async throws {
        try SlurmTestCluster.require()
        let directory = try TestSupport.temporaryDirectory("synthset-slurm-window")
        defer { try? FileManager.default.removeItem(at: directory) }
        let recipe = try Self.flakyRecipe(in: directory, name: "window", seeds: "[0, 1]", sleep: 1, failFirst: false)
        let shims = directory.appendingPathComponent("shims", isDirectory: true)
        try FileManager.default.createDirectory(at: shims, withIntermediateDirectories: true)
        let real = try #require(ToolSupport.findExecutable("sbatch"))
        try TestSupport.script("""
            #!/bin/sh
            out=$("\(real)" "$@"); rc=$?
            kill -KILL $PPID
            echo "$out"; exit $rc
            """, at: shims.appendingPathComponent("sbatch"))
        let workspace = directory.appendingPathComponent("ws")
        var environment = Self.environment
        environment["PATH"] = shims.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let killed = try await TestSupport.run(["run", recipe.path, "--workspace", workspace.path], in: directory, environment: environment)
        #expect(killed.status == SIGKILL + 128 || killed.status == SIGKILL, "\(killed.status) \(killed.stderr)")
        let before = try Self.jobs(workspace)
        #expect(before.count == 2 && before.allSatisfy { $0.jobID == nil && $0.state == "SUBMITTING" }, "\(before.map { ($0.jobID, $0.state) })")

        let again = try await Self.run(["run", recipe.path, "--workspace", workspace.path], in: directory)
        #expect(again.status == 0, "\(again.stderr)")
        let jobs = try Self.jobs(workspace)
        #expect(jobs.count == 2 && jobs.allSatisfy { $0.state == "COMPLETED" && $0.jobID != nil }, "\(jobs.map { ($0.jobID, $0.state) })")
        // One array reached Slurm under that name: the restart adopted it, it did not submit another.
        let queue = try await SlurmClient().queue()
        let arrays = Set(queue.values.filter { $0.name == before[0].jobName }.map { $0.id.split(separator: "_")[0] })
        #expect(arrays.count == 1, "\(arrays)")
    }

    @Test func detachSubmitsAndExitsAndALaterRunPicksTheJobsUp() async throws {
        try SlurmTestCluster.require()
        let directory = try TestSupport.temporaryDirectory("synthset-slurm-detach")
        defer { try? FileManager.default.removeItem(at: directory) }
        let recipe = try Self.flakyRecipe(in: directory, name: "detached", seeds: "[0, 1]", sleep: 2, failFirst: false)
        let workspace = directory.appendingPathComponent("ws")
        // --partition and --account reach sbatch: Slurm shows them on the queued jobs (the
        // test cluster keeps no accounting database, so any account name is taken).
        let detached = try await Self.run(["run", recipe.path, "--workspace", workspace.path, "--detach",
                                           "--partition", "debug", "--account", "vision"], in: directory)
        #expect(detached.status == 0, "\(detached.stderr)")
        #expect(detached.stderr.contains("2 Slurm job(s) queued or running"), "\(detached.stderr)")
        let queued = try Self.jobs(workspace).filter { !$0.settled }
        #expect(queued.count == 2)
        for job in queued {
            let shown = try await ProcessRunner.capture("scontrol", arguments: ["show", "job", "--oneliner", try #require(job.jobID)]).text
            #expect(shown.contains("Account=vision") && shown.contains("Partition=debug"), "\(shown)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("detached.yaml.lock").path))

        let status = try await Self.run(["status", recipe.path, "--workspace", workspace.path], in: directory)
        #expect(status.stdout.contains("2 Slurm job(s) in flight"), "\(status.stdout)")

        let later = try await Self.run(["run", recipe.path, "--workspace", workspace.path], in: directory)
        #expect(later.status == 0, "\(later.stderr)")
        let jobs = try Self.jobs(workspace)
        #expect(jobs.count == 2 && jobs.allSatisfy { $0.settled && $0.state == "COMPLETED" })
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("detached.yaml.lock").path))
    }
}

/// What needs no cluster: the manifest's `executor:`, the shapes and time limits of jobs,
/// `plan --executor slurm`, and the worker's reading of its GPUs.
struct ClusterPlanningTests {
    static func load(_ yaml: String) -> WorkflowLoader.Result {
        WorkflowLoader().load(text: yaml, file: "w.yaml", directory: URL(fileURLWithPath: "/tmp"))
    }

    static let steps = """
        steps:
          scenes: { uses: procedural/scenes, seeds: 0..3, objects: { can: { shape: cylinder, colors: [red] } } }
        """

    @Test func executorBlockIsParsed() throws {
        let result = Self.load("""
            version: 1
            name: w
            executor: { kind: slurm, partition: gpu, account: vision, max_jobs: 8, cpus_per_task: 2, mem_gb: 12, time_margin: 2 }
            \(Self.steps)
            """)
        let settings = try #require(result.workflow?.executor, "\(result.diagnostics)")
        #expect(settings == ExecutorSettings(kind: .slurm, partition: "gpu", account: "vision", maxJobs: 8, cpusPerTask: 2,
                                             memoryGB: 12, timeMargin: 2))
    }

    @Test(arguments: [
        ("executor: { kind: pbs }", "3:19: error: unknown executor 'pbs'"),
        ("executor: { kind: slurm, partition: \"a b\" }", "3:37: error: executor.partition 'a b' is not a Slurm partition name"),
        ("executor: { max_jobs: 0 }", "3:23: error: executor.max_jobs must be at least 1"),
        ("executor: { queue: gpu }", "3:13: error: unknown key 'queue'"),
    ])
    func executorBlockErrorsAreLocated(line: String, expected: String) throws {
        let result = Self.load("version: 1\nname: w\n\(line)\n\(Self.steps)")
        let rendered = result.diagnostics.map(\.description).joined(separator: "\n")
        #expect(rendered.contains(expected), "\(rendered)")
        #expect(result.workflow == nil)
    }

    @Test func timeLimitsAddAMarginToTheEstimate() {
        let settings = ExecutorSettings()
        #expect(ClusterJobShape.timeLimitMinutes(seconds: 1, settings: settings) == 10)
        #expect(ClusterJobShape.timeLimitMinutes(seconds: 3600, settings: settings) == 95)
        #expect(ClusterJobShape.timeLimitMinutes(seconds: 3600, settings: ExecutorSettings(timeMargin: 3)) == 185)
        #expect(ClusterJobShape.timeLimit(minutes: 95) == "01:35:00")
        #expect(ClusterJobShape.timeLimit(minutes: 3 * 1440 + 61) == "3-01:01:00")
    }

    @Test func planShowsTheSlurmJobsWithArraysAndTimeLimits() async throws {
        let result = try await TestSupport.run(["plan", TestSupport.packageRoot.appendingPathComponent("workflows/demo-export.yaml").path,
                                                "--executor", "slurm", "--max-jobs", "4", "--partition", "cpu"],
                                               in: FileManager.default.temporaryDirectory)
        #expect(result.status == 0, "\(result.stderr)")
        // 8 scene tasks: two arrays of 4 (the cap); the export: one job.
        #expect(result.stdout.contains("slurm: 3 submissions (9 jobs) when every task is ready, partition cpu"), "\(result.stdout)")
        #expect(result.stdout.contains("scenes   array of 4 (%4)  -     1     2G   00:10:00"), "\(result.stdout)")
        #expect(result.stdout.contains("dataset  1 job"), "\(result.stdout)")
        let gpu = try await TestSupport.run(["plan", TestSupport.packageRoot.appendingPathComponent("workflows/can-factory-h100.yaml").path,
                                             "--executor", "slurm"], in: FileManager.default.temporaryDirectory)
        #expect(gpu.stdout.contains("gpu:1"), "\(gpu.stdout)")
    }

    @Test func planJSONCarriesTheSlurmJobs() async throws {
        let recipe = TestSupport.packageRoot.appendingPathComponent("workflows/demo-export.yaml").path
        let result = try await TestSupport.run(["plan", recipe, "--format", "json", "--executor", "slurm", "--max-jobs", "4",
                                                "--partition", "cpu", "--account", "vision"],
                                               in: FileManager.default.temporaryDirectory)
        #expect(result.status == 0, "\(result.stderr)")
        let plan = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let cluster = try #require(plan["cluster"] as? [String: Any], "\(plan.keys.sorted())")
        #expect(cluster["executor"] as? String == "slurm")
        #expect(cluster["partition"] as? String == "cpu")
        #expect(cluster["account"] as? String == "vision")
        #expect(cluster["max_jobs"] as? Int == 4)
        let jobs = try #require(cluster["jobs"] as? [[String: Any]])
        // As the table: 8 scene tasks in two arrays of 4, then the export's one job.
        #expect(jobs.map { $0["step"] as? String } == ["scenes", "scenes", "dataset"])
        #expect(jobs.map { $0["tasks"] as? Int } == [4, 4, 1])
        #expect(jobs.map { $0["concurrency"] as? Int } == [4, 4, nil])
        #expect(jobs.allSatisfy { $0["time_limit"] as? String == "00:10:00" })
        // Every task of the plan is in exactly one job, under its plan id.
        let planned = try #require(plan["tasks"] as? [[String: Any]]).compactMap { $0["id"] as? String }
        let submitted = jobs.flatMap { $0["task_ids"] as? [String] ?? [] }
        #expect(submitted.sorted() == planned.sorted() && !planned.isEmpty)
        // The key sorts in among the plan's own; without the executor there is none.
        #expect(result.stdout.contains("\"catalog_version\"") && result.stdout.range(of: "\"cluster\"")!.lowerBound
                    < result.stdout.range(of: "\"diagnostics\"")!.lowerBound)
        let local = try await TestSupport.run(["plan", recipe, "--format", "json"], in: FileManager.default.temporaryDirectory)
        #expect(local.status == 0 && !local.stdout.contains("\"cluster\""))
        let uploads = try await TestSupport.run(["plan", TestSupport.packageRoot.appendingPathComponent("workflows/can-factory-h100.yaml").path,
                                                 "--format", "json", "--executor", "slurm"], in: FileManager.default.temporaryDirectory)
        let gpuPlan = try #require(try JSONSerialization.jsonObject(with: Data(uploads.stdout.utf8)) as? [String: Any])
        let gpuJobs = try #require((gpuPlan["cluster"] as? [String: Any])?["jobs"] as? [[String: Any]])
        #expect(gpuJobs.contains { $0["gpus"] as? Int == 1 })
    }

    @Test func detachWithoutTheSlurmExecutorIsAUsageError() async throws {
        let result = try await TestSupport.run(["run", TestSupport.packageRoot.appendingPathComponent("workflows/demo.yaml").path,
                                                "--detach", "--workspace", "/nonexistent/never"], in: FileManager.default.temporaryDirectory)
        #expect(result.status == 2)
        #expect(result.stderr.contains("--detach and --cancel-on-interrupt need --executor slurm"), "\(result.stderr)")
    }

    @Test func slurmWithoutSbatchIsALocatedErrorThatWritesNothing() async throws {
        let directory = try TestSupport.temporaryDirectory("synthset-no-sbatch")
        defer { try? FileManager.default.removeItem(at: directory) }
        let recipe = directory.appendingPathComponent("w.yaml")
        try "version: 1\nname: w\nexecutor: { kind: slurm }\n\(Self.steps)\n".write(to: recipe, atomically: true, encoding: .utf8)
        let result = try await TestSupport.run(["run", recipe.path], in: directory, environment: ["PATH": directory.path])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("w.yaml:3:1: error: --executor slurm needs sbatch, which is not on PATH"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent(".synthset").path))
    }

    @Test func arrayElementsListedAsOneLineAreExpanded() {
        #expect(SlurmClient.expand("12") == ["12"])
        #expect(SlurmClient.expand("12_3") == ["12_3"])
        #expect(SlurmClient.expand("12_[0-2,5%2]") == ["12_0", "12_1", "12_2", "12_5"])
    }

    @Test func workerTakesItsGPUsFromSlurm() {
        // Slots into the devices Slurm bound, which the tool then sees by their names.
        #expect(ClusterWorker.gpus(["CUDA_VISIBLE_DEVICES": "1"]) == [0])
        #expect(VisibleDevices.names(of: [0], visible: ["1"]) == ["1"])
        #expect(ClusterWorker.gpus(["CUDA_VISIBLE_DEVICES": "0,1"]) == [0, 1])
        #expect(ClusterWorker.gpus(["CUDA_VISIBLE_DEVICES": "GPU-5f1c"]) == [0])
        #expect(ClusterWorker.gpus([:]) == [])
    }
}

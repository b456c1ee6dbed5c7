import Foundation
import WorkspaceStore
import WorkflowSpec

/// What `synthset doctor` checks before a cluster run (`--executor slurm`, or
/// `executor: { kind: slurm }`): Slurm's commands answer, and the workspace is visible
/// from the compute nodes. Each returns diagnostics, empty when all is well; the CLI
/// renders them.
public enum ClusterChecks {
    /// `sbatch`, `squeue` and `scancel` are on PATH and slurmctld answers `squeue`.
    public static func slurmCommands() async -> [Diagnostic] {
        var problems: [Diagnostic] = []
        for command in ["sbatch", "squeue", "scancel", "scontrol"] where ToolSupport.findExecutable(command) == nil {
            problems.append(Diagnostic(.error, "\(command) is not on PATH",
                                       hint: "run synthset where jobs are submitted (a login node), or install slurm-client"))
        }
        guard problems.isEmpty else { return problems }
        do {
            _ = try await SlurmClient().queue()
        } catch {
            problems.append(Diagnostic(.error, "squeue does not answer: \(error)",
                                       hint: "check that slurmctld runs and that munge works (munge -n | unmunge)"))
        }
        let sacct = try? await ProcessRunner.capture("sacct", arguments: ["--noheader", "--allocations", "--starttime=now"])
        if sacct?.succeeded != true {
            problems.append(Diagnostic(.note, "sacct has no accounting here",
                                       hint: "jobs are tracked with squeue while the cluster keeps them (MinJobAge); a job purged before the coordinator saw it end is judged by its completion records"))
        }
        return problems
    }

    /// Submits one tiny job that copies a token file the coordinator wrote in the
    /// workspace to another name there, and waits for it (`sbatch --wait`, at most
    /// `timeout` seconds): the nodes see the workspace when the copy arrives. Without it
    /// every job would fail to read its job file.
    public static func sharedFilesystem(workspace: Workspace, settings: ExecutorSettings, timeout: Duration = .seconds(120)) async -> [Diagnostic] {
        let folder = workspace.cluster.appendingPathComponent("probe-\(UUID().uuidString.prefix(8))", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let token = folder.appendingPathComponent("token"), answer = folder.appendingPathComponent("answer")
        let script = folder.appendingPathComponent("job.sh")
        let secret = UUID().uuidString
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(secret.utf8).write(to: token)
            try Data(SlurmExecutor.jobScript.utf8).write(to: script)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        } catch {
            return [Diagnostic(.error, "cannot write in the workspace \(workspace.root.path): \(error)", hint: "pass --workspace with a writable folder on the shared file system")]
        }
        var arguments = ["--wait", "--job-name=synthset-doctor", "--time=1", "--mem=64M", "--cpus-per-task=1",
                         "--output=" + folder.appendingPathComponent("slurm-%j.out").path, "--chdir=\(folder.path)"]
        if let partition = settings.partition { arguments.append("--partition=\(partition)") }
        if let account = settings.account { arguments.append("--account=\(account)") }
        arguments += [script.path, "/bin/cp", token.path, answer.path]
        let submitted = Task { try await SlurmClient().submit(arguments: arguments, workingDirectory: folder) }
        let timer = Task { try await Task.sleep(for: timeout); submitted.cancel() }
        defer { timer.cancel() }
        do {
            _ = try await submitted.value
        } catch is CancellationError {
            return [Diagnostic(.warning, "the test job did not finish within \(timeout.components.seconds) s (queued behind other work?), so the shared file system is unchecked",
                               hint: "run doctor again when the partition is less busy")]
        } catch {
            return [Diagnostic(.error, "the test job failed: \(error)", hint: "see \(folder.path)/slurm-*.out")]
        }
        guard (try? String(contentsOf: answer, encoding: .utf8)) == secret else {
            return [Diagnostic(.error, "the compute nodes do not see the workspace \(workspace.root.path) (a job there could not read a file written here)",
                               hint: "put the workspace on a file system the nodes mount at the same path (--workspace /shared/...)")]
        }
        return []
    }
}

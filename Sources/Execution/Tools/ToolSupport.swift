import Basics
import Foundation
import Planning
import Synchronization
import WorkflowSpec

/// Locating external tools from `tools:` and turning `options:` into CLI flags, shared
/// by the Cosmos and ffmpeg adapters.
enum ToolSupport {
    /// A path from the manifest: `~` expanded, absolute kept, relative resolved against
    /// the manifest's folder (the tool runs with its own working directory, so every path
    /// handed to it must be absolute).
    static func absolutePath(_ value: String, workflow: Workflow) -> String {
        if value.hasPrefix("~") { return (value as NSString).expandingTildeInPath }
        if value.hasPrefix("/") { return value }
        return workflow.directory.appendingPathComponent(value).standardizedFileURL.path
    }

    /// A program: a bare name stays for the `PATH` lookup; anything else is a path.
    static func program(_ value: String, workflow: Workflow) -> String {
        value.contains("/") || value.hasPrefix("~") ? absolutePath(value, workflow: workflow) : value
    }

    /// The checkout of a tool family (`tools.<family>.root`), absolute.
    static func root(_ family: String, workflow: Workflow) -> URL? {
        guard let root = workflow.tools[family]?.root else { return nil }
        return URL(fileURLWithPath: absolutePath(root, workflow: workflow), isDirectory: true).standardizedFileURL
    }

    /// The interpreter of a tool family (`tools.<family>.python`, default `python3`).
    static func python(_ family: String, workflow: Workflow) -> String {
        program(workflow.tools[family]?.python ?? "python3", workflow: workflow)
    }

    /// The absolute path of an executable (a path, or a name found in `PATH`), nil if none.
    static func findExecutable(_ program: String, environment: [String: String] = [:]) -> String? {
        let spec = ProcessSpec(executable: program, environment: environment,
                               workingDirectory: URL(fileURLWithPath: "/"), logFile: URL(fileURLWithPath: "/dev/null"))
        return try? ProcessRunner.resolveExecutable(spec)
    }

    /// `options:` as CLI flags, in the tool's option order: a bool is a bare flag when
    /// true and nothing when false; any other value is `--name value` (paths absolute).
    static func flags(_ step: Step, workflow: Workflow, only names: Set<String>? = nil, excluding: Set<String> = []) -> [String] {
        var arguments: [String] = []
        for spec in step.tool.options where !excluding.contains(spec.name) && (names?.contains(spec.name) ?? true) {
            guard let value = step.options[spec.name] else { continue }
            switch value {
            case .bool(let flag):
                if flag { arguments.append("--\(spec.name)") }
            case .string(let text):
                arguments += ["--\(spec.name)", spec.kind == .path ? absolutePath(text, workflow: workflow) : text]
            case .int, .number:
                arguments += ["--\(spec.name)", value.description]
            }
        }
        return arguments
    }

    /// Where a tool's configuration dump is kept after the scratch folder is removed:
    /// beside the task's log (`<task>-r<run>-a<n>.<suffix>`).
    static func provenanceURL(logFile: URL, suffix: String) -> URL {
        logFile.deletingPathExtension().appendingPathExtension(suffix)
    }

    /// Groups by key: groups in order of first appearance, items in their order.
    static func orderedGroups<T>(_ items: [T], key: (T) -> String) -> [[T]] {
        var order: [String] = []
        var groups: [String: [T]] = [:]
        for item in items {
            let k = key(item)
            if groups[k] == nil { order.append(k) }
            groups[k, default: []].append(item)
        }
        return order.map { groups[$0]! }
    }

    static func fileSize(_ url: URL) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? nil
    }

    static func exists(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.path) }

    /// Writes a line to the task's log (what synthset ran and why items failed): appended,
    /// the file created if missing, nothing said if it cannot be written.
    static func log(_ text: String, to logFile: URL) {
        let fd = open(logFile.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        Array((text + "\n").utf8).withUnsafeBytes { _ = UnsyncedFile.writeAll($0, to: fd) }
    }

    /// A shell-like rendering of a command line, for the log: an argument that is empty
    /// or holds a space, a quote, a backslash, `$`, a backtick or a newline is
    /// single-quoted, its own single quotes written as `'\\''`.
    static func commandLine(_ arguments: [String]) -> String {
        var line: [UInt8] = []
        for (index, argument) in arguments.enumerated() {
            if index > 0 { line.append(UInt8(ascii: " ")) }
            let bytes = argument.utf8
            guard bytes.isEmpty || bytes.contains(where: isShellSpecial) else {
                line.append(contentsOf: bytes)
                continue
            }
            line.append(UInt8(ascii: "'"))
            for byte in bytes {
                if byte == UInt8(ascii: "'") { line.append(contentsOf: "'\\''".utf8) } else { line.append(byte) }
            }
            line.append(UInt8(ascii: "'"))
        }
        return String(decoding: line, as: UTF8.self)
    }

    private static func isShellSpecial(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: " "), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "\\"), UInt8(ascii: "$"),
             UInt8(ascii: "`"), UInt8(ascii: "\n"): true
        default: false
        }
    }
}

/// One output a batch tool is expected to write.
struct ExpectedOutput: Sendable {
    var item: PlannedItem
    /// Where the tool writes it (in scratch space).
    var file: URL
    /// Files the tool writes after the output, each with its workspace destination. The
    /// first one doubles as the "output complete" marker while the tool still runs.
    var companions: [(file: URL, destination: String)]
}

/// Runs a batch tool and hands over each expected output as soon as it is complete (its
/// sidecar exists and its size held still for one poll), so an interrupted batch keeps
/// what it finished; after the tool exits, a sweep hands over the rest.
struct BatchCollector: Sendable {
    var pollInterval: Duration = .seconds(1)

    struct Result: Sendable {
        var outcome: ProcessOutcome
        var handedOver: Set<String>
    }

    /// Whether the process ended, and the poll's current nap, which its end cuts short.
    final class Flag: Sendable {
        let state = Mutex<(finished: Bool, nap: Task<Void, Never>?)>((false, nil))

        var finished: Bool { state.withLock { $0.finished } }

        func finish() {
            state.withLock { state -> Task<Void, Never>? in
                state.finished = true
                return state.nap
            }?.cancel()
        }

        /// Sleeps for `duration`, or less when the process ends first. A whole poll
        /// interval after every exit was most of a short `command` item's time.
        func nap(_ duration: Duration) async {
            let nap = Task { _ = try? await Task.sleep(for: duration) }
            let finished = state.withLock { state in
                state.nap = nap
                return state.finished
            }
            if finished { nap.cancel() }
            await withTaskCancellationHandler { await nap.value } onCancel: { nap.cancel() }
        }
    }

    /// Runs `spec`; `ended` is called once its process has exited with 0 (not when it
    /// could not start, nor when it failed), before the outputs it left are handed over (``ProcessRunner/run(_:gracePeriod:exited:)``).
    /// `slot` is taken just before the process starts (``ProcessRunner/run(_:gracePeriod:exited:slot:)``).
    func run(_ spec: ProcessSpec, expected: [ExpectedOutput], gracePeriod: Duration, ended: (@Sendable () -> Void)? = nil,
             slot: SlotTicket? = nil, produced: @Sendable (ProducedOutput) async -> Void) async throws -> Result {
        var handed = Set<String>()
        var lastSizes: [String: Int] = [:]
        let outcome: ProcessOutcome
        // A tool that failed keeps its slot until its attempt is over: without
        // `--keep-going` the run stops then, and must not have started another tool.
        var exited: (@Sendable (ProcessOutcome.Status) -> Void)?
        if let ended {
            exited = { status in if status == .exited(0) { ended() } }
        }
        // Only an output with a sidecar can be trusted before the tool exits: without any,
        // there is nothing to poll for (a task, a nap and a timer per tool run, much of a
        // one-line `command`'s cost besides its process), and nothing to save on Ctrl-C.
        guard expected.contains(where: { !$0.companions.isEmpty }) else {
            outcome = try await ProcessRunner.run(spec, gracePeriod: gracePeriod, exited: exited, slot: slot)
            return await handOverAfterExit(outcome, expected: expected, handed: handed, produced: produced)
        }
        let finished = Flag()
        let process = Task {
            defer { finished.finish() }
            return try await ProcessRunner.run(spec, gracePeriod: gracePeriod, exited: exited, slot: slot)
        }
        do {
            outcome = try await watch(process, finished: finished, expected: expected, handed: &handed, lastSizes: &lastSizes, produced: produced)
        } catch is CancellationError {
            // Stopped (Ctrl-C): what the tool finished before it ended, sidecar and all,
            // is still committed, outside the cancelled task (its checks start programs).
            for output in expected where !handed.contains(output.item.id) {
                guard let marker = output.companions.first?.file, ToolSupport.exists(marker),
                      let size = ToolSupport.fileSize(output.file), size > 0 else { continue }
                handed.insert(output.item.id)
                await withoutActuallyEscaping(produced) { produced in
                    await Task { await produced(Self.handOver(output)) }.value
                }
            }
            throw CancellationError()
        }
        return await handOverAfterExit(outcome, expected: expected, handed: handed, produced: produced)
    }

    /// Hands over what the ended tool left. After a clean exit every written file is
    /// complete; after a crash only those whose sidecar (written after the output) exists
    /// are trusted.
    private func handOverAfterExit(_ outcome: ProcessOutcome, expected: [ExpectedOutput], handed: Set<String>,
                                   produced: @Sendable (ProducedOutput) async -> Void) async -> Result {
        var handed = handed
        for output in expected where !handed.contains(output.item.id) && ToolSupport.exists(output.file) {
            // A failed invocation's files without such a marker are never trusted (a
            // `command` or ffmpeg that wrote a third of its file and exited 1): none of
            // them is committed.
            if !outcome.succeeded {
                guard let marker = output.companions.first?.file, ToolSupport.exists(marker) else { continue }
            }
            handed.insert(output.item.id)
            await produced(Self.handOver(output))
        }
        return Result(outcome: outcome, handedOver: handed)
    }

    /// Polls for complete outputs while the process runs; its outcome.
    private func watch(_ process: Task<ProcessOutcome, any Error>, finished: Flag, expected: [ExpectedOutput],
                       handed: inout Set<String>, lastSizes: inout [String: Int],
                       produced: @Sendable (ProducedOutput) async -> Void) async throws -> ProcessOutcome {
        try await withTaskCancellationHandler {
            while !finished.finished && !Task.isCancelled {
                await finished.nap(pollInterval)
                if Task.isCancelled || finished.finished { break }
                for output in expected where !handed.contains(output.item.id) {
                    guard let marker = output.companions.first?.file, ToolSupport.exists(marker),
                          let size = ToolSupport.fileSize(output.file), size > 0 else { continue }
                    if lastSizes[output.item.id] == size {
                        handed.insert(output.item.id)
                        await produced(Self.handOver(output))
                    } else {
                        lastSizes[output.item.id] = size
                    }
                }
            }
            return try await process.value
        } onCancel: {
            process.cancel()
        }
    }

    static func handOver(_ output: ExpectedOutput) -> ProducedOutput {
        ProducedOutput(itemID: output.item.id, file: output.file,
                       companions: output.companions.filter { ToolSupport.exists($0.file) })
    }
}

extension PlannedItem {
    /// The item's file name in scratch space (`<id16>.jpg`).
    var scratchName: String { fileName }
}

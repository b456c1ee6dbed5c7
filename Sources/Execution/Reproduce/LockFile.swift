import Basics
import Datasets
import Foundation
import Planning
import WorkflowSpec
import WorkspaceStore

/// `<recipe>.lock`: what a complete run of a recipe produced, as deterministic text made
/// for `git diff` (one entry a line, sorted, no timestamps, no machine paths).
///
///     synthset-lock 1
///     workflow demo
///     recipe demo.yaml sha256 <hex>
///     plan <hex>
///     prompt can_line[0] <sha256 of text> "A conveyor belt ..."
///     prompt-file enhanced prompts/x.json <sha256 of file>
///     prompt enhanced[0] <sha256 of text>
///     file labels.script tools/label.py <sha256 of file>
///     tool cosmos-predict2 git <commit>
///     tool synthset 0.1.0
///     item <step> <id> <sha256> <bytes> <path>
///     result <step> <id> <sha256> <bytes> <path>
///     metrics <step> <id16> fraction=1 split=test images=84 map50=0.91 map50_95=0.62 precision=0.88 recall=0.85
///     fingerprint <hex> export 1
///
/// `result` lines are measured results (``ToolKind/Output/isMeasured``: trainings), which
/// are not bit-reproducible across machines: recorded, but kept out of the fingerprint
/// and not checked by `verify` or `run --frozen`. `metrics` lines give what each
/// training measured, per evaluated split (``TrainingMetrics``), so `synthset diff` can
/// say what a recipe change did to accuracy.
/// `file` lines record the user files a step runs (a labeling script, a command's
/// program given by path), whose content is part of their items' ids.
/// Sections come in that order. Prompts are sorted by set (file order) then index; tools
/// by name; items by step (the plan's pipeline order) then id. Prompt text from templates
/// and inline prompts is written out (JSON-quoted) so a diff shows the words; prompts from
/// files are recorded by content hash only. The fingerprint is SHA-256 over the sorted
/// sha256s (one per line) of the `export` steps' items, or of the leaf steps' items
/// (steps nothing reads from) when the workflow has no export step; the line says which
/// and how many.
public struct LockFile: Sendable, Equatable {
    public static let header = "synthset-lock 1"

    public struct Item: Sendable, Equatable, Codable {
        public var step: String
        public var id: String
        public var sha256: String
        public var bytes: Int64
        public var path: String

        public init(step: String, id: String, sha256: String, bytes: Int64, path: String) {
            self.step = step
            self.id = id
            self.sha256 = sha256
            self.bytes = bytes
            self.path = path
        }
    }

    public var workflow: String
    public var recipeFile: String
    public var recipeSHA256: String
    public var planHash: String
    /// Prompt lines without the leading keyword (`prompt ` / `prompt-file `), in order.
    public var prompts: [String]
    /// File lines without the leading `file `: `<step>.<key> <path> <sha256>`.
    public var files: [String] = []
    public var tools: [String: String]
    public var items: [Item]
    /// Measured results (`result` lines), in the order of ``items``.
    public var results: [Item] = []
    /// `metrics` lines without the leading keyword, sorted.
    public var metrics: [String] = []
    public var fingerprint: String
    /// `export` or `leaf`: whose items the fingerprint covers.
    public var fingerprintScope: String
    public var fingerprintCount: Int

    public init(workflow: String, recipeFile: String, recipeSHA256: String, planHash: String, prompts: [String],
                tools: [String: String], items: [Item], fingerprint: String, fingerprintScope: String, fingerprintCount: Int) {
        self.workflow = workflow
        self.recipeFile = recipeFile
        self.recipeSHA256 = recipeSHA256
        self.planHash = planHash
        self.prompts = prompts
        self.tools = tools
        self.items = items
        self.fingerprint = fingerprint
        self.fingerprintScope = fingerprintScope
        self.fingerprintCount = fingerprintCount
    }

    /// The lock file of a recipe: the recipe's path with `.lock` appended
    /// (`workflows/demo.yaml` → `workflows/demo.yaml.lock`).
    public static func url(forRecipe file: String) -> URL {
        URL(fileURLWithPath: (file as NSString).expandingTildeInPath + ".lock")
    }

    public var text: String {
        var lines = [Self.header, "workflow \(workflow)", "recipe \(recipeFile) sha256 \(recipeSHA256)", "plan \(planHash)"]
        lines += prompts.map { $0.hasPrefix("file ") ? "prompt-\($0)" : "prompt \($0)" }
        lines += files.map { "file \($0)" }
        lines += tools.keys.sorted().map { "tool \($0) \(tools[$0] ?? "unknown")" }
        lines += items.map { "item \($0.step) \($0.id) \($0.sha256) \($0.bytes) \($0.path)" }
        lines += results.map { "result \($0.step) \($0.id) \($0.sha256) \($0.bytes) \($0.path)" }
        lines += metrics.map { "metrics \($0)" }
        lines.append("fingerprint \(fingerprint) \(fingerprintScope) \(fingerprintCount)")
        return lines.joined(separator: "\n") + "\n"
    }

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func parse(_ text: String, file: String = "lock file") throws -> LockFile {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard lines.first == header else {
            throw ParseError(description: "\(file) is not a synthset lock file (expected '\(header)' on line 1)")
        }
        lines.removeFirst()
        var lock = LockFile(workflow: "", recipeFile: "", recipeSHA256: "", planHash: "", prompts: [], tools: [:], items: [],
                            fingerprint: "", fingerprintScope: "", fingerprintCount: 0)
        for (offset, line) in lines.enumerated() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            let rest = fields.dropFirst().joined(separator: " ")
            func bad() -> ParseError { ParseError(description: "\(file):\(offset + 2): cannot read '\(line.prefix(80))'") }
            switch fields[0] {
            case "workflow": lock.workflow = rest
            case "recipe":
                guard fields.count >= 4 else { throw bad() }
                lock.recipeSHA256 = fields[fields.count - 1]
                lock.recipeFile = fields[1..<(fields.count - 2)].joined(separator: " ")
            case "plan": lock.planHash = rest
            case "prompt": lock.prompts.append(rest)
            case "prompt-file": lock.prompts.append("file " + rest)
            case "file": lock.files.append(rest)
            case "tool":
                guard fields.count >= 3 else { throw bad() }
                lock.tools[fields[1]] = fields[2...].joined(separator: " ")
            case "item", "result":
                guard fields.count >= 6, let bytes = Int64(fields[4]) else { throw bad() }
                let item = Item(step: fields[1], id: fields[2], sha256: fields[3], bytes: bytes, path: fields[5...].joined(separator: " "))
                if fields[0] == "item" { lock.items.append(item) } else { lock.results.append(item) }
            case "metrics": lock.metrics.append(rest)
            case "fingerprint":
                guard fields.count >= 4, let count = Int(fields[3]) else { throw bad() }
                lock.fingerprint = fields[1]
                lock.fingerprintScope = fields[2]
                lock.fingerprintCount = count
            default: throw bad()
            }
        }
        return lock
    }

    public static func read(from url: URL) throws -> LockFile {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw ParseError(description: "cannot read \(url.path): \(FileErrorReason.of(error))")
        }
        return try parse(text, file: url.path)
    }

    /// Writes the lock atomically: a temporary file beside it, then rename. Returns the
    /// bytes the file holds.
    @discardableResult
    public func write(to url: URL) throws -> Data {
        let bytes = Data(text.utf8)
        // A re-run with nothing to do writes the same lock: leave the file (and its
        // mtime) alone instead of writing and syncing megabytes at 100,000 items.
        if let existing = try? Data(contentsOf: url), existing == bytes { return bytes }
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        try bytes.write(to: temporary)
        if Foundation.rename(temporary.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw ParseError(description: "cannot write \(url.path): \(reason)")
        }
        return bytes
    }
}

// MARK: - Making a lock

public enum Reproduction {
    /// The prompt lines of a workflow: every prompt set, then every inline step prompt.
    public static func promptLines(_ workflow: Workflow) -> [String] {
        var lines: [String] = []
        for set in workflow.prompts {
            if case .file(let path, _, let sha256) = set.source {
                lines.append("file \(set.id) \(path) \(sha256)")
            }
            for prompt in PromptExpander.expand(set) {
                let hash = ContentHash.sha256(prompt.text)
                if case .file = set.source {
                    lines.append("\(prompt.ref) \(hash)")
                } else {
                    lines.append("\(prompt.ref) \(hash) \(quoted(prompt.text))")
                }
            }
        }
        for step in workflow.steps {
            if let inline = step.prompt { lines.append("\(step.id).prompt \(ContentHash.sha256(inline)) \(quoted(inline))") }
        }
        return lines
    }

    static func quoted(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        guard let data = try? encoder.encode(text) else { return "\"\"" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Which steps' items the fingerprint covers: the steps that make datasets (the
    /// `export` scope, whichever tool writes them), else the leaf steps.
    public static func fingerprintSteps(_ plan: Plan) -> (scope: String, steps: Set<String>) {
        let exports = Set(plan.items.lazy.filter { $0.kind == .dataset }.map(\.step))
        if !exports.isEmpty { return ("export", exports) }
        let read = Set(plan.steps.flatMap(\.from))
        return ("leaf", Set(plan.steps.map(\.id).filter { !read.contains($0) }))
    }

    /// SHA-256 over the sorted hashes, one per line.
    public static func fingerprint(_ hashes: [String]) -> String {
        ContentHash.sha256(hashes.sorted().map { $0 + "\n" }.joined())
    }

    /// A digest of what a lock is made of besides the store's items: the recipe, the plan's
    /// items, the tool versions, the prompt and file lines. Equal digests and an unchanged
    /// store make the same lock (``CheckpointStore/writtenLock()``).
    public static func lockInputs(workflow: Workflow, plan: Plan, tools: [String: String]) -> String {
        var parts = ["synthset-lock-inputs/1", workflow.name, URL(fileURLWithPath: workflow.file).lastPathComponent,
                     workflow.sourceHash, plan.hash]
        parts += tools.sorted { $0.key < $1.key }.map { "tool \($0.key)=\($0.value)" }
        parts += promptLines(workflow).map { "prompt " + $0 }
        parts += fileLines(workflow).map { "file " + $0 }
        return ContentHash.sha256(parts.joined(separator: "\n"))
    }

    /// Whether the lock file at `url` is the one a lock made now would be: written from
    /// the same `inputs` (``lockInputs(workflow:plan:tools:)``) with no item changed in the
    /// store since, and holding the bytes written then.
    public static func lockIsCurrent(at url: URL, inputs: String, store: CheckpointStore) -> Bool {
        guard let written = try? store.writtenLock(), written.path == url.path, written.inputs == inputs,
              let bytes = try? Data(contentsOf: url) else { return false }
        return ContentHash.sha256(bytes) == written.sha256
    }

    /// Writes `lock`, made from the store's items when its count of item changes was
    /// `itemChanges`, to `url`, and records that in the store.
    public static func write(_ lock: LockFile, to url: URL, inputs: String, itemChanges: Int64?, store: CheckpointStore) throws {
        let bytes = try lock.write(to: url)
        guard let itemChanges else { return }
        try? store.recordWrittenLock(WrittenLock(path: url.path, sha256: ContentHash.sha256(bytes), inputs: inputs,
                                                 itemChanges: itemChanges))
    }

    /// The user files steps run, with their content hash (`unread` when the file could
    /// not be read where the recipe was loaded).
    public static func fileLines(_ workflow: Workflow) -> [String] {
        var lines: [String] = []
        for step in workflow.steps {
            if let script = step.labeling?.script { lines.append("\(step.id).script \(script) \(step.labeling?.scriptSHA256 ?? "unread")") }
            if let command = step.command, command.program.contains("/") {
                lines.append("\(step.id).program \(command.program) \(command.programSHA256 ?? "unread")")
            }
        }
        return lines
    }

    /// The lock for a plan whose every item is recorded done in the store, or nil when
    /// some item is not (the run was partial). Measured results go to `result` lines, with
    /// their `metrics.json` from `workspace` when given.
    public static func lock(workflow: Workflow, plan: Plan, store: CheckpointStore, tools: [String: String],
                            workspace: Workspace? = nil) throws -> LockFile? {
        let records = try store.doneOutputs()
        var items: [LockFile.Item] = []
        items.reserveCapacity(plan.items.count)
        for item in plan.items {
            guard let record = records[item.id], let sha = record.sha256 else { return nil }
            items.append(LockFile.Item(step: item.step, id: item.id, sha256: sha, bytes: record.bytes, path: record.path))
        }
        // By step (pipeline order), then id: bucketed by step once, then each bucket's
        // indices sorted by id. A sort of the items by (step order, id) looked up two
        // step ranks and copied two items per comparison, a fifth of a no-op re-run.
        let order = Dictionary(plan.steps.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
        var buckets = [[Int]](repeating: [], count: max(1, plan.steps.count))
        for (index, item) in items.enumerated() { buckets[order[item.step] ?? 0].append(index) }
        var sorted: [LockFile.Item] = []
        sorted.reserveCapacity(items.count)
        for bucket in buckets {
            for index in bucket.sorted(by: { items[$0].id < items[$1].id }) { sorted.append(items[index]) }
        }
        items = sorted
        let (scope, steps) = fingerprintSteps(plan)
        let measured = Set(plan.items.filter(\.kind.isMeasured).map(\.id))
        let covered = items.filter { steps.contains($0.step) && !measured.contains($0.id) }.map(\.sha256)
        var lock = LockFile(workflow: workflow.name, recipeFile: URL(fileURLWithPath: workflow.file).lastPathComponent,
                            recipeSHA256: workflow.sourceHash, planHash: plan.hash, prompts: promptLines(workflow), tools: tools,
                            items: items.filter { !measured.contains($0.id) }, fingerprint: fingerprint(covered), fingerprintScope: scope,
                            fingerprintCount: covered.count)
        lock.results = items.filter { measured.contains($0.id) }
        if let workspace {
            lock.metrics = lock.results.flatMap { result in
                (try? TrainingMetrics.read(from: workspace.url(result.path))).map { $0.lockLines(step: result.step, id: result.id) } ?? []
            }.sorted()
        }
        lock.files = fileLines(workflow)
        return lock
    }

    /// What differs between the lock and the plan a recipe makes now, for `run --frozen`:
    /// prompts, then per step the items planned but not locked and locked but not planned.
    /// Empty when the plan matches (a recipe edit that plans the same items matches).
    public static func planDifferences(lock: LockFile, workflow: Workflow, plan: Plan) -> [String] {
        var differences: [String] = []
        let nowPrompts = promptLines(workflow)
        let lockedPrompts = Set(lock.prompts), currentPrompts = Set(nowPrompts)
        for line in nowPrompts where !lockedPrompts.contains(line) { differences.append("prompt not in the lock: \(line.prefix(100))") }
        for line in lock.prompts where !currentPrompts.contains(line) { differences.append("prompt in the lock no longer in the recipe: \(line.prefix(100))") }
        let lockedFiles = Set(lock.files), currentFiles = fileLines(workflow)
        for line in currentFiles where !lockedFiles.contains(line) { differences.append("file not as in the lock: \(line)") }
        var locked: [String: Set<String>] = [:]
        for item in lock.items + lock.results { locked[item.step, default: []].insert(item.id) }
        var planned: [String: Set<String>] = [:]
        for item in plan.items { planned[item.step, default: []].insert(item.id) }
        var steps = plan.steps.map(\.id)
        steps += locked.keys.filter { !steps.contains($0) }.sorted()
        for step in steps {
            let now = planned[step] ?? [], then = locked[step] ?? []
            let added = now.subtracting(then), removed = then.subtracting(now)
            guard !added.isEmpty || !removed.isEmpty else { continue }
            var parts: [String] = []
            if !added.isEmpty { parts.append("\(added.count) item\(added.count == 1 ? "" : "s") planned but not in the lock (\(examples(added)))") }
            if !removed.isEmpty { parts.append("\(removed.count) item\(removed.count == 1 ? "" : "s") in the lock no longer planned (\(examples(removed)))") }
            differences.append("step \(step): " + parts.joined(separator: "; "))
        }
        return differences
    }

    static func examples(_ ids: Set<String>) -> String {
        let sorted = ids.sorted()
        return sorted.prefix(3).map { String($0.prefix(12)) }.joined(separator: ", ") + (sorted.count > 3 ? ", ..." : "")
    }

    /// What differs between a lock and a freshly made one for the same plan: items whose
    /// output hash changed, and the fingerprint. Measured results (`result` lines) may
    /// differ and are not compared.
    public static func outputDifferences(locked: LockFile, produced: LockFile) -> [String] {
        var differences: [String] = []
        let before = Dictionary(locked.items.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for item in produced.items {
            if let old = before[item.id], old.sha256 != item.sha256 {
                differences.append("\(item.step) \(item.id.prefix(16)) \(item.path): sha256 \(old.sha256.prefix(12)) in the lock, \(item.sha256.prefix(12)) produced")
            }
        }
        if locked.fingerprint != produced.fingerprint {
            differences.append("dataset fingerprint \(locked.fingerprint.prefix(16)) in the lock, \(produced.fingerprint.prefix(16)) produced")
        }
        return differences
    }
}

import Basics
import Datasets
import WorkspaceStore
import Foundation
import Planning
import SceneFormats
import Scenes
import Synchronization
import WorkflowSpec

/// Gathers a ``QualityReport`` from a plan and its workspace. Read-only on the workspace
/// (it takes no lock, so it can look at a run in progress); the only files it writes are
/// thumbnails, in the page's own `<name>_files/thumbs/` folder.
public struct ReportBuilder: Sendable {
    public var workflow: Workflow
    public var plan: Plan
    public var workspace: Workspace
    /// The page being made: image URLs are relative to its folder.
    public var page: URL
    /// Thumbnails are at least this wide (libjpeg scales by 1/2, 1/4 or 1/8).
    public var thumbnailWidth = 160
    /// Called with (images read, images in all) as the files are read, from any thread.
    public var progress: (@Sendable (Int, Int) -> Void)?

    public init(workflow: Workflow, plan: Plan, workspace: Workspace, page: URL) {
        self.workflow = workflow
        self.plan = plan
        self.workspace = workspace
        self.page = page.standardizedFileURL
    }

    /// `<page name>_files/`, where the thumbnails go (the convention of saved web pages).
    public var assetsFolder: URL {
        page.deletingLastPathComponent().appendingPathComponent(page.deletingPathExtension().lastPathComponent + "_files")
    }

    var thumbnails: URL { assetsFolder.appendingPathComponent("thumbs") }

    /// One gallery image before its files are read.
    struct Entry {
        var image: PlannedItem
        /// The label step or procedural step its boxes come from; nil when unlabeled.
        var source: String?
        var labels: String?
        var stats: String?
        var candidates: String?
        /// A label step will label the image, but has not yet (a run in progress, or failed).
        var pending = false
    }

    /// What reading one entry's files gave.
    struct Loaded {
        var truth: GroundTruth?
        var stats: LabelStats?
        var candidates: LabelCandidates?
        var thumb: String?
        var warning: String?
    }

    public func build() throws -> QualityReport {
        let status = try WorkspaceInspector(plan: plan, workspace: workspace).report()
        let store = try CheckpointStore.openForReading(path: workspace.store)
        let records = try store?.items(ids: plan.items.map(\.id)) ?? [:]
        let attempts = try store?.allTasks() ?? []
        // Done as `status` counts it: recorded done, and the file still there.
        let entries = self.entries(done: { item in
            records[item.id]?.status == .done && FileManager.default.fileExists(atPath: workspace.url(item.path).path)
        })
        let loaded = load(entries, sha256: { records[$0]?.sha256 })
        let gallery = makeGallery(entries, loaded)

        var sources: [LabelSourceSummary] = []
        var sweeps: [ThresholdSweep] = []
        var warnings = loaded.compactMap(\.warning)
        for (index, sourceName) in gallery.sources.enumerated() {
            guard let step = workflow.step(sourceName) else { continue }
            let members = entries.indices.filter { entries[$0].source == sourceName && !entries[$0].pending }
            // Nil, not zeros, when no stats file could be read (so the table says so).
            let read = members.compactMap { loaded[$0].stats }
            let stats = read.isEmpty ? nil : read.reduce(into: LabelStats()) { $0.add($1) }
            if step.labeling != nil, read.isEmpty, !members.isEmpty {
                warnings.append("\(sourceName): no drop statistics (<item>.stats.json) could be read, so only kept boxes are counted")
            }
            sources.append(LabelSourceSummary.make(
                name: sourceName, kind: Self.kind(of: step), classes: step.datasetClasses,
                images: gallery.images.filter { $0.source == index && $0.pending == nil }, classNames: gallery.classes, stats: stats))
            if step.isRawLabel, let labeling = step.labeling {
                let candidates = members.compactMap { loaded[$0].candidates }
                guard !candidates.isEmpty else { continue }
                sweeps.append(ThresholdSweep.make(step: sourceName, candidates: candidates, boxThreshold: labeling.boxThreshold,
                                                  textThreshold: labeling.textThreshold,
                                                  postprocessor: LabelPostprocessor(labeling)))
            }
        }

        let stepPlans = Dictionary(plan.steps.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let attemptsByStep = Dictionary(grouping: attempts, by: \.step)
        let progress = status.steps.map { row -> QualityReport.StepProgress in
            let stepPlan = stepPlans[row.step]
            let isGPU = stepPlan?.device == .gpu
            let tried = attemptsByStep[row.step] ?? []
            let measured = isGPU ? plan.gpuSeconds(tried) : tried.reduce(0) { $0 + ($1.duration ?? 0) }
            return QualityReport.StepProgress(
                step: row.step, uses: row.uses, device: stepPlan?.device.rawValue ?? "cpu", planned: row.total, done: row.done,
                failed: row.failed, pending: row.pending + row.running,
                estimatedHours: isGPU ? stepPlan?.gpuHours ?? 0 : (stepPlan?.busySeconds ?? 0) / 3600,
                measuredHours: measured / 3600, attempts: tried.count)
        }
        let failures = status.steps.flatMap { row in
            row.failures.map { QualityReport.FailedItem(step: row.step, item: $0.item, error: $0.error, attempts: $0.attempts, log: $0.log) }
        }
        let hardware = plan.hardware.gpu.map { "\(plan.hardware.count) × \(plan.hardware.name ?? $0)" }
        let trainings = self.trainings(done: { item in
            records[item.id]?.status == .done && FileManager.default.fileExists(atPath: workspace.url(item.path).path)
        }, warnings: &warnings)
        return QualityReport(
            workflow: workflow.name, description: workflow.description, manifest: workflow.file, planHash: plan.hash,
            workspace: workspace.root.path, lastRun: status.lastRun, runningNow: status.lockedBy, hardware: hardware,
            pricePerGPUHour: plan.hardware.pricePerGPUHour, steps: progress, failures: failures, gallery: gallery,
            sources: sources, sweeps: sweeps, warnings: warnings, trainings: trainings)
    }

    // MARK: - Which images

    /// Every finished image with the labels that describe it: one entry per (image, label
    /// step), pending when that step has not labeled it yet; procedural images also with
    /// their ground truth; other images unlabeled.
    func entries(done: (PlannedItem) -> Bool) -> [Entry] {
        let byID = plan.itemsByID()
        var entries: [Entry] = []
        var labeled = Set<String>()
        for step in workflow.steps where step.labeling != nil {
            for item in plan.items where item.step == step.id && item.kind == .labels {
                guard let imageID = item.inputs.first, let image = byID[imageID], done(image) else { continue }
                labeled.insert(imageID)
                guard done(item) else {
                    entries.append(Entry(image: image, source: step.id, pending: true))
                    continue
                }
                entries.append(Entry(image: image, source: step.id, labels: item.path, stats: item.companionPath("stats.json"),
                                     candidates: step.isRawLabel && item.inputs.count > 1 ? byID[item.inputs[1]]?.path : nil))
            }
        }
        let procedural = Set(workflow.steps.filter { $0.scene != nil }.map(\.id))
        for item in plan.items where Self.isImage(item) && done(item) {
            if procedural.contains(item.step) {
                entries.append(Entry(image: item, source: item.step, labels: item.companionPath("json")))
            } else if !labeled.contains(item.id) {
                entries.append(Entry(image: item))
            }
        }
        let stepOrder = Dictionary(plan.steps.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
        return entries.sorted { a, b in
            let keyA = (stepOrder[a.image.step] ?? 0, a.image.seed ?? a.image.frameIndex ?? 0, a.image.id, a.source ?? "")
            let keyB = (stepOrder[b.image.step] ?? 0, b.image.seed ?? b.image.frameIndex ?? 0, b.image.id, b.source ?? "")
            return keyA < keyB
        }
    }

    /// Image items, and a `command` step's files with an image extension a browser shows
    /// (the plan calls those `file`).
    static func isImage(_ item: PlannedItem) -> Bool {
        item.kind == .image || (item.kind == .file && browserImageExtensions.contains((item.path as NSString).pathExtension.lowercased()))
    }

    static let browserImageExtensions: Set<String> = ["jpg", "jpeg", "png", "webp", "gif", "bmp"]


    // MARK: - Reading files

    /// Reads labels, stats and candidates and makes the thumbnails, on every core.
    func load(_ entries: [Entry], sha256: (String) -> String?) -> [Loaded] {
        let names = entries.map { Self.thumbnailName(sha256: sha256($0.image.id), id: $0.image.id, path: $0.image.path) }
        try? FileManager.default.createDirectory(at: thumbnails, withIntermediateDirectories: true)
        let finished = Atomic(0)
        let loaded = Parallel.map(entries.count) { index in
            let value = loadOne(entries[index], thumbnailName: names[index])
            progress?(finished.add(1, ordering: .relaxed).newValue, entries.count)
            return value
        }
        removeStaleThumbnails(keeping: Set(names.compactMap { $0 }))
        return loaded
    }

    func loadOne(_ entry: Entry, thumbnailName: String?) -> Loaded {
        var result = Loaded()
        func read(_ relative: String) -> Data? { FileManager.default.contents(atPath: workspace.url(relative).path) }
        if let labels = entry.labels {
            if let data = read(labels) {
                do { result.truth = try GroundTruth.decode(from: data) }
                catch { result.warning = "\(labels): not a readable \(GroundTruth.formatIdentifier) file (\(error)); its image is shown without boxes" }
            } else {
                result.warning = "\(labels) is missing; its image is shown without boxes"
            }
        }
        if let stats = entry.stats, let data = read(stats) {
            result.stats = try? JSONDecoder().decode(LabelStats.self, from: data)
        }
        if let candidates = entry.candidates, let data = read(candidates) {
            result.candidates = try? LabelCandidates.decode(from: data)
        }
        if let thumbnailName {
            let target = thumbnails.appendingPathComponent(thumbnailName)
            if Self.isNonEmptyFile(target) {
                result.thumb = thumbnailName
            } else if let data = read(entry.image.path),
                      let thumbnail = JPEGThumbnail.make(from: [UInt8](data), minWidth: thumbnailWidth),
                      Self.writeCacheFile(thumbnail.jpeg, to: target) {
                result.thumb = thumbnailName
                if result.truth == nil, entry.labels == nil {
                    result.truth = GroundTruth(image: "", width: thumbnail.fullWidth, height: thumbnail.fullHeight, objects: [])
                }
            }
        }
        // Boxes need the image's size; without labels, its header says (the first 256 KiB
        // hold it even behind large EXIF blocks).
        if result.truth == nil, let size = MediaProbe.imageSize(MediaProbe.head(workspace.url(entry.image.path), limit: 1 << 18)) {
            result.truth = GroundTruth(image: "", width: size.width, height: size.height, objects: [])
        }
        return result
    }

    /// Writes a thumbnail under a temporary name and renames it into place, so a reader
    /// (or a crash) never sees half a file under the final name. No fsync: a thumbnail is
    /// a cache, 10,000 fsyncs would cost seconds, and the one failure a power cut can
    /// leave (an empty file) is caught by ``isNonEmptyFile(_:)`` and made again.
    static func writeCacheFile(_ bytes: [UInt8], to target: URL) -> Bool {
        let temporary = target.deletingLastPathComponent()
            .appendingPathComponent(".\(target.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return false }
        let written = bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let count = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { return false }
                offset += count
            }
            return true
        }
        guard close(descriptor) == 0, written, rename(temporary.path, target.path) == 0 else {
            unlink(temporary.path)
            return false
        }
        return true
    }

    static func isNonEmptyFile(_ url: URL) -> Bool {
        var info = stat()
        return stat(url.path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && info.st_size > 0
    }

    /// `<first 16 digits of the image's sha256>.jpg`: content-addressed, so a cached
    /// thumbnail is always the image's. Nil for images that are not JPEG (shown as is).
    static func thumbnailName(sha256: String?, id: String, path: String) -> String? {
        let ext = (path as NSString).pathExtension.lowercased()
        guard ext == "jpg" || ext == "jpeg" else { return nil }
        return String((sha256 ?? id).prefix(16)) + ".jpg"
    }

    /// Thumbnails of images no longer in the report (only names this builder makes).
    func removeStaleThumbnails(keeping: Set<String>) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: thumbnails.path) else { return }
        // Also the temporary files of a report that was killed while writing one.
        for name in names where !keeping.contains(name) && (Self.isThumbnailName(name) || (name.hasPrefix(".") && name.hasSuffix(".tmp"))) {
            try? FileManager.default.removeItem(at: thumbnails.appendingPathComponent(name))
        }
    }

    static func isThumbnailName(_ name: String) -> Bool {
        name.count == 20 && name.hasSuffix(".jpg") && name.prefix(16).allSatisfy(\.isHexDigit)
    }

    // MARK: - Gallery

    func makeGallery(_ entries: [Entry], _ loaded: [Loaded]) -> Gallery {
        let byID = plan.itemsByID()
        var classes: [String] = []
        for step in workflow.steps {
            for name in step.datasetClasses where !classes.contains(name) { classes.append(name) }
        }
        let listed = Set(classes)
        classes += Set(loaded.flatMap { $0.truth?.objects.map(\.className) ?? [] }).subtracting(listed).sorted()
        let classIndex = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })

        var steps: [String] = [], sources: [String] = [], prompts: [String] = []
        func index(_ value: String, in table: inout [String]) -> Int {
            if let found = table.firstIndex(of: value) { return found }
            table.append(value)
            return table.count - 1
        }
        var promptIndex: [String: Int] = [:]
        let splits = DatasetSplit.ordered.map(\.rawValue)
        let exports = workflow.steps.compactMap { step in
            step.export.map { (from: Set(step.from), splits: SplitAssigner(train: $0.split.train, test: $0.split.test, validation: $0.split.validation)) }
        }
        // Two prefixes computed once: workspace paths are plain `outputs/<step>/<id16>.<ext>`.
        let pageFolder = page.deletingLastPathComponent()
        let toWorkspace = Self.relativePath(from: pageFolder, to: workspace.root)
        let toThumbnails = Self.relativePath(from: pageFolder, to: thumbnails)
        func url(_ prefix: String, _ path: String) -> String {
            let encoded = path.addingPercentEncoding(withAllowedCharacters: Self.urlPathAllowed) ?? path
            return prefix.isEmpty ? encoded : prefix + "/" + encoded
        }
        var images: [Gallery.Image] = []
        images.reserveCapacity(entries.count)
        for (entry, files) in zip(entries, loaded) {
            let item = entry.image
            let href = url(toWorkspace, item.path)
            var prompt = -1
            if let text = Self.prompt(of: item, in: byID) {
                if let known = promptIndex[text] { prompt = known }
                else { prompt = prompts.count; promptIndex[text] = prompt; prompts.append(text) }
            }
            var split = -1
            if let source = entry.source, let export = exports.first(where: { $0.from.contains(source) }) {
                split = splits.firstIndex(of: export.splits.split(item.lineage).rawValue) ?? -1
            }
            let truth = files.truth
            let boxes = (truth?.objects ?? []).map { object in
                Gallery.Box(classIndex: classIndex[object.className]!, confidence: object.confidence,
                            xmin: object.bbox.xmin, ymin: object.bbox.ymin, xmax: object.bbox.xmax, ymax: object.bbox.ymax)
            }
            let name = DatasetNaming.fileName(step: item.step, number: item.seed ?? item.frameIndex, id: item.id,
                                              extension: (item.path as NSString).pathExtension)
            images.append(Gallery.Image(
                name: name, thumb: files.thumb.map { url(toThumbnails, $0) } ?? href,
                href: href, width: truth?.width ?? 0, height: truth?.height ?? 0, step: index(item.step, in: &steps),
                source: entry.source.map { index($0, in: &sources) } ?? -1, split: split, prompt: prompt, boxes: boxes,
                pending: entry.pending ? true : nil))
        }
        return Gallery(classes: classes, colors: classes.indices.map(Palette.color), steps: steps, sources: sources, splits: splits, prompts: prompts, images: images)
    }

    /// The prompt an image was made from: its own, or the first found up its inputs
    /// (a frame's video's, that video's image's).
    static func prompt(of item: PlannedItem, in items: [String: PlannedItem]) -> String? {
        var current: PlannedItem? = item
        var hops = 0
        while let found = current, hops < 16 {
            if let prompt = found.prompt { return prompt }
            current = found.inputs.first.flatMap { items[$0] }
            hops += 1
        }
        return nil
    }

    static func kind(of step: Step) -> String {
        guard let labeling = step.labeling else { return "exact ground truth (\(step.uses.rawValue))" }
        let thresholds = "box_threshold \(labeling.boxThreshold), text_threshold \(labeling.textThreshold)"
        return labeling.mode == .raw ? "auto-labels, raw mode: \(thresholds)" : "auto-labels, script mode: \(thresholds)"
    }

    /// A relative URL path from a folder to a file, percent-encoded for `src`/`href`.
    static func relativePath(from folder: URL, to file: URL) -> String {
        let base = folder.standardizedFileURL.pathComponents
        let target = file.standardizedFileURL.pathComponents
        var common = 0
        while common < base.count, common < target.count, base[common] == target[common] { common += 1 }
        let parts = Array(repeating: "..", count: base.count - common) + target[common...]
        return parts.map { $0.addingPercentEncoding(withAllowedCharacters: urlPathAllowed) ?? $0 }.joined(separator: "/")
    }

    /// Path characters left as they are in a relative URL (`/` separates). `#?%;` are
    /// encoded, and `:`, which in a first segment would make the URL a scheme (`ws:1/…`).
    static let urlPathAllowed = CharacterSet.urlPathAllowed.subtracting(CharacterSet(charactersIn: "#?%;:"))
}

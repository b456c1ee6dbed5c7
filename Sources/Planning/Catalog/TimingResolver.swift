import WorkflowSpec

/// Timings measured by earlier runs for one tool, model and GPU.
///
/// A task's time is `load + items x per item`. The two parts are known apart when the
/// tool reported its load time (``Method/reported``), or when tasks of at least two batch
/// sizes were measured, so a least-squares line through (items, seconds) separates the
/// intercept (load) from the slope (per item) (``Method/fitted``). With one batch size
/// they cannot be told apart (``Method/oneBatchSize``): only the median task time is
/// known, and the planner takes the load from the catalog and the rest as per-item time.
public struct MeasuredTiming: Sendable, Codable, Hashable {
    /// How the figures were obtained.
    public enum Method: String, Sendable, Codable, Hashable {
        /// Load times reported per task; per item = (duration - load) / items, medians.
        case reported
        /// Least squares over tasks of different batch sizes.
        case fitted
        /// Every task had the same number of items; load and per item not separable.
        case oneBatchSize = "one-batch-size"
    }

    /// Load seconds per invocation; nil when not separable (``Method/oneBatchSize``).
    public var loadSeconds: Double?
    /// Seconds per item; nil when not separable.
    public var secondsPerItem: Double?
    /// Median task seconds and the batch size of those tasks (for ``Method/oneBatchSize``).
    public var taskSeconds: Double
    public var batchSize: Int
    /// Distinct batch sizes among the samples.
    public var batchSizes: [Int]
    public var samples: Int
    public var method: Method

    public init(loadSeconds: Double?, secondsPerItem: Double?, taskSeconds: Double, batchSize: Int,
                batchSizes: [Int], samples: Int, method: Method) {
        self.loadSeconds = loadSeconds
        self.secondsPerItem = secondsPerItem
        self.taskSeconds = taskSeconds
        self.batchSize = batchSize
        self.batchSizes = batchSizes
        self.samples = samples
        self.method = method
    }

    /// The key measured timings are stored under.
    public static func key(uses: ToolKind, model: String?, gpu: String?) -> String {
        "\(uses.rawValue)|\(model ?? "-")|\(gpu ?? "cpu")"
    }

    /// Figures from task samples `(items, seconds, reported load)`: reported loads first,
    /// else a least-squares fit when there are two batch sizes or more, else the median
    /// task. Negative intercepts or slopes (noise) are clamped to 0 and the other part
    /// refitted. Nil without samples.
    public static func fit(_ samples: [(items: Int, seconds: Double, load: Double?)]) -> MeasuredTiming? {
        let samples = samples.filter { $0.items > 0 }
        guard !samples.isEmpty else { return nil }
        let sizes = Set(samples.map(\.items)).sorted()
        let medianTask = median(samples.map(\.seconds))!
        let commonSize = mostCommon(samples.map(\.items))
        let reported = samples.compactMap { sample in sample.load.map { (sample, $0) } }
        if !reported.isEmpty {
            let perItem = reported.map { max(0, $0.0.seconds - $0.1) / Double($0.0.items) }
            return MeasuredTiming(loadSeconds: median(reported.map(\.1)), secondsPerItem: median(perItem),
                                  taskSeconds: medianTask, batchSize: commonSize, batchSizes: sizes,
                                  samples: samples.count, method: .reported)
        }
        guard sizes.count >= 2 else {
            return MeasuredTiming(loadSeconds: nil, secondsPerItem: nil, taskSeconds: medianTask, batchSize: commonSize,
                                  batchSizes: sizes, samples: samples.count, method: .oneBatchSize)
        }
        let count = Double(samples.count)
        let meanN = samples.reduce(0) { $0 + Double($1.items) } / count
        let meanT = samples.reduce(0) { $0 + $1.seconds } / count
        let sxx = samples.reduce(0) { $0 + (Double($1.items) - meanN) * (Double($1.items) - meanN) }
        let sxy = samples.reduce(0) { $0 + (Double($1.items) - meanN) * ($1.seconds - meanT) }
        var slope = sxy / sxx
        var intercept = meanT - slope * meanN
        if intercept < 0 {
            // Through the origin: slope = sum(n t) / sum(n^2).
            intercept = 0
            slope = samples.reduce(0) { $0 + Double($1.items) * $1.seconds } / samples.reduce(0) { $0 + Double($1.items * $1.items) }
        }
        if slope < 0 {
            slope = 0
            intercept = meanT
        }
        return MeasuredTiming(loadSeconds: intercept, secondsPerItem: slope, taskSeconds: medianTask, batchSize: commonSize,
                              batchSizes: sizes, samples: samples.count, method: .fitted)
    }

    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count.isMultiple(of: 2) ? (sorted[mid - 1] + sorted[mid]) / 2 : sorted[mid]
    }

    static func mostCommon(_ values: [Int]) -> Int {
        var counts: [Int: Int] = [:]
        for value in values { counts[value, default: 0] += 1 }
        return counts.max { ($0.value, -$0.key) < ($1.value, -$1.key) }!.key
    }

    /// Where the figures came from, for `plan --explain`.
    public var description: String {
        let sizes = batchSizes.map(String.init).joined(separator: ", ")
        switch method {
        case .reported: return "median of \(samples) task(s) whose load time the tool reported"
        case .fitted: return "least-squares fit of load + items x per item over \(samples) task(s) of batch sizes \(sizes)"
        case .oneBatchSize: return "median of \(samples) task(s) of \(batchSize) item(s); one batch size, so load and per-item time are not separable"
        }
    }
}

/// Picks the figure for a step: measured runs first, then the manifest's `catalog:`
/// overrides, then the catalog (exact, then derived by the catalog's scaling factors).
public struct TimingResolver: Sendable {
    public var catalog: Catalog
    public var overrides: CatalogOverrides
    public var measured: [String: MeasuredTiming]
    /// The workflow being planned, and how many input items each step planned so far
    /// reads: for tools whose time per item depends on what they read (a training's
    /// images). Set by the planner.
    public var workflow: Workflow?
    public var inputItems: [String: Int] = [:]

    public init(catalog: Catalog, overrides: CatalogOverrides = CatalogOverrides(), measured: [String: MeasuredTiming] = [:]) {
        self.catalog = catalog
        self.overrides = overrides
        self.measured = measured
    }

    /// The tool's own defaults where a step leaves resolution or fps unset.
    public static func videoSettings(_ step: Step) -> (resolution: Int, fps: Int, natten: Bool) {
        let natten: Bool
        if case .bool(let flag)? = step.options["natten"] { natten = flag } else { natten = false }
        return (step.resolution ?? step.tool.defaultResolution ?? 720, step.fps ?? step.tool.defaultFPS ?? 16, natten)
    }

    private func override(_ step: Step, gpu: String?) -> CatalogOverrides.TimingOverride? {
        overrides.timings.last { entry in
            entry.uses == step.uses && (entry.model == nil || entry.model == step.model)
                && (entry.gpu == nil || entry.gpu == gpu)
                && (entry.resolution == nil || entry.resolution == step.resolution)
                && (entry.fps == nil || entry.fps == step.fps)
        }
    }

    private func measuredTiming(_ step: Step, gpu: String?) -> MeasuredTiming? {
        measured[MeasuredTiming.key(uses: step.uses, model: step.model, gpu: step.device == .gpu ? gpu : nil)]
    }

    /// Seconds per item for `step` on `gpu`: measured, else the manifest's or the
    /// catalog's figure; nil when there is none (the step is left out of the estimate).
    public func secondsPerItem(_ step: Step, gpu: String?) -> Figure? {
        if step.labeling?.stage == .postprocess {
            return Figure(0.005, .assumed, "thresholds, class mapping and NMS on one image's candidates, in-process")
        }
        if let timing = measuredTiming(step, gpu: gpu) {
            if let perItem = timing.secondsPerItem {
                return Figure(perItem, .measured, timing.description, samples: timing.samples)
            }
            // One batch size: the task time minus the load the catalog (or manifest) gives.
            let load = unmeasuredLoad(step, gpu: gpu)
            let perItem = max(0, timing.taskSeconds - load.value) / Double(timing.batchSize)
            return Figure(perItem, .measured,
                          "\(timing.description); per item = (median task \(Self.format(timing.taskSeconds)) s - load \(Self.format(load.value)) s from \(load.basis.rawValue) figures) / \(timing.batchSize); run a batch of another size to measure the load",
                          samples: timing.samples)
        }
        return unmeasuredSecondsPerItem(step, gpu: gpu)
    }

    /// Seconds to load the model once per invocation (0 for CPU tools): measured when the
    /// store could separate it from the per-item time, else the manifest's or catalog's.
    public func loadSeconds(_ step: Step, gpu: String?) -> Figure {
        if step.labeling?.stage == .postprocess { return Figure(0, .assumed, "no model to load") }
        if let timing = measuredTiming(step, gpu: gpu), let load = timing.loadSeconds {
            return Figure(load, .measured, timing.description, samples: timing.samples)
        }
        return unmeasuredLoad(step, gpu: gpu)
    }

    private func unmeasuredSecondsPerItem(_ step: Step, gpu: String?) -> Figure? {
        if let entry = override(step, gpu: gpu), let value = entry.secondsPerItem {
            return Figure(value, .manifest, "the manifest's catalog.timings")
        }
        return step.planning.catalogSecondsPerItem(step, gpu: gpu, resolver: self)
    }

    private func unmeasuredLoad(_ step: Step, gpu: String?) -> Figure {
        if let entry = override(step, gpu: gpu), let value = entry.loadSeconds {
            return Figure(value, .manifest, "the manifest's catalog.timings")
        }
        return step.planning.catalogLoadSeconds(step, gpu: gpu, resolver: self) ?? Figure(0, .assumed, "no model to load")
    }

    /// The catalog's `other_timings` entry for a tool (CPU tools, Predict2.5).
    public func otherTiming(uses: String, model: String?) -> Figure? {
        guard let entry = catalog.otherTimings.first(where: { $0.uses == uses && ($0.model == nil || $0.model == model) }) else { return nil }
        return Figure(entry.secondsPerItem, entry.basis, entry.derivation)
    }

    /// The catalog's model load time for a tool on `gpu` (its GPU-specific row, else the
    /// tool's general one), with `prefix` before its derivation and the row's bound after.
    public func catalogLoad(uses: String, model: String?, gpu: String? = nil, prefix: String = "") -> Figure? {
        let rows = catalog.loadSeconds.filter { $0.uses == uses && ($0.model == nil || $0.model == model) }
        guard let entry = rows.first(where: { $0.gpu != nil && $0.gpu == gpu }) ?? rows.first(where: { $0.gpu == nil }) else { return nil }
        return Figure(entry.seconds, entry.basis, prefix + entry.derivation + (entry.bound.map { "; bound: \($0)" } ?? ""))
    }

    /// A published (or scaled) per-item GPU figure from the catalog's timing table.
    public func gpuTiming(uses: ToolKind, model: String?, gpu: String?, resolution: Int?, fps: Int?, natten: Bool) -> Figure? {
        guard let gpu, let model else { return nil }
        let candidates = catalog.timings.filter { $0.uses == uses.rawValue && $0.model == model && $0.gpu == gpu }
        if let exact = candidates.first(where: { $0.resolution == resolution && $0.fps == fps && ($0.natten ?? false) == natten }) {
            return Figure(exact.secondsPerItem, exact.basis, exact.derivation ?? (catalog.sources[exact.source] ?? exact.source))
        }
        guard let resolution, let fps,
              let base = candidates.first(where: { $0.resolution == 480 && $0.fps == 16 && ($0.natten ?? false) == false }),
              let factor = catalog.scaling.first(where: { $0.uses == uses.rawValue && $0.model == model && $0.resolution == resolution && $0.fps == fps && $0.natten == natten })
        else { return nil }
        return Figure(base.secondsPerItem * factor.factor, .derived,
                      "\(gpu) 480p/16fps \(Self.format(base.secondsPerItem)) s x \(factor.factor) (\(factor.derivation))")
    }

    public static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.2f", value)
    }
}

import WorkflowSpec

/// Median timings measured by earlier runs for one tool, model and GPU.
public struct MeasuredTiming: Sendable, Codable, Hashable {
    public var loadSeconds: Double?
    public var secondsPerItem: Double
    public var samples: Int

    public init(loadSeconds: Double?, secondsPerItem: Double, samples: Int) {
        self.loadSeconds = loadSeconds
        self.secondsPerItem = secondsPerItem
        self.samples = samples
    }

    /// The key measured timings are stored under.
    public static func key(uses: ToolKind, model: String?, gpu: String?) -> String {
        "\(uses.rawValue)|\(model ?? "-")|\(gpu ?? "cpu")"
    }
}

/// Picks the figure for a step: measured runs first, then the manifest's `catalog:`
/// overrides, then the catalog (exact, then derived by the catalog's scaling factors).
public struct TimingResolver: Sendable {
    public var catalog: Catalog
    public var overrides: CatalogOverrides
    public var measured: [String: MeasuredTiming]

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

    /// Seconds per item for `step` on `gpu` (nil for CPU steps).
    public func secondsPerItem(_ step: Step, gpu: String?) -> Figure? {
        if step.labeling?.stage == .postprocess {
            return Figure(0.005, .assumed, "thresholds, class mapping and NMS on one image's candidates, in-process")
        }
        let key = MeasuredTiming.key(uses: step.uses, model: step.model, gpu: step.tool.device == .gpu ? gpu : nil)
        if let measured = measured[key] {
            return Figure(measured.secondsPerItem, .measured, "median of \(measured.samples) measured task(s)", samples: measured.samples)
        }
        if let entry = override(step, gpu: gpu), let value = entry.secondsPerItem {
            return Figure(value, .manifest, "the manifest's catalog.timings")
        }
        return step.planning.catalogSecondsPerItem(step, gpu: gpu, resolver: self)
    }

    /// Seconds to load the model once per invocation (0 for CPU tools).
    public func loadSeconds(_ step: Step, gpu: String?) -> Figure {
        if step.labeling?.stage == .postprocess { return Figure(0, .assumed, "no model to load") }
        let key = MeasuredTiming.key(uses: step.uses, model: step.model, gpu: step.tool.device == .gpu ? gpu : nil)
        if let measured = measured[key] {
            // Without a measured load time the measured per-item time already includes
            // the load spread over the batch, so adding the catalog's would count it twice.
            return Figure(measured.loadSeconds ?? 0, .measured,
                          measured.loadSeconds == nil ? "included in the measured per-item time" : "median of \(measured.samples) measured task(s)",
                          samples: measured.samples)
        }
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

    /// The catalog's model load time for a tool, with `prefix` before its derivation.
    public func catalogLoad(uses: String, model: String?, prefix: String = "") -> Figure? {
        guard let entry = catalog.loadSeconds.first(where: { $0.uses == uses && ($0.model == nil || $0.model == model) }) else { return nil }
        return Figure(entry.seconds, entry.basis, prefix + entry.derivation)
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

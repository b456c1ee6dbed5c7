import Foundation
import WorkflowSpec

/// The versioned catalog of models and GPUs behind VRAM checks and estimates. Every
/// figure carries its basis: `published` (NVIDIA's table), `derived` (computed from a
/// published or measured figure; the derivation says how), `assumed`, or `measured`.
public struct Catalog: Sendable, Codable {
    public var version: String
    public var sources: [String: String]
    public var models: [ModelEntry]
    public var gpus: [GPUEntry]
    public var priceSource: String
    public var timings: [TimingEntry]
    public var scaling: [ScalingEntry]
    public var loadSeconds: [LoadEntry]
    public var otherTimings: [OtherTiming]
    /// Training speed per image and epoch (`ultralytics/train`); absent in older catalogs.
    public var trainingTimings: [TrainingTiming]?

    enum CodingKeys: String, CodingKey {
        case version, sources, models, gpus, timings, scaling
        case priceSource = "price_source"
        case loadSeconds = "load_seconds"
        case otherTimings = "other_timings"
        case trainingTimings = "training_timings"
    }

    public struct ModelEntry: Sendable, Codable {
        public var uses: String
        public var model: String?
        public var vramGB: Double
        public var source: String
        public var note: String?
        enum CodingKeys: String, CodingKey { case uses, model, source, note; case vramGB = "vram_gb" }
    }

    public struct GPUEntry: Sendable, Codable {
        public var id: String
        public var name: String
        public var vramGB: Double
        public var pricePerGPUHour: Double
        enum CodingKeys: String, CodingKey { case id, name; case vramGB = "vram_gb"; case pricePerGPUHour = "price_per_gpu_hour" }
    }

    public struct TimingEntry: Sendable, Codable {
        public var uses: String
        public var model: String
        public var gpu: String
        public var resolution: Int?
        public var fps: Int?
        public var natten: Bool?
        public var secondsPerItem: Double
        public var basis: Basis
        public var source: String
        public var derivation: String?
        enum CodingKeys: String, CodingKey {
            case uses, model, gpu, resolution, fps, natten, basis, source, derivation
            case secondsPerItem = "seconds_per_item"
        }
    }

    public struct ScalingEntry: Sendable, Codable {
        public var uses: String
        public var model: String
        public var resolution: Int
        public var fps: Int
        public var natten: Bool
        public var factor: Double
        public var derivation: String
    }

    /// Seconds to load a tool's models once per invocation. A row with `gpu` applies to
    /// that GPU only; one without, to every GPU without a row of its own. `bound` states
    /// the physical lower bound (checkpoint bytes over disk and host-to-GPU bandwidth).
    public struct LoadEntry: Sendable, Codable {
        public var uses: String
        public var model: String?
        public var gpu: String?
        public var seconds: Double
        public var basis: Basis
        public var derivation: String
        public var bound: String?
    }

    public struct OtherTiming: Sendable, Codable {
        public var uses: String
        public var model: String?
        public var secondsPerItem: Double
        public var basis: Basis
        public var derivation: String
        enum CodingKeys: String, CodingKey { case uses, model, basis, derivation; case secondsPerItem = "seconds_per_item" }
    }

    /// How fast a detector trains: seconds per training image and epoch at `image_size`
    /// pixels (validation each epoch included), plus a start-up once per training (imports,
    /// model construction, the final evaluation). On the CPU (`device: cpu`) or a GPU (`gpu`
    /// names one; a row without applies to every GPU without its own).
    public struct TrainingTiming: Sendable, Codable {
        public var uses: String
        public var device: String
        public var gpu: String?
        public var imageSize: Int
        public var secondsPerImageEpoch: Double
        public var startupSeconds: Double
        public var basis: Basis
        public var derivation: String
        enum CodingKeys: String, CodingKey {
            case uses, device, gpu, basis, derivation
            case imageSize = "image_size"
            case secondsPerImageEpoch = "seconds_per_image_epoch"
            case startupSeconds = "startup_seconds"
        }
    }

    /// Where a figure comes from.
    public enum Basis: String, Sendable, Codable, Hashable {
        case published, derived, assumed, measured, manifest
    }

    /// The catalog shipped with synthset.
    public static let builtIn: Catalog = {
        guard let url = Bundle.module.url(forResource: "catalog", withExtension: "json"),
              let data = try? Data(contentsOf: url) else {
            fatalError("synthset was built without its catalog resource (Sources/Planning/Resources/catalog.json)")
        }
        do {
            return try JSONDecoder().decode(Catalog.self, from: data)
        } catch {
            fatalError("the built-in catalog is malformed: \(error)")
        }
    }()

    public func gpu(_ id: String) -> GPUEntry? { gpus.first { $0.id == id } }

    /// VRAM a model needs, if published or assumed in the catalog.
    public func vram(uses: ToolKind, model: String?) -> ModelEntry? {
        models.first { $0.uses == uses.rawValue && ($0.model == nil || $0.model == model) }
    }
}

/// One figure used in an estimate, with where it came from.
public struct Figure: Sendable, Codable, Hashable {
    public var value: Double
    public var basis: Catalog.Basis
    /// A short explanation: the source, or the derivation.
    public var source: String
    /// For measured figures: how many samples the median is over.
    public var samples: Int?

    public init(_ value: Double, _ basis: Catalog.Basis, _ source: String, samples: Int? = nil) {
        self.value = value
        self.basis = basis
        self.source = source
        self.samples = samples
    }
}

import Datasets
import Foundation

/// Everything the QC report shows, gathered from a plan and its workspace by
/// ``ReportBuilder``; ``HTMLReport`` turns it into the page. A pure value: no I/O.
public struct QualityReport: Sendable {
    public var workflow: String
    public var description: String?
    public var manifest: String
    public var planHash: String
    public var workspace: String
    /// `run 3 succeeded, started …` of the last run, nil before any.
    public var lastRun: String?
    /// Who holds the workspace now (a run in progress), nil when nobody.
    public var runningNow: String?
    public var hardware: String?
    public var pricePerGPUHour: Double?
    public var steps: [StepProgress]
    public var failures: [FailedItem]
    public var gallery: Gallery
    public var sources: [LabelSourceSummary]
    public var sweeps: [ThresholdSweep]
    /// Things the reader should know (labels that could not be read, …).
    public var warnings: [String]
    /// Finished trainings, in plan order.
    public var trainings: [TrainingSummary] = []

    /// The plan against what happened for one planned step.
    public struct StepProgress: Sendable {
        public var step: String
        public var uses: String
        public var device: String
        public var planned: Int
        public var done: Int
        public var failed: Int
        public var pending: Int
        /// Estimated hours of the whole step: GPU-hours on a GPU, busy hours otherwise.
        public var estimatedHours: Double
        /// The same, measured over every attempt of every run (failed attempts included).
        public var measuredHours: Double
        public var attempts: Int
    }

    public struct FailedItem: Sendable {
        public var step: String
        public var item: String
        public var error: String
        public var attempts: Int
        public var log: String?
    }

    /// Distinct images (an image labeled by two steps has two gallery entries).
    public var images: Int { Set(gallery.images.map(\.href)).count }
    public var boxes: Int { gallery.images.reduce(0) { $0 + $1.boxes.count } }
}

/// The gallery's data, embedded in the page as JSON and drawn by its script. Strings
/// are in tables (`steps`, `prompts`…) that images index, to keep 10,000 images small.
public struct Gallery: Sendable, Encodable {
    public var classes: [String]
    /// The color of each class, as in the tables and charts.
    public var colors: [String]
    /// Image steps, label sources and splits by index.
    public var steps: [String]
    public var sources: [String]
    public var splits: [String]
    public var prompts: [String]
    public var images: [Image]

    public struct Image: Sendable, Encodable {
        /// The dataset file name (`<step>-<seed>-<id8>.jpg`), as the exports name it.
        public var name: String
        /// The thumbnail's and the full image's URLs relative to the page.
        public var thumb: String
        public var href: String
        /// The full image's size: boxes are in its pixels.
        public var width: Int
        public var height: Int
        public var step: Int
        /// Index into `sources`; -1 when nothing labeled the image.
        public var source: Int
        /// Index into `splits`; -1 when no export takes the image.
        public var split: Int
        /// Index into `prompts`; -1 without a prompt (procedural scenes).
        public var prompt: Int
        public var boxes: [Box]
        /// True when `source` will label the image but has not yet; nil otherwise.
        public var pending: Bool?

        enum CodingKeys: String, CodingKey {
            case name = "n", thumb = "t", href = "u", width = "w", height = "h", step = "s", source = "l"
            case split = "p", prompt = "q", boxes = "b", pending = "x"
        }
    }

    /// One box: class index, confidence and corners in image pixels (max exclusive).
    public struct Box: Sendable, Encodable {
        public var classIndex: Int
        public var confidence: Double
        public var xmin: Double, ymin: Double, xmax: Double, ymax: Double

        public init(classIndex: Int, confidence: Double, xmin: Double, ymin: Double, xmax: Double, ymax: Double) {
            self.classIndex = classIndex
            self.confidence = confidence
            self.xmin = xmin
            self.ymin = ymin
            self.xmax = xmax
            self.ymax = ymax
        }

        /// `[class, confidence, xmin, ymin, xmax, ymax]`, rounded to what a screen shows.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.unkeyedContainer()
            try container.encode(classIndex)
            try container.encode(Self.round(confidence, 1000))
            for value in [xmin, ymin, xmax, ymax] { try container.encode(Self.round(value, 10)) }
        }

        static func round(_ value: Double, _ scale: Double) -> Double {
            value.isFinite ? (value * scale).rounded() / scale : 0
        }
    }
}

/// One finished training (`ultralytics/train` item) as the report's Training section
/// shows it: its metrics, its per-epoch curves and a few test images with predicted boxes
/// beside the ground truth.
public struct TrainingSummary: Sendable {
    public var step: String
    public var item: String
    public var metrics: TrainingMetrics
    /// `results.csv` rows by column.
    public var epochs: [[String: Double]]
    public var samples: [Sample]

    /// A test image: its URL relative to the page, size, and boxes as `[class, confidence,
    /// x1, y1, x2, y2]` in pixels (truth with confidence 1).
    public struct Sample: Sendable {
        public var name: String
        public var href: String
        public var width: Int
        public var height: Int
        public var truth: [[Double]]
        public var predicted: [[Double]]
    }
}

/// The name a step's `uses:` gives a tool: `cosmos-predict2/text2image`, `export`, ...
///
/// An open set: the registry (``ToolRegistry``) says which names a build knows and what
/// each tool takes; the constants below name the built-in tools for readability.
public struct ToolKind: RawRepresentable, Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }
    public static func < (a: ToolKind, b: ToolKind) -> Bool { a.rawValue < b.rawValue }

    public static let text2image = ToolKind("cosmos-predict2/text2image")
    public static let video2world = ToolKind("cosmos-predict2/video2world")
    public static let text2world = ToolKind("cosmos-predict2/text2world")
    public static let video2worldBestOfN = ToolKind("cosmos-predict2/video2world-best-of-n")
    public static let predict25Text2World = ToolKind("cosmos-predict2.5/text2world")
    public static let predict25Image2World = ToolKind("cosmos-predict2.5/image2world")
    public static let predict25Video2World = ToolKind("cosmos-predict2.5/video2world")
    public static let proceduralScenes = ToolKind("procedural/scenes")
    public static let extractFrames = ToolKind("ffmpeg/extract-frames")
    public static let label = ToolKind("grounded-sam2/label")
    public static let export = ToolKind("export")
    public static let edgeImpulseUpload = ToolKind("edge-impulse/upload")
    public static let command = ToolKind("command")

    /// What one item of a tool is. A `model` is a trained detector: a folder of weights
    /// and the metrics measured on it.
    public enum Output: String, Sendable, Codable, CaseIterable {
        case image, video, labels, dataset, upload, file, model

        /// Whether an item is a folder (a dataset, a trained model) rather than one file.
        public var isFolder: Bool { self == .dataset || self == .model }

        /// Whether an item is a measured result rather than a reproducible output: training
        /// is not bit-reproducible across machines, so such items are recorded with their
        /// hash and metrics but kept out of the dataset fingerprint and not verified.
        public var isMeasured: Bool { self == .model }
    }

    /// Where a task of a tool runs; GPU tasks take GPU slots and VRAM.
    public enum Device: String, Sendable, Codable {
        case gpu, cpu, network
    }
}

/// One accepted key of a step's `options:` (flags of the tool's own CLI).
public struct OptionSpec: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case bool, number, string, path
        case integerRange(ClosedRange<Int>)
        case integerChoice([Int])
        case choice([String])
    }

    public var name: String
    public var kind: Kind
    /// Whether the option changes the tool's output (and so belongs in item ids).
    public var affectsOutput: Bool
    public var note: String?
    /// What the option does, for the JSON Schema (editors show it).
    public var help: String?

    public init(_ name: String, _ kind: Kind, affectsOutput: Bool, note: String? = nil, help: String? = nil) {
        self.name = name
        self.kind = kind
        self.affectsOutput = affectsOutput
        self.note = note
        self.help = help
    }
}

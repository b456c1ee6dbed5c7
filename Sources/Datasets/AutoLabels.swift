import Foundation
import SceneFormats
import Scenes

// Auto-labeling post-processing: from Grounding DINO's raw output (or a labeling script's
// detections) to `synthset-boxes/1` labels. Pure functions; see docs/labeling.md.

// MARK: - Inputs

/// The raw labeler's output for one image (`synthset-candidates/1`): every box whose best
/// token score is above `box_floor`, with the sigmoid score of every caption token.
///
/// ```json
/// {"format":"synthset-candidates/1","image":"3fa2c9e1d0b4a5c6.jpg","width":640,"height":480,
///  "caption":"can. person.","box_floor":0.05,
///  "tokens":["[CLS]","can",".","person",".","[SEP]"],
///  "candidates":[{"cxcywh":[0.5,0.5,0.2,0.3],"scores":[0.01,0.62,0.2,0.03,0.1,0.0]}]}
/// ```
/// `cxcywh` is normalized (Grounding DINO's `pred_boxes`); `scores[i]` belongs to `tokens[i]`.
public struct LabelCandidates: Codable, Sendable, Equatable {
    public static let formatIdentifier = "synthset-candidates/1"

    public var format: String
    public var image: String
    public var width: Int
    public var height: Int
    public var caption: String
    public var boxFloor: Double
    /// The caption's WordPiece tokens, `[CLS]` and `[SEP]` included.
    public var tokens: [String]
    public var candidates: [Candidate]

    public struct Candidate: Codable, Sendable, Equatable {
        public var cxcywh: [Double]
        public var scores: [Double]

        public init(cxcywh: [Double], scores: [Double]) {
            self.cxcywh = cxcywh
            self.scores = scores
        }
    }

    public init(image: String, width: Int, height: Int, caption: String, boxFloor: Double, tokens: [String], candidates: [Candidate]) {
        self.format = Self.formatIdentifier
        self.image = image
        self.width = width
        self.height = height
        self.caption = caption
        self.boxFloor = boxFloor
        self.tokens = tokens
        self.candidates = candidates
    }

    enum CodingKeys: String, CodingKey {
        case format, image, width, height, caption, tokens, candidates
        case boxFloor = "box_floor"
    }

    public static func decode(from data: Data) throws -> LabelCandidates {
        let value = try JSONDecoder().decode(LabelCandidates.self, from: data)
        guard value.format == formatIdentifier else { throw DatasetError("candidates are in format '\(value.format)', expected \(formatIdentifier)") }
        for (index, candidate) in value.candidates.enumerated() where candidate.cxcywh.count != 4 || candidate.scores.count != value.tokens.count {
            throw DatasetError("candidate \(index) of \(value.image) has \(candidate.cxcywh.count) box values and \(candidate.scores.count) scores for \(value.tokens.count) tokens")
        }
        return value
    }
}

/// One detection before class mapping: a phrase, its confidence and an absolute box.
public struct PhraseDetection: Sendable, Equatable {
    public var phrase: String
    /// The detector's confidence (Grounding DINO: the box's best token score); nil when unknown.
    public var confidence: Double?
    public var box: GroundTruth.BoundingBox
    /// The box's best token score in each caption phrase, in caption order (raw mode only);
    /// used to resolve merged phrases.
    public var phraseScores: [Double]?

    public init(phrase: String, confidence: Double?, box: GroundTruth.BoundingBox, phraseScores: [Double]? = nil) {
        self.phrase = phrase
        self.confidence = confidence
        self.box = box
        self.phraseScores = phraseScores
    }
}

/// The per-image JSON of the article's `grounded_sam2_batch_image.py`:
/// `{filename, image_width, image_height, detections[{class, confidence, bbox{xmin,ymin,xmax,ymax}}]}`.
public struct BatchScriptLabels: Codable, Sendable, Equatable {
    public var filename: String
    public var imageWidth: Int
    public var imageHeight: Int
    public var detections: [Detection]

    public struct Detection: Codable, Sendable, Equatable {
        /// The decoded phrase, as Grounding DINO's `predict()` returns it (may be `##lift`,
        /// `can person` or empty).
        public var phrase: String
        public var confidence: Double
        public var bbox: GroundTruth.BoundingBox

        enum CodingKeys: String, CodingKey {
            case phrase = "class"
            case confidence, bbox
        }
    }

    enum CodingKeys: String, CodingKey {
        case filename, detections
        case imageWidth = "image_width"
        case imageHeight = "image_height"
    }

    public static func decode(from data: Data) throws -> BatchScriptLabels {
        try JSONDecoder().decode(BatchScriptLabels.self, from: data)
    }

    public var phraseDetections: [PhraseDetection] {
        detections.map { PhraseDetection(phrase: $0.phrase, confidence: $0.confidence, box: $0.bbox) }
    }
}

// MARK: - Grounding DINO's thresholds

/// Grounding DINO's `predict()` post-processing (`groundingdino/util/inference.py`),
/// reproduced so thresholds can change without running the model again:
/// - a box is kept when its best token score is `> box_threshold` (strict);
/// - its confidence is that best score;
/// - its phrase is `tokenizer.decode` of every token scoring `> text_threshold`, position 0
///   (`[CLS]`) excluded, with `.` removed;
/// - boxes are normalized cx, cy, w, h.
public enum GroundingDINO {
    /// BERT's `decode`: tokens joined by spaces, `" ##"` removed (so a word piece joins the
    /// piece before it when that one was selected too, and keeps its `##` when it leads),
    /// then `clean_up_tokenization_spaces` (`" ."` → `"."` and the like).
    public static func decode(_ tokens: [String]) -> String {
        var text = tokens.joined(separator: " ").replacingOccurrences(of: " ##", with: "")
        text = text.trimmingCharacters(in: .whitespaces)
        for (from, to) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                           (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
            text = text.replacingOccurrences(of: from, with: to)
        }
        return text
    }

    /// The token index ranges of the caption's phrases (between `.` tokens, `[CLS]` and
    /// `[SEP]` excluded), in caption order.
    public static func phraseSpans(_ tokens: [String]) -> [Range<Int>] {
        var spans: [Range<Int>] = []
        var start = 1
        for index in 1..<max(1, tokens.count) {
            let token = tokens[index]
            if token == "." || token == "[SEP]" {
                if index > start { spans.append(start..<index) }
                start = index + 1
                if token == "[SEP]" { break }
            }
        }
        return spans
    }

    /// Applies the thresholds to one image's candidates. Returns the kept detections and,
    /// for each box dropped by `box_threshold`, the index of the caption phrase its best
    /// token belongs to (nil outside any phrase).
    public static func apply(_ candidates: LabelCandidates, boxThreshold: Double, textThreshold: Double)
        -> (kept: [PhraseDetection], belowThreshold: [Int?]) {
        let tokens = candidates.tokens
        let spans = phraseSpans(tokens)
        let limit = min(tokens.count, 255)  // right_idx = 255 in get_phrases_from_posmap
        var kept: [PhraseDetection] = []
        var dropped: [Int?] = []
        let w = Double(candidates.width), h = Double(candidates.height)
        for candidate in candidates.candidates {
            let scores = candidate.scores
            guard let best = scores.indices.max(by: { scores[$0] < scores[$1] }) else { continue }
            let confidence = scores[best]
            guard confidence > boxThreshold else {
                dropped.append(spans.firstIndex { $0.contains(best) })
                continue
            }
            let selected = (1..<max(1, limit)).filter { scores[$0] > textThreshold }.map { tokens[$0] }
            let phrase = decode(selected).replacingOccurrences(of: ".", with: "")
            let c = candidate.cxcywh
            let box = GroundTruth.BoundingBox(xmin: (c[0] - c[2] / 2) * w, ymin: (c[1] - c[3] / 2) * h,
                                              xmax: (c[0] + c[2] / 2) * w, ymax: (c[1] + c[3] / 2) * h)
            let phraseScores = spans.map { span in span.map { scores[$0] }.max() ?? 0 }
            kept.append(PhraseDetection(phrase: phrase, confidence: confidence, box: box, phraseScores: phraseScores))
        }
        return (kept, dropped)
    }
}

// MARK: - Class mapping, NMS and limits

/// Why a detection was left out of the labels.
public enum LabelDropReason: String, Sendable, Codable, CaseIterable {
    /// Best token score not above `box_threshold` (raw mode; the script drops its own).
    case threshold
    /// Suppressed by a higher-confidence box of the same class (`nms_iou`).
    case nms
    /// The phrase matches no class phrase.
    case unmatched
    /// The phrase is empty (no token above `text_threshold`).
    case empty
    /// The phrase joins several class phrases and no token scores tell them apart.
    case merged
    /// Nothing left inside the image, or smaller than `min_box_area`.
    case size
    /// Beyond `max_per_image`.
    case maxPerImage = "max_per_image"
}

/// What post-processing kept and dropped in one image (or, summed, in a run): per dataset
/// class, and for detections with no class (empty, unmatched, merged) per reason.
public struct LabelStats: Codable, Sendable, Equatable {
    public static let formatIdentifier = "synthset-label-stats/1"

    public var format = LabelStats.formatIdentifier
    public var classes: [String: ClassCounts] = [:]
    /// Detections dropped before a class was known, by reason.
    public var unassigned: [String: Int] = [:]
    /// The phrases dropped as unmatched, with counts (to spot a missing mapping).
    public var unmatchedPhrases: [String: Int] = [:]
    /// How merged phrases were resolved to one class (`"can person" -> "can"`), with counts.
    public var resolvedMerges: [String: Int] = [:]

    public struct ClassCounts: Codable, Sendable, Equatable {
        public var kept = 0
        public var dropped: [String: Int] = [:]
    }

    enum CodingKeys: String, CodingKey {
        case format, classes, unassigned
        case unmatchedPhrases = "unmatched_phrases"
        case resolvedMerges = "resolved_merges"
    }

    public init() {}

    mutating func keep(_ className: String) { classes[className, default: ClassCounts()].kept += 1 }

    mutating func drop(_ className: String?, _ reason: LabelDropReason) {
        if let className {
            classes[className, default: ClassCounts()].dropped[reason.rawValue, default: 0] += 1
        } else {
            unassigned[reason.rawValue, default: 0] += 1
        }
    }

    /// Dropped count for a reason, over classes and unassigned.
    public func dropped(_ reason: LabelDropReason) -> Int {
        classes.values.reduce(unassigned[reason.rawValue] ?? 0) { $0 + ($1.dropped[reason.rawValue] ?? 0) }
    }

    public var kept: Int { classes.values.reduce(0) { $0 + $1.kept } }

    public mutating func add(_ other: LabelStats) {
        for (name, counts) in other.classes {
            classes[name, default: ClassCounts()].kept += counts.kept
            for (reason, count) in counts.dropped { classes[name, default: ClassCounts()].dropped[reason, default: 0] += count }
        }
        for (reason, count) in other.unassigned { unassigned[reason, default: 0] += count }
        for (phrase, count) in other.unmatchedPhrases { unmatchedPhrases[phrase, default: 0] += count }
        for (merge, count) in other.resolvedMerges { resolvedMerges[merge, default: 0] += count }
    }

    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data()
    }
}

/// Maps Grounding DINO phrases to dataset classes (see ``map(_:phraseScores:)`` for the
/// rules).
public struct PhraseMapper: Sendable {
    /// `(phrase, class)` in caption order; phrases compared lowercased, whitespace collapsed.
    public let classes: [(phrase: String, className: String)]
    let words: [[String]]

    public init(classes: [(phrase: String, className: String)]) {
        self.classes = classes
        self.words = classes.map { Self.words($0.phrase.lowercased()) }
    }

    public enum Outcome: Sendable, Equatable {
        case mapped(className: String, merged: Bool)
        case dropped(LabelDropReason)
    }

    static let specialTokens: Set<String> = ["[CLS]", "[SEP]", "[PAD]", "[UNK]", "[cls]", "[sep]", "[pad]", "[unk]"]

    static func words(_ text: String) -> [String] {
        text.split(whereSeparator: { $0.isWhitespace }).map(String.init).filter { !specialTokens.contains($0) }
    }

    /// The rules, in order:
    /// 1. The phrase is lowercased, split into words, and BERT's special tokens (`[SEP]`...)
    ///    are removed. Nothing left → dropped as `empty`.
    /// 2. A word that is a leading word piece (`##lift`: its first piece was below
    ///    `text_threshold`) is replaced by the one class-phrase word that ends with it and is
    ///    longer (`forklift`); with none, or several, it stays and matches nothing. (A piece
    ///    after a selected piece is already joined to it by BERT's decode: `fork ##lift` →
    ///    `forklift`.)
    /// 3. Exactly a class phrase → that class.
    /// 4. Otherwise the class phrases found in it as whole-word runs (a merged phrase such
    ///    as `can person`, from tokens of several phrases above `text_threshold`):
    ///    - one → that class;
    ///    - several → the one whose caption phrase has the highest token score for this box
    ///      (raw mode, which has the scores; ties go to the earlier phrase); without scores
    ///      (script mode) dropped as `merged`;
    ///    - none → dropped as `unmatched`.
    public func map(_ phrase: String, phraseScores: [Double]? = nil) -> Outcome {
        var tokens = Self.words(phrase.lowercased())
        if tokens.isEmpty { return .dropped(.empty) }
        tokens = tokens.map { word in
            guard word.hasPrefix("##") else { return word }
            let piece = String(word.dropFirst(2))
            let matches = Set(words.joined().filter { $0.count > piece.count && $0.hasSuffix(piece) })
            return matches.count == 1 ? matches.first! : word
        }
        if let index = words.firstIndex(of: tokens) { return .mapped(className: classes[index].className, merged: false) }
        let found = words.indices.filter { !words[$0].isEmpty && Self.contains(tokens, run: words[$0]) }
        // A phrase inside another found phrase (`lift` in `fork lift`) is not a separate match.
        let outer = found.filter { index in
            !found.contains { other in other != index && words[other].count > words[index].count && Self.contains(words[other], run: words[index]) }
        }
        let classNames = Set(outer.map { classes[$0].className })
        if classNames.count == 1 { return .mapped(className: classes[outer[0]].className, merged: outer.count > 1) }
        if outer.isEmpty { return .dropped(.unmatched) }
        guard let scores = phraseScores, scores.count == classes.count else { return .dropped(.merged) }
        let best = outer.max { a, b in scores[a] < scores[b] || (scores[a] == scores[b] && a > b) }!
        return .mapped(className: classes[best].className, merged: true)
    }

    static func contains(_ words: [String], run: [String]) -> Bool {
        guard run.count <= words.count else { return false }
        return (0...(words.count - run.count)).contains { Array(words[$0..<($0 + run.count)]) == run }
    }
}

/// Box filters shared by auto-labels and procedural ground truth.
public enum BoxFilters {
    /// The box clipped to the image (the exporters' own rule, ``Detection/clipped(width:height:)``),
    /// or nil when nothing is left.
    public static func clamp(_ box: GroundTruth.BoundingBox, width: Int, height: Int) -> GroundTruth.BoundingBox? {
        Detection(className: "", xmin: box.xmin, ymin: box.ymin, xmax: box.xmax, ymax: box.ymax)
            .clipped(width: width, height: height)
            .map { GroundTruth.BoundingBox(xmin: $0.xmin, ymin: $0.ymin, xmax: $0.xmax, ymax: $0.ymax) }
    }

    /// Whether a box is at least `minArea` square pixels.
    public static func hasArea(_ box: GroundTruth.BoundingBox, atLeast minArea: Double?) -> Bool {
        guard let minArea else { return true }
        return box.width * box.height >= minArea
    }

    public static func iou(_ a: GroundTruth.BoundingBox, _ b: GroundTruth.BoundingBox) -> Double {
        let w = max(0, min(a.xmax, b.xmax) - max(a.xmin, b.xmin))
        let h = max(0, min(a.ymax, b.ymax) - max(a.ymin, b.ymin))
        let intersection = w * h
        let union = a.width * a.height + b.width * b.height - intersection
        return union > 0 ? intersection / union : 0
    }

    /// Indices of objects kept by greedy class-wise NMS: highest confidence first, a box is
    /// suppressed when its IoU with a kept box of the same class is `> threshold`.
    public static func nms(_ objects: [GroundTruth.Object], iou threshold: Double) -> Set<Int> {
        var kept: [Int] = []
        for index in byConfidence(objects) {
            let object = objects[index]
            if kept.contains(where: { objects[$0].className == object.className && iou(objects[$0].bbox, object.bbox) > threshold }) { continue }
            kept.append(index)
        }
        return Set(kept)
    }

    /// Indices by descending confidence, ties in original order.
    public static func byConfidence(_ objects: [GroundTruth.Object]) -> [Int] {
        objects.indices.sorted { a, b in
            objects[a].confidence != objects[b].confidence ? objects[a].confidence > objects[b].confidence : a < b
        }
    }

    /// Indices of the `count` most confident objects.
    public static func top(_ objects: [GroundTruth.Object], count: Int?) -> Set<Int> {
        guard let count else { return Set(objects.indices) }
        return Set(byConfidence(objects).prefix(count))
    }
}

/// The whole post-processing of one image: class mapping, clamping, `min_box_area`,
/// class-wise NMS, `max_per_image`, in that order.
public struct LabelPostprocessor: Sendable {
    public var mapper: PhraseMapper
    public var nmsIoU: Double?
    public var minBoxArea: Double?
    public var maxPerImage: Int?
    public var source: String

    public init(classes: [(phrase: String, className: String)], nmsIoU: Double? = nil, minBoxArea: Double? = nil,
                maxPerImage: Int? = nil, source: String = "grounded-sam2/label") {
        self.mapper = PhraseMapper(classes: classes)
        self.nmsIoU = nmsIoU
        self.minBoxArea = minBoxArea
        self.maxPerImage = maxPerImage
        self.source = source
    }

    /// Labels and stats for one image. `belowThreshold`: the caption phrase index of each
    /// box Grounding DINO's `box_threshold` dropped (raw mode), counted against its class.
    public func process(_ detections: [PhraseDetection], belowThreshold: [Int?] = [], image: String,
                        width: Int, height: Int) -> (labels: GroundTruth, stats: LabelStats) {
        var stats = LabelStats()
        for phraseIndex in belowThreshold {
            stats.drop(phraseIndex.flatMap { $0 < mapper.classes.count ? mapper.classes[$0].className : nil }, .threshold)
        }
        var objects: [GroundTruth.Object] = []
        for detection in detections {
            switch mapper.map(detection.phrase, phraseScores: detection.phraseScores) {
            case .dropped(let reason):
                stats.drop(nil, reason)
                if reason == .unmatched { stats.unmatchedPhrases[detection.phrase, default: 0] += 1 }
            case .mapped(let className, let merged):
                if merged { stats.resolvedMerges["\(detection.phrase) -> \(className)", default: 0] += 1 }
                guard let box = BoxFilters.clamp(detection.box, width: width, height: height),
                      BoxFilters.hasArea(box, atLeast: minBoxArea) else {
                    stats.drop(className, .size)
                    continue
                }
                // Unknown confidence (imported labels) sorts last.
                objects.append(GroundTruth.Object(className: className, confidence: detection.confidence ?? 0, bbox: box))
            }
        }
        if let nmsIoU {
            let kept = BoxFilters.nms(objects, iou: nmsIoU)
            for index in objects.indices where !kept.contains(index) { stats.drop(objects[index].className, .nms) }
            objects = objects.indices.filter(kept.contains).map { objects[$0] }
        }
        let top = BoxFilters.top(objects, count: maxPerImage)
        for index in objects.indices where !top.contains(index) { stats.drop(objects[index].className, .maxPerImage) }
        objects = objects.indices.filter(top.contains).map { objects[$0] }
        for object in objects { stats.keep(object.className) }
        return (GroundTruth(image: image, width: width, height: height, source: source, objects: objects), stats)
    }
}

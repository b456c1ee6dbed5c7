import Crypto
import Foundation
import Scenes
import WorkflowSpec

/// Everything that determines an item's content, and nothing else: not its position in
/// a list, not the step's id or order. Its canonical JSON (sorted keys) is hashed into
/// the item id and kept so a user can diff why an item changed.
public struct ItemSignature: Sendable, Codable, Hashable {
    /// The `uses:` of the step.
    public var tool: String
    public var model: String?
    /// Options that change the output (offloading flags and the like are left out).
    public var options: [String: OptionValue]?
    public var prompt: String?
    public var negative: String?
    public var seed: Int?
    /// Ids of the input items, in the order the tool receives them.
    public var inputs: [String]?
    /// Tool parameters that change the output (resolution, fps, frame index, thresholds...).
    public var params: [String: OptionValue]?
    /// Labeling classes, phrase to class.
    public var classes: [ClassMapping]?
    /// The procedural scene description.
    public var scene: SceneSpec?
    /// Export formats and split.
    public var formats: [String]?
    public var split: Split?
    /// A `command` step's program and argument templates.
    public var command: [String]?

    public init(tool: ToolKind) {
        self.tool = tool.rawValue
    }

    /// Canonical JSON: sorted keys, no whitespace, absent fields omitted.
    public func canonicalJSON() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain values cannot fail.
        return (try? encoder.encode(self)) ?? Data()
    }

    /// The item id: SHA-256 of the canonical JSON, hex.
    public var id: String { ContentHash.sha256(canonicalJSON()) }
}

/// SHA-256 as lowercase hex, the one hash synthset uses for ids and fingerprints.
public enum ContentHash {
    public static func sha256(_ data: Data) -> String {
        // A lookup table, not String(format:): planning hashes every item, and
        // Foundation's formatting was most of the planner's time.
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in SHA256.hash(data: data) {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    public static func sha256(_ text: String) -> String { sha256(Data(text.utf8)) }
}

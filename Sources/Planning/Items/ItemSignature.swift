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

    /// Canonical JSON: sorted keys, no whitespace, absent fields omitted. Byte for byte
    /// what `JSONEncoder` with `.sortedKeys` and `.withoutEscapingSlashes` writes (a test
    /// holds it to that), written by hand because planning 100,000 items spent half its
    /// time in `JSONEncoder`.
    public func canonicalJSON() -> Data {
        let out = CanonicalJSONWriter()
        out.object {
            if let classes {
                out.key("classes")
                out.array(classes) { mapping in
                    out.object {
                        out.key("className"); out.string(mapping.className)
                        out.key("phrase"); out.string(mapping.phrase)
                    }
                }
            }
            if let command { out.key("command"); out.array(command) { out.string($0) } }
            if let formats { out.key("formats"); out.array(formats) { out.string($0) } }
            if let inputs { out.key("inputs"); out.array(inputs) { out.string($0) } }
            if let model { out.key("model"); out.string(model) }
            if let negative { out.key("negative"); out.string(negative) }
            if let options { out.key("options"); out.options(options) }
            if let params { out.key("params"); out.options(params) }
            if let prompt { out.key("prompt"); out.string(prompt) }
            if let scene { out.key("scene"); out.raw(SceneJSONCache.shared.json(scene)) }
            if let seed { out.key("seed"); out.raw(String(seed)) }
            if let split {
                out.key("split")
                out.object {
                    out.key("test"); out.number(split.test)
                    out.key("train"); out.number(split.train)
                    out.key("validation"); out.number(split.validation)
                }
            }
            out.key("tool"); out.string(tool)
        }
        return Data(out.bytes)
    }

    /// The same JSON through Foundation, for the test that keeps the two identical.
    package func foundationJSON() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
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

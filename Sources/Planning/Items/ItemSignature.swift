import Basics
import Crypto
import Foundation
import SceneFormats
import WorkflowSpec

/// Everything that determines an item's content, and nothing else: not its position in
/// a list, not the step's id or order. Its canonical JSON (sorted keys) is hashed into
/// the item id and kept so a user can diff why an item changed.
public struct ItemSignature: Sendable, Codable, Hashable {
    /// The version of what signatures hold and how they are written (docs/plan-format.md).
    /// 1: the first encoding; 2: `params.checkout`, `params.script_sha256` and
    /// `params.program_sha256` when they apply, so items without them kept their ids.
    /// The ids of the shipped recipes are pinned by GoldenIDTests.
    public static let encodingVersion = 2

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
            for field in Field.allCases { write(field, to: out) }
        }
        return Data(out.bytes)
    }

    /// The signature's members, in the (sorted) order canonical JSON writes them.
    enum Field: CaseIterable {
        case classes, command, formats, inputs, model, negative, options, params, prompt, scene, seed, split, tool
    }

    /// Writes `"name":value` for one member, or nothing when it is absent.
    func write(_ field: Field, to out: CanonicalJSONWriter) {
        switch field {
        case .classes:
            guard let classes else { return }
            out.key("classes")
            out.array(classes) { mapping in
                out.object {
                    out.key("className"); out.string(mapping.className)
                    out.key("phrase"); out.string(mapping.phrase)
                }
            }
        case .command: if let command { out.key("command"); out.array(command) { out.string($0) } }
        case .formats: if let formats { out.key("formats"); out.array(formats) { out.string($0) } }
        case .inputs: if let inputs { out.key("inputs"); out.array(inputs) { out.string($0) } }
        case .model: if let model { out.key("model"); out.string(model) }
        case .negative: if let negative { out.key("negative"); out.string(negative) }
        case .options: if let options { out.key("options"); out.options(options) }
        case .params: if let params { out.key("params"); out.options(params) }
        case .prompt: if let prompt { out.key("prompt"); out.string(prompt) }
        case .scene: if let scene { out.key("scene"); out.raw(SceneJSONCache.shared.json(scene)) }
        case .seed: if let seed { out.key("seed"); out.raw(String(seed)) }
        case .split:
            guard let split else { return }
            out.key("split")
            out.object {
                out.key("test"); out.number(split.test)
                out.key("train"); out.number(split.train)
                out.key("validation"); out.number(split.validation)
            }
        case .tool: out.key("tool"); out.string(tool)
        }
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

/// Canonical JSON and ids for the items of one step: the members every item shares are
/// encoded once, and only the members that vary (inputs, prompt, negative, seed) per item.
/// Writes exactly what ``ItemSignature/canonicalJSON()`` writes for the same signature.
struct SignatureEncoder: Sendable {
    /// A run of `constants`, or a member the item gives. Plain values: walking the
    /// segments of every item touches no reference count (when a segment held its own
    /// bytes, each item retained and released them, on every core at once).
    enum Segment: Sendable {
        case constant(Range<Int>)
        case variable(ItemSignature.Field)
    }

    let base: ItemSignature
    let varying: Set<ItemSignature.Field>
    private let segments: [Segment]
    /// The constant members' bytes, one after the other.
    private let constants: [UInt8]

    /// `varying` may hold only `.inputs`, `.negative`, `.prompt` and `.seed`.
    init(base: ItemSignature, varying: Set<ItemSignature.Field>) {
        self.base = base
        self.varying = varying
        var segments: [Segment] = []
        var constants: [UInt8] = []
        let scratch = CanonicalJSONWriter()
        for field in ItemSignature.Field.allCases {
            if varying.contains(field) {
                segments.append(.variable(field))
                continue
            }
            scratch.reset()
            scratch.object { base.write(field, to: scratch) }
            let encoded = scratch.bytes.dropFirst().dropLast()  // without the braces
            guard !encoded.isEmpty else { continue }
            if case .constant(let before)? = segments.last {
                constants.append(UInt8(ascii: ","))
                constants += encoded
                segments[segments.count - 1] = .constant(before.lowerBound..<constants.count)
            } else {
                constants += encoded
                segments.append(.constant(constants.count - encoded.count..<constants.count))
            }
        }
        self.segments = segments
        self.constants = constants
    }

    /// The item id for the base signature with these varying members, written with `out`.
    func id(inputs: [String]?, negative: String?, prompt: String?, seed: Int?, using out: CanonicalJSONWriter) -> String {
        out.withBytes { bytes in
            bytes.removeAll(keepingCapacity: true)
            bytes.append(UInt8(ascii: "{"))
            var first = true
            func member(_ key: UnsafeBufferPointer<UInt8>) {
                if !first { bytes.append(UInt8(ascii: ",")) }
                first = false
                bytes.append(contentsOf: key)
            }
            segments.withUnsafeBufferPointer { segments in
                constants.withUnsafeBufferPointer { constants in
                    for index in segments.indices {
                        switch segments[index] {
                        case .constant(let range):
                            member(UnsafeBufferPointer(rebasing: constants[range]))
                        case .variable(.inputs):
                            guard let inputs else { continue }
                            Self.inputsKey.withUTF8Buffer { member($0) }
                            bytes.append(UInt8(ascii: "["))
                            inputs.withUnsafeBufferPointer { inputs in
                                for index in inputs.indices {
                                    if index > 0 { bytes.append(UInt8(ascii: ",")) }
                                    CanonicalJSONWriter.appendString(inputs[index], to: &bytes)
                                }
                            }
                            bytes.append(UInt8(ascii: "]"))
                        case .variable(.negative):
                            guard let negative else { continue }
                            Self.negativeKey.withUTF8Buffer { member($0) }
                            CanonicalJSONWriter.appendString(negative, to: &bytes)
                        case .variable(.prompt):
                            guard let prompt else { continue }
                            Self.promptKey.withUTF8Buffer { member($0) }
                            CanonicalJSONWriter.appendString(prompt, to: &bytes)
                        case .variable(.seed):
                            guard let seed else { continue }
                            Self.seedKey.withUTF8Buffer { member($0) }
                            bytes.append(contentsOf: String(seed).utf8)
                        case .variable:
                            preconditionFailure("only inputs, negative, prompt and seed vary")
                        }
                    }
                }
            }
            bytes.append(UInt8(ascii: "}"))
            return bytes.withUnsafeBytes { ContentHash.sha256(bytes: $0) }
        }
    }

    private static let inputsKey: StaticString = #""inputs":"#
    private static let negativeKey: StaticString = #""negative":"#
    private static let promptKey: StaticString = #""prompt":"#
    private static let seedKey: StaticString = #""seed":"#
}

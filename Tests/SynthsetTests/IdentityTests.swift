import Basics
import Execution
import Foundation
@testable import Planning
import SceneFormats
import Scenes
import Testing
import WorkflowSpec

/// Item ids hash a hand-written canonical JSON; it must stay byte-identical to
/// Foundation's sorted-keys encoding so ids are the readable JSON users diff.
struct IdentityTests {
    static let tricky = ["plain", "quote \" and backslash \\ and slash /", "line\nbreak\ttab\r", "\u{1}\u{1F} control",
                         "café, 日本語, 🥫", "", "{braces} [brackets]", "\u{7F} delete \u{2028} separator"]

    static func signatures() -> [ItemSignature] {
        var result: [ItemSignature] = []
        var generator = SplitMix64(seed: 42)
        for (index, text) in tricky.enumerated() {
            let tools = ToolRegistry.standard.definitions.map(\.uses)
            var signature = ItemSignature(tool: tools[index % tools.count])
            signature.prompt = text
            signature.negative = index % 2 == 0 ? tricky[(index + 1) % tricky.count] : nil
            signature.model = index % 3 == 0 ? "2B" : nil
            signature.seed = index % 2 == 1 ? Int(generator.next() % 100_000) : nil
            signature.inputs = index % 3 == 1 ? [ContentHash.sha256(text), ContentHash.sha256("x")] : nil
            signature.options = index % 2 == 0 ? ["disable_guardrail": .bool(true), "guidance": .number(7),
                                                  "aspect_ratio": .string("16:9"), "distill_steps": .int(2)] : nil
            signature.params = ["box_threshold": .number([0.3, 0.25, 1e-7, 123456.789, 0.1 + 0.2, 1.0, -2.5][index % 7]),
                                "frame": .int(index * 8), "mode": .string(text)]
            signature.classes = index % 2 == 1 ? [ClassMapping(phrase: text, className: "can"), ClassMapping(phrase: "person", className: "person")] : nil
            signature.formats = index % 4 == 0 ? ["pascal-voc", "coco"] : nil
            signature.split = index % 4 == 1 ? Split(train: 0.8, test: 0.15, validation: 0.05) : nil
            signature.command = index % 5 == 0 ? ["./tool", "{input}", text] : nil
            if index % 3 == 2 {
                signature.scene = SceneSpec(objects: [.init(name: text, shape: .cylinder, colors: [0xFF0000, 0x00FF00])])
            }
            result.append(signature)
        }
        return result
    }

    @Test(arguments: signatures())
    func canonicalJSONMatchesFoundation(_ signature: ItemSignature) {
        let ours = String(decoding: signature.canonicalJSON(), as: UTF8.self)
        let foundation = String(decoding: signature.foundationJSON(), as: UTF8.self)
        #expect(ours == foundation)
    }

    /// A plan's hash is fed id by id; it must stay the hash of the ids joined (lock files
    /// and runs recorded before compare against it).
    @Test func hashingPiecesIsHashingThemJoined() {
        let cases: [[String]] = [[], [""], ["a"], ["a", "b"], ["", ""], ["é", "日本", "🙂"], (0..<1000).map { String($0, radix: 16) }]
        for texts in cases {
            for separator in ["\n", "", ", "] {
                #expect(ContentHash.sha256(joining: texts, separator: separator)
                        == ContentHash.sha256(texts.joined(separator: separator)), "\(texts.prefix(3)) / \(separator)")
            }
        }
    }

    @Test func idIsTheHashOfTheCanonicalJSON() {
        for signature in Self.signatures() {
            #expect(signature.id == ContentHash.sha256(signature.foundationJSON()))
            #expect(signature.id.count == 64)
        }
        var a = ItemSignature(tool: .text2image)
        a.prompt = "cans"
        a.seed = 1
        var b = a
        b.seed = 2
        #expect(a.id != b.id)
    }
}

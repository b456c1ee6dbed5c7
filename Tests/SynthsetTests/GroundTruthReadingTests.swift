import Foundation
import Scenes
import Testing

@testable import SceneFormats

/// The plain reader of ground-truth files (``GroundTruth/readPlain(_:)``) against
/// `JSONDecoder`: what it reads must be exactly the decoder's value; what it declines
/// goes to the decoder, which gives the same value or error as before.
@Suite struct GroundTruthReadingTests {
    /// Truth as the renderer writes it (many seeds, every shape) and by hand, with
    /// fractional, negative, tiny and huge edges and a confidence below 1.
    static func truths() -> [GroundTruth] {
        let rendered = (0..<60).map { SceneRenderer(spec: ScenesTests.spec).render(seed: UInt64($0), imageName: "s-\($0).jpg").truth }
        let handWritten = GroundTruth(
            image: "caf\u{e9}/\u{1F600} a.jpg", width: 640, height: 480, source: "grounded-sam-2",
            objects: [.init(className: "tin can", confidence: 0.123_456_789, bbox: .init(xmin: 0.5, ymin: -0.0, xmax: 1e-7, ymax: 123_456.789)),
                      .init(className: "x", confidence: 0, bbox: .init(xmin: -3, ymin: 2.5e20, xmax: 1e15, ymax: 639.999_999))])
        return rendered + [handWritten, GroundTruth(image: "empty.jpg", width: 1, height: 1, objects: [])]
    }

    @Test func readsWhatTheEncoderWritesExactlyAsJSONDecoderDoes() throws {
        let truths = Self.truths()
        #expect(truths.contains { $0.objects.count >= 3 })
        for truth in truths {
            let data = truth.encoded()
            let plain = try #require(GroundTruth.readPlain(data))
            #expect(plain == (try GroundTruth.decodedByFoundation(data)))
            #expect(plain == truth)
        }
    }

    /// The same documents pretty-printed (whitespace everywhere) and with their keys in
    /// the order the structs declare them.
    @Test func readsAnyKeyOrderAndWhitespace() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes]
        for truth in Self.truths().prefix(20) {
            let data = try encoder.encode(truth) + Data("\r\n\t ".utf8)
            #expect(String(decoding: data, as: UTF8.self).contains("\n  "))
            let plain = try #require(GroundTruth.readPlain(data))
            #expect(plain == (try GroundTruth.decodedByFoundation(data)))
        }
    }

    static let base = #"{"format":"synthset-boxes/1","height":48,"image":"a.jpg","objects":[{"bbox":{"xmax":54,"xmin":47.5,"ymax":34,"ymin":20},"class":"can","confidence":1}],"source":"procedural/scenes","width":64}"#

    /// Documents the reader leaves to `JSONDecoder`: each changes one thing of `base`.
    static let declined: [(from: String, to: String)] = [
        (#""a.jpg""#, #""a\/b.jpg""#),                    // an escape
        (#""a.jpg""#, #""caf\u00e9.jpg""#),               // a unicode escape
        (#""width":64"#, #""width":64,"extra":true"#),    // an unknown key (JSONDecoder ignores it)
        (#""width":64"#, #""width":64,"width":65"#),      // a repeated key
        (#""confidence":1"#, #""confidence":"inf""#),     // non-finite, spelled as a string
        (#""confidence":1"#, #""confidence":"nan""#),
        (#""width":64"#, #""width":64.0"#),               // an Int written with a fraction
        (#""width":64"#, #""width":6.4e1"#),
        (#""width":64"#, #""width":064"#),                // not JSON: a leading zero
        (#""width":64"#, #""width":99999999999999999999"#), // overflows Int
        (#""ymin":20"#, #""ymin":1e400"#),                // overflows Double
        (#""ymin":20"#, #""ymin":.5"#),                   // not JSON
        (#""ymin":20"#, #""ymin":+5"#),
        (#""ymin":20"#, #""ymin":5."#),
        (#""ymin":20"#, #""ymin":NaN"#),
        (#""ymin":20"#, #""ymin":null"#),
        (#""class":"can""#, #""class":"c\#u{01}n""#),     // a raw control character
        (#""width":64}"#, #""width":64} x"#),            // trailing text
        (#""width":64}"#, #""width":64"#),               // truncated
        (#""confidence":1}"#, #""confidence":1},]"#),      // a trailing comma
        (#""format":"synthset-boxes/1","#, ""),           // a key missing
    ]

    @Test func declinesAnythingElseAndDecodeStillAgreesWithJSONDecoder() throws {
        #expect(GroundTruth.readPlain(Data(Self.base.utf8)) != nil)
        var cases = Self.declined.map { Self.base.replacingOccurrences(of: $0.from, with: $0.to) }
        cases.append(Self.base.replacingOccurrences(of: "\"objects\":[", with: "\"objects\":[{},"))  // an empty object
        cases.append(String(Self.base.dropFirst()))  // no opening brace
        cases.append("")
        var invalid = Array(Self.base.utf8)
        invalid[invalid.firstIndex(of: UInt8(ascii: "j"))!] = 0xFF  // not UTF-8, inside "a.jpg"
        var documents = cases.map { Data($0.utf8) }
        documents.append(Data(invalid))
        for (index, data) in documents.enumerated() {
            #expect(data != Data(Self.base.utf8), "case \(index) changed nothing")
            #expect(GroundTruth.readPlain(data) == nil, "case \(index): \(String(decoding: data, as: UTF8.self))")
            let viaDecode = Result { try GroundTruth.decodedByFoundation(data) }
            let viaPublic = Result { try GroundTruth.readPlain(data) ?? GroundTruth.decodedByFoundation(data) }
            switch (viaDecode, viaPublic) {
            case let (.success(expected), .success(got)): #expect(expected.encoded() == got.encoded())  // NaN != NaN
            case (.failure, .failure): break
            default: Issue.record("case \(index): decode and JSONDecoder disagree")
            }
        }
    }
}

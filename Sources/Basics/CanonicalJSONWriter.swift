import Foundation

/// Writes compact JSON the way Foundation's `JSONEncoder` does with `.sortedKeys` and
/// `.withoutEscapingSlashes`: the caller writes keys in sorted order; strings escape `"`,
/// `\` and control characters; integral doubles print without a fraction.
package final class CanonicalJSONWriter {
    package private(set) var bytes: [UInt8] = []
    /// Whether the innermost open object or array has no member yet.
    private var firstMember: [Bool] = []

    package init() {
        bytes.reserveCapacity(512)
    }

    /// Empties the writer for the next document, keeping its buffer.
    package func reset() {
        bytes.removeAll(keepingCapacity: true)
        firstMember.removeAll(keepingCapacity: true)
    }

    /// Writes members encoded earlier (`"a":1,"b":2`), with a comma unless they come first.
    package func members(_ encoded: [UInt8]) {
        guard !encoded.isEmpty else { return }
        if firstMember[firstMember.count - 1] {
            firstMember[firstMember.count - 1] = false
        } else {
            bytes.append(UInt8(ascii: ","))
        }
        bytes.append(contentsOf: encoded)
    }

    package func object(_ body: () -> Void) {
        bytes.append(UInt8(ascii: "{"))
        firstMember.append(true)
        body()
        firstMember.removeLast()
        bytes.append(UInt8(ascii: "}"))
    }

    /// Writes `"name":`, preceded by a comma unless it is the object's first member.
    package func key(_ name: String) {
        if firstMember[firstMember.count - 1] {
            firstMember[firstMember.count - 1] = false
        } else {
            bytes.append(UInt8(ascii: ","))
        }
        string(name)
        bytes.append(UInt8(ascii: ":"))
    }

    package func array<Element>(_ elements: [Element], _ body: (Element) -> Void) {
        bytes.append(UInt8(ascii: "["))
        for (index, element) in elements.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            body(element)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    package func raw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    package func number(_ value: Double) {
        // JSON has no infinity or NaN; a reader would choke on Swift's `inf`.
        guard value.isFinite else { return raw("null") }
        if value == value.rounded(.towardZero), abs(value) < 1e15 {
            raw(String(Int64(value)))
        } else {
            raw(value.description)
        }
    }

    package func string(_ text: String) {
        Self.appendString(text, to: &bytes)
    }

    /// Direct access to the buffer, for hot loops that write it themselves.
    package func withBytes<Result>(_ body: (inout [UInt8]) -> Result) -> Result {
        body(&bytes)
    }

    /// Appends `text` as a JSON string: `"`, `\` and control characters escaped.
    package static func appendString(_ text: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        // Most strings (ids, prompts) need no escaping: copy them in one go.
        var text = text
        let plain = text.withUTF8 { utf8 in
            for byte in utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return false }
            bytes.append(contentsOf: utf8)
            return true
        }
        if plain {
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x08: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                          hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

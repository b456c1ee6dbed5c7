import Foundation

/// Writes compact JSON the way Foundation's `JSONEncoder` does with `.sortedKeys` and
/// `.withoutEscapingSlashes`: the caller writes keys in sorted order; strings escape `"`,
/// `\` and control characters; integral doubles print without a fraction.
///
/// An indented writer (``init(indentedAt:)``) lays the same JSON out as `.prettyPrinted`
/// does, as it writes: indenting compact JSON afterwards was a second pass over every
/// byte of a large plan. Signatures and ids always use a compact one.
///
/// A writer belongs to one thread at a time (each caller makes its own), so its state is
/// exempt from run-time exclusivity checks: checking every append to a class's buffer was
/// a tenth of the time `plan --format json` spent writing.
package final class CanonicalJSONWriter {
    @exclusivity(unchecked)
    package private(set) var bytes: [UInt8] = []
    /// Whether the innermost open object or array has no member yet.
    @exclusivity(unchecked)
    private var firstMember: [Bool] = []
    /// Whether to lay out as `.prettyPrinted` does, and how many levels deep the writer is.
    private let indented: Bool
    @exclusivity(unchecked)
    private var depth: Int

    package init() {
        indented = false
        depth = 0
        bytes.reserveCapacity(512)
    }

    /// A writer that lays out what it writes as `JSONEncoder`'s `.prettyPrinted` does
    /// (two spaces a level, `"key" : value`, an empty array or object as its brackets
    /// around a blank line), for a value `depth` levels inside the document.
    package init(indentedAt depth: Int) {
        indented = true
        self.depth = depth
        bytes.reserveCapacity(1 << 16)
    }

    /// Empties the writer for the next document, keeping its buffer.
    package func reset() {
        bytes.removeAll(keepingCapacity: true)
        firstMember.removeAll(keepingCapacity: true)
    }

    /// Writes members encoded earlier (`"a":1,"b":2`), with a comma unless they come first
    /// (compact writers only).
    package func members(_ encoded: [UInt8]) {
        guard !encoded.isEmpty else { return }
        if firstMember[firstMember.count - 1] {
            firstMember[firstMember.count - 1] = false
        } else {
            bytes.append(UInt8(ascii: ","))
        }
        bytes.append(contentsOf: encoded)
    }

    /// Writes a member (`"name":value`, or indented `"name" : value`) that a writer of the
    /// same layout encoded earlier at the same depth, after the separator a member needs.
    package func member(encoded: [UInt8]) {
        nextMember()
        bytes.append(contentsOf: encoded)
    }

    package func object(_ body: () -> Void) {
        open(UInt8(ascii: "{"))
        body()
        close(UInt8(ascii: "}"))
    }

    /// Writes `"name":` (indented: a new line, then `"name" : `), preceded by a comma
    /// unless it is the object's first member.
    package func key(_ name: String) {
        nextMember()
        string(name)
        if indented {
            bytes.append(contentsOf: [UInt8(ascii: " "), UInt8(ascii: ":"), UInt8(ascii: " ")])
        } else {
            bytes.append(UInt8(ascii: ":"))
        }
    }

    /// Inlinable so that each caller gets it specialized for its element type: called
    /// generically across modules, it spent more time on type metadata than on writing.
    @inlinable
    package func array<Element>(_ elements: [Element], _ body: (Element) -> Void) {
        open(UInt8(ascii: "["))
        for element in elements {
            nextMember()
            body(element)
        }
        close(UInt8(ascii: "]"))
    }

    /// Between values written one after another outside any array (the elements of an
    /// array written in pieces): a comma, and when indented the new line before the next.
    package func separator() {
        bytes.append(UInt8(ascii: ","))
        if indented { newline() }
    }

    /// Opens an object or array.
    @usableFromInline
    package func open(_ bracket: UInt8) {
        bytes.append(bracket)
        firstMember.append(true)
        depth += 1
    }

    /// Closes the innermost object or array: indented, on a line of its own, after a
    /// blank line when it is empty (as Foundation writes `[` and `]` of an empty array).
    @usableFromInline
    package func close(_ bracket: UInt8) {
        let empty = firstMember.removeLast()
        depth -= 1
        if indented {
            if empty { bytes.append(UInt8(ascii: "\n")) }
            newline()
        }
        bytes.append(bracket)
    }

    /// Before a member or element: a comma unless it is the first, and when indented its
    /// new line.
    @usableFromInline
    package func nextMember() {
        if firstMember[firstMember.count - 1] {
            firstMember[firstMember.count - 1] = false
        } else {
            bytes.append(UInt8(ascii: ","))
        }
        if indented { newline() }
    }

    private func newline() {
        let width = 2 * depth
        if width <= Self.spaces.count - 1 {
            Self.spaces.withUnsafeBufferPointer { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: $0[..<(width + 1)])) }
        } else {
            bytes.append(UInt8(ascii: "\n"))
            bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: width))
        }
    }

    /// A new line and the indentation of the first 32 levels.
    private static let spaces: [UInt8] = [UInt8(ascii: "\n")] + Array(repeating: UInt8(ascii: " "), count: 64)

    /// Writes JSON as it is: a number, or (a scene description) compact JSON, which an
    /// indented writer indents.
    package func raw(_ text: String) {
        if indented, let first = text.utf8.first, first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
            var printer = PrettyPrinter(depth: depth)
            printer.feed(Array(text.utf8))
            bytes.append(contentsOf: printer.out)
            return
        }
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
        // Most strings (ids, prompts) need no escaping: copy them in one go, read where
        // they are (`withUTF8` needs a mutable copy of the string, a retain and release
        // for each of the millions a large plan writes).
        let plain = text.utf8.withContiguousStorageIfAvailable { utf8 in
            for byte in utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return false }
            bytes.append(contentsOf: utf8)
            return true
        }
        if plain == true {
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

import Foundation

/// Writes compact JSON the way Foundation's `JSONEncoder` does with `.sortedKeys` and
/// `.withoutEscapingSlashes`: the caller writes keys in sorted order; strings escape `"`,
/// `\` and control characters; integral doubles print without a fraction.
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

    /// A writer whose buffer starts with room for `capacity` bytes.
    package init(capacity: Int = 512) {
        bytes.reserveCapacity(capacity)
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

    /// Writes a member (`"name":value`) encoded earlier, after the comma a member needs.
    package func member(encoded: [UInt8]) {
        nextMember()
        bytes.append(contentsOf: encoded)
    }

    package func object(_ body: () -> Void) {
        open(UInt8(ascii: "{"))
        body()
        close(UInt8(ascii: "}"))
    }

    /// Writes `"name":`, preceded by a comma unless it is the object's first member.
    package func key(_ name: String) {
        nextMember()
        string(name)
        bytes.append(UInt8(ascii: ":"))
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

    /// Opens an object or array.
    @usableFromInline
    package func open(_ bracket: UInt8) {
        bytes.append(bracket)
        firstMember.append(true)
    }

    /// Closes the innermost object or array.
    @usableFromInline
    package func close(_ bracket: UInt8) {
        firstMember.removeLast()
        bytes.append(bracket)
    }

    /// Before a member or element: a comma unless it is the first.
    @usableFromInline
    package func nextMember() {
        if firstMember[firstMember.count - 1] {
            firstMember[firstMember.count - 1] = false
        } else {
            bytes.append(UInt8(ascii: ","))
        }
    }

    /// Writes JSON text as it is: a number, or (a scene description) compact JSON.
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

    /// Whether `utf8` holds no `"`, `\` or control character, so that it goes into a JSON
    /// string as it is. Eight bytes at a time (the bit tricks of "Bit Twiddling Hacks":
    /// a byte below 0x20, or equal to one of the two, sets its top bit), since nearly every
    /// string of a plan (ids, prompts, paths) is plain and checking them byte by byte was
    /// most of the time spent writing them.
    package static func needsNoEscaping(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = utf8.baseAddress else { return true }
        let ones: UInt64 = 0x0101_0101_0101_0101, tops: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func hasZero(_ word: UInt64) -> Bool { (word &- ones) & ~word & tops != 0 }
        var offset = 0
        while offset + 8 <= utf8.count {
            let word = UnsafeRawPointer(base + offset).loadUnaligned(as: UInt64.self)
            // hasless(word, 0x20): exact for the question whether any byte is below it.
            if (word &- ones &* 0x20) & ~word & tops != 0 { return false }
            if hasZero(word ^ (ones &* UInt64(UInt8(ascii: "\"")))) || hasZero(word ^ (ones &* UInt64(UInt8(ascii: "\\")))) {
                return false
            }
            offset += 8
        }
        while offset < utf8.count {
            let byte = base[offset]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return false }
            offset += 1
        }
        return true
    }

    /// Appends `text` as a JSON string: `"`, `\` and control characters escaped.
    package static func appendString(_ text: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        // Most strings (ids, prompts) need no escaping: copy them in one go, read where
        // they are (`withUTF8` needs a mutable copy of the string, a retain and release
        // for each of the millions a large plan writes).
        let plain = text.utf8.withContiguousStorageIfAvailable { utf8 in
            guard needsNoEscaping(utf8) else { return false }
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

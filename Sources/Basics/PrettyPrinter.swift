/// Indents compact JSON as Foundation's `.prettyPrinted` does: two spaces a level,
/// `"key" : value`, and an empty array or object as `[` or `{`, a blank line and the
/// closing bracket on its own line. Takes its input in pieces of any size.
package struct PrettyPrinter {
    package var out: [UInt8] = []
    private var depth = 0
    private var inString = false
    private var escaped = false
    /// An `{` or `[` was the last byte: whether it is empty shows with the next one.
    private var justOpened = false

    package init() {}

    private mutating func newline() {
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * depth))
    }

    /// Appends JSON already indented for the current depth (by a printer that started there).
    package mutating func appendIndented(_ bytes: [UInt8]) {
        if justOpened {
            justOpened = false
            newline()
        }
        out.append(contentsOf: bytes)
    }

    package mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { feed($0) }
    }

    package mutating func feed(_ input: UnsafeBufferPointer<UInt8>) {
        var index = 0
        let count = input.count
        while index < count {
            if inString {
                // Copy up to and including the closing quote in one go.
                let start = index
                while index < count {
                    let byte = input[index]
                    index += 1
                    if escaped {
                        escaped = false
                    } else if byte == UInt8(ascii: "\\") {
                        escaped = true
                    } else if byte == UInt8(ascii: "\"") {
                        inString = false
                        break
                    }
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: input[start..<index]))
                continue
            }
            let byte = input[index]
            index += 1
            if justOpened {
                justOpened = false
                if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                    // Empty: a blank line, then the bracket under its opener.
                    out.append(UInt8(ascii: "\n"))
                    depth -= 1
                    newline()
                    out.append(byte)
                    continue
                }
                newline()
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
                out.append(byte)
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                out.append(byte)
                depth += 1
                justOpened = true
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                newline()
                out.append(byte)
            case UInt8(ascii: ","):
                out.append(byte)
                newline()
            case UInt8(ascii: ":"):
                out.append(contentsOf: [UInt8(ascii: " "), UInt8(ascii: ":"), UInt8(ascii: " ")])
            default:
                out.append(byte)
            }
        }
    }
}

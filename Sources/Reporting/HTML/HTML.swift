import Foundation

/// Escaping for text the page did not write itself: prompts, class names, file names,
/// error messages. Everything user-made goes through here or through the gallery's JSON
/// (see ``scriptJSON(_:)``), which the page's script only ever sets as text.
enum HTML {
    /// Text for element content and quoted attribute values.
    static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.unicodeScalars.append(character)
            }
        }
        return result
    }

    /// JSON made safe inside `<script type="application/json">`: `<`, `>` and `&` as
    /// `\u00XX` escapes (valid JSON), so no string in it can close the element or open a
    /// comment, and U+2028/U+2029 escaped for older parsers.
    static func scriptJSON(_ json: Data) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(json.count + json.count / 32)
        json.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            var index = 0
            while index < input.count {
                let byte = input[index]
                switch byte {
                case UInt8(ascii: "<"): bytes += Array("\\u003c".utf8)
                case UInt8(ascii: ">"): bytes += Array("\\u003e".utf8)
                case UInt8(ascii: "&"): bytes += Array("\\u0026".utf8)
                case 0xE2 where index + 2 < input.count && input[index + 1] == 0x80 && (input[index + 2] == 0xA8 || input[index + 2] == 0xA9):
                    bytes += Array((input[index + 2] == 0xA8 ? "\\u2028" : "\\u2029").utf8)
                    index += 2
                default: bytes.append(byte)
                }
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A number for people: thousands separated, `decimals` places.
    static func number(_ value: Double, decimals: Int = 0) -> String {
        guard value.isFinite else { return "–" }
        let text = String(format: "%.\(decimals)f", abs(value))
        let parts = text.split(separator: ".", maxSplits: 1)
        var whole = String(parts[0])
        var grouped = ""
        while whole.count > 3 {
            grouped = "," + whole.suffix(3) + grouped
            whole = String(whole.dropLast(3))
        }
        let sign = value < 0 && text.contains(where: { $0 != "0" && $0 != "." }) ? "-" : ""
        return sign + whole + grouped + (parts.count > 1 ? "." + parts[1] : "")
    }

    static func number(_ value: Int) -> String { number(Double(value)) }

    /// Hours as `1.25 h`, or minutes / seconds when small.
    static func hours(_ value: Double) -> String {
        if value <= 0 { return "0" }
        if value >= 1 { return number(value, decimals: 2) + " h" }
        if value * 60 >= 1 { return number(value * 60, decimals: 1) + " min" }
        return number(value * 3600, decimals: 1) + " s"
    }
}

/// One color per class, the same in tables, charts and the gallery.
enum Palette {
    static let colors = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324",
                         "#469990", "#808000", "#000075", "#e6beff", "#800000", "#ffd8b1", "#aaffc3", "#bfef45"]

    static func color(_ index: Int) -> String { colors[((index % colors.count) + colors.count) % colors.count] }
}

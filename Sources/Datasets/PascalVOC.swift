import Foundation

/// Pascal VOC XML, one file per image.
///
/// VOC boxes are **1-based inclusive** integer pixels. synthset's boxes are 0-based with
/// exclusive max edges, so a box covering columns `x0 ..< x1` is written as
/// `xmin = floor(x0) + 1`, `xmax = ceil(x1)` (and the same for rows), clamped to
/// `1...width` / `1...height`. Readers that follow py-faster-rcnn (and supervision)
/// subtract 1 from `xmin`/`ymin` to get back `floor(x0)`; readers that take the numbers
/// as they are (globox) are off by at most one pixel.
///
/// An image without boxes still gets a file, with no `<object>` (valid VOC; note that
/// Edge Impulse's uploader skips such files and some supervision versions fail on them).
public enum PascalVOC {
    /// The VOC box of a synthset box.
    public static func box(_ detection: Detection, width: Int, height: Int) -> (xmin: Int, ymin: Int, xmax: Int, ymax: Int) {
        func clamp(_ value: Int, _ upper: Int) -> Int { min(max(value, 1), max(upper, 1)) }
        let xmin = clamp(Int(detection.xmin.rounded(.down)) + 1, width)
        let ymin = clamp(Int(detection.ymin.rounded(.down)) + 1, height)
        let xmax = max(clamp(Int(detection.xmax.rounded(.up)), width), xmin)
        let ymax = max(clamp(Int(detection.ymax.rounded(.up)), height), ymin)
        return (xmin, ymin, xmax, ymax)
    }

    /// The XML document for one image. `folder` is written as `<folder>` (the split).
    /// Appended to one string (written once per image, 100,000 times in a large export:
    /// as lines joined, it took longer than writing the files).
    public static func xml(for image: LabeledImage, folder: String) -> String {
        var xml = ""
        xml.reserveCapacity(240 + 240 * image.detections.count)
        xml += "<annotation>\n\t<folder>"
        xml += escape(folder)
        xml += "</folder>\n\t<filename>"
        xml += escape(image.fileName)
        xml += "</filename>\n\t<size>\n\t\t<width>\(image.width)</width>\n\t\t<height>\(image.height)</height>\n"
        xml += "\t\t<depth>3</depth>\n\t</size>\n\t<segmented>0</segmented>\n"
        for detection in image.detections {
            let box = box(detection, width: image.width, height: image.height)
            xml += "\t<object>\n\t\t<name>"
            xml += escape(detection.className)
            xml += "</name>\n\t\t<pose>Unspecified</pose>\n\t\t<truncated>0</truncated>\n\t\t<difficult>0</difficult>\n"
            xml += "\t\t<bndbox>\n\t\t\t<xmin>\(box.xmin)</xmin>\n\t\t\t<ymin>\(box.ymin)</ymin>\n"
            xml += "\t\t\t<xmax>\(box.xmax)</xmax>\n\t\t\t<ymax>\(box.ymax)</ymax>\n\t\t</bndbox>\n\t</object>\n"
        }
        xml += "</annotation>\n"
        return xml
    }

    /// Escapes text for XML element content and attribute values. The five characters are
    /// ASCII, so they are found and replaced in the UTF-8 bytes; text without any (nearly
    /// every name) is returned as it is.
    public static func escape(_ text: String) -> String {
        func special(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "&"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\""), UInt8(ascii: "'"): true
            default: false
            }
        }
        guard text.utf8.contains(where: special) else { return text }
        var result: [UInt8] = []
        result.reserveCapacity(text.utf8.count + 16)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "&"): result += "&amp;".utf8
            case UInt8(ascii: "<"): result += "&lt;".utf8
            case UInt8(ascii: ">"): result += "&gt;".utf8
            case UInt8(ascii: "\""): result += "&quot;".utf8
            case UInt8(ascii: "'"): result += "&apos;".utf8
            default: result.append(byte)
            }
        }
        return String(decoding: result, as: UTF8.self)
    }
}

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
    public static func xml(for image: LabeledImage, folder: String) -> String {
        var lines = [
            "<annotation>",
            "\t<folder>\(escape(folder))</folder>",
            "\t<filename>\(escape(image.fileName))</filename>",
            "\t<size>",
            "\t\t<width>\(image.width)</width>",
            "\t\t<height>\(image.height)</height>",
            "\t\t<depth>3</depth>",
            "\t</size>",
            "\t<segmented>0</segmented>",
        ]
        for detection in image.detections {
            let box = box(detection, width: image.width, height: image.height)
            lines += [
                "\t<object>",
                "\t\t<name>\(escape(detection.className))</name>",
                "\t\t<pose>Unspecified</pose>",
                "\t\t<truncated>0</truncated>",
                "\t\t<difficult>0</difficult>",
                "\t\t<bndbox>",
                "\t\t\t<xmin>\(box.xmin)</xmin>",
                "\t\t\t<ymin>\(box.ymin)</ymin>",
                "\t\t\t<xmax>\(box.xmax)</xmax>",
                "\t\t\t<ymax>\(box.ymax)</ymax>",
                "\t\t</bndbox>",
                "\t</object>",
            ]
        }
        lines.append("</annotation>")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Escapes text for XML element content and attribute values.
    public static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&apos;"
            default: result.append(character)
            }
        }
        return result
    }
}

import Foundation

/// YOLO (Ultralytics / YOLOv5+) detection labels: one text file per image, matched to the
/// image by stem, with one line per box: `class cx cy w h`, the box center and size
/// divided by the image size (0–1, 6 decimals) and a 0-based class id.
public enum YOLO {
    /// The label file content for one image (empty for an image without boxes, which
    /// Ultralytics reads as a background image).
    public static func labels(for image: LabeledImage, classes: [String]) -> String {
        let ids = Dictionary(classes.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let width = Double(max(image.width, 1)), height = Double(max(image.height, 1))
        var text = ""
        for detection in image.detections {
            guard let id = ids[detection.className] else { continue }
            let cx = (detection.xmin + detection.xmax) / 2 / width
            let cy = (detection.ymin + detection.ymax) / 2 / height
            let w = detection.width / width
            let h = detection.height / height
            text += "\(id) \(decimal(cx)) \(decimal(cy)) \(decimal(w)) \(decimal(h))\n"
        }
        return text
    }

    /// `value` clamped to 0–1 with exactly 6 decimals (locale-independent).
    static func decimal(_ value: Double) -> String {
        let micro = Int((min(max(value, 0), 1) * 1_000_000).rounded())
        let whole = micro / 1_000_000, fraction = micro % 1_000_000
        let digits = String(fraction)
        return "\(whole)." + String(repeating: "0", count: 6 - digits.count) + digits
    }

    /// `data.yaml` in the Ultralytics layout. `path:` is deliberately left out: Ultralytics
    /// then uses the folder of `data.yaml` as the dataset root (a relative `path:` would be
    /// resolved against its global datasets folder, and an absolute one would tie the
    /// dataset to one machine). `val` is the validation split when there is one, else
    /// the test split. `names` is a list (Edge Impulse's YOLO reader requires a list;
    /// Ultralytics accepts both).
    public static func dataYAML(classes: [String], splits: [DatasetSplit]) -> String {
        func folder(_ split: DatasetSplit) -> String { "images/\(split.rawValue)" }
        let validation = splits.contains(.validation) ? DatasetSplit.validation
            : (splits.contains(.test) ? .test : (splits.first ?? .train))
        var lines = [
            "# YOLO dataset written by synthset. Paths are relative to this file's folder; label files",
            "# are in labels/<split>/ beside images/<split>/. Add 'path: /absolute/folder' if you move",
            "# this file away from the dataset.",
            "train: \(folder(splits.contains(.train) ? .train : (splits.first ?? .train)))",
            "val: \(folder(validation))",
        ]
        if splits.contains(.test) { lines.append("test: \(folder(.test))") }
        lines.append("nc: \(classes.count)")
        lines.append(classes.isEmpty ? "names: []" : "names:")
        for name in classes { lines.append("  - \(quoted(name))") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A YAML double-quoted scalar (JSON string syntax is valid YAML).
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    result += String(format: "\\x%02X", scalar.value)
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}

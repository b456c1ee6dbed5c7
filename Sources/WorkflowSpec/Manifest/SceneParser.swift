import SceneFormats
import Yams

/// Reads the `procedural/scenes` fields (`size`, `objects`, `background`, `camera`).
struct SceneParser {
    let reader: NodeReader
    let fields: NodeReader.Fields

    /// Named colors accepted besides `#rrggbb`.
    static let namedColors: [String: UInt32] = [
        "red": 0xD32F2F, "orange": 0xF57C00, "yellow": 0xFBC02D, "green": 0x388E3C, "blue": 0x1976D2,
        "purple": 0x7B1FA2, "pink": 0xE91E63, "brown": 0x6D4C41, "gray": 0x9E9E9E, "grey": 0x9E9E9E,
        "black": 0x212121, "white": 0xF5F5F5, "silver": 0xC0C0C0, "teal": 0x00897B, "wood": 0xA1887F,
        "cardboard": 0xC8A165, "navy": 0x1A237E, "cyan": 0x00BCD4,
    ]

    func parse() -> SceneSpec? {
        var spec = SceneSpec(objects: [])
        if let node = fields["size"] {
            if let list = reader.sequence(node, fields.path("size")), list.count == 2,
               let width = reader.int(list[0], fields.path("size") + "[0]"),
               let height = reader.int(list[1], fields.path("size") + "[1]") {
                if !(16...8192).contains(width) || !(16...8192).contains(height) {
                    reader.error("size \(width)x\(height) is out of range", hint: "width and height must be 16...8192 pixels", at: node)
                }
                spec.width = width
                spec.height = height
            } else if case .sequence = node {
                reader.error("size must be [width, height]", hint: "e.g. size: [640, 480]", at: node)
            }
        }
        guard let objectsNode = fields["objects"] else {
            reader.error("procedural/scenes needs 'objects'", hint: "add e.g. objects: { can: { shape: cylinder, colors: [red, blue] } }", at: fields.node)
            return nil
        }
        for entry in reader.entries(objectsNode, fields.path("objects")) ?? [] {
            let path = fields.path("objects") + ".\(entry.key)"
            guard let object = reader.fields(entry.value, path, allowed: ["shape", "colors", "size", "count"], required: ["shape"],
                                             context: "object '\(entry.key)'") else { continue }
            var shape = SceneSpec.Shape.box
            if let node = object["shape"], let text = reader.string(node, object.path("shape")) {
                if let value = SceneSpec.Shape(rawValue: text) { shape = value } else {
                    reader.error("unknown shape '\(text)'", hint: "shapes: \(SceneSpec.Shape.allCases.map(\.rawValue).joined(separator: ", "))", at: node)
                }
            }
            var colors: [UInt32] = [0x9E9E9E]
            if let node = object["colors"] { colors = parseColors(node, object.path("colors")) }
            var size = 0.1...0.3
            if let node = object["size"], let range = reader.doubleRange(node, object.path("size")) {
                if range.lowerBound <= 0 || range.upperBound > 1 {
                    reader.error("object size must be within (0, 1] of the image height", hint: "e.g. size: [0.1, 0.3]", at: node)
                }
                size = range
            }
            var count = 1...4
            if let node = object["count"], let range = reader.intRange(node, object.path("count")) {
                if range.lowerBound < 0 || range.upperBound > 100 {
                    reader.error("object count must be within 0...100", hint: "e.g. count: [1, 4]", at: node)
                }
                count = range
            }
            spec.objects.append(.init(name: entry.key, shape: shape, colors: colors, size: size, count: count))
        }
        if spec.objects.isEmpty { reader.error("'objects' is empty", hint: "add at least one object class", at: objectsNode) }
        if let node = fields["background"],
           let background = reader.fields(node, fields.path("background"), allowed: ["styles", "colors"]) {
            if let stylesNode = background["styles"], let names = reader.stringList(stylesNode, background.path("styles")) {
                var styles: [SceneSpec.Background.Style] = []
                for name in names {
                    if let style = SceneSpec.Background.Style(rawValue: name) { styles.append(style) } else {
                        reader.error("unknown background style '\(name)'", hint: "styles: \(SceneSpec.Background.Style.allCases.map(\.rawValue).joined(separator: ", "))", at: stylesNode)
                    }
                }
                if names.isEmpty { reader.error("'styles' is empty", hint: "name at least one style", at: stylesNode) }
                spec.background.styles = styles
            }
            if let colorsNode = background["colors"] { spec.background.colors = parseColors(colorsNode, background.path("colors")) }
        }
        if let node = fields["camera"], let camera = reader.fields(node, fields.path("camera"), allowed: ["blur", "noise", "jpeg_quality"]) {
            if let node = camera["blur"], let range = reader.intRange(node, camera.path("blur")) {
                if range.lowerBound < 0 || range.upperBound > 16 { reader.error("blur radius must be within 0...16", hint: "e.g. blur: [0, 2]", at: node) }
                spec.camera.blur = range
            }
            if let node = camera["noise"], let range = reader.intRange(node, camera.path("noise")) {
                if range.lowerBound < 0 || range.upperBound > 64 { reader.error("noise must be within 0...64", hint: "e.g. noise: [0, 8]", at: node) }
                spec.camera.noise = range
            }
            if let node = camera["jpeg_quality"], let range = reader.intRange(node, camera.path("jpeg_quality")) {
                if range.lowerBound < 1 || range.upperBound > 100 { reader.error("jpeg_quality must be within 1...100", hint: "e.g. jpeg_quality: [75, 95]", at: node) }
                spec.camera.jpegQuality = range
            }
        }
        return spec
    }

    func parseColors(_ node: Node, _ path: String) -> [UInt32] {
        guard let names = reader.stringList(node, path) else { return [] }
        var colors: [UInt32] = []
        for name in names {
            if let hex = name.wholeMatch(of: /#([0-9A-Fa-f]{6})/), let value = UInt32(hex.1, radix: 16) {
                colors.append(value)
            } else if let value = Self.namedColors[name.lowercased()] {
                colors.append(value)
            } else {
                reader.error("unknown color '\(name)'", hint: "write #rrggbb or one of: \(Self.namedColors.keys.sorted().joined(separator: ", "))", at: node)
            }
        }
        if names.isEmpty { reader.error("color list is empty", hint: "name at least one color", at: node) }
        return colors
    }
}
